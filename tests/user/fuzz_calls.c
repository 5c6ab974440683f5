/*
 * fuzz.exe's calls: one maker per service, which fills in a call's arguments from the
 * stream (hostile mostly, valid often enough that memory, sections, threads and
 * children are really made), and the table of services with the statuses each may
 * return, which follows kernel/sys_*.c, kernel/syscall.c, kernel/exception.c and mm/.
 */
#include "tests/user/fuzz.h"

/* ---- the calls, one maker per service; false: draw again ---- */

static bool make_terminate_process(struct call *c)
{
    c->args[0] = any_handle();
    c->args[1] = integer();
    return c->args[0] != NT_CURRENT_PROCESS;
}

static bool make_nothing(struct call *c)
{
    (void)c;
    return true;
}

/* A UNICODE_STRING in the scratch for ascii; its length sometimes wrong. */
static struct pointer unicode_string(struct call *c, const char *ascii)
{
    struct pointer string = pointer(c, BIT(P_SCRATCH), sizeof(struct nt_unicode_string));
    struct pointer text = pointer(c, BIT(P_SCRATCH), 64);
    size_t length = rt_strlen(ascii);
    unsigned short characters[32];
    struct nt_unicode_string value;

    for (size_t i = 0; i < length; i++)
        characters[i] = (unsigned char)ascii[i];
    put(text, characters, length * 2);
    if (one_in(6))
        text = pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY), 64);
    value.length = (unsigned short)(length * 2);
    value.maximum_length = value.length;
    switch (random_below(12)) {
    case 0:
        value.length -= one_in(2) ? 1 : 2 * random_below(4);
        break;
    case 1:
        value.maximum_length = value.length - 2;
        break;
    case 2:
        value.length = value.maximum_length = 0xFFFF - random_below(2);
        break;
    default:
        break;
    }
    value.buffer = (unsigned short *)text.address;
    put(string, &value, sizeof(value));
    return string;
}

/*
 * Strings that would really print are empty, so that the fuzzer writes nothing to the
 * console but its own lines.
 */
static bool make_display_string(struct call *c)
{
    static const unsigned short lengths[] = {0, 1, 2, 3, 64, DISPLAY_MAX_BYTES,
                                             DISPLAY_MAX_BYTES + 2, 0xFFFE, 0xFFFF};
    if (one_in(4)) {
        c->args[0] = pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY), 8).address;
        return true;
    }
    struct pointer string = pointer(c, BIT(P_SCRATCH), sizeof(struct nt_unicode_string));
    struct pointer text = pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY) | BIT(P_SCRATCH), 2);
    struct nt_unicode_string value = {PICK(lengths), PICK(lengths),
                                      (unsigned short *)text.address};
    bool printable = value.length % 2 == 0 && value.length <= value.maximum_length &&
                     value.length <= DISPLAY_MAX_BYTES;

    if (printable && readable_by_fuzzer(text))
        value.length = 0;
    put(string, &value, sizeof(value));
    c->args[0] = string.address;
    return true;
}

static bool make_query_system_information(struct call *c)
{
    static const uint32_t classes[] = {NT_SYSTEM_BASIC_INFORMATION, NT_SYSTEM_MEMORY_INFORMATION,
                                       NT_SYSTEM_COUNTER_INFORMATION,
                                       NT_SYSTEM_PAGING_INFORMATION};
    static const uint32_t sizes[] = {sizeof(struct nt_system_basic_information),
                                     sizeof(struct nt_system_memory_information),
                                     sizeof(struct nt_system_counter_information),
                                     sizeof(struct nt_system_paging_information)};
    uint32_t which = random_below(COUNT_OF(classes));
    struct pointer buffer = pointer(c, KINDS_OUT, sizes[which]);

    c->args[0] = one_in(6) ? integer() : classes[which];
    c->args[1] = buffer.address;
    c->args[2] = length_for(buffer.address, sizes[random_below(COUNT_OF(sizes))]);
    c->args[3] = return_length(c);
    return true;
}

static bool make_create_process(struct call *c)
{
    static const char *const modules[] = {"fuzz.exe", "fuzz.exe", "FUZZ.EXE", "fuzz.ex",
                                          "nosuch.exe", ""};
    struct pointer handle = pointer(c, KINDS_HANDLE_OUT, 4);

    c->args[0] = handle.address;
    c->args[1] = one_in(5) ? pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY), 8).address
                           : unicode_string(c, PICK(modules)).address;
    switch (random_below(5)) {
    case 0:
        c->args[2] = 0;
        break;
    case 1:
        c->args[2] = pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY), 8).address;
        break;
    default:
        c->args[2] = unicode_string(c, "fuzz.exe child").address;
        break;
    }
    c->makes = MAKES_CHILD;
    c->result = handle;
    return true;
}

/* A relative interval or timeout: none, at most 1 ms, or one the kernel refuses. */
static uint32_t short_interval(struct call *c)
{
    static const int64_t intervals[] = {0, -1, -5000, -10000, 1, 10000, 0x7FFFFFFFFFFFFFFFLL};

    if (one_in(4))
        return pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY), 8).address;
    struct pointer p = pointer(c, BIT(P_SCRATCH) | BIT(P_RACE_IN), 8);
    int64_t value = PICK(intervals);
    put(p, &value, sizeof(value));
    return p.address;
}

