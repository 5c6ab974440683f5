/*
 * vm_views.exe: sections, views and the protections of their pages, as 32-bit Windows 10
 * has them (the expected values are Windows', from its documentation and from checks
 * validated on it):
 *   - NtCreateSection: the protections and attributes allowed, and its statuses in
 *     Windows' order (attributes, protection, file, size);
 *   - NtMapViewOfSection: each bad argument by its number, the alignment of base and
 *     offset, ZeroBits, AT_ROUND_TO_PAGE, the table of view protections each section
 *     protection allows, no-access and guard views;
 *   - NtProtectVirtualMemory on views: any protection the view's own allows, per page,
 *     kept while the page is out of the working set; copy-on-write pages turning private;
 *     an image's pages asked writable become copy-on-write;
 *   - MEM_COMMIT on views: the protection changes; SEC_RESERVE sections committed
 *     through a view for every view; decommit and release of a view refused;
 *   - NtUnmapViewOfSection at any address inside the view;
 *   - PAGE_NOCACHE and PAGE_WRITECOMBINE: accepted where Windows accepts them, kept for
 *     the whole allocation;
 *   - MEM_RESET and MEM_RESET_UNDO: the pages stay committed with their protection.
 * Prints a diagnostic for each failed check; exits 0 if all held, else the number failed.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define PAGE            0x1000u
#define GRANULE         0x10000u
#define SECTION_BYTES   (4 * PAGE)
#define FIXED_BASE      0x38000000u     /* a free place for views at a given address */

static const unsigned int all_protections[] = {
    PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY,
    PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_WRITECOPY,
};
#define PROTECTION_COUNT (sizeof(all_protections) / sizeof(all_protections[0]))

/* ---- calls ---- */

static ntstatus_t create_section(nt_handle_t *section, int64_t size, unsigned int protection,
                                 unsigned int attributes)
{
    *section = 0;
    return rt_syscall(NT_SERVICE_CREATE_SECTION, section, SECTION_ALL_ACCESS, NULL, &size,
                      protection, attributes, 0);
}

struct view {
    uint32_t base;
    uint32_t size;
    int64_t offset;
    unsigned int type;
    unsigned int protection;
    unsigned int zero_bits;
    unsigned int inherit;
    uint32_t commit_size;
};

static ntstatus_t map(nt_handle_t section, struct view *v)
{
    return rt_syscall(NT_SERVICE_MAP_VIEW_OF_SECTION, section, NT_CURRENT_PROCESS, &v->base,
                      v->zero_bits, v->commit_size, &v->offset, &v->size,
                      v->inherit ? v->inherit : VIEW_SHARE, v->type, v->protection);
}

/* Maps all of section anywhere with protection; the base, or 0 on failure. */
static uint32_t map_all(nt_handle_t section, unsigned int protection)
{
    struct view v = {.protection = protection};

    return NT_SUCCESS(map(section, &v)) ? v.base : 0;
}

static ntstatus_t unmap(uint32_t address)
{
    return rt_syscall(NT_SERVICE_UNMAP_VIEW_OF_SECTION, NT_CURRENT_PROCESS, address);
}

/* A new section of SECTION_BYTES with protection and attributes; 0 on failure. */
static nt_handle_t new_section(unsigned int protection, unsigned int attributes)
{
    nt_handle_t section;

    if (!RT_EXPECT_EQ(create_section(&section, SECTION_BYTES, protection, attributes),
                      STATUS_SUCCESS))
        return 0;
    return section;
}

static ntstatus_t protect(uint32_t base, uint32_t size, unsigned int protection,
                          unsigned int *old)
{
    unsigned int ignored;

    return rt_vm_protect(&base, &size, protection, old ? old : &ignored);
}

static ntstatus_t commit(uint32_t base, uint32_t size, unsigned int protection)
{
    return rt_vm_allocate(&base, &size, MEM_COMMIT, protection);
}

static unsigned int protection_of(uint32_t address)
{
    struct nt_memory_basic_information info;

    return NT_SUCCESS(rt_vm_query(address, &info)) ? info.protect : 0xFFFFFFFF;
}

/* ---- faults ---- */

static struct rt_jump_buffer recovery;
static bool expecting_fault;
static struct nt_exception_record last_record;

static bool handler(struct nt_exception_record *record, struct nt_context *context)
{
    last_record = *record;
    if (!expecting_fault)
        return false;           /* an unexpected fault ends the program with its code */
    rt_context_jump(context, &recovery, 1);
    return true;
}

/* The status the access faulted with, or STATUS_SUCCESS when it went through. */
static ntstatus_t touch(uint32_t address, bool write)
{
    expecting_fault = true;
    if (rt_setjmp(&recovery) == 0) {
        if (write)
            rt_probe_write(address, 0x5A);
        else
            rt_probe_read(address);
        expecting_fault = false;
        return STATUS_SUCCESS;
    }
    expecting_fault = false;
    return last_record.code;
}

/* ---- NtCreateSection ---- */

