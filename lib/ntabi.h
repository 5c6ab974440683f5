#pragma once
/*
 * The system-call ABI, shared by the kernel and the user-mode runtime (tests/user/).
 * It includes nothing and declares no kernel types, so either side can include it.
 *
 * A call is `int 0x2E` with EAX = the service number and EDX = the address of the
 * arguments on the caller's stack (the first argument at EDX, each 4 bytes); EAX comes
 * back with an NTSTATUS. Other registers are preserved. Structures and values follow
 * the public NT headers (winternl.h, ntstatus.h) where NT has them.
 */

#define NT_SYSCALL_VECTOR 0x2E

/* The selectors ring 3 runs with: code and flat data, RPL 3 (NT's KGDT_R3_CODE, KGDT_R3_DATA). */
#define NT_USER_CODE_SELECTOR 0x1B
#define NT_USER_DATA_SELECTOR 0x23

/* Service numbers. The arguments, in NT's order, are given with each. */
#define NT_SERVICE_TERMINATE_PROCESS        0  /* (HANDLE Process, NTSTATUS ExitStatus) */
#define NT_SERVICE_YIELD_EXECUTION          1  /* (void) */
#define NT_SERVICE_DISPLAY_STRING           2  /* (PUNICODE_STRING String) */
#define NT_SERVICE_QUERY_SYSTEM_INFORMATION 3  /* (ULONG Class, PVOID Buffer, ULONG Length,
                                                   PULONG ReturnLength) */
#define NT_SERVICE_CREATE_PROCESS_FROM_MODULE 4 /* (PHANDLE Process, PUNICODE_STRING Module,
                                                    PUNICODE_STRING CommandLine) */
#define NT_SERVICE_WAIT_FOR_SINGLE_OBJECT   5  /* (HANDLE Object, BOOLEAN Alertable,
                                                   PLARGE_INTEGER Timeout) */
#define NT_SERVICE_QUERY_INFORMATION_PROCESS 6 /* (HANDLE Process, ULONG Class, PVOID Buffer,
                                                   ULONG Length, PULONG ReturnLength) */
#define NT_SERVICE_CLOSE                    7  /* (HANDLE Object) */
#define NT_SERVICE_ALLOCATE_VIRTUAL_MEMORY  8  /* (HANDLE Process, PVOID *BaseAddress,
                                                   ULONG_PTR ZeroBits, PSIZE_T RegionSize,
                                                   ULONG AllocationType, ULONG Protect) */
#define NT_SERVICE_FREE_VIRTUAL_MEMORY      9  /* (HANDLE Process, PVOID *BaseAddress,
                                                   PSIZE_T RegionSize, ULONG FreeType) */
#define NT_SERVICE_PROTECT_VIRTUAL_MEMORY   10 /* (HANDLE Process, PVOID *BaseAddress,
                                                   PSIZE_T RegionSize, ULONG NewProtect,
                                                   PULONG OldProtect) */
#define NT_SERVICE_QUERY_VIRTUAL_MEMORY     11 /* (HANDLE Process, PVOID BaseAddress,
                                                   ULONG Class, PVOID Buffer, SIZE_T Length,
                                                   PSIZE_T ReturnLength) */
#define NT_SERVICE_SET_EXCEPTION_HANDLER    12 /* (PVOID Dispatcher): not in NT, see below */
#define NT_SERVICE_CONTINUE                 13 /* (PCONTEXT Context, BOOLEAN TestAlert) */
#define NT_SERVICE_CREATE_SECTION           14 /* (PHANDLE Section, ACCESS_MASK Access,
                                                   POBJECT_ATTRIBUTES Attributes (NULL),
                                                   PLARGE_INTEGER MaximumSize,
                                                   ULONG PageProtection,
                                                   ULONG AllocationAttributes (SEC_COMMIT),
                                                   HANDLE File (NULL: pagefile-backed)) */
#define NT_SERVICE_MAP_VIEW_OF_SECTION      15 /* (HANDLE Section, HANDLE Process,
                                                   PVOID *BaseAddress, ULONG_PTR ZeroBits,
                                                   SIZE_T CommitSize,
                                                   PLARGE_INTEGER SectionOffset,
                                                   PSIZE_T ViewSize, ULONG InheritDisposition,
                                                   ULONG AllocationType, ULONG Protect) */