static bool make_wait(struct call *c)
{
    c->args[0] = one_in(2) && child_count ? children[random_below(child_count)] : any_handle();
    c->args[1] = one_in(2) ? 0 : integer();
    /* Every child has ended, and a wait for this process is refused, so none can block. */
    c->args[2] = one_in(6) ? 0 : short_interval(c);
    return true;
}

static bool make_query_information_process(struct call *c)
{
    static const uint32_t classes[] = {NT_PROCESS_BASIC_INFORMATION,
                                       NT_PROCESS_EXCEPTION_INFORMATION, NT_PROCESS_QUOTA_LIMITS};
    static const uint32_t sizes[] = {sizeof(struct nt_process_basic_information),
                                     sizeof(struct nt_process_exception_information),
                                     sizeof(struct nt_quota_limits)};
    uint32_t which = random_below(COUNT_OF(classes));
    struct pointer buffer = pointer(c, KINDS_OUT, sizes[which]);

    c->args[0] = process_handle();
    c->args[1] = one_in(6) ? integer() : classes[which];
    c->args[2] = buffer.address;
    c->args[3] = length_for(buffer.address, sizes[random_below(COUNT_OF(sizes))]);
    c->args[4] = return_length(c);
    return true;
}

static bool make_set_information_process(struct call *c)
{
    static const uint32_t sizes[] = {0, PAGE, 20 * PAGE, 50 * PAGE, 345 * PAGE, 0x7FFFFFFF,
                                     0xFFFFFFFF};
    struct pointer buffer = pointer(c, KINDS_HARMLESS_IN & ~BIT(P_CODE),
                                    sizeof(struct nt_quota_limits));
    struct nt_quota_limits quota = {0};

    quota.minimum_working_set_size = one_in(2) ? PICK(sizes) : integer();
    quota.maximum_working_set_size = one_in(2) ? PICK(sizes) : integer();
    put(buffer, &quota, sizeof(quota));
    c->args[0] = process_handle();
    c->args[1] = one_in(6) ? integer() : NT_PROCESS_QUOTA_LIMITS;
    c->args[2] = buffer.address;
    c->args[3] = one_in(6) ? integer() : sizeof(struct nt_quota_limits);
    return true;
}

/* The racer's section handle stays open: the racer maps it while the calls go on. */
static bool make_close(struct call *c)
{
    c->args[0] = any_handle();
    return !racing || c->args[0] != race_section;
}

/* An address to aim a memory service at: one the calls made, or anything. */
static uint32_t target_address(void)
{
    if (owned_count && !one_in(3)) {
        uint32_t base = owned[random_below(owned_count)];
        return one_in(3) ? base + random_below(4 * PAGE) : base;
    }
    return one_in(2) ? integer() : edge();
}

/* The in-out base and size pointers of the memory services, the values put there. */
static void base_and_size(struct call *c, uint32_t base, uint32_t size, struct pointer *base_p,
                          struct pointer *size_p)
{
    *base_p = pointer(c, KINDS_KNOWN, 4);
    *size_p = pointer(c, KINDS_KNOWN, 4);
    put_word(*base_p, base);
    put_word(*size_p, size);
}

static bool free_or_protect_is_safe(uint32_t process, struct pointer base, struct pointer size);

static bool make_allocate(struct call *c)
{
    struct pointer base, size;
    uint32_t base_value;

    c->args[0] = process_handle();
    base_and_size(c, one_in(2) ? 0 : target_address(), region_size(), &base, &size);
    c->args[1] = base.address;
    c->args[2] = one_in(5) ? integer() : 0;
    c->args[3] = size.address;
    c->args[4] = allocation_type();
    c->args[5] = protection();
    if (c->args[0] != NT_CURRENT_PROCESS || !peek_word(base, &base_value))
        return true;
    /*
     * A commit at an address gives pages committed already the new protection, and a
     * reset may drop their contents: as a protect, it must leave the fuzzer's own alone.
     */
    if (base_value != 0 && !(c->args[4] & MEM_RESERVE) &&
        !free_or_protect_is_safe(c->args[0], base, size))
        return false;
    /* A commit at an address goes into a reservation there: nothing new to own. */
    if (c->args[4] & MEM_RESERVE || base_value == 0) {
        c->makes = MAKES_MEMORY;
        c->result = base;
        c->result_size = size;
    }
    c->touches = one_in(2);
    c->touch_base = base;
    return true;
}

/*
 * Whether a free or protect of the range the kernel will read at base and size, in
 * this process, may go ahead: what cannot be read fails the call before it acts, and
 * size 0 means the whole allocation at base.
 */
static bool free_or_protect_is_safe(uint32_t process, struct pointer base, struct pointer size)
{
    uint32_t base_value, size_value;

    if (process != NT_CURRENT_PROCESS || !peek_word(base, &base_value) ||
        !peek_word(size, &size_value))
        return true;
    return range_is_expendable(base_value, size_value);
}

static bool make_free(struct call *c)
{
    struct pointer base, size;

    c->args[0] = process_handle();
    base_and_size(c, target_address(), one_in(2) ? 0 : region_size(), &base, &size);
    c->args[1] = base.address;
    c->args[2] = size.address;
    c->args[3] = free_type();
    return free_or_protect_is_safe(c->args[0], base, size);
}