static void check_create_section(void)
{
    static const struct {
        int64_t size;
        unsigned int protection, attributes;
        ntstatus_t status;
    } cases[] = {
        /* Pagefile-backed sections may be copy-on-write (since Vista). */
        {SECTION_BYTES, PAGE_WRITECOPY, SEC_COMMIT, STATUS_SUCCESS},
        {SECTION_BYTES, PAGE_EXECUTE_WRITECOPY, SEC_COMMIT, STATUS_SUCCESS},
        {SECTION_BYTES, PAGE_EXECUTE_READWRITE, SEC_RESERVE, STATUS_SUCCESS},
        {SECTION_BYTES, PAGE_READWRITE, SEC_COMMIT | SEC_NOCACHE, STATUS_SUCCESS},
        /* The attributes come first. */
        {SECTION_BYTES, PAGE_READWRITE, 0, STATUS_INVALID_PARAMETER_6},
        {SECTION_BYTES, PAGE_READWRITE, SEC_COMMIT | SEC_RESERVE, STATUS_INVALID_PARAMETER_6},
        {SECTION_BYTES, PAGE_READWRITE, SEC_IMAGE | SEC_COMMIT, STATUS_INVALID_PARAMETER_6},
        {SECTION_BYTES, PAGE_READWRITE, 0xFFFFFFFF, STATUS_INVALID_PARAMETER_6},
        {0, 0, 0, STATUS_INVALID_PARAMETER_6},
        /* Then the protection, even against a huge size. */
        {SECTION_BYTES, PAGE_NOACCESS, SEC_COMMIT, STATUS_INVALID_PAGE_PROTECTION},
        {SECTION_BYTES, 0, SEC_COMMIT, STATUS_INVALID_PAGE_PROTECTION},
        {SECTION_BYTES, PAGE_READONLY | PAGE_READWRITE, SEC_COMMIT,
         STATUS_INVALID_PAGE_PROTECTION},
        {SECTION_BYTES, PAGE_READWRITE | PAGE_GUARD, SEC_COMMIT, STATUS_INVALID_PAGE_PROTECTION},
        {0x8000000000ll, PAGE_NOACCESS, SEC_COMMIT, STATUS_INVALID_PAGE_PROTECTION},
        /* An image needs a file; a size is needed without one. */
        {SECTION_BYTES, PAGE_READONLY, SEC_IMAGE, STATUS_INVALID_FILE_FOR_SECTION},
        {0, PAGE_READWRITE, SEC_COMMIT, STATUS_INVALID_PARAMETER_4},
        {-1, PAGE_READWRITE, SEC_COMMIT, STATUS_SECTION_TOO_BIG},
    };
    nt_handle_t section;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ntstatus_t status = create_section(&section, cases[i].size, cases[i].protection,
                                           cases[i].attributes);
        RT_EXPECT_MSG(status == cases[i].status,
                      "NtCreateSection(size 0x%x%08x, protection 0x%x, attributes 0x%x): "
                      "0x%08x, expected 0x%08x", (uint32_t)(cases[i].size >> 32),
                      (uint32_t)cases[i].size, cases[i].protection, cases[i].attributes,
                      (unsigned int)status, (unsigned int)cases[i].status);
        if (NT_SUCCESS(status))
            NtClose(section);
    }
    /* No size at all, without a file. */
    RT_EXPECT_EQ(rt_syscall(NT_SERVICE_CREATE_SECTION, &section, SECTION_ALL_ACCESS, NULL, NULL,
                            PAGE_READWRITE, SEC_COMMIT, 0), STATUS_INVALID_PARAMETER_4);
}

/* ---- NtMapViewOfSection ---- */

/* Windows' table: which view protections a section made with each protection allows. */
static bool allowed_view(unsigned int section, unsigned int view)
{
    unsigned int allowed = PAGE_NOACCESS;

    switch (section) {
    case PAGE_READONLY:
    case PAGE_WRITECOPY:
        allowed |= PAGE_READONLY | PAGE_WRITECOPY;
        break;
    case PAGE_READWRITE:
        allowed |= PAGE_READONLY | PAGE_WRITECOPY | PAGE_READWRITE;
        break;
    case PAGE_EXECUTE_READ:
        allowed |= PAGE_READONLY | PAGE_WRITECOPY | PAGE_EXECUTE | PAGE_EXECUTE_READ;
        break;
    case PAGE_EXECUTE_WRITECOPY:
        allowed |= PAGE_READONLY | PAGE_WRITECOPY | PAGE_EXECUTE | PAGE_EXECUTE_READ |
                   PAGE_EXECUTE_WRITECOPY;
        break;
    case PAGE_EXECUTE_READWRITE:
        allowed = 0xFF;
        break;
    }
    return allowed & view;
}

static void check_view_protection_table(void)
{
    static const unsigned int sections[] = {
        PAGE_READONLY, PAGE_WRITECOPY, PAGE_READWRITE, PAGE_EXECUTE_READ,
        PAGE_EXECUTE_WRITECOPY, PAGE_EXECUTE_READWRITE,
    };

    for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
        nt_handle_t section = new_section(sections[s], SEC_COMMIT);
        if (!section)
            continue;
        for (size_t v = 0; v < PROTECTION_COUNT; v++) {
            struct view view = {.protection = all_protections[v]};
            ntstatus_t status = map(section, &view);
            ntstatus_t expected = allowed_view(sections[s], all_protections[v])
                                      ? STATUS_SUCCESS : STATUS_SECTION_PROTECTION;
            RT_EXPECT_MSG(status == expected, "section 0x%x, view 0x%x: 0x%08x, expected "
                          "0x%08x", sections[s], all_protections[v], (unsigned int)status,
                          (unsigned int)expected);
            if (!NT_SUCCESS(status))
                continue;
            RT_EXPECT_REGION(view.base, .base_address = view.base, .allocation_base = view.base,
                             .allocation_protect = all_protections[v],
                             .region_size = SECTION_BYTES, .state = MEM_COMMIT,
                             .protect = all_protections[v], .type = MEM_MAPPED);
            RT_EXPECT_EQ(unmap(view.base), STATUS_SUCCESS);
        }
        NtClose(section);
    }
}

