/*
 * pagestress.exe ID PAGES GENERATIONS [private|views]
 *
 * A workload that shows the memory manager loses no page, whatever it does with them
 * (evict, page out, page in, share, copy on write). Every page it owns is filled with a
 * stamp: a header of five words (view tag, ID, the page's address, generation, a checksum
 * of the rest) and 1019 words mixed from (tag, ID, address, generation, word index). A
 * page moved to another address, another process's page, a stale generation or one
 * flipped bit each fail the check.
 *
 * private (the default): PAGES pages committed read-write at once. Generation g = 1..G
 * walks every page, checks the stamp of generation g - 1 (from g = 2 on) and writes the
 * stamp of g; a last walk checks generation G. Odd generations walk up, even ones down,
 * so pages come back in another order than they went out.
 *
 * views: a pagefile-backed section of PAGES pages mapped three times: A and B read-write
 * (one memory: what A writes, B shows) and C copy-on-write. Each generation writes
 * through A and checks through B; in generation 1 C writes a stamp of its own (tag C)
 * over every even page, which from then on must keep it while C's odd pages show A's
 * latest stamp. Beside the views, a private region of PAGES / 2 pages as above.
 *
 * The program yields every YIELD_EVERY pages so that the others run in between. It
 * counts every mismatch, prints the first MAX_REPORTS, then one summary line
 *   pagestress ID: PAGES pages x GENERATIONS generations, N mismatches
 * and exits 0 without mismatches, else USER_STATUS_PATTERN_MISMATCH. A service that
 * fails (STATUS_COMMITMENT_LIMIT at the commit limit, say) is printed and becomes the
 * exit status. Ending the process frees everything; the kernel suite checks that.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define PAGE            0x1000u
#define PAGE_WORDS      (PAGE / 4)
#define YIELD_EVERY     64
#define MAX_REPORTS     5

/* Which mapping wrote a stamp: the same section page reads alike through A and B. */
#define TAG_PRIVATE     0x50525654u     /* "PRVT" */
#define TAG_SHARED      0x53485244u     /* "SHRD": written through A */
#define TAG_COPY        0x434F5059u     /* "COPY": written through C, private to it */

enum { HEADER_TAG, HEADER_ID, HEADER_ADDRESS, HEADER_GENERATION, HEADER_CHECKSUM,
       HEADER_WORDS };

/* What a page must hold; address is where it was written (for B and C: A's address). */
struct stamp {
    uint32_t tag, id, address, generation;
};

static uint32_t id, generations;
static uint32_t mismatches;
static uint32_t pages_stamped;
/* make run's demonstration reports each walk; the test runs stay quiet. */
static bool report_progress;

/* A cheap integer mixer (xorshift-multiply): every input bit reaches every output bit. */
static uint32_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

static uint32_t stamp_seed(const struct stamp *s)
{
    return mix(s->tag ^ mix(s->id ^ mix(s->address ^ mix(s->generation))));
}

/* Body word i of the stamp whose seed is seed. */
static uint32_t stamp_word(uint32_t seed, uint32_t i)
{
    uint32_t x = seed + i * 0x9E3779B9u;

    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    return x ^ (x >> 12);
}

static uint32_t checksum_step(uint32_t sum, uint32_t word)
{
    return ((sum << 5) | (sum >> 27)) ^ word;
}

static void stamp_write(volatile uint32_t *page, const struct stamp *s)
{
    uint32_t seed = stamp_seed(s), sum = 0;

    for (uint32_t i = HEADER_WORDS; i < PAGE_WORDS; i++) {
        uint32_t word = stamp_word(seed, i);
        page[i] = word;
        sum = checksum_step(sum, word);
    }
    page[HEADER_TAG] = s->tag;
    page[HEADER_ID] = s->id;
    page[HEADER_ADDRESS] = s->address;
    page[HEADER_GENERATION] = s->generation;
    page[HEADER_CHECKSUM] = sum;
    pages_stamped++;
}

/* Checks that page holds exactly the stamp s; counts and reports a mismatch. */
static void stamp_check(const volatile uint32_t *page, const struct stamp *s)
{
    uint32_t seed = stamp_seed(s), sum = 0, bad_words = 0;

    for (uint32_t i = HEADER_WORDS; i < PAGE_WORDS; i++) {
        uint32_t word = page[i];
        bad_words += word != stamp_word(seed, i);
        sum = checksum_step(sum, word);
    }
    if (bad_words == 0 && page[HEADER_TAG] == s->tag && page[HEADER_ID] == s->id &&
        page[HEADER_ADDRESS] == s->address && page[HEADER_GENERATION] == s->generation &&
        page[HEADER_CHECKSUM] == sum)
        return;
    if (mismatches++ < MAX_REPORTS)
        rt_printf("pagestress %u: page at %p: expected tag %08x id %u address %08x "
                  "generation %u; found tag %08x id %u address %08x generation %u, "
                  "checksum %s, %u body words wrong\n", id, (void *)page, s->tag, s->id,
                  s->address, s->generation, page[HEADER_TAG], page[HEADER_ID],
                  page[HEADER_ADDRESS], page[HEADER_GENERATION],
                  page[HEADER_CHECKSUM] == sum ? "right" : "wrong", bad_words);
}

