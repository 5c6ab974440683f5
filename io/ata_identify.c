/* Decoding the IDENTIFY DEVICE data (io/ata_identify.h). */
#include "io/ata_identify.h"
#include "lib/string.h"

/* Words of the IDENTIFY DEVICE data (ATA/ATAPI-6, the command's table). */
#define ID_MODEL            27      /* 20 words, two characters each, the first high */
#define ID_MODEL_WORDS      20
#define ID_MULTIPLE_MAX     47      /* bits 0-7: sectors per READ/WRITE MULTIPLE block */
#define ID_CAPABILITIES     49
#define ID_CAP_LBA          (1u << 9)
#define ID_LBA28_SECTORS    60      /* 2 words, low word first */
#define ID_COMMAND_SETS     83
#define ID_ENABLED_SETS     86
#define ID_SET_LBA48        (1u << 10)
#define ID_LBA48_SECTORS    100     /* 4 words, low word first */

/* Copies an ATA string (two characters a word, the first in the high byte) and trims it. */
static void copy_model(char *model, const uint16_t *words)
{
    size_t length = 0, start = 0;

    for (unsigned i = 0; i < ID_MODEL_WORDS; i++) {
        model[2 * i] = (char)(words[i] >> 8);
        model[2 * i + 1] = (char)(words[i] & 0xFF);
    }
    for (size_t i = 0; i < 2 * ID_MODEL_WORDS; i++)
        if (model[i] != ' ' && model[i] != '\0')
            length = i + 1;
    while (start < length && model[start] == ' ')
        start++;
    memmove(model, model + start, length - start);
    model[length - start] = '\0';
}

bool ata_identify_decode(const uint16_t *id, struct ata_identity *identity)
{
    if (!(id[ID_CAPABILITIES] & ID_CAP_LBA))
        return false;
    identity->lba48 = (id[ID_COMMAND_SETS] & ID_SET_LBA48) && (id[ID_ENABLED_SETS] & ID_SET_LBA48);
    identity->sector_count = 0;
    if (identity->lba48)
        for (unsigned i = 4; i-- > 0;)
            identity->sector_count = identity->sector_count << 16 | id[ID_LBA48_SECTORS + i];
    else
        identity->sector_count = (uint32_t)id[ID_LBA28_SECTORS + 1] << 16 | id[ID_LBA28_SECTORS];
    identity->multiple_max = (uint8_t)(id[ID_MULTIPLE_MAX] & 0xFF);
    copy_model(identity->model, &id[ID_MODEL]);
    return identity->sector_count > 0;
}
