/*
 * vm_access.exe [child]
 *
 * Access rights on handles, NtOpenProcess, NtDuplicateObject, NtReadVirtualMemory and
 * NtWriteVirtualMemory, checked against what Windows 10 does (the expected values come
 * from Windows' documentation and from tests run on Windows, not from this kernel). The
 * parent starts itself as the child, which only sleeps until it is terminated, and aims
 * the calls at it through handles with more and fewer rights. Exit status: the number of
 * failed checks.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define PAGE            0x1000u
#define SECTION_SIZE    0x10000u
#define VIEW_SHARE      1           /* SECTION_INHERIT ViewShare (wdm.h) */
#define SYSTEM_PROCESS_ID 4
#define CHILD_STATUS    0x600D

static nt_handle_t child;           /* PROCESS_ALL_ACCESS, from NtCreateProcessFromModule */
static uint32_t child_id;

/* ---- helpers ---- */

/* A handle to the same object as handle (of this process) with exactly access. */
static nt_handle_t with_access(nt_handle_t handle, uint32_t access)
{
    nt_handle_t copy = 0;

    RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, handle, NT_CURRENT_PROCESS, &copy,
                                   access, 0, 0), STATUS_SUCCESS);
    return copy;
}

static uint32_t process_id(nt_handle_t process)
{
    struct nt_process_basic_information basic = {0};

    RT_EXPECT_EQ(NtQueryInformationProcess(process, NT_PROCESS_BASIC_INFORMATION, &basic,
                                           sizeof(basic), NULL), STATUS_SUCCESS);
    return basic.unique_process_id;
}

static ntstatus_t query_basic(nt_handle_t process)
{
    struct nt_process_basic_information basic;
    return NtQueryInformationProcess(process, NT_PROCESS_BASIC_INFORMATION, &basic,
                                     sizeof(basic), NULL);
}

static ntstatus_t query_memory(nt_handle_t process, uint32_t address)
{
    struct nt_memory_basic_information info;
    return NtQueryVirtualMemory(process, (void *)address, NT_MEMORY_BASIC_INFORMATION, &info,
                                sizeof(info), NULL);
}

/* Commits size bytes with protect in process, anywhere; 0 if that failed. */
static uint32_t allocate(nt_handle_t process, uint32_t size, uint32_t protect)
{
    uint32_t base = 0;

    if (!RT_EXPECT_EQ(NtAllocateVirtualMemory(process, (void **)&base, 0, (size_t *)&size,
                                              MEM_RESERVE | MEM_COMMIT, protect),
                      STATUS_SUCCESS))
        return 0;
    return base;
}

static void release(nt_handle_t process, uint32_t base)
{
    uint32_t size = 0;
    RT_EXPECT_EQ(NtFreeVirtualMemory(process, (void **)&base, (size_t *)&size, MEM_RELEASE),
                 STATUS_SUCCESS);
}

static void protect(nt_handle_t process, uint32_t base, uint32_t size, uint32_t protection)
{
    uint32_t old;
    RT_EXPECT_EQ(NtProtectVirtualMemory(process, (void **)&base, (size_t *)&size, protection,
                                        &old), STATUS_SUCCESS);
}

static ntstatus_t create_section(nt_handle_t *section, uint32_t access, uint32_t protection)
{
    int64_t size = SECTION_SIZE;
    return rt_syscall(NT_SERVICE_CREATE_SECTION, section, access, NULL, &size, protection,
                      SEC_COMMIT, 0);
}

/* Maps section into process anywhere with protection; the view is unmapped again. */
static ntstatus_t map_and_unmap(nt_handle_t section, nt_handle_t process, uint32_t protection)
{
    uint32_t base = 0, size = 0;
    int64_t offset = 0;
    ntstatus_t status = rt_syscall(NT_SERVICE_MAP_VIEW_OF_SECTION, section, process, &base, 0,
                                   0, &offset, &size, VIEW_SHARE, 0, protection);
    if (NT_SUCCESS(status))
        RT_EXPECT_EQ(rt_syscall(NT_SERVICE_UNMAP_VIEW_OF_SECTION, process, base),
                     STATUS_SUCCESS);
    return status;
}

/* ---- NtOpenProcess ---- */