/* The page a walk visits at step: up in odd generations, down in even ones. */
static uint32_t walk_index(uint32_t step, uint32_t pages, uint32_t generation)
{
    return generation % 2 ? step : pages - 1 - step;
}

static void pace(uint32_t step)
{
    if (step % YIELD_EVERY == YIELD_EVERY - 1)
        NtYieldExecution();
}

/*
 * One walk over a private region: checks generation - 1 (when there was one) and writes
 * generation (unless it is past the last: the final walk only checks).
 */
static void private_walk(uint32_t base, uint32_t pages, uint32_t generation)
{
    for (uint32_t step = 0; step < pages; step++) {
        uint32_t address = base + walk_index(step, pages, generation) * PAGE;
        volatile uint32_t *page = (volatile uint32_t *)address;
        if (generation > 1)
            stamp_check(page, &(struct stamp){TAG_PRIVATE, id, address, generation - 1});
        if (generation <= generations)
            stamp_write(page, &(struct stamp){TAG_PRIVATE, id, address, generation});
        pace(step);
    }
}

static ntstatus_t allocate(uint32_t pages, uint32_t *base)
{
    uint32_t size = pages * PAGE;
    ntstatus_t status;

    *base = 0;
    status = rt_vm_allocate(base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!NT_SUCCESS(status))
        rt_printf("pagestress %u: allocating %u pages: status 0x%08x\n", id, pages,
                  (uint32_t)status);
    return status;
}

/* After each walk of the demonstration: how far it is, and what paging has done so far. */
static void print_progress(uint32_t generation)
{
    struct nt_system_paging_information info;

    if (!report_progress ||
        !NT_SUCCESS(NtQuerySystemInformation(NT_SYSTEM_PAGING_INFORMATION, &info,
                                             sizeof(info), NULL)))
        return;
    if (generation <= generations)
        rt_printf("pagestress: generation %u of %u done: %u pages stamped, ", generation,
                  generations, pages_stamped);
    else
        rt_printf("pagestress: last generation checked: %u pages stamped, ", pages_stamped);
    rt_printf("%u written to the pagefile and %u read back so far, %u mismatches\n",
              info.pages_written, info.pages_read, mismatches);
}

static ntstatus_t run_private(uint32_t pages)
{
    uint32_t base;
    ntstatus_t status = allocate(pages, &base);

    if (!NT_SUCCESS(status))
        return status;
    for (uint32_t generation = 1; generation <= generations + 1; generation++) {
        private_walk(base, pages, generation);
        print_progress(generation);
    }
    return STATUS_SUCCESS;
}

/* The three views of one section, and the private region beside them. */
struct views {
    uint32_t a, b, c, pages;
};

/*
 * One generation over the views: A checks its last stamp and writes the new one, then B
 * must show it, and C its own stamp on even pages (written in generation 1), A's on odd
 * ones. Past the last generation it only checks.
 */
static void views_walk(const struct views *v, uint32_t generation)
{
    bool writing = generation <= generations;
    uint32_t shown = writing ? generation : generations;

    for (uint32_t step = 0; step < v->pages; step++) {
        uint32_t i = walk_index(step, v->pages, generation), address = v->a + i * PAGE;
        if (generation > 1)
            stamp_check((volatile uint32_t *)address,
                        &(struct stamp){TAG_SHARED, id, address, generation - 1});
        if (writing)
            stamp_write((volatile uint32_t *)address,
                        &(struct stamp){TAG_SHARED, id, address, generation});
        pace(step);
    }
    for (uint32_t step = 0; step < v->pages; step++) {
        uint32_t i = walk_index(step, v->pages, generation + 1), address = v->a + i * PAGE;
        volatile uint32_t *copy = (volatile uint32_t *)(v->c + i * PAGE);
        struct stamp shared = {TAG_SHARED, id, address, shown};
        struct stamp own = {TAG_COPY, id, v->c + i * PAGE, 1};
        stamp_check((volatile uint32_t *)(v->b + i * PAGE), &shared);
        if (i % 2 == 0 && generation == 1) {
            stamp_check(copy, &shared);     /* not written through C yet: shared */
            stamp_write(copy, &own);
        }
        stamp_check(copy, i % 2 == 0 ? &own : &shared);
        pace(step);
    }
}