static bool make_protect(struct call *c)
{
    struct pointer base, size;

    c->args[0] = process_handle();
    base_and_size(c, target_address(), region_size(), &base, &size);
    c->args[1] = base.address;
    c->args[2] = size.address;
    c->args[3] = protection();
    c->args[4] = one_in(8) ? 0 : pointer(c, KINDS_OUT, 4).address;
    c->touches = c->args[0] == NT_CURRENT_PROCESS && one_in(2);
    c->touch_base = base;
    return free_or_protect_is_safe(c->args[0], base, size);
}

static bool make_query_virtual_memory(struct call *c)
{
    static const uint32_t classes[] = {NT_MEMORY_BASIC_INFORMATION, NT_MEMORY_BASIC_INFORMATION,
                                       NT_MEMORY_WORKING_SET_INFORMATION,
                                       NT_MEMORY_REGION_INFORMATION};
    struct pointer buffer = pointer(c, KINDS_OUT, sizeof(struct nt_memory_basic_information));

    c->args[0] = process_handle();
    c->args[1] = one_in(4) ? kept[random_below(kept_count)].start : target_address();
    c->args[2] = one_in(6) ? integer() : PICK(classes);
    c->args[3] = buffer.address;
    c->args[4] = length_for(buffer.address, sizeof(struct nt_memory_basic_information));
    c->args[5] = return_length(c);
    return true;
}

/* NtLockVirtualMemory and NtUnlockVirtualMemory: the same arguments. */
static bool make_lock(struct call *c)
{
    static const uint32_t map_types[] = {MAP_PROCESS, MAP_PROCESS, MAP_PROCESS, MAP_SYSTEM, 0,
                                         MAP_PROCESS | MAP_SYSTEM};
    struct pointer base, size;

    c->args[0] = process_handle();
    base_and_size(c, target_address(), region_size(), &base, &size);
    c->args[1] = base.address;
    c->args[2] = size.address;
    c->args[3] = one_in(8) ? integer() : PICK(map_types);
    return true;
}

static bool make_get_write_watch(struct call *c)
{
    struct pointer count = pointer(c, BIT(P_SCRATCH), 4);
    uint32_t entries = one_in(4) ? random_below(8) : 1 + random_below(16);

    put(count, &entries, sizeof(entries));
    c->args[0] = process_handle();
    c->args[1] = one_in(4) ? integer() : random_below(2);
    c->args[2] = target_address();
    c->args[3] = region_size();
    c->args[4] = pointer(c, KINDS_OUT, 16 * 4).address;
    c->args[5] = count.address;
    c->args[6] = pointer(c, KINDS_OUT, 4).address;
    return true;
}

static bool make_reset_write_watch(struct call *c)
{
    c->args[0] = process_handle();
    c->args[1] = target_address();
    c->args[2] = region_size();
    return true;
}

/* A dispatcher in system space, which must be refused; it is removed again in any case. */
static bool make_set_exception_handler(struct call *c)
{
    c->args[0] = one_in(2) ? 0 : pointer(c, BIT(P_SYSTEM), 1).address;
    c->resets_dispatcher = c->args[0] != 0;
    return true;
}

/*
 * Half of them a context the kernel cannot read; the other half a real one that resumes
 * at the call (fuzz.c, continue_live) with EFLAGS of random bits, which the kernel must
 * sanitize. TF and DF are left out: a step would end the fuzzer, and C wants DF clear.
 */
static bool make_continue(struct call *c)
{
    if (one_in(2)) {
        c->live_context = true;
        c->context_eflags = random_below(UINT32_MAX) & ~(EFLAGS_TF | EFLAGS_DF);
        return true;
    }
    c->args[0] = pointer(c, KINDS_UNREADABLE, sizeof(struct nt_context)).address;
    c->args[1] = integer();
    return true;
}

static bool make_create_section(struct call *c)
{
    static const uint32_t protections[] = {PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE_READ,
                                           PAGE_EXECUTE_READWRITE};
    static const int64_t sizes[] = {0, 1, 0x1000, 0x10000, 0x20000, 0x40000000, 0x40000001,
                                    0xFFFFFFFF, 0x100000000LL, -1};
    struct pointer handle = pointer(c, KINDS_HANDLE_OUT, 4);
    struct pointer size = pointer(c, KINDS_HARMLESS_IN, 8);
    int64_t size_value = one_in(2) ? (int64_t)(1 + random_below(32)) * PAGE : PICK(sizes);

    put(size, &size_value, sizeof(size_value));
    c->args[0] = handle.address;
    c->args[1] = one_in(2) ? 0xF001F : integer();
    c->args[2] = one_in(8) ? integer() : 0;
    c->args[3] = one_in(10) ? 0 : size.address;
    c->args[4] = one_in(4) ? protection() : PICK(protections);
    c->args[5] = one_in(8) ? allocation_type() : one_in(4) ? SEC_RESERVE : SEC_COMMIT;
    c->args[6] = one_in(10) ? integer() : 0;
    c->makes = MAKES_SECTION;
    c->result = handle;
    return true;
}