#define NT_SERVICE_UNMAP_VIEW_OF_SECTION    16 /* (HANDLE Process, PVOID BaseAddress) */
#define NT_SERVICE_TEST_ALERT               17 /* (void): does nothing (no APCs here) */
#define NT_SERVICE_CREATE_THREAD            18 /* (PVOID StartAddress, PVOID Argument):
                                                   not NT's form, see below */
#define NT_SERVICE_TERMINATE_THREAD         19 /* (HANDLE Thread (-2: the caller),
                                                   NTSTATUS ExitStatus) */
#define NT_SERVICE_DELAY_EXECUTION          20 /* (BOOLEAN Alertable, PLARGE_INTEGER Interval
                                                   (relative, 100 ns units, negative)) */
#define NT_SERVICE_SET_INFORMATION_PROCESS  21 /* (HANDLE Process, ULONG Class, PVOID Buffer,
                                                   ULONG Length) */
#define NT_SERVICE_OPEN_PROCESS             22 /* (PHANDLE Process, ACCESS_MASK Access,
                                                   POBJECT_ATTRIBUTES Attributes,
                                                   PCLIENT_ID ClientId) */
#define NT_SERVICE_DUPLICATE_OBJECT         23 /* (HANDLE SourceProcess, HANDLE Source,
                                                   HANDLE TargetProcess, PHANDLE Target,
                                                   ACCESS_MASK Access, ULONG HandleAttributes,
                                                   ULONG Options) */
#define NT_SERVICE_READ_VIRTUAL_MEMORY      24 /* (HANDLE Process, PVOID BaseAddress,
                                                   PVOID Buffer, SIZE_T Size,
                                                   PSIZE_T NumberOfBytesRead (optional)) */
#define NT_SERVICE_WRITE_VIRTUAL_MEMORY     25 /* (HANDLE Process, PVOID BaseAddress,
                                                   PVOID Buffer, SIZE_T Size,
                                                   PSIZE_T NumberOfBytesWritten (optional)) */
#define NT_SERVICE_LOCK_VIRTUAL_MEMORY      26 /* (HANDLE Process, PVOID *BaseAddress,
                                                   PSIZE_T RegionSize, ULONG MapType) */
#define NT_SERVICE_UNLOCK_VIRTUAL_MEMORY    27 /* (the same) */
#define NT_SERVICE_GET_WRITE_WATCH          28 /* (HANDLE Process, ULONG Flags,
                                                   PVOID BaseAddress, SIZE_T RegionSize,
                                                   PVOID *UserAddressArray,
                                                   PULONG_PTR EntriesInUserAddressArray,
                                                   PULONG Granularity) */
#define NT_SERVICE_RESET_WRITE_WATCH        29 /* (HANDLE Process, PVOID BaseAddress,
                                                   SIZE_T RegionSize) */
#define NT_SERVICE_COUNT                    32 /* numbers without a service are refused */

/*
 * NtCreateThread here: a new thread of the calling process, entered as the cdecl
 * function void start(void *argument) on a stack of its own (a 1 MB reservation with a
 * guard page, as the main thread's); it must end with NtTerminateThread(-2, status),
 * and the process ends when its last thread does. Returns STATUS_SUCCESS; no handle.
 */
#define NT_CURRENT_THREAD ((nt_handle_t)-2)

/*
 * int 0x2D from ring 3 returns at once (the handler is a bare iret): the floor the
 * system-call path is measured against.
 */
#define NT_NULL_INTERRUPT_VECTOR 0x2D

/* Section allocation attributes (winnt.h). */
#define SEC_IMAGE               0x01000000
#define SEC_RESERVE             0x04000000
#define SEC_COMMIT              0x08000000
#define SEC_NOCACHE             0x10000000
#define SEC_WRITECOMBINE        0x40000000

/* NtMapViewOfSection's InheritDisposition (SECTION_INHERIT, wdm.h). */
#define VIEW_SHARE              1
#define VIEW_UNMAP              2

/* The current process's pseudo-handle, as NtCurrentProcess() on Windows. */
#define NT_CURRENT_PROCESS ((nt_handle_t)-1)

typedef unsigned int nt_handle_t;   /* a HANDLE: an index into the process's handle table */

/* UNICODE_STRING: Length and MaximumLength in bytes; Buffer is UTF-16. */
struct nt_unicode_string {
    unsigned short length;
    unsigned short maximum_length;
    unsigned short *buffer;
};