static void open_process_rules(void)
{
    struct nt_object_attributes attributes = {sizeof(attributes), 0, NULL, 0, NULL, NULL};
    struct nt_unicode_string name = {0, 0, NULL};
    struct nt_client_id id = {child_id, 0}, none = {0, 0}, missing = {0xDEADBEEC, 0};
    nt_handle_t handle = 0x1234;

    /* ObjectAttributes is not optional; one of a name and a client id must be given. */
    RT_EXPECT_EQ(NtOpenProcess(&handle, PROCESS_ALL_ACCESS, NULL, &id), STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(NtOpenProcess(&handle, PROCESS_ALL_ACCESS, &attributes, NULL),
                 STATUS_INVALID_PARAMETER_MIX);
    struct nt_object_attributes named = attributes;
    named.object_name = &name;
    RT_EXPECT_EQ(NtOpenProcess(&handle, PROCESS_ALL_ACCESS, &named, &id),
                 STATUS_INVALID_PARAMETER_MIX);
    RT_EXPECT_EQ(NtOpenProcess((nt_handle_t *)0xDEADBEE0, PROCESS_ALL_ACCESS, &attributes, &id),
                 STATUS_ACCESS_VIOLATION);
    /* No process has id 0 or 0xDEADBEEC; the handle reads 0 afterwards. */
    RT_EXPECT_EQ(NtOpenProcess(&handle, PROCESS_ALL_ACCESS, &attributes, &none),
                 STATUS_INVALID_CID);
    handle = 0x1234;
    RT_EXPECT_EQ(NtOpenProcess(&handle, PROCESS_ALL_ACCESS, &attributes, &missing),
                 STATUS_INVALID_CID);
    RT_EXPECT_EQ(handle, 0);
    /* An open must ask for some access. */
    RT_EXPECT_EQ(NtOpenProcess(&handle, 0, &attributes, &id), STATUS_ACCESS_DENIED);
    /* Access bits no right has are refused; the security right needs a privilege. */
    RT_EXPECT_EQ(NtOpenProcess(&handle, SYNCHRONIZE | 0x00200000, &attributes, &id),
                 STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(NtOpenProcess(&handle, SYNCHRONIZE | ACCESS_SYSTEM_SECURITY, &attributes, &id),
                 STATUS_PRIVILEGE_NOT_HELD);
    /* The System process is protected: all access is refused. */
    struct nt_client_id system = {SYSTEM_PROCESS_ID, 0};
    RT_EXPECT_EQ(NtOpenProcess(&handle, PROCESS_ALL_ACCESS, &attributes, &system),
                 STATUS_ACCESS_DENIED);

    /* By id, with the rights asked for and no more. */
    if (RT_EXPECT_EQ(NtOpenProcess(&handle, PROCESS_QUERY_LIMITED_INFORMATION, &attributes,
                                   &id), STATUS_SUCCESS)) {
        RT_EXPECT(handle != 0 && handle % 4 == 0);
        RT_EXPECT_EQ(process_id(handle), child_id);
        uint32_t base = 0, size = PAGE;
        RT_EXPECT_EQ(NtAllocateVirtualMemory(handle, (void **)&base, 0, (size_t *)&size,
                                             MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                     STATUS_ACCESS_DENIED);
        RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    }
    /* Its own process, too, by its own id. */
    struct nt_client_id self = {process_id(NT_CURRENT_PROCESS), 0};
    if (RT_EXPECT_EQ(NtOpenProcess(&handle, PROCESS_VM_READ, &attributes, &self),
                     STATUS_SUCCESS)) {
        uint32_t word = 0x12345678, copy = 0;
        RT_EXPECT_EQ(NtReadVirtualMemory(handle, &word, &copy, sizeof(copy), NULL),
                     STATUS_SUCCESS);
        RT_EXPECT_EQ(copy, word);
        RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    }
}

/* ---- NtDuplicateObject ---- */

static void duplicate_rules(void)
{
    nt_handle_t handle = 0x1234, copy;

    /* The pseudo-handle becomes a real handle to this process. */
    if (RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, NT_CURRENT_PROCESS,
                                       NT_CURRENT_PROCESS, &handle, PROCESS_ALL_ACCESS, 0, 0),
                     STATUS_SUCCESS)) {
        RT_EXPECT(handle != NT_CURRENT_PROCESS && handle != 0 && handle % 4 == 0);
        RT_EXPECT_EQ(process_id(handle), process_id(NT_CURRENT_PROCESS));
        RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    }
    RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, NT_CURRENT_PROCESS, NT_CURRENT_PROCESS,
                                   NULL, PROCESS_ALL_ACCESS, 0, 0), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, NT_CURRENT_PROCESS, NT_CURRENT_PROCESS,
                                   (nt_handle_t *)0xDEADBEE0, PROCESS_ALL_ACCESS, 0, 0),
                 STATUS_ACCESS_VIOLATION);
    handle = 0x1234;
    RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, 0xDEAD, NT_CURRENT_PROCESS, &handle,
                                   PROCESS_ALL_ACCESS, 0, 0), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(handle, 0);
    handle = 0x1234;
    RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, NT_CURRENT_PROCESS, NT_CURRENT_PROCESS,
                                   &handle, 0xFFFFFFFF, 0, 0), STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(handle, 0);

    /* Access 0 is a handle that can do nothing. */
    copy = with_access(child, 0);
    RT_EXPECT_EQ(query_basic(copy), STATUS_ACCESS_DENIED);
    int64_t no_time = 0;
    RT_EXPECT_EQ(NtWaitForSingleObject(copy, 0, &no_time), STATUS_ACCESS_DENIED);
    /* ... but may be duplicated again with more (there is no security descriptor to deny it). */
    nt_handle_t more = with_access(copy, PROCESS_QUERY_LIMITED_INFORMATION);
    RT_EXPECT_EQ(query_basic(more), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(more), STATUS_SUCCESS);

    /* DUPLICATE_CLOSE_SOURCE in the same process: the new handle takes the old one's slot. */
    handle = 0;
    RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, copy, NT_CURRENT_PROCESS, &handle, 0, 0,
                                   DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE),
                 STATUS_SUCCESS);
    RT_EXPECT_EQ(handle, copy);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(copy), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, NT_CURRENT_PROCESS, NT_CURRENT_PROCESS,
                                   &handle, 0, 0, DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE),
                 STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);

    /* Both process handles need PROCESS_DUP_HANDLE. */
    copy = with_access(child, PROCESS_ALL_ACCESS & ~PROCESS_DUP_HANDLE);
    RT_EXPECT_EQ(NtDuplicateObject(copy, NT_CURRENT_PROCESS, NT_CURRENT_PROCESS, &handle, 0, 0,
                                   DUPLICATE_SAME_ACCESS), STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, child, copy, &handle, 0, 0,
                                   DUPLICATE_SAME_ACCESS), STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, child, 0xDEAD, &handle, 0, 0,
                                   DUPLICATE_SAME_ACCESS), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtClose(copy), STATUS_SUCCESS);

    /* Into the child and back out of it, which closes the child's copy. */
    nt_handle_t in_child = 0;
    if (RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, NT_CURRENT_PROCESS, child, &in_child,
                                       PROCESS_QUERY_LIMITED_INFORMATION, 0, 0),
                     STATUS_SUCCESS)) {
        RT_EXPECT_EQ(NtDuplicateObject(child, in_child, NT_CURRENT_PROCESS, &handle, 0, 0,
                                       DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE),
                     STATUS_SUCCESS);
        RT_EXPECT_EQ(process_id(handle), process_id(NT_CURRENT_PROCESS));
        RT_EXPECT_EQ(NtDuplicateObject(child, in_child, NT_CURRENT_PROCESS, &copy, 0, 0,
                                       DUPLICATE_SAME_ACCESS), STATUS_INVALID_HANDLE);
        RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    }
    /* No target process: the call only closes the source, and without that is refused. */
    copy = with_access(child, SYNCHRONIZE);
    RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, copy, 0, NULL, 0, 0, 0),
                 STATUS_INVALID_PARAMETER);
    RT_EXPECT_EQ(NtDuplicateObject(NT_CURRENT_PROCESS, copy, 0, NULL, 0, 0,
                                   DUPLICATE_CLOSE_SOURCE), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(copy), STATUS_INVALID_HANDLE);
    /* The source handle -1 is the source process itself: here the child, not the caller. */
    copy = with_access(child, PROCESS_DUP_HANDLE);
    handle = 0;
    if (RT_EXPECT_EQ(NtDuplicateObject(copy, NT_CURRENT_PROCESS, NT_CURRENT_PROCESS, &handle, 0,
                                       0, DUPLICATE_SAME_ACCESS), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(process_id(handle), child_id);
        NtClose(handle);
    }
    NtClose(copy);
}