static bool make_map_view(struct call *c)
{
    static const uint32_t protections[] = {PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY,
                                           PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
                                           PAGE_EXECUTE_WRITECOPY, PAGE_EXECUTE};
    static const int64_t offsets[] = {0, 0, 0x1000, 0x10000, 0x20000, 0xFFFFFFFF,
                                      0x100000000LL, -0x10000};
    struct pointer base, size, offset = pointer(c, KINDS_HARMLESS_IN, 8);
    int64_t offset_value = PICK(offsets);

    put(offset, &offset_value, sizeof(offset_value));
    c->args[0] = section_count && !one_in(5) ? sections[random_below(section_count)]
                                             : any_handle();
    c->args[1] = process_handle();
    base_and_size(c, one_in(2) ? 0 : target_address(), one_in(2) ? 0 : region_size(), &base,
                  &size);
    c->args[2] = base.address;
    c->args[3] = one_in(8) ? integer() : 0;
    c->args[4] = one_in(4) ? integer() : one_in(2) ? PAGE : 0;
    c->args[5] = one_in(3) ? 0 : offset.address;
    c->args[6] = size.address;
    c->args[7] = one_in(2) ? 1 : integer();
    c->args[8] = one_in(4) ? allocation_type() : one_in(4) ? MEM_TOP_DOWN : 0;
    c->args[9] = one_in(4) ? protection() : PICK(protections);
    if (c->args[1] == NT_CURRENT_PROCESS) {
        c->makes = MAKES_MEMORY;
        c->result = base;
        c->result_size = size;
        c->touches = !one_in(3);
        c->touch_base = base;
    }
    return true;
}

static bool make_unmap_view(struct call *c)
{
    c->args[0] = process_handle();
    c->args[1] = target_address();
    return c->args[0] != NT_CURRENT_PROCESS || range_is_expendable(c->args[1], 1);
}

/* Threads start only where they end themselves, or where the kernel must refuse them. */
static bool make_create_thread(struct call *c)
{
    switch (random_below(4)) {
    case 0:
        c->args[0] = 0;
        break;
    case 1:
        c->args[0] = pointer(c, BIT(P_SYSTEM), 1).address;
        break;
    default:
        c->args[0] = (uint32_t)(uintptr_t)thread_main;
        break;
    }
    c->args[1] = integer();
    if (c->args[0] == (uint32_t)(uintptr_t)thread_main) {
        c->makes = MAKES_THREAD;
        thread_stack = 0;
    }
    return true;
}

static bool make_terminate_thread(struct call *c)
{
    c->args[0] = any_handle();
    c->args[1] = integer();
    return c->args[0] != NT_CURRENT_THREAD;
}

static bool make_delay(struct call *c)
{
    c->args[0] = one_in(2) ? 0 : integer();
    c->args[1] = one_in(8) ? 0 : short_interval(c);
    return true;
}

/* An access mask: mostly rights a process or section has, sometimes anything. */
static uint32_t access_mask(void)
{
    static const uint32_t masks[] = {0, PROCESS_ALL_ACCESS, PROCESS_VM_READ, PROCESS_VM_WRITE,
                                     PROCESS_VM_OPERATION, PROCESS_DUP_HANDLE, SYNCHRONIZE,
                                     PROCESS_QUERY_LIMITED_INFORMATION, SECTION_ALL_ACCESS,
                                     SECTION_MAP_READ, SECTION_MAP_WRITE, GENERIC_READ,
                                     GENERIC_ALL, MAXIMUM_ALLOWED, ACCESS_SYSTEM_SECURITY};
    return one_in(4) ? integer() : PICK(masks);
}

static bool make_open_process(struct call *c)
{
    struct pointer handle = pointer(c, KINDS_HANDLE_OUT, 4);
    struct pointer attributes = pointer(c, BIT(P_SCRATCH), sizeof(struct nt_object_attributes));
    struct pointer client_id = pointer(c, BIT(P_SCRATCH), sizeof(struct nt_client_id));
    struct nt_object_attributes value = {sizeof(value), 0, NULL, 0, NULL, NULL};
    /*
     * This process, or an id no process has (the same in every run, so that a seed repeats
     * its calls); never the System process, which never ends: a wait on it would not.
     */
    struct nt_client_id id = {one_in(2) ? own_process_id : integer() | 0x80000000u,
                              one_in(6) ? integer() : 0};
    if (one_in(6))
        value.object_name = (struct nt_unicode_string *)(uintptr_t)integer();
    put(attributes, &value, sizeof(value));
    put(client_id, &id, sizeof(id));
    c->args[0] = handle.address;
    c->args[1] = access_mask();
    c->args[2] = one_in(8) ? pointer(c, KINDS_UNREADABLE, 24).address : attributes.address;
    c->args[3] = one_in(8)   ? 0
                 : one_in(8) ? pointer(c, KINDS_UNREADABLE, 8).address
                             : client_id.address;
    c->makes = MAKES_HANDLE;
    c->result = handle;
    return true;
}

/*
 * Duplicates into this process only where the new handle is written down (so that it is
 * closed at once); the racer's section is never closed as a source.
 */
