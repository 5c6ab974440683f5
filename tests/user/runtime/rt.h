#pragma once
/*
 * The runtime of the user-mode test programs: system-service stubs, strings, formatted
 * output, arguments, checks, virtual-memory helpers and an exception dispatcher. It
 * knows the kernel only through the system-call ABI (lib/ntabi.h) and the NTSTATUS
 * values (lib/ntstatus.h).
 *
 * A program defines main(); rt_entry (entry.c) calls it with the command line split into
 * words and ends the process with its return value as the exit status.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ntabi.h"
#include "lib/ntstatus.h"

/* --- System services (syscall.S): NT's names and argument order, cdecl. --- */

/* Ends process with exit_status; for NT_CURRENT_PROCESS it does not return. */
ntstatus_t NtTerminateProcess(nt_handle_t process, ntstatus_t exit_status);
/* Gives the processor to another ready thread, if there is one. */
ntstatus_t NtYieldExecution(void);
/* Writes string (UTF-16, length in bytes) to the console. */
ntstatus_t NtDisplayString(const struct nt_unicode_string *string);
/* Fills buffer with the information of info_class; *return_length gets the size used. */
ntstatus_t NtQuerySystemInformation(unsigned int info_class, void *buffer, unsigned int length,
                                    unsigned int *return_length);
/* Starts the boot module named module with command_line; *process gets its handle. */
ntstatus_t NtCreateProcessFromModule(nt_handle_t *process, const struct nt_unicode_string *module,
                                     const struct nt_unicode_string *command_line);
/* Waits until object is signalled; timeout in 100 ns units (negative: relative), NULL: no limit. */
ntstatus_t NtWaitForSingleObject(nt_handle_t object, int alertable, const int64_t *timeout);
/* Fills buffer with the information of info_class about process. */
ntstatus_t NtQueryInformationProcess(nt_handle_t process, unsigned int info_class, void *buffer,
                                     unsigned int length, unsigned int *return_length);
/* Sets the information of info_class of process (its working set limits). */
ntstatus_t NtSetInformationProcess(nt_handle_t process, unsigned int info_class,
                                   const void *buffer, unsigned int length);
/* Closes a handle of the current process. */
ntstatus_t NtClose(nt_handle_t object);
/* Opens the process client_id->unique_process names, with access; *process gets the handle. */
ntstatus_t NtOpenProcess(nt_handle_t *process, unsigned int access,
                         const struct nt_object_attributes *attributes,
                         const struct nt_client_id *client_id);
/*
 * Makes *target_handle, in target_process, a handle to what source_handle is in
 * source_process, with access (or the source's: DUPLICATE_SAME_ACCESS); closes the source
 * with DUPLICATE_CLOSE_SOURCE.
 */
ntstatus_t NtDuplicateObject(nt_handle_t source_process, nt_handle_t source_handle,
                             nt_handle_t target_process, nt_handle_t *target_handle,
                             unsigned int access, unsigned int attributes, unsigned int options);
/* Copies size bytes at base_address in process to buffer; *done (optional) gets the count. */
ntstatus_t NtReadVirtualMemory(nt_handle_t process, const void *base_address, void *buffer,
                               size_t size, size_t *done);
/* Copies size bytes from buffer to base_address in process; *done (optional) gets the count. */
ntstatus_t NtWriteVirtualMemory(nt_handle_t process, void *base_address, const void *buffer,
                                size_t size, size_t *done);
/* Calls service number service with the arguments that follow, for raw and hostile calls. */
ntstatus_t rt_syscall(unsigned int service, ...);

/*
 * Reserves and/or commits (allocation_type: MEM_RESERVE, MEM_COMMIT, MEM_TOP_DOWN) the
 * *region_size bytes at *base_address, anywhere if it is NULL; on success both are
 * written back as the kernel rounded them.
 */
ntstatus_t NtAllocateVirtualMemory(nt_handle_t process, void **base_address, uintptr_t zero_bits,
                                   size_t *region_size, unsigned int allocation_type,
                                   unsigned int protect);
/* Decommits or releases (free_type: MEM_DECOMMIT or MEM_RELEASE); writes back the range. */
ntstatus_t NtFreeVirtualMemory(nt_handle_t process, void **base_address, size_t *region_size,
                               unsigned int free_type);
/* Gives committed pages new_protect; *old_protect gets the first page's old protection. */
ntstatus_t NtProtectVirtualMemory(nt_handle_t process, void **base_address, size_t *region_size,
                                  unsigned int new_protect, unsigned int *old_protect);