/*
 * Access rights (winnt.h). A handle keeps the access granted when it was made; each
 * service asks for the rights it needs, and a handle without them gets
 * STATUS_ACCESS_DENIED. The generic rights stand for each type's specific ones (the
 * type's GENERIC_MAPPING, as Windows 10 has it), MAXIMUM_ALLOWED for all of them.
 */
#define DELETE                  0x00010000
#define READ_CONTROL            0x00020000
#define WRITE_DAC               0x00040000
#define WRITE_OWNER             0x00080000
#define SYNCHRONIZE             0x00100000
#define STANDARD_RIGHTS_REQUIRED 0x000F0000
#define STANDARD_RIGHTS_ALL     0x001F0000
#define ACCESS_SYSTEM_SECURITY  0x01000000
#define ACCESS_RESERVED_BITS    0x0CE00000  /* no right: refused (STATUS_ACCESS_DENIED) */
#define MAXIMUM_ALLOWED         0x02000000
#define GENERIC_ALL             0x10000000
#define GENERIC_EXECUTE         0x20000000
#define GENERIC_WRITE           0x40000000
#define GENERIC_READ            0x80000000

#define PROCESS_TERMINATE                   0x0001
#define PROCESS_CREATE_THREAD               0x0002
#define PROCESS_SET_SESSIONID               0x0004
#define PROCESS_VM_OPERATION                0x0008
#define PROCESS_VM_READ                     0x0010
#define PROCESS_VM_WRITE                    0x0020
#define PROCESS_DUP_HANDLE                  0x0040
#define PROCESS_CREATE_PROCESS              0x0080
#define PROCESS_SET_QUOTA                   0x0100
#define PROCESS_SET_INFORMATION             0x0200
#define PROCESS_QUERY_INFORMATION           0x0400
#define PROCESS_SUSPEND_RESUME              0x0800
#define PROCESS_QUERY_LIMITED_INFORMATION   0x1000
#define PROCESS_SET_LIMITED_INFORMATION     0x2000
#define PROCESS_ALL_ACCESS                  (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0xFFFF)

#define SECTION_QUERY                       0x0001
#define SECTION_MAP_WRITE                   0x0002
#define SECTION_MAP_READ                    0x0004
#define SECTION_MAP_EXECUTE                 0x0008
#define SECTION_EXTEND_SIZE                 0x0010
#define SECTION_MAP_EXECUTE_EXPLICIT        0x0020
#define SECTION_ALL_ACCESS                  (STANDARD_RIGHTS_REQUIRED | 0x1F)

/* NtDuplicateObject options (winnt.h). */
#define DUPLICATE_CLOSE_SOURCE      0x00000001
#define DUPLICATE_SAME_ACCESS       0x00000002
#define DUPLICATE_SAME_ATTRIBUTES   0x00000004

/* CLIENT_ID: a process id, and a thread id (0 here: threads are not opened by id). */
struct nt_client_id {
    unsigned int unique_process;
    unsigned int unique_thread;
};

/*
 * OBJECT_ATTRIBUTES (24 bytes). NtOpenProcess reads ObjectName (which must be NULL when
 * a ClientId is given) and Attributes; there is no object namespace to look names up in.
 */
struct nt_object_attributes {
    unsigned int length;
    nt_handle_t root_directory;
    struct nt_unicode_string *object_name;
    unsigned int attributes;
    void *security_descriptor;
    void *security_quality_of_service;
};

/* Page protections (winnt.h). */
#define PAGE_NOACCESS           0x01
#define PAGE_READONLY           0x02
#define PAGE_READWRITE          0x04
#define PAGE_WRITECOPY          0x08
#define PAGE_EXECUTE            0x10
#define PAGE_EXECUTE_READ       0x20
#define PAGE_EXECUTE_READWRITE  0x40
#define PAGE_EXECUTE_WRITECOPY  0x80
#define PAGE_GUARD              0x100
#define PAGE_NOCACHE            0x200
#define PAGE_WRITECOMBINE       0x400

/* NtAllocateVirtualMemory / NtFreeVirtualMemory types (winnt.h). */
#define MEM_COMMIT              0x00001000
#define MEM_RESERVE             0x00002000
#define MEM_DECOMMIT            0x00004000
#define MEM_RELEASE             0x00008000
#define MEM_FREE                0x00010000
#define MEM_PRIVATE             0x00020000
#define MEM_MAPPED              0x00040000
#define MEM_RESET               0x00080000
#define MEM_TOP_DOWN            0x00100000
#define MEM_WRITE_WATCH         0x00200000
#define MEM_PHYSICAL            0x00400000
#define MEM_IMAGE               0x01000000
#define MEM_RESET_UNDO          0x01000000
#define MEM_LARGE_PAGES         0x20000000
#define AT_ROUND_TO_PAGE        0x40000000  /* NtMapViewOfSection: 4 KB alignment will do */

