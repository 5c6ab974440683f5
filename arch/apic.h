#pragma once
/*
 * The local APIC (Intel SDM vol. 3A, chapter 11): each processor's own interrupt
 * controller, through which processors interrupt each other (IPIs), start each other
 * (INIT and STARTUP), and get a clock of their own. Reached through its page of
 * registers (xAPIC) or, where the firmware left it in that mode, through MSRs (x2APIC);
 * every processor's page is at the same physical address and answers only its own.
 */
#include "lib/types.h"

/* True once apic_init found and mapped one (the boot processor's). */
extern bool apic_present;

/*
 * On the boot processor: maps the registers at physical (the MADT's address, or the
 * IA32_APIC_BASE MSR's where that is 0) with map (uncached) and enables this
 * processor's APIC. False, with nothing changed, on a processor without one.
 */
bool apic_init(uint64_t physical, void *(*map)(paddr_t physical, size_t length));

/*
 * Enables the calling processor's APIC (the spurious vector, no task priority; on an
 * application processor LINT0 masked, so the 8259's interrupts stay with the boot
 * processor). The boot processor's apic_init does it for its own.
 */
void apic_init_processor(bool boot_processor);

/* This processor's APIC id. */
uint32_t apic_id(void);

/* Ends the interrupt in service (every vector but the spurious one). */
void apic_eoi(void);

/* Sends vector to the processor whose APIC id is destination (fixed delivery). */
void apic_send_ipi(uint32_t destination, uint8_t vector);

/*
 * The start-up sequence's two messages (SDM vol. 3A, 9.4.4.1): INIT, which resets the
 * processor to wait for a STARTUP; STARTUP, which starts it in real mode at page << 12.
 * False if the APIC never reported the message sent.
 */
bool apic_send_init(uint32_t destination);
bool apic_send_startup(uint32_t destination, uint8_t page);

/*
 * The APIC timer's counts per second at the divider apic_timer_start uses, measured
 * against the PIT on the calling processor (interrupts off); 0 if it could not be.
 */
uint64_t apic_timer_calibrate(void);

/* Starts the calling processor's timer: vector every count counts, until stopped. */
void apic_timer_start(uint8_t vector, uint32_t count);
