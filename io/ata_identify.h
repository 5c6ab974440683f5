#pragma once
/*
 * The IDENTIFY DEVICE data an ATA disk returns (ATA/ATAPI-6, the command's table): what
 * both disk drivers need of it, decoded once for either (io/ata.c on IDE channels,
 * io/ahci.c on AHCI ports).
 */
#include "io/block.h"
#include "lib/types.h"

#define ATA_IDENTIFY_WORDS  256
#define ATA_MODEL_SIZE      BLOCK_MODEL_SIZE    /* 40 characters and a NUL */

struct ata_identity {
    bool lba48;                 /* the 48-bit commands are supported and enabled */
    uint64_t sector_count;      /* addressable sectors of 512 bytes */
    uint8_t multiple_max;       /* most sectors a READ/WRITE MULTIPLE block carries; 0: none */
    char model[ATA_MODEL_SIZE]; /* blanks trimmed at both ends */
};

/*
 * Decodes words, the 256 words of IDENTIFY DEVICE data; false for a device the drivers
 * cannot address (no LBA, or no sectors).
 */
bool ata_identify_decode(const uint16_t *words, struct ata_identity *identity);