/* NtQueryVirtualMemory: MemoryBasicInformation (class 0), MEMORY_BASIC_INFORMATION. */
#define NT_MEMORY_BASIC_INFORMATION 0

struct nt_memory_basic_information {
    unsigned int base_address;
    unsigned int allocation_base;
    unsigned int allocation_protect;
    unsigned int region_size;
    unsigned int state;                     /* MEM_COMMIT, MEM_RESERVE or MEM_FREE */
    unsigned int protect;                   /* 0 if reserved, PAGE_NOACCESS if free */
    unsigned int type;                      /* MEM_PRIVATE, MEM_MAPPED, MEM_IMAGE; 0 if free */
};

/* NtQueryVirtualMemory: MemoryWorkingSetInformation (class 1). */
#define NT_MEMORY_WORKING_SET_INFORMATION 1
/*
 * MEMORY_WORKING_SET_INFORMATION: NumberOfEntries, then one PSAPI_WORKING_SET_BLOCK per
 * page: bits 0-4 the protection as NT's 5-bit mask (1 read-only, 2 execute, 3 execute-
 * read, 4 read-write, 5 copy-on-write, 6 execute-read-write, 7 execute-copy-on-write;
 * +8 no cache, +16 guard, +24 write-combining), 5-7 the share count (shared pages, at
 * most 7), 8 shared, 9-11 the node, 12-31 the virtual page number.
 */
#define NT_WORKING_SET_SHARE_COUNT_SHIFT 5
#define NT_WORKING_SET_SHARED           0x100
#define NT_WORKING_SET_PAGE_MASK        0xFFFFF000

/* NtQueryVirtualMemory: MemoryRegionInformation (class 3), MEMORY_REGION_INFORMATION. */
#define NT_MEMORY_REGION_INFORMATION 3

struct nt_memory_region_information {
    unsigned int allocation_base;
    unsigned int allocation_protect;
    unsigned int region_type;               /* Windows 10 reports 0 here */
    unsigned int region_size;               /* of the whole allocation */
    unsigned int commit_size;               /* its committed bytes */
    unsigned int partition_id;
    unsigned int node_preference;
};
/* The least a caller may ask for: up to and including RegionSize. */
#define NT_MEMORY_REGION_INFORMATION_MINIMUM 16

/* NtLockVirtualMemory / NtUnlockVirtualMemory map types. */
#define MAP_PROCESS 1
#define MAP_SYSTEM  2

/* NtGetWriteWatch flags. */
#define WRITE_WATCH_FLAG_RESET 1

/* NtQuerySystemInformation classes. */
#define NT_SYSTEM_BASIC_INFORMATION 0
/* Not in NT: the kernel's event counters since boot, for benchmarks and tests. */
#define NT_SYSTEM_COUNTER_INFORMATION 0x1001

struct nt_system_counter_information {
    unsigned int system_calls;
    unsigned int context_switches;
    unsigned int cr3_loads;
    unsigned int invlpg;                    /* single-page TLB invalidations */
    unsigned int full_tlb_flushes;
    unsigned int page_faults;               /* every #PF taken */
    unsigned int demand_zero_faults;
    unsigned int copy_on_write_faults;
    unsigned int section_faults;
    unsigned int stack_extensions;
    unsigned int ipis_sent;                 /* interprocessor interrupts */
    unsigned int tlb_shootdowns;            /* flushes asked of other processors, and waited for */
    unsigned int tlb_pages_shot_down;       /* pages those processors dropped one by one */
    unsigned int tlb_entire_shootdowns;     /* ... and times they dropped everything instead */
};
/* Not in NT (which spreads these over SystemPerformanceInformation): memory totals. */
#define NT_SYSTEM_MEMORY_INFORMATION 0x1000

struct nt_system_memory_information {
    unsigned int commit_total;              /* pages charged against the commit limit */
    unsigned int commit_limit;              /* pages that may be charged at most */
    unsigned int commit_peak;
    unsigned int available_pages;           /* free frames (free and zeroed lists) */
    unsigned int process_commit;            /* the caller's own charge, in pages */
};