static ntstatus_t map_view(nt_handle_t section, unsigned int protection, uint32_t *base)
{
    uint32_t size = 0;
    int64_t offset = 0;
    ntstatus_t status;

    *base = 0;
    status = rt_syscall(NT_SERVICE_MAP_VIEW_OF_SECTION, section, NT_CURRENT_PROCESS, base, 0, 0,
                        &offset, &size, 1, 0, protection);
    if (!NT_SUCCESS(status))
        rt_printf("pagestress %u: mapping a view (protection 0x%x): status 0x%08x\n", id,
                  protection, (uint32_t)status);
    return status;
}

static ntstatus_t run_views(uint32_t pages)
{
    int64_t size = (int64_t)pages * PAGE;
    nt_handle_t section;
    struct views v = {.pages = pages};
    uint32_t private_pages = pages / 2, private_base = 0;
    ntstatus_t status = rt_syscall(NT_SERVICE_CREATE_SECTION, &section, SECTION_ALL_ACCESS,
                                   NULL, &size, PAGE_READWRITE, SEC_COMMIT, 0);

    if (!NT_SUCCESS(status)) {
        rt_printf("pagestress %u: creating a section of %u pages: status 0x%08x\n", id,
                  pages, (uint32_t)status);
        return status;
    }
    if (!NT_SUCCESS(status = map_view(section, PAGE_READWRITE, &v.a)) ||
        !NT_SUCCESS(status = map_view(section, PAGE_READWRITE, &v.b)) ||
        !NT_SUCCESS(status = map_view(section, PAGE_WRITECOPY, &v.c)))
        return status;
    if (private_pages && !NT_SUCCESS(status = allocate(private_pages, &private_base)))
        return status;
    for (uint32_t generation = 1; generation <= generations + 1; generation++) {
        views_walk(&v, generation);
        private_walk(private_base, private_pages, generation);
    }
    return STATUS_SUCCESS;
}

/* What paging did, as NtQuerySystemInformation tells it (the demonstration's report). */
static void print_paging_information(void)
{
    struct nt_system_paging_information info;

    if (!NT_SUCCESS(NtQuerySystemInformation(NT_SYSTEM_PAGING_INFORMATION, &info,
                                             sizeof(info), NULL)))
        return;
    rt_printf("pagestress: pagefile %u pages, %u in use (peak %u); %u pages written, %u read; "
              "%u transition faults, %u from the pagefile; working set %u pages (peak %u, "
              "limits %u-%u)\n", info.pagefile_pages, info.pagefile_in_use, info.pagefile_peak,
              info.pages_written, info.pages_read, info.transition_faults,
              info.pagefile_read_faults, info.working_set_size, info.working_set_peak,
              info.working_set_minimum, info.working_set_maximum);
}

/*
 * Without arguments (make run starts it so): one process stamping twice the machine's
 * RAM over two generations, then a report of what paging did.
 */
static int demonstrate(void)
{
    struct nt_system_basic_information basic;

    if (!NT_SUCCESS(NtQuerySystemInformation(NT_SYSTEM_BASIC_INFORMATION, &basic,
                                             sizeof(basic), NULL)))
        return (int)USER_STATUS_USAGE;
    id = 1;
    generations = 2;
    report_progress = true;
    uint32_t pages = 2 * basic.number_of_physical_pages < 0x80000u ? 2 * basic.number_of_physical_pages
                                                               : 0x80000u;
    rt_printf("pagestress: stamping %u pages (twice the RAM) over %u generations\n", pages,
              generations);
    ntstatus_t status = run_private(pages);
    if (!NT_SUCCESS(status))
        return (int)status;
    rt_printf("pagestress: %u mismatches\n", mismatches);
    print_paging_information();
    return mismatches ? (int)USER_STATUS_PATTERN_MISMATCH : 0;
}

int main(int argc, char **argv)
{
    uint32_t pages;
    bool views = argc == 5 && rt_streq(argv[4], "views");

    if (argc == 1)
        return demonstrate();
    if (argc < 4 || argc > 5 || !rt_parse_u32(argv[1], &id) ||
        !rt_parse_u32(argv[2], &pages) || !rt_parse_u32(argv[3], &generations) ||
        pages == 0 || pages > 0x80000 || generations == 0 ||
        (argc == 5 && !views && !rt_streq(argv[4], "private"))) {
        rt_printf("usage: %s [ID PAGES GENERATIONS [private|views]]\n", rt_program_name);
        return (int)USER_STATUS_USAGE;
    }
    ntstatus_t status = views ? run_views(pages) : run_private(pages);
    if (!NT_SUCCESS(status))
        return (int)status;
    rt_printf("pagestress %u: %u pages x %u generations, %u mismatches\n", id, pages,
              generations, mismatches);
    return mismatches ? (int)USER_STATUS_PATTERN_MISMATCH : 0;
}