/* ---- the rights each process service needs (and the generic ones) ---- */

static void process_rights(void)
{
    uint32_t base = allocate(child, PAGE, PAGE_READWRITE), word = 0, size = PAGE, old;

    /* PROCESS_VM_OPERATION for allocate, protect and free; not enough to query. */
    nt_handle_t handle = with_access(child, PROCESS_VM_OPERATION);
    uint32_t other = 0;
    RT_EXPECT_EQ(NtAllocateVirtualMemory(handle, (void **)&other, 0, (size_t *)&size,
                                         MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    protect(handle, other, PAGE, PAGE_READONLY);
    RT_EXPECT_EQ(query_memory(handle, base), STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(query_basic(handle), STATUS_ACCESS_DENIED);
    release(handle, other);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);

    /* The limited query right is enough for NtQueryVirtualMemory since Windows 8. */
    handle = with_access(child, PROCESS_QUERY_LIMITED_INFORMATION);
    RT_EXPECT_EQ(query_memory(handle, base), STATUS_SUCCESS);
    RT_EXPECT_EQ(query_basic(handle), STATUS_SUCCESS);
    other = 0;
    RT_EXPECT_EQ(NtAllocateVirtualMemory(handle, (void **)&other, 0, (size_t *)&size,
                                         MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_ACCESS_DENIED);
    uint32_t at = base;
    RT_EXPECT_EQ(NtProtectVirtualMemory(handle, (void **)&at, (size_t *)&size, PAGE_READONLY,
                                        &old), STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(NtFreeVirtualMemory(handle, (void **)&at, (size_t *)&size, MEM_DECOMMIT),
                 STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(NtReadVirtualMemory(handle, (void *)base, &word, 4, NULL), STATUS_ACCESS_DENIED);
    int64_t no_time = 0;
    RT_EXPECT_EQ(NtWaitForSingleObject(handle, 0, &no_time), STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(NtTerminateProcess(handle, 1), STATUS_ACCESS_DENIED);
    struct nt_quota_limits quota;
    RT_EXPECT_EQ(NtQueryInformationProcess(handle, NT_PROCESS_QUOTA_LIMITS, &quota,
                                           sizeof(quota), NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtSetInformationProcess(handle, NT_PROCESS_QUOTA_LIMITS, &quota,
                                         sizeof(quota)), STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);

    /* PROCESS_QUERY_INFORMATION implies the limited right; so do VM_OPERATION and VM_WRITE. */
    handle = with_access(child, PROCESS_QUERY_INFORMATION);
    RT_EXPECT_EQ(query_basic(handle), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    handle = with_access(child, PROCESS_VM_OPERATION | PROCESS_VM_WRITE);
    RT_EXPECT_EQ(query_basic(handle), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    handle = with_access(child, PROCESS_VM_READ);
    RT_EXPECT_EQ(query_basic(handle), STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);

    /* SYNCHRONIZE to wait, PROCESS_SET_QUOTA to set the working set's limits. */
    handle = with_access(child, SYNCHRONIZE);
    RT_EXPECT_EQ(NtWaitForSingleObject(handle, 0, &no_time), STATUS_TIMEOUT);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    handle = with_access(child, PROCESS_SET_QUOTA);
    RT_EXPECT_EQ(NtSetInformationProcess(handle, NT_PROCESS_QUOTA_LIMITS, &quota,
                                         sizeof(quota)), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);

    /* GENERIC_READ: VM_READ and QUERY; GENERIC_WRITE: VM_OPERATION and VM_WRITE, not VM_READ. */
    handle = with_access(child, GENERIC_READ);
    RT_EXPECT_EQ(NtReadVirtualMemory(handle, (void *)base, &word, 4, NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(query_memory(handle, base), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtWriteVirtualMemory(handle, (void *)base, &word, 4, NULL), STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    handle = with_access(child, GENERIC_WRITE);
    RT_EXPECT_EQ(NtWriteVirtualMemory(handle, (void *)base, &word, 4, NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtReadVirtualMemory(handle, (void *)base, &word, 4, NULL), STATUS_ACCESS_DENIED);
    protect(handle, base, PAGE, PAGE_READWRITE);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    /* GENERIC_EXECUTE: SYNCHRONIZE, the limited query right and PROCESS_TERMINATE. */
    handle = with_access(child, GENERIC_EXECUTE);
    RT_EXPECT_EQ(NtWaitForSingleObject(handle, 0, &no_time), STATUS_TIMEOUT);
    RT_EXPECT_EQ(query_basic(handle), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtReadVirtualMemory(handle, (void *)base, &word, 4, NULL), STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    release(child, base);
}

/* ---- the rights a section handle needs for each view ---- */

static void section_rights(void)
{
    nt_handle_t rw, erw, handle;

    if (!RT_EXPECT_EQ(create_section(&rw, SECTION_ALL_ACCESS, PAGE_READWRITE), STATUS_SUCCESS) ||
        !RT_EXPECT_EQ(create_section(&erw, SECTION_ALL_ACCESS, PAGE_EXECUTE_READWRITE),
                      STATUS_SUCCESS))
        return;
    /* Access 0 at creation is a handle that maps nothing. */
    if (RT_EXPECT_EQ(create_section(&handle, 0, PAGE_READWRITE), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(map_and_unmap(handle, NT_CURRENT_PROCESS, PAGE_READONLY),
                     STATUS_ACCESS_DENIED);
        RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    }
    /*
     * The rights each view needs (Windows' MmMakeSectionAccess): SECTION_MAP_WRITE alone
     * maps read-write but not read-only or copy-on-write, SECTION_MAP_READ the other way
     * round, executable views SECTION_MAP_EXECUTE besides; the generic rights as mapped.
     */
    static const struct {
        bool executable;                /* the PAGE_EXECUTE_READWRITE section, else RW */
        uint32_t access, protection;
        ntstatus_t expected;
    } views[] = {
        {false, SECTION_MAP_WRITE, PAGE_READWRITE, STATUS_SUCCESS},
        {false, SECTION_MAP_WRITE, PAGE_READONLY, STATUS_ACCESS_DENIED},
        {false, SECTION_MAP_WRITE, PAGE_WRITECOPY, STATUS_ACCESS_DENIED},
        {false, SECTION_MAP_READ, PAGE_READONLY, STATUS_SUCCESS},
        {false, SECTION_MAP_READ, PAGE_WRITECOPY, STATUS_SUCCESS},
        {false, SECTION_MAP_READ, PAGE_READWRITE, STATUS_ACCESS_DENIED},
        {true, SECTION_MAP_READ | SECTION_MAP_WRITE, PAGE_EXECUTE_READ, STATUS_ACCESS_DENIED},
        {true, SECTION_MAP_READ | SECTION_MAP_WRITE, PAGE_EXECUTE_READWRITE,
         STATUS_ACCESS_DENIED},
        {true, SECTION_MAP_READ | SECTION_MAP_EXECUTE, PAGE_EXECUTE_READ, STATUS_SUCCESS},
        {true, SECTION_MAP_READ | SECTION_MAP_EXECUTE, PAGE_EXECUTE_READWRITE,
         STATUS_ACCESS_DENIED},
        {true, SECTION_MAP_WRITE | SECTION_MAP_EXECUTE, PAGE_EXECUTE_READWRITE, STATUS_SUCCESS},
        {false, GENERIC_READ, PAGE_READONLY, STATUS_SUCCESS},
        {false, GENERIC_READ, PAGE_READWRITE, STATUS_ACCESS_DENIED},
        {false, GENERIC_WRITE, PAGE_READWRITE, STATUS_SUCCESS},
    };
    for (unsigned i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
        handle = with_access(views[i].executable ? erw : rw, views[i].access);
        RT_EXPECT_MSG(map_and_unmap(handle, NT_CURRENT_PROCESS, views[i].protection) ==
                          views[i].expected,
                      "view %u: access 0x%x, protection 0x%x", i, views[i].access,
                      views[i].protection);
        RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    }

    /* The process handle needs PROCESS_VM_OPERATION, and is looked at before the section. */
    handle = with_access(child, PROCESS_ALL_ACCESS & ~PROCESS_VM_OPERATION);
    RT_EXPECT_EQ(map_and_unmap(rw, handle, PAGE_READWRITE), STATUS_ACCESS_DENIED);
    nt_handle_t no_rights = with_access(rw, 0);
    RT_EXPECT_EQ(map_and_unmap(no_rights, 0xDEAD, PAGE_READWRITE), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtClose(no_rights), STATUS_SUCCESS);
    uint32_t base = 0, size = 0;
    int64_t offset = 0;
    if (RT_EXPECT_EQ(rt_syscall(NT_SERVICE_MAP_VIEW_OF_SECTION, rw, child, &base, 0, 0, &offset,
                                &size, VIEW_SHARE, 0, PAGE_READWRITE), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(rt_syscall(NT_SERVICE_UNMAP_VIEW_OF_SECTION, handle, base),
                     STATUS_ACCESS_DENIED);
        RT_EXPECT_EQ(rt_syscall(NT_SERVICE_UNMAP_VIEW_OF_SECTION, child, base), STATUS_SUCCESS);
    }
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(rw), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(erw), STATUS_SUCCESS);
}

/* ---- NtReadVirtualMemory and NtWriteVirtualMemory ---- */

static void copy_arguments(void)
{
    static const char text[] = "test string";
    char buffer[12];
    size_t done = 0x1234;

    RT_EXPECT_EQ(NtReadVirtualMemory(NT_CURRENT_PROCESS, text, buffer, 12, &done),
                 STATUS_SUCCESS);
    RT_EXPECT_EQ(done, 12);
    RT_EXPECT(rt_streq(buffer, text));
    RT_EXPECT_EQ(NtReadVirtualMemory(NT_CURRENT_PROCESS, text, buffer, 12, NULL), STATUS_SUCCESS);
    /* A bad handle: the count is still written. */
    done = 0x1234;
    RT_EXPECT_EQ(NtReadVirtualMemory(0, text, buffer, 12, &done), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(done, 0);
    /* Nothing to copy: success, whatever the handle. */
    done = 0x1234;
    RT_EXPECT_EQ(NtReadVirtualMemory(child, text, buffer, 0, &done), STATUS_SUCCESS);
    RT_EXPECT_EQ(done, 0);
    done = 0x1234;
    RT_EXPECT_EQ(NtWriteVirtualMemory(child, buffer, text, 0, &done), STATUS_SUCCESS);
    RT_EXPECT_EQ(done, 0);
    RT_EXPECT_EQ(NtReadVirtualMemory(0, text, buffer, 0, NULL), STATUS_SUCCESS);
    /* Unmapped memory on either side is a partial copy of nothing. */
    done = 0x1234;
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)0x1234, buffer, 12, &done),
                 STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 0);
    RT_EXPECT_EQ(NtReadVirtualMemory(NT_CURRENT_PROCESS, text, (void *)0x1234, 12, &done),
                 STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 0);
    /*
     * System space (0xC0000000 is in every split), a range running into it, or one that
     * wraps, on either side: an access violation, untouched. Between the process's own
     * limit and MmHighestUserAddress (a /3GB boot) it would be a partial copy instead.
     */
    done = 0x1234;
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)0xC0000000, buffer, 12, &done),
                 STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(done, 0x1234);
    RT_EXPECT_EQ(NtWriteVirtualMemory(child, (void *)0xBFFFFFF8, text, 12, &done),
                 STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(NtReadVirtualMemory(child, text, (void *)0xFFFFFFF8, 12, &done),
                 STATUS_ACCESS_VIOLATION);
    /* The count must be writable (NT probes it for writing first). */
    RT_EXPECT_EQ(NtReadVirtualMemory(child, text, buffer, 12, (size_t *)text),
                 STATUS_ACCESS_VIOLATION);
}

static void copy_between_processes(void)
{
    uint32_t remote = allocate(child, 8 * PAGE, PAGE_READWRITE);
    uint32_t local = allocate(NT_CURRENT_PROCESS, 8 * PAGE, PAGE_READWRITE);
    size_t done;

    if (!remote || !local)
        return;
    /* A round trip through the child, 8 pages at unaligned addresses. */
    for (uint32_t i = 0; i < 8 * PAGE; i++)
        ((uint8_t *)local)[i] = (uint8_t)(i * 7);
    RT_EXPECT_EQ(NtWriteVirtualMemory(child, (void *)(remote + 3), (void *)local, 8 * PAGE - 3,
                                      &done), STATUS_SUCCESS);
    RT_EXPECT_EQ(done, 8 * PAGE - 3);
    memset((void *)local, 0, 8 * PAGE);
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)(remote + 3), (void *)(local + 5), 100,
                                     &done), STATUS_SUCCESS);
    RT_EXPECT_EQ(done, 100);
    RT_EXPECT_EQ(((uint8_t *)local)[5 + 99], (uint8_t)(99 * 7));
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)(remote + 3), (void *)local, 8 * PAGE - 3,
                                     &done), STATUS_SUCCESS);
    RT_EXPECT_EQ(((uint8_t *)local)[5 * PAGE + 1], (uint8_t)((5 * PAGE + 1) * 7));

    /* The rights: PROCESS_VM_READ to read, PROCESS_VM_WRITE to write; the count is 0. */
    nt_handle_t handle = with_access(child, PROCESS_ALL_ACCESS & ~PROCESS_VM_READ);
    done = 0x1234;
    RT_EXPECT_EQ(NtReadVirtualMemory(handle, (void *)remote, (void *)local, 4, &done),
                 STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(done, 0);
    RT_EXPECT_EQ(NtWriteVirtualMemory(handle, (void *)remote, (void *)local, 4, &done),
                 STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    handle = with_access(child, PROCESS_ALL_ACCESS & ~PROCESS_VM_WRITE);
    RT_EXPECT_EQ(NtWriteVirtualMemory(handle, (void *)remote, (void *)local, 4, &done),
                 STATUS_ACCESS_DENIED);
    RT_EXPECT_EQ(NtReadVirtualMemory(handle, (void *)remote, (void *)local, 4, &done),
                 STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);

    /*
     * A source that cannot be read counts nothing of the piece it is in (all of a copy up
     * to 512 bytes, else 14 pages); a destination that cannot be written counts every
     * byte before it.
     */
    protect(child, remote + PAGE, PAGE, PAGE_NOACCESS);
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)remote, (void *)local, 2 * PAGE, &done),
                 STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 0);
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)(remote + PAGE - 128), (void *)local, 256,
                                     &done), STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 0);
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)remote, (void *)local, PAGE, &done),
                 STATUS_SUCCESS);
    RT_EXPECT_EQ(done, PAGE);
    protect(child, remote + PAGE, PAGE, PAGE_READWRITE);

    protect(NT_CURRENT_PROCESS, local + 2 * PAGE, 2 * PAGE, PAGE_NOACCESS);
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)remote, (void *)local, 8 * PAGE, &done),
                 STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 2 * PAGE);
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)remote, (void *)(local + 2 * PAGE - 128),
                                     256, &done), STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 128);
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)remote, (void *)(local + 2 * PAGE), PAGE,
                                     &done), STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 0);
    /* Writing from that buffer: the source fails in the first piece, nothing counts. */
    done = 0x1234;
    RT_EXPECT_EQ(NtWriteVirtualMemory(child, (void *)remote, (void *)local, 8 * PAGE, &done),
                 STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 0);
    protect(NT_CURRENT_PROCESS, local + 2 * PAGE, 2 * PAGE, PAGE_READWRITE);

    /* NtWriteVirtualMemory never changes a protection: read-only and execute-read fail. */
    protect(child, remote, 8 * PAGE, PAGE_READONLY);
    RT_EXPECT_EQ(NtWriteVirtualMemory(child, (void *)remote, (void *)local, 16, &done),
                 STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 0);
    protect(child, remote, 8 * PAGE, PAGE_EXECUTE_READ);
    RT_EXPECT_EQ(NtWriteVirtualMemory(child, (void *)remote, (void *)local, 16, &done),
                 STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 0);
    protect(child, remote, 2 * PAGE, PAGE_EXECUTE_READWRITE);
    RT_EXPECT_EQ(NtWriteVirtualMemory(child, (void *)remote, (void *)local, 8 * PAGE, &done),
                 STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 2 * PAGE);

    /*
     * A guard page of another process is not touched: as on Windows, which takes one met
     * while attached for an access violation, the copy stops and the guard stays.
     */
    protect(child, remote, 8 * PAGE, PAGE_READWRITE);
    protect(child, remote + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD);
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)(remote + PAGE), (void *)local, 16, &done),
                 STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, 0);
    struct nt_memory_basic_information info;
    RT_EXPECT_EQ(NtQueryVirtualMemory(child, (void *)(remote + PAGE), NT_MEMORY_BASIC_INFORMATION,
                                      &info, sizeof(info), NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(info.protect, PAGE_READWRITE | PAGE_GUARD);
    RT_EXPECT_EQ(NtWriteVirtualMemory(child, (void *)remote, (void *)local, 2 * PAGE, &done),
                 STATUS_PARTIAL_COPY);
    RT_EXPECT_EQ(done, PAGE);
    release(child, remote);
    release(NT_CURRENT_PROCESS, local);
}

/* ---- after the child has ended ---- */

static void ended_child(void)
{
    uint32_t word = 0;
    size_t done = 0x1234;

    RT_EXPECT_EQ(NtTerminateProcess(child, CHILD_STATUS), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtWaitForSingleObject(child, 0, NULL), STATUS_SUCCESS);
    /* Its object lives on while a handle holds it: it can still be opened by id. */
    struct nt_object_attributes attributes = {sizeof(attributes), 0, NULL, 0, NULL, NULL};
    struct nt_client_id id = {child_id, 0};
    nt_handle_t handle;
    if (RT_EXPECT_EQ(NtOpenProcess(&handle, PROCESS_QUERY_LIMITED_INFORMATION, &attributes,
                                   &id), STATUS_SUCCESS)) {
        struct nt_process_basic_information basic;
        RT_EXPECT_EQ(NtQueryInformationProcess(handle, NT_PROCESS_BASIC_INFORMATION, &basic,
                                               sizeof(basic), NULL), STATUS_SUCCESS);
        RT_EXPECT_EQ(basic.exit_status, CHILD_STATUS);
        RT_EXPECT_EQ(NtClose(handle), STATUS_SUCCESS);
    }
    /* Its memory is gone. */
    RT_EXPECT_EQ(NtReadVirtualMemory(child, (void *)0x10000, &word, 4, &done),
                 STATUS_PROCESS_IS_TERMINATING);
    RT_EXPECT_EQ(done, 0);
    RT_EXPECT_EQ(NtClose(child), STATUS_SUCCESS);
}

static int parent(void)
{
    struct nt_unicode_string module, command_line;
    unsigned short module_text[32], command_text[32];

    rt_unicode_from_ascii(&module, module_text, 32, "vm_access.exe");
    rt_unicode_from_ascii(&command_line, command_text, 32, "vm_access.exe child");
    if (!RT_EXPECT_EQ(NtCreateProcessFromModule(&child, &module, &command_line),
                      STATUS_SUCCESS))
        return (int)rt_failure_count();
    child_id = process_id(child);
    open_process_rules();
    duplicate_rules();
    process_rights();
    section_rights();
    copy_arguments();
    copy_between_processes();
    ended_child();
    return (int)rt_failure_count();
}

/* The child sleeps until it is terminated. */
static _Noreturn void sleep_forever(void)
{
    const int64_t ten_ms = -100000;

    for (;;)
        NtDelayExecution(0, &ten_ms);
}

int main(int argc, char **argv)
{
    if (argc == 1)
        return parent();
    if (argc == 2 && rt_streq(argv[1], "child"))
        sleep_forever();
    rt_printf("usage: %s [child]\n", rt_program_name);
    return (int)USER_STATUS_USAGE;
}