/* Not in NT: the pagefile, the page lists, paging I/O and the caller's working set. */
#define NT_SYSTEM_PAGING_INFORMATION 0x1002

struct nt_system_paging_information {
    unsigned int pagefile_pages;            /* slots for pages; 0 without a pagefile */
    unsigned int pagefile_in_use;           /* slots holding a page now */
    unsigned int pagefile_peak;
    unsigned int pages_written;             /* to the pagefile, since boot */
    unsigned int pages_read;                /* from the pagefile, since boot */
    unsigned int transition_faults;         /* pages taken back from a list, no I/O */
    unsigned int pagefile_read_faults;      /* pages read back from the pagefile */
    unsigned int standby_pages;             /* on the standby list now */
    unsigned int modified_pages;            /* on the modified list now */
    unsigned int working_set_size;          /* the caller's resident pageable pages */
    unsigned int working_set_peak;
    unsigned int working_set_minimum;
    unsigned int working_set_maximum;
};

/*
 * SYSTEM_BASIC_INFORMATION. MaximumUserModeAddress is the caller's own limit: 0x7FFEFFFF
 * for an image that is not large-address-aware, whatever the split.
 */
struct nt_system_basic_information {
    unsigned int reserved;
    unsigned int timer_resolution;          /* 100 ns units */
    unsigned int page_size;
    unsigned int number_of_physical_pages;
    unsigned int lowest_physical_page_number;
    unsigned int highest_physical_page_number;
    unsigned int allocation_granularity;
    unsigned int minimum_user_mode_address;
    unsigned int maximum_user_mode_address;
    unsigned int active_processors_affinity_mask;
    char number_of_processors;
};

/* NtQueryInformationProcess classes. */
#define NT_PROCESS_BASIC_INFORMATION 0
/*
 * NtQueryInformationProcess and NtSetInformationProcess: the working set's limits (the
 * other fields are reported as 0 and ignored). Setting both sizes to 0xFFFFFFFF empties
 * the working set instead, as SetProcessWorkingSetSize does.
 */
#define NT_PROCESS_QUOTA_LIMITS 1

struct nt_quota_limits {
    unsigned int paged_pool_limit;
    unsigned int non_paged_pool_limit;
    unsigned int minimum_working_set_size;  /* bytes */
    unsigned int maximum_working_set_size;  /* bytes */
    unsigned int pagefile_limit;
    unsigned int reserved;                  /* LARGE_INTEGER alignment */
    long long time_limit;
};

/*
 * ProcessExecuteFlags: a ULONG of MEM_EXECUTE_OPTION_* bits, the process's no-execute
 * (DEP) setting; queried and set by the process itself only (NtCurrentProcess).
 */
#define NT_PROCESS_AFFINITY_MASK 21      /* KAFFINITY: the processors its threads may run on */
#define NT_PROCESS_EXECUTE_FLAGS 0x22
#define MEM_EXECUTE_OPTION_DISABLE                  0x01    /* execution refused: DEP on */
#define MEM_EXECUTE_OPTION_ENABLE                   0x02    /* execution allowed: DEP off */
#define MEM_EXECUTE_OPTION_DISABLE_THUNK_EMULATION  0x04
#define MEM_EXECUTE_OPTION_PERMANENT                0x08    /* no later change */
#define MEM_EXECUTE_OPTION_EXECUTE_DISPATCH_ENABLE  0x10
#define MEM_EXECUTE_OPTION_IMAGE_DISPATCH_ENABLE    0x20
#define MEM_EXECUTE_OPTION_VALID_FLAGS              0x3F

/* Not in NT: how a process ended, for tests that check what a fault reported. */
#define NT_PROCESS_EXCEPTION_INFORMATION 0x1000

/* ExceptionInformation[0] of an access violation or guard-page violation: the access. */
#define EXCEPTION_READ_FAULT    0
#define EXCEPTION_WRITE_FAULT   1
#define EXCEPTION_EXECUTE_FAULT 8

struct nt_process_basic_information {
    int exit_status;                        /* STATUS_PENDING while it runs */
    void *peb_base_address;                 /* no PEB here: NULL */
    unsigned int affinity_mask;
    int base_priority;
    unsigned int unique_process_id;
    unsigned int inherited_from_unique_process_id;
};

struct nt_process_exception_information {
    int exception_code;                     /* 0 when the process did not fault */
    unsigned int exception_address;         /* EIP of the faulting instruction */
    unsigned int access;                    /* for an access violation: EXCEPTION_*_FAULT */
    unsigned int faulting_address;          /* for an access violation: the data address */
};