static bool make_duplicate_object(struct call *c)
{
    struct pointer handle = pointer(c, KINDS_HANDLE_OUT, 4);

    c->args[0] = process_handle();
    c->args[1] = any_handle();
    c->args[2] = one_in(8) ? 0 : process_handle();
    c->args[3] = c->args[2] == NT_CURRENT_PROCESS || !one_in(4) ? handle.address : 0;
    if (c->args[2] == NT_CURRENT_PROCESS && c->args[3] == 0)
        return false;   /* a handle of this process that nobody would know of */
    c->args[4] = access_mask();
    c->args[5] = one_in(4) ? integer() : 0;
    c->args[6] = one_in(6) ? integer() : random_below(8);
    if (c->args[6] & DUPLICATE_CLOSE_SOURCE && c->args[0] == NT_CURRENT_PROCESS) {
        if (racing && c->args[1] == race_section)
            return false;
        c->closes_source = true;
    }
    c->makes = c->args[2] == NT_CURRENT_PROCESS ? MAKES_HANDLE : MAKES_NOTHING;
    c->result = handle;
    return true;
}

/* A size to copy: small, around Windows' 512-byte pool copy, or pages. */
static uint32_t copy_size(void)
{
    static const uint32_t sizes[] = {0, 1, 12, 256, 511, 512, 513, 2000, PAGE - 8, 3 * PAGE};
    return PICK(sizes);
}

/* Where a copy may read or write size bytes: any kind, but those too small for a big copy. */
static unsigned copy_kinds(unsigned kinds, uint32_t size)
{
    if (size < PAGE - 8)
        return kinds;
    return kinds & (BIT(P_NULL_REGION) | BIT(P_SYSTEM) | BIT(P_STRADDLE) | BIT(P_SCRATCH) |
                    BIT(P_READ_ONLY) | BIT(P_ANYWHERE));
}

/* Reads and writes: in this process, the written side is one the kernel may write. */
static bool make_copy(struct call *c, bool write)
{
    uint32_t size = copy_size();
    unsigned written = copy_kinds(KINDS_OUT, size), read = copy_kinds(KINDS_KNOWN, size);

    c->args[0] = process_handle();
    c->args[1] = pointer(c, write ? written : read, size).address;
    c->args[2] = pointer(c, write ? read : written, size).address;
    c->args[3] = one_in(8) ? integer() : size;
    c->args[4] = one_in(3) ? 0 : pointer(c, KINDS_OUT, 4).address;
    /* Any other size is for calls that copy nothing: another process has ended. */
    return c->args[3] == size || c->args[0] != NT_CURRENT_PROCESS;
}

static bool make_read(struct call *c)
{
    return make_copy(c, false);
}

static bool make_write(struct call *c)
{
    return make_copy(c, true);
}

static bool make_any(struct call *c)
{
    for (unsigned i = 0; i < MAX_ARGUMENTS; i++)
        c->args[i] = integer();
    return true;
}

/* ---- the services and the statuses each can return ---- */

enum {
    OK_SUCCESS, OK_TIMEOUT, OK_ACCESS_VIOLATION, OK_INVALID_PARAMETER, OK_INVALID_HANDLE,
    OK_TYPE_MISMATCH, OK_INFO_CLASS, OK_INFO_LENGTH, OK_CONFLICTING, OK_NO_MEMORY,
    OK_COMMITMENT_LIMIT, OK_INSUFFICIENT_RESOURCES, OK_PAGE_PROTECTION, OK_NOT_ALLOCATED,
    OK_NOT_AT_BASE, OK_UNABLE_TO_FREE, OK_UNABLE_TO_DELETE, OK_NOT_COMMITTED,
    OK_SECTION_PROTECTION, OK_VIEW_SIZE, OK_NOT_MAPPED_VIEW, OK_NOT_SUPPORTED,
    OK_NAME_NOT_FOUND, OK_IMAGE_FORMAT, OK_TERMINATING, OK_SYSTEM_SERVICE,
    OK_WORKING_SET_LIMIT, OK_IN_PAGE_ERROR, OK_PARAMETER_2, OK_PARAMETER_3, OK_PARAMETER_4,
    OK_PARAMETER_5, OK_PARAMETER_6, OK_PARAMETER_8, OK_PARAMETER_9, OK_MAPPED_ALIGNMENT,
    OK_FILE_FOR_SECTION, OK_SECTION_TOO_BIG, OK_PRIVILEGE, OK_WORKING_SET_QUOTA,
    OK_GUARD_PAGE, OK_NOT_LOCKED, OK_INVALID_ADDRESS, OK_ACCESS_DENIED, OK_PARTIAL_COPY,
    OK_INVALID_CID, OK_PARAMETER_MIX, OK_COUNT,
};