/* Describes the pages from base_address on that are alike (info_class 0: basic). */
ntstatus_t NtQueryVirtualMemory(nt_handle_t process, const void *base_address,
                                unsigned int info_class, void *buffer, size_t length,
                                size_t *return_length);
/* Names the process's exception dispatcher (lib/ntabi.h); NULL removes it. */
ntstatus_t NtSetExceptionHandler(void (*dispatcher)(struct nt_exception_record *record,
                                                    struct nt_context *context));
/* Loads context into the registers and runs on there; returns only if it cannot. */
ntstatus_t NtContinue(const struct nt_context *context, int test_alert);
/* Does nothing (there are no APCs to deliver): the null service. */
ntstatus_t NtTestAlert(void);
/*
 * Starts a thread of the current process at start(argument) on a stack of its own; start
 * must end with NtTerminateThread(NT_CURRENT_THREAD, ...). No handle comes back.
 */
ntstatus_t NtCreateThread(void (*start)(void *argument), void *argument);
/* Ends thread, which must be NT_CURRENT_THREAD (the caller: then it does not return). */
ntstatus_t NtTerminateThread(nt_handle_t thread, ntstatus_t exit_status);
/* Sleeps for interval (100 ns units; negative: relative, as on NT). */
ntstatus_t NtDelayExecution(int alertable, const int64_t *interval);

/* --- Virtual memory in the current process, addresses as numbers (vm.c) --- */

/* NtAllocateVirtualMemory(NT_CURRENT_PROCESS, base, 0, size, type, protect). */
ntstatus_t rt_vm_allocate(uint32_t *base, uint32_t *size, unsigned int type,
                          unsigned int protect);
/* NtFreeVirtualMemory(NT_CURRENT_PROCESS, base, size, type). */
ntstatus_t rt_vm_free(uint32_t *base, uint32_t *size, unsigned int type);
/* Releases the reservation at base; the status. */
ntstatus_t rt_vm_release(uint32_t base);
/* NtProtectVirtualMemory(NT_CURRENT_PROCESS, base, size, protect, old). */
ntstatus_t rt_vm_protect(uint32_t *base, uint32_t *size, unsigned int protect,
                         unsigned int *old);
/* NtQueryVirtualMemory of address into *info, checking that the whole structure came back. */
ntstatus_t rt_vm_query(uint32_t address, struct nt_memory_basic_information *info);
/* The caller's highest user address (SYSTEM_BASIC_INFORMATION); 0 if the query failed. */
uint32_t rt_vm_highest_address(void);

/*
 * Queries address and reports each field that differs from *expected (region_size 0:
 * any size). A free region has protect PAGE_NOACCESS and 0 for the allocation base,
 * allocation protect and type, as on NT.
 */
bool rt_check_region(uint32_t address, const struct nt_memory_basic_information *expected,
                     const char *file, int line);
#define RT_EXPECT_REGION(address, ...)                                                   \
    rt_check_region((address), &(const struct nt_memory_basic_information){__VA_ARGS__}, \
                    __FILE__, __LINE__)

/* --- Exceptions (exception.c, jump.S) --- */

/* EFLAGS bits a program meets in a context (SDM vol. 1, 3.4.3). */
#define EFLAGS_TF       0x00000100u     /* single step */
#define EFLAGS_IF       0x00000200u
#define EFLAGS_DF       0x00000400u     /* string operations go down; C wants it clear */
#define EFLAGS_IOPL     0x00003000u
#define EFLAGS_NT       0x00004000u
#define EFLAGS_VM       0x00020000u
#define EFLAGS_VIF      0x00080000u
#define EFLAGS_VIP      0x00100000u

/*
 * A program's exception handler: true resumes with *context (which it may have changed),
 * false ends the process with record->code.
 */
typedef bool rt_exception_handler(struct nt_exception_record *record,
                                  struct nt_context *context);

/* Makes handler the one the runtime's dispatcher calls; NULL removes the dispatcher. */
ntstatus_t rt_set_exception_handler(rt_exception_handler *handler);

/* The registers rt_setjmp saves: the callee-saved ones, ESP after its return and EIP. */
struct rt_jump_buffer {
    uint32_t ebx, esi, edi, ebp, esp, eip;
};

/*
 * Saves the caller's place in jump and returns 0; returns again, with the value given
 * to rt_context_jump, when a handler resumes there. Locals the caller changes between
 * the two returns must be volatile.
 */
int rt_setjmp(struct rt_jump_buffer *jump) __attribute__((returns_twice));