/*
 * User-mode exceptions. A process may name one dispatcher (NtSetExceptionHandler; NULL
 * removes it). When the process faults, the kernel, instead of ending it, builds below
 * the faulting ESP an nt_exception_frame and enters the dispatcher as a cdecl function
 *     void dispatcher(struct nt_exception_record *record, struct nt_context *context);
 * with a return address of 0 (it must not return). The dispatcher decides: resume with
 * NtContinue(context, 0) (it may change the context, e.g. EIP), or give up with
 * NtTerminateProcess(NT_CURRENT_PROCESS, record->code). A fault of a thread while it runs
 * the dispatcher, before it calls NtContinue, ends the process: there is no nesting; a
 * fault of another thread meanwhile is delivered to the dispatcher as usual.
 */
struct nt_exception_record {
    int code;                               /* e.g. STATUS_ACCESS_VIOLATION */
    unsigned int flags;                     /* 0 */
    unsigned int exception_address;         /* EIP of the faulting instruction */
    unsigned int parameter_count;           /* 2 for access and guard-page violations */
    unsigned int access;                    /* parameter 0: 0 read, 1 write */
    unsigned int faulting_address;          /* parameter 1: the data address */
};

/* The user-mode registers at the fault; NtContinue loads them back. */
struct nt_context {
    unsigned int edi, esi, ebx, edx, ecx, eax, ebp;
    unsigned int eip, eflags, esp;
};

struct nt_exception_frame {
    unsigned int return_address;            /* 0 */
    struct nt_exception_record *record;     /* the dispatcher's arguments */
    struct nt_context *context;
    struct nt_exception_record record_storage;
    struct nt_context context_storage;
};

/* KUSER_SHARED_DATA at 0x7FFE0000 (read-only to user mode); offsets as on NT. */
#define NT_SHARED_USER_DATA_ADDRESS 0x7FFE0000
#define NT_SHARED_TICK_COUNT_LOW    0x000   /* ULONG TickCountLowDeprecated */
#define NT_SHARED_TICK_MULTIPLIER   0x004   /* ULONG TickCountMultiplier */
#define NT_SHARED_INTERRUPT_TIME    0x008   /* KSYSTEM_TIME, 100 ns units */
#define NT_SHARED_NT_MAJOR_VERSION  0x26C   /* ULONG NtMajorVersion */
#define NT_SHARED_NT_MINOR_VERSION  0x270   /* ULONG NtMinorVersion */
#define NT_SHARED_PROCESSOR_FEATURES 0x274  /* BOOLEAN ProcessorFeatures[64], by PF_* */
#define PF_PAE_ENABLED              9       /* the PAE format is in use */
#define PF_NX_ENABLED               12      /* execution can be refused (NX on) */
#define NT_SHARED_NX_SUPPORT_POLICY 0x2D5   /* UCHAR NXSupportPolicy: NX_SUPPORT_POLICY_* */
#define NT_SHARED_ACTIVE_PROCESSOR_COUNT 0x3C0  /* ULONG ActiveProcessorCount (Windows 7) */
#define NX_SUPPORT_POLICY_ALWAYSOFF 0
#define NX_SUPPORT_POLICY_ALWAYSON  1
#define NX_SUPPORT_POLICY_OPTIN     2
#define NX_SUPPORT_POLICY_OPTOUT    3
#define NT_SHARED_TICK_COUNT        0x320   /* KSYSTEM_TIME TickCount, in ticks */

/*
 * How a process starts: its entry point is entered as a cdecl function
 *     void entry(const struct nt_process_parameters *parameters);
 * [ESP] holds a return address of 0 and [ESP + 4] the parameters, which lie in the
 * process's own memory at the top of its stack; EFLAGS.DF is clear. Returning would
 * jump to address 0 (an access violation): the runtime calls NtTerminateProcess. The
 * command line starts with the program's name, as a Windows command line does.
 *
 * A service's ReturnLength, where it has one, receives the number of bytes written.
 * BOOLEAN arguments occupy a whole 4-byte slot, of which only the low byte counts.
 */
struct nt_process_parameters {
    unsigned int size;                      /* of this structure with its text */
    unsigned int command_line_length;       /* in bytes, without the NUL */
    char command_line[];                    /* ASCII, NUL-terminated */
};