static const ntstatus_t ok_statuses[OK_COUNT] = {
    STATUS_SUCCESS, STATUS_TIMEOUT, STATUS_ACCESS_VIOLATION, STATUS_INVALID_PARAMETER,
    STATUS_INVALID_HANDLE, STATUS_OBJECT_TYPE_MISMATCH, STATUS_INVALID_INFO_CLASS,
    STATUS_INFO_LENGTH_MISMATCH, STATUS_CONFLICTING_ADDRESSES, STATUS_NO_MEMORY,
    STATUS_COMMITMENT_LIMIT, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PAGE_PROTECTION,
    STATUS_MEMORY_NOT_ALLOCATED, STATUS_FREE_VM_NOT_AT_BASE, STATUS_UNABLE_TO_FREE_VM,
    STATUS_UNABLE_TO_DELETE_SECTION, STATUS_NOT_COMMITTED, STATUS_SECTION_PROTECTION,
    STATUS_INVALID_VIEW_SIZE, STATUS_NOT_MAPPED_VIEW, STATUS_NOT_SUPPORTED,
    STATUS_OBJECT_NAME_NOT_FOUND, STATUS_INVALID_IMAGE_FORMAT, STATUS_PROCESS_IS_TERMINATING,
    STATUS_INVALID_SYSTEM_SERVICE, STATUS_BAD_WORKING_SET_LIMIT, STATUS_IN_PAGE_ERROR,
    STATUS_INVALID_PARAMETER_2, STATUS_INVALID_PARAMETER_3, STATUS_INVALID_PARAMETER_4,
    STATUS_INVALID_PARAMETER_5, STATUS_INVALID_PARAMETER_6, STATUS_INVALID_PARAMETER_8,
    STATUS_INVALID_PARAMETER_9, STATUS_MAPPED_ALIGNMENT, STATUS_INVALID_FILE_FOR_SECTION,
    STATUS_SECTION_TOO_BIG, STATUS_PRIVILEGE_NOT_HELD, STATUS_WORKING_SET_QUOTA,
    STATUS_GUARD_PAGE_VIOLATION, STATUS_NOT_LOCKED, STATUS_INVALID_ADDRESS,
    STATUS_ACCESS_DENIED, STATUS_PARTIAL_COPY, STATUS_INVALID_CID, STATUS_INVALID_PARAMETER_MIX,
};

/* A set of the statuses above, as bits (more than 32 of them). */
#define OK(name)       (1ull << (name))

/* What a service taking a process handle may say about it (a handle may lack the right). */
#define PROCESS_HANDLE (OK(OK_INVALID_HANDLE) | OK(OK_TYPE_MISMATCH) | OK(OK_ACCESS_DENIED))
/*
 * ... and one that works in that process's address space: a process that has ended has
 * none left to work in (NT says STATUS_PROCESS_IS_TERMINATING).
 */
#define PROCESS_SPACE  (PROCESS_HANDLE | OK(OK_TERMINATING))
/* A new reservation or view, or commit: out of address space, commit, pool or frames. */
#define OUT_OF_MEMORY  (OK(OK_NO_MEMORY) | OK(OK_COMMITMENT_LIMIT) | \
                        OK(OK_INSUFFICIENT_RESOURCES))
/*
 * The argument copy, and the probes every pointer argument gets: a bad pointer, or
 * (as on NT) memory that could not be brought in: no frame left, a failed disk read.
 */
#define PROBES         (OK(OK_ACCESS_VIOLATION) | OK(OK_NO_MEMORY) | OK(OK_IN_PAGE_ERROR))

struct service {
    const char *name;
    unsigned arguments;             /* as kernel/syscall.c copies them */
    unsigned weight;                /* how often the stream draws it */
    uint64_t ok;                    /* OK(OK_X) of the statuses it may return */
    bool (*make)(struct call *call);
};