static void check_map_arguments(nt_handle_t section)
{
    static const struct {
        struct view view;
        ntstatus_t status;
    } cases[] = {
        /* Checked first, in this order: inherit, type, protection. */
        {{.inherit = 3, .type = MEM_COMMIT, .protection = 0}, STATUS_INVALID_PARAMETER_8},
        {{.type = MEM_COMMIT, .protection = 0}, STATUS_INVALID_PARAMETER_9},
        {{.type = 0x1, .protection = PAGE_READWRITE}, STATUS_INVALID_PARAMETER_9},
        {{.protection = PAGE_READONLY | PAGE_READWRITE}, STATUS_INVALID_PAGE_PROTECTION},
        {{.protection = 0}, STATUS_INVALID_PAGE_PROTECTION},
        /* A pagefile-backed section has nothing to reserve beyond its size. */
        {{.type = MEM_RESERVE, .protection = PAGE_READWRITE}, STATUS_INVALID_PARAMETER_9},
        /* ZeroBits: at most 21; a given base must satisfy it too. */
        {{.zero_bits = 22, .protection = PAGE_READWRITE}, STATUS_INVALID_PARAMETER_4},
        {{.zero_bits = 0x1AAAAAAA, .protection = PAGE_READWRITE}, STATUS_INVALID_PARAMETER_4},
        {{.base = FIXED_BASE, .zero_bits = 3, .protection = PAGE_READWRITE},
         STATUS_INVALID_PARAMETER_4},
        /* ... before the alignment. */
        {{.base = FIXED_BASE + 0x1000, .zero_bits = 8, .protection = PAGE_READWRITE},
         STATUS_INVALID_PARAMETER_4},
        {{.base = FIXED_BASE + 0x1000, .protection = PAGE_READWRITE}, STATUS_MAPPED_ALIGNMENT},
        {{.base = FIXED_BASE + 42, .protection = PAGE_READWRITE}, STATUS_MAPPED_ALIGNMENT},
        {{.offset = 1, .protection = PAGE_READWRITE}, STATUS_MAPPED_ALIGNMENT},
        {{.offset = PAGE, .protection = PAGE_READWRITE}, STATUS_MAPPED_ALIGNMENT},
        /* Sizes: beyond the section, and a commit size beyond the view. */
        {{.size = SECTION_BYTES + 1, .protection = PAGE_READWRITE}, STATUS_INVALID_VIEW_SIZE},
        {{.offset = GRANULE, .protection = PAGE_READWRITE}, STATUS_INVALID_VIEW_SIZE},
        {{.size = PAGE, .commit_size = 2 * PAGE, .protection = PAGE_READWRITE},
         STATUS_INVALID_PARAMETER_5},
        /* Above every user space. */
        {{.base = 0xC0000000, .protection = PAGE_READWRITE}, STATUS_INVALID_PARAMETER_3},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct view view = cases[i].view;
        ntstatus_t status = map(section, &view);
        RT_EXPECT_MSG(status == cases[i].status, "case %u: 0x%08x, expected 0x%08x",
                      (unsigned int)i, (unsigned int)status, (unsigned int)cases[i].status);
        if (NT_SUCCESS(status))
            unmap(view.base);
    }

    /* A handle that is not a section, or none. */
    struct view view = {.protection = PAGE_READWRITE};
    RT_EXPECT_EQ(map(0x1234, &view), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(map(NT_CURRENT_PROCESS, &view), STATUS_OBJECT_TYPE_MISMATCH);

    /* ZeroBits with no base: the view lies below 2^(32 - ZeroBits). */
    view = (struct view){.zero_bits = 4, .protection = PAGE_READWRITE};
    if (RT_EXPECT_EQ(map(section, &view), STATUS_SUCCESS)) {
        RT_EXPECT(view.base + view.size - 1 <= 0x0FFFFFFF);
        unmap(view.base);
    }
    /* A given base that fits ZeroBits. */
    view = (struct view){.base = FIXED_BASE, .zero_bits = 2, .protection = PAGE_READWRITE};
    if (RT_EXPECT_EQ(map(section, &view), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(view.base, FIXED_BASE);
        /* Mapping over it again conflicts. */
        struct view again = {.base = FIXED_BASE, .protection = PAGE_READWRITE};
        RT_EXPECT_EQ(map(section, &again), STATUS_CONFLICTING_ADDRESSES);
        unmap(view.base);
    }
    /* AT_ROUND_TO_PAGE (32-bit Windows): 4 KB alignment, the base rounded down. */
    view = (struct view){.base = FIXED_BASE + 0x1001, .type = AT_ROUND_TO_PAGE,
                         .protection = PAGE_READWRITE};
    if (RT_EXPECT_EQ(map(section, &view), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(view.base, FIXED_BASE + 0x1000);
        RT_EXPECT_EQ(view.size, SECTION_BYTES);
        unmap(view.base);
    }
}

/* No-access and guard views, and unmapping from any address inside a view. */
static void check_special_views(nt_handle_t section)
{
    uint32_t base = map_all(section, PAGE_NOACCESS);

    if (RT_EXPECT(base != 0)) {
        RT_EXPECT_EQ(protection_of(base), PAGE_NOACCESS);
        RT_EXPECT_EQ(touch(base, false), STATUS_ACCESS_VIOLATION);
        /* A no-access view allows nothing else. */
        RT_EXPECT_EQ(protect(base, PAGE, PAGE_READONLY, NULL), STATUS_SECTION_PROTECTION);
        RT_EXPECT_EQ(unmap(base), STATUS_SUCCESS);
    }
    base = map_all(section, PAGE_READWRITE | PAGE_GUARD);
    if (RT_EXPECT(base != 0)) {
        RT_EXPECT_EQ(protection_of(base), PAGE_READWRITE | PAGE_GUARD);
        RT_EXPECT_EQ(touch(base, false), STATUS_GUARD_PAGE_VIOLATION);
        RT_EXPECT_EQ(touch(base, true), STATUS_SUCCESS);
        RT_EXPECT_EQ(protection_of(base), PAGE_READWRITE);
        RT_EXPECT_EQ(protection_of(base + PAGE), PAGE_READWRITE | PAGE_GUARD);
        /* Unmapped from an address inside it: the whole view goes. */
        RT_EXPECT_EQ(unmap(base + PAGE + 0x50), STATUS_SUCCESS);
        RT_EXPECT_REGION(base, .base_address = base, .state = MEM_FREE,
                         .protect = PAGE_NOACCESS);
        RT_EXPECT_EQ(unmap(base), STATUS_NOT_MAPPED_VIEW);
    }
    /* Private memory is not a view. */
    uint32_t private = 0, size = PAGE;
    if (RT_EXPECT_EQ(rt_vm_allocate(&private, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                     STATUS_SUCCESS)) {
        RT_EXPECT_EQ(unmap(private), STATUS_NOT_MAPPED_VIEW);
        rt_vm_release(private);
    }
}

/* ---- NtProtectVirtualMemory on views ---- */

/* Windows: a view's pages may have any protection the view's own allows, no more. */
static void check_view_reprotection_table(nt_handle_t section)
{
    static const struct {
        unsigned int view;
        unsigned int allowed;     /* a bit per protection that may be asked for */
    } views[] = {
        {PAGE_READWRITE, PAGE_NOACCESS | PAGE_READONLY | PAGE_READWRITE | PAGE_WRITECOPY},
        {PAGE_READONLY, PAGE_NOACCESS | PAGE_READONLY | PAGE_WRITECOPY},
        {PAGE_WRITECOPY, PAGE_NOACCESS | PAGE_READONLY | PAGE_WRITECOPY},
        {PAGE_EXECUTE_READWRITE, 0xFF},
        {PAGE_EXECUTE_READ, PAGE_NOACCESS | PAGE_READONLY | PAGE_WRITECOPY | PAGE_EXECUTE |
                                PAGE_EXECUTE_READ | PAGE_EXECUTE_WRITECOPY},
    };

    for (size_t v = 0; v < sizeof(views) / sizeof(views[0]); v++) {
        uint32_t base = map_all(section, views[v].view);
        if (!RT_EXPECT_MSG(base != 0, "view 0x%x", views[v].view))
            continue;
        unsigned int current = views[v].view;
        for (size_t p = 0; p < PROTECTION_COUNT; p++) {
            unsigned int asked = all_protections[p], old = 0;
            ntstatus_t status = protect(base, PAGE, asked, &old);
            bool allowed = views[v].allowed & asked;
            RT_EXPECT_MSG(status == (allowed ? STATUS_SUCCESS : STATUS_SECTION_PROTECTION),
                          "view 0x%x, page asked 0x%x: 0x%08x", views[v].view, asked,
                          (unsigned int)status);
            if (!NT_SUCCESS(status))
                continue;
            RT_EXPECT_EQ(old, current);
            RT_EXPECT_EQ(protection_of(base), asked);
            current = asked;
        }
        unmap(base);
    }
}

static void check_view_pages(nt_handle_t section)
{
    uint32_t a = map_all(section, PAGE_READWRITE), b = map_all(section, PAGE_READWRITE);
    unsigned int old;

    if (!RT_EXPECT(a != 0 && b != 0))
        return;
    volatile uint32_t *pa = (volatile uint32_t *)a, *pb = (volatile uint32_t *)b;
    pa[0] = 0x11111111;
    RT_EXPECT_EQ(pb[0], 0x11111111);

    /* Read-only for one page of one view: a write faults there, nowhere else. */
    RT_EXPECT_EQ(protect(a, PAGE, PAGE_READONLY, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(old, PAGE_READWRITE);
    RT_EXPECT_REGION(a, .base_address = a, .allocation_base = a,
                     .allocation_protect = PAGE_READWRITE, .region_size = PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READONLY, .type = MEM_MAPPED);
    RT_EXPECT_EQ(touch(a, true), STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(touch(a + PAGE, true), STATUS_SUCCESS);
    RT_EXPECT_EQ(touch(b, true), STATUS_SUCCESS);
    RT_EXPECT_EQ(pa[0], pb[0]);

    /* Out of the working set and back: the page keeps its protection and its data. */
    struct nt_quota_limits quota = {.minimum_working_set_size = 0xFFFFFFFF,
                                    .maximum_working_set_size = 0xFFFFFFFF};
    RT_EXPECT_EQ(NtSetInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_QUOTA_LIMITS, &quota,
                                         sizeof(quota)), STATUS_SUCCESS);
    RT_EXPECT_EQ(protection_of(a), PAGE_READONLY);
    RT_EXPECT_EQ(touch(a, true), STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(pa[0], pb[0]);

    /* No access, guard, and back: the data stays the section's. */
    RT_EXPECT_EQ(protect(a, PAGE, PAGE_NOACCESS, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(old, PAGE_READONLY);
    RT_EXPECT_EQ(touch(a, false), STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(protect(a, PAGE, PAGE_READWRITE | PAGE_GUARD, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(old, PAGE_NOACCESS);
    RT_EXPECT_EQ(touch(a, false), STATUS_GUARD_PAGE_VIOLATION);
    RT_EXPECT_EQ(protection_of(a), PAGE_READWRITE);
    pa[0] = 0x22222222;
    RT_EXPECT_EQ(pb[0], 0x22222222);

    /* Copy-on-write for one page: the first write makes it private, and read-write. */
    RT_EXPECT_EQ(protect(a + PAGE, PAGE, PAGE_WRITECOPY, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(old, PAGE_READWRITE);
    RT_EXPECT_EQ(protection_of(a + PAGE), PAGE_WRITECOPY);
    pa[PAGE / 4] = 0x33333333;
    RT_EXPECT_EQ(protection_of(a + PAGE), PAGE_READWRITE);
    RT_EXPECT(pb[PAGE / 4] != 0x33333333);
    /* Asked copy-on-write again, a private page stays read-write. */
    RT_EXPECT_EQ(protect(a + PAGE, PAGE, PAGE_WRITECOPY, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(protection_of(a + PAGE), PAGE_READWRITE);

    /* Several pages at once: the old protection is the first one's. */
    RT_EXPECT_EQ(protect(a, 3 * PAGE, PAGE_READONLY, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(old, PAGE_READWRITE);
    RT_EXPECT_REGION(a, .base_address = a, .allocation_base = a,
                     .allocation_protect = PAGE_READWRITE, .region_size = 3 * PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READONLY, .type = MEM_MAPPED);
    /* A range beyond the view. */
    RT_EXPECT_EQ(protect(a, SECTION_BYTES + PAGE, PAGE_READONLY, &old),
                 STATUS_CONFLICTING_ADDRESSES);
    /* Decommitting or releasing a view's pages is refused. */
    uint32_t at = a, size = PAGE;
    RT_EXPECT_EQ(rt_vm_free(&at, &size, MEM_DECOMMIT), STATUS_UNABLE_TO_DELETE_SECTION);
    size = 0;
    RT_EXPECT_EQ(rt_vm_free(&at, &size, MEM_RELEASE), STATUS_UNABLE_TO_DELETE_SECTION);
    unmap(a);
    unmap(b);
}

/* A copy-on-write view never becomes writable for all; its written pages are its own. */
static void check_copy_on_write_view(nt_handle_t section)
{
    uint32_t shared = map_all(section, PAGE_READWRITE), copy = map_all(section, PAGE_WRITECOPY);

    if (!RT_EXPECT(shared != 0 && copy != 0))
        return;
    RT_EXPECT_EQ(protect(copy, PAGE, PAGE_READWRITE, NULL), STATUS_SECTION_PROTECTION);
    *(volatile uint32_t *)shared = 0x44444444;
    RT_EXPECT_EQ(*(volatile uint32_t *)copy, 0x44444444);
    *(volatile uint32_t *)copy = 0x55555555;
    RT_EXPECT_EQ(protection_of(copy), PAGE_READWRITE);
    RT_EXPECT_EQ(*(volatile uint32_t *)shared, 0x44444444);
    /* Read-only and back to copy-on-write: the private page stays read-write, its own. */
    RT_EXPECT_EQ(protect(copy, PAGE, PAGE_READONLY, NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(touch(copy, true), STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(protect(copy, PAGE, PAGE_WRITECOPY, NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(protection_of(copy), PAGE_READWRITE);
    RT_EXPECT_EQ(*(volatile uint32_t *)copy, 0x55555555);
    unmap(copy);
    unmap(shared);
}

/* An image's pages: anything, but asked writable they become copy-on-write. */
static void check_image_pages(void)
{
    struct nt_memory_basic_information info;
    uint32_t code = (uint32_t)(uintptr_t)&check_image_pages & ~(PAGE - 1);
    unsigned int old;

    if (!RT_EXPECT_EQ(rt_vm_query(code, &info), STATUS_SUCCESS))
        return;
    RT_EXPECT_EQ(info.type, MEM_IMAGE);
    RT_EXPECT_EQ(info.allocation_protect, PAGE_EXECUTE_WRITECOPY);
    RT_EXPECT_EQ(info.protect, PAGE_EXECUTE_READ);
    /* The image's first page (its headers) is read-only: write to it as a loader would. */
    uint32_t headers = info.allocation_base;
    RT_EXPECT_EQ(protect(headers, PAGE, PAGE_READWRITE, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(old, PAGE_READONLY);
    RT_EXPECT_EQ(protection_of(headers), PAGE_WRITECOPY);
    volatile uint8_t *byte = (volatile uint8_t *)(headers + 0x40);
    uint8_t saved = *byte;
    *byte = (uint8_t)~saved;
    RT_EXPECT_EQ(protection_of(headers), PAGE_READWRITE);
    *byte = saved;
    RT_EXPECT_EQ(protect(headers, PAGE, PAGE_EXECUTE_READWRITE, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(old, PAGE_READWRITE);
    RT_EXPECT_EQ(protect(headers, PAGE, PAGE_READONLY, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(old, PAGE_EXECUTE_READWRITE);
    /* A code page asked execute-read-write becomes execute-copy-on-write. */
    RT_EXPECT_EQ(protect(code, PAGE, PAGE_EXECUTE_READWRITE, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(old, PAGE_EXECUTE_READ);
    RT_EXPECT_EQ(protection_of(code), PAGE_EXECUTE_WRITECOPY);
    RT_EXPECT_EQ(protect(code, PAGE, PAGE_EXECUTE_READ, &old), STATUS_SUCCESS);
    /* Image pages cannot be freed. */
    uint32_t at = code, size = PAGE;
    RT_EXPECT_EQ(rt_vm_free(&at, &size, MEM_DECOMMIT), STATUS_UNABLE_TO_DELETE_SECTION);
}

/* ---- MEM_COMMIT on views ---- */

static void check_commit_on_views(void)
{
    nt_handle_t section = new_section(PAGE_READWRITE, SEC_COMMIT);
    uint32_t a;

    if (!section || !RT_EXPECT((a = map_all(section, PAGE_READWRITE)) != 0))
        return;
    /* Committed already: the protection changes, the allocation protection stays. */
    RT_EXPECT_EQ(commit(a, PAGE, PAGE_READONLY), STATUS_SUCCESS);
    RT_EXPECT_REGION(a, .base_address = a, .allocation_base = a,
                     .allocation_protect = PAGE_READWRITE, .region_size = PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READONLY, .type = MEM_MAPPED);
    RT_EXPECT_EQ(commit(a, PAGE, PAGE_EXECUTE_READ), STATUS_INVALID_PAGE_PROTECTION);
    RT_EXPECT_EQ(commit(a, SECTION_BYTES + PAGE, PAGE_READWRITE), STATUS_CONFLICTING_ADDRESSES);
    unmap(a);
    NtClose(section);

    /* SEC_RESERVE: nothing committed until a view commits it, then for every view. */
    section = new_section(PAGE_READWRITE, SEC_RESERVE);
    uint32_t b = 0;
    if (!section || !RT_EXPECT((a = map_all(section, PAGE_READWRITE)) != 0 &&
                               (b = map_all(section, PAGE_READWRITE)) != 0))
        return;
    RT_EXPECT_REGION(a, .base_address = a, .allocation_base = a,
                     .allocation_protect = PAGE_READWRITE, .region_size = SECTION_BYTES,
                     .state = MEM_RESERVE, .protect = 0, .type = MEM_MAPPED);
    RT_EXPECT_EQ(touch(a, false), STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(protect(a, PAGE, PAGE_READONLY, NULL), STATUS_NOT_COMMITTED);
    RT_EXPECT_EQ(commit(a + PAGE, PAGE, PAGE_READONLY), STATUS_SUCCESS);
    RT_EXPECT_REGION(a + PAGE, .base_address = a + PAGE, .allocation_base = a,
                     .allocation_protect = PAGE_READWRITE, .region_size = PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READONLY, .type = MEM_MAPPED);
    RT_EXPECT_REGION(b + PAGE, .base_address = b + PAGE, .allocation_base = b,
                     .allocation_protect = PAGE_READWRITE, .region_size = PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_MAPPED);
    *(volatile uint32_t *)(b + PAGE) = 0x66666666;
    RT_EXPECT_EQ(*(volatile uint32_t *)(a + PAGE), 0x66666666);
    RT_EXPECT_EQ(touch(b + 2 * PAGE, false), STATUS_ACCESS_VIOLATION);
    uint32_t at = a + PAGE, size = PAGE;
    RT_EXPECT_EQ(rt_vm_free(&at, &size, MEM_DECOMMIT), STATUS_UNABLE_TO_DELETE_SECTION);
    unmap(a);
    unmap(b);

    /* A view's commit size commits its first pages in the section. */
    struct view view = {.commit_size = PAGE, .protection = PAGE_READWRITE};
    if (RT_EXPECT_EQ(map(section, &view), STATUS_SUCCESS)) {
        RT_EXPECT_REGION(view.base, .base_address = view.base, .allocation_base = view.base,
                         .allocation_protect = PAGE_READWRITE, .region_size = 2 * PAGE,
                         .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_MAPPED);
        RT_EXPECT_EQ(touch(view.base, true), STATUS_SUCCESS);
        RT_EXPECT_EQ(touch(view.base + 2 * PAGE, true), STATUS_ACCESS_VIOLATION);
        unmap(view.base);
    }
    NtClose(section);
}

/* ---- PAGE_NOCACHE and PAGE_WRITECOMBINE ---- */

static void check_cache_attributes(void)
{
    static const unsigned int refused[] = {
        PAGE_READWRITE | PAGE_NOCACHE | PAGE_WRITECOMBINE, PAGE_READWRITE | PAGE_GUARD |
        PAGE_NOCACHE, PAGE_READWRITE | PAGE_GUARD | PAGE_WRITECOMBINE, PAGE_NOACCESS |
        PAGE_NOCACHE, PAGE_NOACCESS | PAGE_WRITECOMBINE, PAGE_NOCACHE, PAGE_WRITECOMBINE,
    };

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        uint32_t base = 0, size = PAGE;
        RT_EXPECT_MSG(rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, refused[i]) ==
                      STATUS_INVALID_PAGE_PROTECTION, "protection 0x%x", refused[i]);
    }
    static const unsigned int attributes[] = {PAGE_NOCACHE, PAGE_WRITECOMBINE};
    for (size_t i = 0; i < 2; i++) {
        unsigned int cache = attributes[i], old;
        uint32_t base = 0, size = 2 * PAGE;
        if (!RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT,
                                         PAGE_READWRITE | cache), STATUS_SUCCESS))
            continue;
        RT_EXPECT_REGION(base, .base_address = base, .allocation_base = base,
                         .allocation_protect = PAGE_READWRITE | cache, .region_size = 2 * PAGE,
                         .state = MEM_COMMIT, .protect = PAGE_READWRITE | cache,
                         .type = MEM_PRIVATE);
        *(volatile uint32_t *)base = 0x77777777;
        RT_EXPECT_EQ(*(volatile uint32_t *)base, 0x77777777);
        /* The attribute belongs to the allocation: asked without it, it stays. */
        RT_EXPECT_EQ(protect(base, PAGE, PAGE_READONLY, &old), STATUS_SUCCESS);
        RT_EXPECT_EQ(old, PAGE_READWRITE | cache);
        RT_EXPECT_EQ(protection_of(base), PAGE_READONLY | cache);
        RT_EXPECT_EQ(touch(base, true), STATUS_ACCESS_VIOLATION);
        RT_EXPECT_EQ(*(volatile uint32_t *)base, 0x77777777);
        rt_vm_release(base);
    }
    /* No access has no cache attribute: never touched, or in memory, a touch faults. */
    for (size_t i = 0; i < 2; i++) {
        uint32_t base = 0, size = 2 * PAGE;
        if (!RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT,
                                         PAGE_READWRITE | attributes[i]), STATUS_SUCCESS))
            continue;
        *(volatile uint32_t *)base = 1;
        RT_EXPECT_EQ(protect(base, 2 * PAGE, PAGE_NOACCESS, NULL), STATUS_SUCCESS);
        RT_EXPECT_EQ(protection_of(base), PAGE_NOACCESS);
        RT_EXPECT_EQ(touch(base, false), STATUS_ACCESS_VIOLATION);
        RT_EXPECT_EQ(touch(base + PAGE, false), STATUS_ACCESS_VIOLATION);
        RT_EXPECT_EQ(commit(base + PAGE, PAGE, PAGE_NOACCESS), STATUS_SUCCESS);
        RT_EXPECT_EQ(touch(base + PAGE, true), STATUS_ACCESS_VIOLATION);
        RT_EXPECT_EQ(protect(base, 2 * PAGE, PAGE_READWRITE, NULL), STATUS_SUCCESS);
        RT_EXPECT_EQ(protection_of(base), PAGE_READWRITE | attributes[i]);
        RT_EXPECT_EQ(*(volatile uint32_t *)base, 1);
        rt_vm_release(base);
    }
    /*
     * A SEC_NOCACHE or SEC_WRITECOMBINE section's views have its attribute, in every view
     * and through any change (one frame, one memory type).
     */
    static const unsigned int section_attributes[] = {SEC_NOCACHE, SEC_WRITECOMBINE};
    for (size_t i = 0; i < 2; i++) {
        nt_handle_t cached = new_section(PAGE_READWRITE, SEC_COMMIT | section_attributes[i]);
        uint32_t a = cached ? map_all(cached, PAGE_READWRITE) : 0;
        uint32_t b = cached ? map_all(cached, PAGE_READONLY) : 0;
        if (RT_EXPECT(a != 0 && b != 0)) {
            RT_EXPECT_REGION(a, .base_address = a, .allocation_base = a,
                             .allocation_protect = PAGE_READWRITE | attributes[i],
                             .region_size = SECTION_BYTES, .state = MEM_COMMIT,
                             .protect = PAGE_READWRITE | attributes[i], .type = MEM_MAPPED);
            *(volatile uint32_t *)a = 0xABCD;
            RT_EXPECT_EQ(*(volatile uint32_t *)b, 0xABCD);
            RT_EXPECT_EQ(protection_of(b), PAGE_READONLY | attributes[i]);
            RT_EXPECT_EQ(protect(a, PAGE, PAGE_READONLY, NULL), STATUS_SUCCESS);
            RT_EXPECT_EQ(protection_of(a), PAGE_READONLY | attributes[i]);
            RT_EXPECT_EQ(commit(a, PAGE, PAGE_READWRITE), STATUS_SUCCESS);
            RT_EXPECT_EQ(protection_of(a), PAGE_READWRITE | attributes[i]);
        }
        if (a)
            unmap(a);
        if (b)
            unmap(b);
        if (cached)
            NtClose(cached);
    }
    /* A view's pages take no cache attribute from a commit (their frames are shared). */
    nt_handle_t section = new_section(PAGE_READWRITE, SEC_COMMIT);
    uint32_t view;
    if (section && RT_EXPECT((view = map_all(section, PAGE_READWRITE)) != 0)) {
        RT_EXPECT_EQ(commit(view, PAGE, PAGE_READONLY | PAGE_NOCACHE), STATUS_SUCCESS);
        RT_EXPECT_EQ(protection_of(view), PAGE_READONLY);
        unmap(view);
    }
    if (section)
        NtClose(section);
    /* KUSER_SHARED_DATA is one page for everyone: no commit makes it writable. */
    RT_EXPECT_EQ(commit(NT_SHARED_USER_DATA_ADDRESS, PAGE, PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    RT_EXPECT_EQ(protection_of(NT_SHARED_USER_DATA_ADDRESS), PAGE_READONLY);
    RT_EXPECT_EQ(touch(NT_SHARED_USER_DATA_ADDRESS, true), STATUS_ACCESS_VIOLATION);
    /* An allocation made without one does not take one later. */
    uint32_t base = 0, size = PAGE;
    if (RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                     STATUS_SUCCESS)) {
        RT_EXPECT_EQ(protect(base, PAGE, PAGE_READONLY | PAGE_NOCACHE, NULL), STATUS_SUCCESS);
        RT_EXPECT_EQ(protection_of(base), PAGE_READONLY);
        rt_vm_release(base);
    }
}

/* ---- MEM_RESET and MEM_RESET_UNDO ---- */

static void check_reset(void)
{
    uint32_t base = 0, size = GRANULE;

    if (!RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_RESERVE, PAGE_READWRITE),
                      STATUS_SUCCESS))
        return;
    RT_EXPECT_EQ(commit(base, 2 * PAGE, PAGE_READWRITE), STATUS_SUCCESS);
    *(volatile uint32_t *)base = 0x88888888;
    /* The protection is checked, not used: the pages keep theirs. */
    uint32_t at = base + 1, bytes = 2 * PAGE - 2;
    RT_EXPECT_EQ(rt_vm_allocate(&at, &bytes, MEM_RESET, 0), STATUS_INVALID_PAGE_PROTECTION);
    RT_EXPECT_EQ(rt_vm_allocate(&at, &bytes, MEM_RESET, PAGE_NOACCESS), STATUS_SUCCESS);
    RT_EXPECT_EQ(at, base);
    RT_EXPECT_EQ(bytes, 2 * PAGE);
    RT_EXPECT_REGION(base, .base_address = base, .allocation_base = base,
                     .allocation_protect = PAGE_READWRITE, .region_size = 2 * PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    /* Reserved pages: nothing to do, and they stay reserved. */
    at = base + 2 * PAGE, bytes = 4 * PAGE;
    RT_EXPECT_EQ(rt_vm_allocate(&at, &bytes, MEM_RESET, PAGE_READWRITE), STATUS_SUCCESS);
    RT_EXPECT_REGION(base + 2 * PAGE, .base_address = base + 2 * PAGE, .allocation_base = base,
                     .allocation_protect = PAGE_READWRITE, .region_size = GRANULE - 2 * PAGE,
                     .state = MEM_RESERVE, .protect = 0, .type = MEM_PRIVATE);
    /* Beyond the reservation. */
    at = base, bytes = 2 * GRANULE;
    RT_EXPECT_EQ(rt_vm_allocate(&at, &bytes, MEM_RESET, PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    /* Wanted again: still committed, still usable. */
    at = base, bytes = 2 * PAGE;
    RT_EXPECT_EQ(rt_vm_allocate(&at, &bytes, MEM_RESET_UNDO, PAGE_READWRITE), STATUS_SUCCESS);
    *(volatile uint32_t *)base = 0x99999999;
    RT_EXPECT_EQ(*(volatile uint32_t *)base, 0x99999999);
    rt_vm_release(base);

    /* An image's pages are left alone: the call succeeds, the code stays. */
    at = (uint32_t)(uintptr_t)&check_reset & ~(PAGE - 1), bytes = PAGE;
    RT_EXPECT_EQ(rt_vm_allocate(&at, &bytes, MEM_RESET, PAGE_READWRITE), STATUS_SUCCESS);
    RT_EXPECT_EQ(protection_of(at), PAGE_EXECUTE_READ);
    /* A view of a pagefile-backed section may be reset too. */
    nt_handle_t section = new_section(PAGE_READWRITE, SEC_COMMIT);
    uint32_t view;
    if (section && RT_EXPECT((view = map_all(section, PAGE_READWRITE)) != 0)) {
        at = view, bytes = PAGE;
        RT_EXPECT_EQ(rt_vm_allocate(&at, &bytes, MEM_RESET, PAGE_READWRITE), STATUS_SUCCESS);
        unmap(view);
    }
    if (section)
        NtClose(section);
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    rt_set_exception_handler(handler);
    check_create_section();
    check_view_protection_table();
    nt_handle_t section = new_section(PAGE_EXECUTE_READWRITE, SEC_COMMIT);
    if (section) {
        check_map_arguments(section);
        check_special_views(section);
        check_view_reprotection_table(section);
        check_view_pages(section);
        check_copy_on_write_view(section);
        NtClose(section);
    }
    check_image_pages();
    check_commit_on_views();
    check_cache_attributes();
    check_reset();
    rt_set_exception_handler(NULL);
    return (int)rt_failure_count();
}