/* Makes context resume as a second return of jump's rt_setjmp, with value (0 becomes 1). */
void rt_context_jump(struct nt_context *context, const struct rt_jump_buffer *jump, int value);

/*
 * Reads or writes the byte at address with one instruction, at rt_probe_read_instruction
 * or rt_probe_write_instruction, so that a handler can check where a fault was. The
 * address is in ECX at that instruction, the value written in AL.
 */
uint8_t rt_probe_read(uint32_t address);
void rt_probe_write(uint32_t address, uint8_t value);
extern const uint8_t rt_probe_read_instruction[];
extern const uint8_t rt_probe_write_instruction[];

/* --- Process (entry.c) --- */

/*
 * The image's entry point (linked with --entry=_rt_entry), called by the kernel as
 * ntabi.h describes: calls main and ends the process with what it returns.
 */
_Noreturn void rt_entry(const struct nt_process_parameters *parameters);

/* The program: argv[0] is its name as the command line gives it, argv[argc] is NULL. */
int main(int argc, char **argv);

/* argv[0], for messages; "?" when the command line was empty. */
extern const char *rt_program_name;

/* What the kernel passed to the entry point (the command line as it came). */
extern const struct nt_process_parameters *rt_parameters;

/* Ends the current process with exit status status. */
_Noreturn void rt_exit(ntstatus_t status);

/*
 * --- Strings (string.c). The C functions (memcpy and the rest, which GCC also calls on
 * its own) are lib/string.c's: plain freestanding C, compiled into the runtime too.
 */
#include "lib/string.h"

/* The length of s without its NUL. */
size_t rt_strlen(const char *s);
/* <0, 0 or >0 as a sorts before, with or after b, byte by byte. */
int rt_strcmp(const char *a, const char *b);
/* Whether a and b are the same string. */
bool rt_streq(const char *a, const char *b);

/* Parses all of text as decimal or 0x-prefixed hex; false if it is not one or overflows. */
bool rt_parse_u32(const char *text, uint32_t *value);
/* Parses all of text as hex, with or without 0x; false if it is not one or overflows. */
bool rt_parse_hex(const char *text, uint32_t *value);

/* The number of words (runs of characters other than space and tab) in line. */
unsigned int rt_count_words(const char *line);
/*
 * Splits line into words in place (a NUL after each), storing at most capacity pointers
 * in words; returns the number of words, which may exceed capacity.
 */
unsigned int rt_split_words(char *line, char **words, unsigned int capacity);

/* --- Output (print.c) --- */

/*
 * Formats to the console through NtDisplayString, one call per 256 characters (so a short
 * line is never split between processes). Conversions: %d %u %x %c %s %p %%, with an
 * optional 0 flag and width (%08x); %p prints 0x and 8 hex digits.
 */
void rt_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* rt_printf with the arguments in a va_list. */
void rt_vprintf(const char *format, va_list args);
/* Formats into buffer, always terminated if size > 0; returns the untruncated length. */
size_t rt_snprintf(char *buffer, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* rt_snprintf with the arguments in a va_list. */
size_t rt_vsnprintf(char *buffer, size_t size, const char *format, va_list args);

/*
 * Makes string describe ascii converted to UTF-16 in storage, which holds capacity
 * characters; longer text is cut. Length excludes the NUL added when there is room.
 */
void rt_unicode_from_ascii(struct nt_unicode_string *string, unsigned short *storage,
                           size_t capacity, const char *ascii);

/* --- Checks (check.c): a failure prints "    # user: PROGRAM: FILE:LINE: MESSAGE". --- */

/* Counts and reports a failure unless condition holds; returns condition. */
bool rt_check(bool condition, const char *file, int line, const char *format, ...)
    __attribute__((format(printf, 4, 5)));
/* Counts and reports a failure unless actual == expected; returns whether they are equal. */
bool rt_check_eq(uint32_t actual, uint32_t expected, const char *file, int line,
                 const char *actual_text, const char *expected_text);
/* The number of failed checks so far. */
unsigned int rt_failure_count(void);

#define RT_EXPECT(condition) rt_check((condition), __FILE__, __LINE__, "%s", #condition)
#define RT_EXPECT_MSG(condition, ...) rt_check((condition), __FILE__, __LINE__, __VA_ARGS__)
#define RT_EXPECT_EQ(actual, expected) \
    rt_check_eq((uint32_t)(actual), (uint32_t)(expected), __FILE__, __LINE__, #actual, #expected)