static const struct service services[NT_SERVICE_COUNT] = {
    [NT_SERVICE_TERMINATE_PROCESS] = {"NtTerminateProcess", 2, 2,
        OK(OK_SUCCESS) | PROCESS_HANDLE, make_terminate_process},
    [NT_SERVICE_YIELD_EXECUTION] = {"NtYieldExecution", 0, 1, OK(OK_SUCCESS), make_nothing},
    [NT_SERVICE_DISPLAY_STRING] = {"NtDisplayString", 1, 3,
        OK(OK_SUCCESS) | PROBES | OK(OK_INVALID_PARAMETER), make_display_string},
    [NT_SERVICE_QUERY_SYSTEM_INFORMATION] = {"NtQuerySystemInformation", 4, 3,
        OK(OK_SUCCESS) | PROBES | OK(OK_INFO_CLASS) | OK(OK_INFO_LENGTH),
        make_query_system_information},
    [NT_SERVICE_CREATE_PROCESS_FROM_MODULE] = {"NtCreateProcessFromModule", 3, 2,
        OK(OK_SUCCESS) | PROBES | OK(OK_INVALID_PARAMETER) | OK(OK_NAME_NOT_FOUND) |
        OK(OK_IMAGE_FORMAT) | OK(OK_CONFLICTING) | OUT_OF_MEMORY, make_create_process},
    [NT_SERVICE_WAIT_FOR_SINGLE_OBJECT] = {"NtWaitForSingleObject", 3, 2,
        OK(OK_SUCCESS) | OK(OK_TIMEOUT) | PROBES | OK(OK_INVALID_PARAMETER) | PROCESS_HANDLE,
        make_wait},
    [NT_SERVICE_QUERY_INFORMATION_PROCESS] = {"NtQueryInformationProcess", 5, 3,
        OK(OK_SUCCESS) | PROBES | OK(OK_INFO_CLASS) | OK(OK_INFO_LENGTH) | PROCESS_HANDLE,
        make_query_information_process},
    [NT_SERVICE_CLOSE] = {"NtClose", 1, 3, OK(OK_SUCCESS) | OK(OK_INVALID_HANDLE),
        make_close},
    [NT_SERVICE_ALLOCATE_VIRTUAL_MEMORY] = {"NtAllocateVirtualMemory", 6, 10,
        OK(OK_SUCCESS) | PROBES | OK(OK_INVALID_PARAMETER) | OK(OK_PARAMETER_2) |
        OK(OK_PARAMETER_3) | OK(OK_PARAMETER_4) | OK(OK_PARAMETER_5) | PROCESS_SPACE |
        OK(OK_PAGE_PROTECTION) | OK(OK_CONFLICTING) | OUT_OF_MEMORY, make_allocate},
    [NT_SERVICE_FREE_VIRTUAL_MEMORY] = {"NtFreeVirtualMemory", 4, 8,
        OK(OK_SUCCESS) | PROBES | OK(OK_PARAMETER_2) | OK(OK_PARAMETER_3) |
        OK(OK_PARAMETER_4) | PROCESS_SPACE | OK(OK_NOT_ALLOCATED) | OK(OK_UNABLE_TO_DELETE) |
        OK(OK_NOT_AT_BASE) | OK(OK_UNABLE_TO_FREE) | OK(OK_INSUFFICIENT_RESOURCES),
        make_free},
    [NT_SERVICE_PROTECT_VIRTUAL_MEMORY] = {"NtProtectVirtualMemory", 5, 8,
        OK(OK_SUCCESS) | PROBES | OK(OK_PARAMETER_2) | OK(OK_PARAMETER_3) |
        OK(OK_PARAMETER_4) | PROCESS_SPACE | OK(OK_PAGE_PROTECTION) | OK(OK_CONFLICTING) |
        OK(OK_NOT_SUPPORTED) | OK(OK_NOT_COMMITTED) | OK(OK_SECTION_PROTECTION) |
        OUT_OF_MEMORY, make_protect},
    [NT_SERVICE_QUERY_VIRTUAL_MEMORY] = {"NtQueryVirtualMemory", 6, 6,
        OK(OK_SUCCESS) | PROBES | OK(OK_INVALID_PARAMETER) | PROCESS_SPACE |
        OK(OK_INFO_CLASS) | OK(OK_INFO_LENGTH) | OK(OK_INVALID_ADDRESS),
        make_query_virtual_memory},
    [NT_SERVICE_SET_EXCEPTION_HANDLER] = {"NtSetExceptionHandler", 1, 1,
        OK(OK_SUCCESS) | PROBES, make_set_exception_handler},
    [NT_SERVICE_CONTINUE] = {"NtContinue", 2, 2, OK(OK_SUCCESS) | PROBES, make_continue},
    [NT_SERVICE_CREATE_SECTION] = {"NtCreateSection", 7, 4,
        OK(OK_SUCCESS) | PROBES | OK(OK_PARAMETER_3) | OK(OK_PARAMETER_4) |
        OK(OK_PARAMETER_6) | OK(OK_PAGE_PROTECTION) | OK(OK_INVALID_HANDLE) |
        OK(OK_FILE_FOR_SECTION) | OK(OK_SECTION_TOO_BIG) | OK(OK_ACCESS_DENIED) |
        OK(OK_PRIVILEGE) | OUT_OF_MEMORY, make_create_section},
    [NT_SERVICE_MAP_VIEW_OF_SECTION] = {"NtMapViewOfSection", 10, 6,
        OK(OK_SUCCESS) | PROBES | OK(OK_PARAMETER_3) | OK(OK_PARAMETER_4) |
        OK(OK_PARAMETER_5) | OK(OK_PARAMETER_8) | OK(OK_PARAMETER_9) | PROCESS_SPACE |
        OK(OK_MAPPED_ALIGNMENT) | OK(OK_PAGE_PROTECTION) | OK(OK_SECTION_PROTECTION) |
        OK(OK_VIEW_SIZE) | OK(OK_CONFLICTING) | OUT_OF_MEMORY, make_map_view},
    [NT_SERVICE_UNMAP_VIEW_OF_SECTION] = {"NtUnmapViewOfSection", 2, 4,
        OK(OK_SUCCESS) | PROCESS_SPACE | OK(OK_NOT_MAPPED_VIEW), make_unmap_view},
    [NT_SERVICE_TEST_ALERT] = {"NtTestAlert", 0, 1, OK(OK_SUCCESS), make_nothing},
    [NT_SERVICE_CREATE_THREAD] = {"NtCreateThread", 2, 2,
        OK(OK_SUCCESS) | OK(OK_INVALID_PARAMETER) | OUT_OF_MEMORY, make_create_thread},
    [NT_SERVICE_TERMINATE_THREAD] = {"NtTerminateThread", 2, 1, OK(OK_INVALID_HANDLE),
        make_terminate_thread},
    [NT_SERVICE_DELAY_EXECUTION] = {"NtDelayExecution", 2, 1,
        OK(OK_SUCCESS) | PROBES | OK(OK_INVALID_PARAMETER), make_delay},
    [NT_SERVICE_SET_INFORMATION_PROCESS] = {"NtSetInformationProcess", 4, 2,
        OK(OK_SUCCESS) | PROBES | OK(OK_INFO_CLASS) | OK(OK_INFO_LENGTH) | PROCESS_SPACE |
        OK(OK_WORKING_SET_LIMIT) | OK(OK_INSUFFICIENT_RESOURCES) | OK(OK_INVALID_PARAMETER),
        make_set_information_process},
    [NT_SERVICE_OPEN_PROCESS] = {"NtOpenProcess", 4, 2,
        OK(OK_SUCCESS) | PROBES | OK(OK_PARAMETER_MIX) | OK(OK_NAME_NOT_FOUND) |
        OK(OK_INVALID_CID) | OK(OK_ACCESS_DENIED) | OK(OK_PRIVILEGE) |
        OK(OK_INSUFFICIENT_RESOURCES), make_open_process},
    [NT_SERVICE_DUPLICATE_OBJECT] = {"NtDuplicateObject", 7, 3,
        OK(OK_SUCCESS) | PROBES | PROCESS_SPACE | OK(OK_INVALID_PARAMETER) | OK(OK_PRIVILEGE) |
        OK(OK_INSUFFICIENT_RESOURCES), make_duplicate_object},
    [NT_SERVICE_READ_VIRTUAL_MEMORY] = {"NtReadVirtualMemory", 5, 4,
        OK(OK_SUCCESS) | PROBES | PROCESS_SPACE | OK(OK_PARTIAL_COPY) |
        OK(OK_INSUFFICIENT_RESOURCES), make_read},
    [NT_SERVICE_WRITE_VIRTUAL_MEMORY] = {"NtWriteVirtualMemory", 5, 4,
        OK(OK_SUCCESS) | PROBES | PROCESS_SPACE | OK(OK_PARTIAL_COPY) |
        OK(OK_INSUFFICIENT_RESOURCES), make_write},
    [NT_SERVICE_LOCK_VIRTUAL_MEMORY] = {"NtLockVirtualMemory", 4, 3,
        OK(OK_SUCCESS) | PROBES | OK(OK_INVALID_PARAMETER) | PROCESS_SPACE |
        OK(OK_PRIVILEGE) | OK(OK_WORKING_SET_QUOTA) | OK(OK_GUARD_PAGE) | OUT_OF_MEMORY,
        make_lock},
    [NT_SERVICE_UNLOCK_VIRTUAL_MEMORY] = {"NtUnlockVirtualMemory", 4, 3,
        OK(OK_SUCCESS) | PROBES | OK(OK_INVALID_PARAMETER) | PROCESS_SPACE |
        OK(OK_PRIVILEGE) | OK(OK_NOT_LOCKED), make_lock},
    [NT_SERVICE_GET_WRITE_WATCH] = {"NtGetWriteWatch", 7, 3,
        OK(OK_SUCCESS) | PROBES | OK(OK_INVALID_PARAMETER) | PROCESS_SPACE,
        make_get_write_watch},
    [NT_SERVICE_RESET_WRITE_WATCH] = {"NtResetWriteWatch", 3, 2,
        OK(OK_SUCCESS) | OK(OK_INVALID_PARAMETER) | PROCESS_SPACE, make_reset_write_watch},
};

