#pragma once
/*
 * Starting the application processors (NT's KeStartAllProcessors and the HAL's
 * HalStartNextProcessor): each one the ACPI MADT lists gets a region, a GDT and double
 * fault task, an idle thread whose stack it starts on, and the INIT-STARTUP-STARTUP
 * sequence; one that does not answer in time is reported and reset, and the machine
 * goes on without it.
 */
#include "arch/acpi.h"
#include "lib/types.h"

/*
 * The limit on processors the command line sets: the last of /NUMPROC=N, numproc=N
 * (Windows' spellings) and maxcpus=N. 0 when none is given; a malformed or zero value
 * is refused with a warning (in warning, when warning_size allows) and ignored.
 */
uint32_t processors_limit_from_command_line(const char *command_line, char *warning,
                                            size_t warning_size);

/*
 * Starts the processors acpi lists, up to the command line's limit and
 * KE_MAX_PROCESSORS, printing a line for each. Once the boot processor has its
 * scheduler and clock, before any process runs.
 */
void processors_start(const struct acpi_info *acpi, const char *command_line);

/* The local APIC timer's rate (counts a second) every processor's clock was set from. */
extern uint64_t processors_apic_timer_hz;
