#pragma once
/*
 * The exit statuses of the user-mode test programs other than 0, a count of failed checks
 * and the NTSTATUS of a fault; for the kernel tests that judge them. They are
 * customer-defined NTSTATUS values (bit 29 set), so none is a status the kernel reports.
 */
#define USER_STATUS_PATTERN_MISMATCH 0xE0000001 /* isolation, pagestress: data not its own */
#define USER_STATUS_FAULT_SURVIVED   0xE0000002 /* fault.exe, vm_fault.exe: no fault came */
#define USER_STATUS_USAGE            0xE0000003 /* bad or missing arguments */
#define USER_STATUS_HANDLER_CALLED   0xE0000004 /* vm_fault.exe: its handler ran unasked */
#define USER_STATUS_TERMINATED       0xE0000005 /* attack.exe: what it terminates itself with */