/* Numbers past the last service, and far past it. */
static const uint32_t invalid_numbers[] = {
    NT_SERVICE_COUNT, NT_SERVICE_COUNT + 1, NT_SERVICE_COUNT + 2, 0x1000, 0x7FFFFFFF,
    0x80000000, 0xFFFFFFFF,
};
#define INVALID_WEIGHT 1

const char *service_name(uint32_t number)
{
    return number < NT_SERVICE_COUNT && services[number].name ? services[number].name
                                                              : "(no service)";
}

unsigned service_argument_count(uint32_t number)
{
    return number < NT_SERVICE_COUNT ? services[number].arguments : 4;
}

bool status_allowed(const struct call *c, ntstatus_t status)
{
    uint64_t ok;

    if (c->number >= NT_SERVICE_COUNT || !services[c->number].name)
        ok = OK(OK_SYSTEM_SERVICE);     /* past the last service, or a number none has */
    else if (c->raw && services[c->number].arguments)
        ok = PROBES;        /* the arguments themselves cannot be read */
    else
        ok = services[c->number].ok;
    for (unsigned i = 0; i < OK_COUNT; i++)
        if (ok & OK(i) && ok_statuses[i] == status)
            return true;
    return false;
}

/* Draws the next call; false when it is one to leave out (the caller draws again). */
bool draw(struct call *c)
{
    static unsigned total_weight;

    memset(c, 0, sizeof(*c));
    /* Now and then FS and GS hold the null selector or the (readable) code selector. */
    static const uint16_t segments[] = {0, NT_USER_CODE_SELECTOR};
    c->segment = one_in(8) ? PICK(segments) : NT_USER_DATA_SELECTOR;
    if (!total_weight) {
        total_weight = INVALID_WEIGHT;
        for (unsigned i = 0; i < NT_SERVICE_COUNT; i++)
            total_weight += services[i].weight;
    }
    if (one_in(40)) {
        c->number = one_in(8) ? PICK(invalid_numbers) : random_below(NT_SERVICE_COUNT);
        c->raw = true;
        c->raw_arguments = pointer(c, KINDS_UNREADABLE, 4 * MAX_ARGUMENTS).address;
        return true;
    }
    uint32_t ticket = random_below(total_weight);
    for (c->number = 0; c->number < NT_SERVICE_COUNT; c->number++) {
        if (ticket < services[c->number].weight)
            return services[c->number].make(c);
        ticket -= services[c->number].weight;
    }
    c->number = PICK(invalid_numbers);
    return make_any(c);
}
