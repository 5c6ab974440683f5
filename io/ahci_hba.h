#pragma once
/*
 * An AHCI host bus adapter's registers and the memory structures it reads and writes,
 * as Serial ATA AHCI 1.3.1 lays them out (the comments name its sections), with the
 * ATA commands and the times the driver (io/ahci.c) uses.
 */
#include <stddef.h>
#include "io/block.h"
#include "lib/types.h"

/* Generic host control (3.1), offsets into ABAR. */
#define HBA_CAP             0x00
#define HBA_GHC             0x04
#define HBA_IS              0x08
#define HBA_PI              0x0C
#define HBA_VS              0x10
#define HBA_CAP2            0x24
#define HBA_BOHC            0x28
#define HBA_PORT_BASE       0x100   /* port n's registers at 0x100 + n * 0x80 (3.3) */
#define HBA_PORT_SIZE       0x80
#define HBA_PORTS_MAX       32
#define HBA_MAPPED_MAX      (HBA_PORT_BASE + HBA_PORTS_MAX * HBA_PORT_SIZE)

#define CAP_NP              0x1Fu   /* ports - 1 (3.1.1) */
#define CAP_NCS_SHIFT       8       /* command slots - 1, five bits */
#define CAP_S64A            (1u << 31)
#define GHC_IE              (1u << 1)
#define GHC_AE              (1u << 31)
#define CAP2_BOH            (1u << 0)
#define BOHC_BOS            (1u << 0)
#define BOHC_OOS            (1u << 1)
#define BOHC_BB             (1u << 4)

/* Port registers (3.3), offsets from the port's base. */
#define PX_CLB              0x00
#define PX_CLBU             0x04
#define PX_FB               0x08
#define PX_FBU              0x0C
#define PX_IS               0x10
#define PX_IE               0x14
#define PX_CMD              0x18
#define PX_TFD              0x20
#define PX_SIG              0x24
#define PX_SSTS             0x28
#define PX_SCTL             0x2C
#define PX_SERR             0x30
#define PX_CI               0x38

/* PxIS and PxIE bits (3.3.5, 3.3.6). */
#define PX_IS_DHRS          (1u << 0)   /* a D2H Register FIS: a non-queued command ended */
#define PX_IS_PSS           (1u << 1)   /* a PIO Setup FIS (IDENTIFY) */
#define PX_IS_OFS           (1u << 24)
#define PX_IS_IFS           (1u << 27)
#define PX_IS_HBDS          (1u << 28)
#define PX_IS_HBFS          (1u << 29)
#define PX_IS_TFES          (1u << 30)
/* The events after which the HBA stops the port and leaves PxCI set (5.3.16). */
#define PX_IS_ERRORS        (PX_IS_OFS | PX_IS_IFS | PX_IS_HBDS | PX_IS_HBFS | PX_IS_TFES)
/*
 * Not the connect changes: PCS stays set until PxSERR.DIAG.X is cleared (3.3.5), and
 * without hot plug nothing would clear it, so the line would never fall.
 */
#define PX_IE_USED          (PX_IS_DHRS | PX_IS_PSS | PX_IS_ERRORS)

#define PX_CMD_ST           (1u << 0)
#define PX_CMD_FRE          (1u << 4)
#define PX_CMD_FR           (1u << 14)
#define PX_CMD_CR           (1u << 15)
#define TFD_ERR             0x01    /* PxTFD.STS: the ATA status register (3.3.8) */
#define TFD_DRQ             0x08
#define TFD_BSY             0x80
#define SSTS_DET            0x0Fu   /* device detection (3.3.10) */
#define DET_NONE            0
#define DET_PRESENT         3       /* device present, PHY communication established */
#define SCTL_DET            0x0Fu
#define SCTL_DET_COMRESET   1       /* 3.3.11 */

/* What the device's first D2H FIS leaves in PxSIG (3.3.9). */
#define SIGNATURE_ATA       0x00000101u
#define SIGNATURE_ATAPI     0xEB140101u

/* The command FIS: the SATA specification's Register Host to Device FIS (4.2.3.1). */
#define FIS_TYPE_H2D        0x27
#define FIS_H2D_COMMAND     0x80    /* C: the FIS carries a command, not a control update */
#define FIS_H2D_DWORDS      5
#define DEVICE_LBA          0x40

#define CMD_READ_DMA        0xC8
#define CMD_WRITE_DMA       0xCA
#define CMD_READ_DMA_EXT    0x25
#define CMD_WRITE_DMA_EXT   0x35
#define CMD_IDENTIFY_DEVICE 0xEC

/* Times, in milliseconds. */
#define ENGINE_STOP_MS      500     /* CR and FR clear within 500 ms (10.1.2, step 3) */
#define COMRESET_HOLD_MS    1       /* DET stays 1 at least 1 ms (10.4.2) */
#define LINK_UP_MS          500
#define DEVICE_READY_MS     1000    /* BSY and DRQ clear before ST is set (10.3.1) */
#define HANDOFF_MS          25      /* the BIOS answers OOS within 25 ms (10.6) */
#define HANDOFF_BUSY_MS     2000    /* or, saying it is busy (BB), within 2 s more */
#define IDENTIFY_MS         5000
#define REQUEST_TIMEOUT_MS  5000
#define READS_PER_MS        8334    /* without a TSC: reads of at least 120 ns */

#define ALL_ONES            0xFFFFFFFFu
#define ABAR_INDEX          5       /* ABAR is BAR5 (2.1.11) */
#define AHCI_TAG            0x69636841u     /* "Ahci" */

/* A command header (4.2.2). */
struct command_header {
    uint32_t flags;                 /* CFL in dwords (bits 0-4), W (6), PRDTL (16-31) */
    uint32_t bytes_transferred;     /* PRDBC: the HBA's */
    uint32_t table;                 /* CTBA, 128-byte aligned */
    uint32_t table_upper;
    uint32_t reserved[4];
};
#define HEADER_WRITE        (1u << 6)
#define HEADER_PRDTL_SHIFT  16
#define COMMAND_LIST_BYTES  1024    /* 32 headers, 1 KB aligned (3.3.1); slot 0 is used */
#define RECEIVED_FIS_BYTES  256     /* 256-byte aligned (3.3.3) */

/* A physical region descriptor (4.2.3.3): DBC is the byte count less one. */
struct prd_entry {
    uint32_t address;
    uint32_t address_upper;
    uint32_t reserved;
    uint32_t byte_count;
};

/* A command table (4.2.3), 128-byte aligned, with room for the largest request. */
struct command_table {
    uint8_t fis[64];
    uint8_t atapi_command[16];
    uint8_t reserved[48];
    struct prd_entry prdt[BLOCK_MAX_SEGMENTS];
};
_Static_assert(sizeof(struct command_header) == 32, "a command header is 8 dwords");
_Static_assert(offsetof(struct command_table, prdt) == 0x80, "the PRDT starts at 80h");
