#pragma once
/* The two 8259A interrupt controllers of the PC, remapped above the CPU's exceptions. */
#include "lib/types.h"

#define PIC_VECTOR_BASE 0x30    /* IRQ 0-15 arrive as vectors 0x30-0x3F, clear of int 0x2E */
#define PIC_IRQ_COUNT   16
#define PIC_CASCADE_IRQ 2       /* the slave controller's line on the master */

/* Remaps both controllers and masks every line. */
void pic_init(void);
void pic_unmask(unsigned irq);
/* Masks line irq (called with interrupts off). */
void pic_mask(unsigned irq);

/*
 * Acknowledges irq; false when it was spurious (IRQ 7 or 15 with its in-service bit
 * clear), in which case the handler must do nothing more.
 */
bool pic_acknowledge(unsigned irq);
