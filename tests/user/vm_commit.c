/*
 * vm_commit.exe: the commit charge. Every committed page is charged against the system's
 * commit limit (SYSTEM_MEMORY_INFORMATION, in pages) when it is committed, not when it
 * is touched, and the charge comes back on decommit and release:
 *   - a 1 MB commit adds 256 pages to the total and to the process's charge; decommitting
 *     half gives 128 back; releasing gives the rest;
 *   - 1 MB reservations, committed at once, until the limit refuses one with
 *     STATUS_COMMITMENT_LIMIT (at most limit / 256 + 10 of them): the refused call
 *     changes nothing (the totals, the reservations, its output arguments), and it is
 *     refused only when the chunk would not fit;
 *   - at the limit, reserving still works and committing inside the reservation is
 *     refused alike; releasing one chunk makes room for one again;
 *   - one page of every chunk is touched, which never fails: its charge was taken;
 *   - everything released, the total and the process's charge are back where they were.
 * When the address space runs out before the commit limit (a machine with more memory
 * than user space), the limit checks are skipped and said so. Prints a diagnostic for
 * each failed check; exits 0 if all held, else the number that failed.
 */
#include "tests/user/runtime/rt.h"

#define PAGE            0x1000u
#define CHUNK           0x100000u
#define CHUNK_PAGES     (CHUNK / PAGE)
/* 2 GB of user space holds at most this many 1 MB chunks. */
#define MAX_CHUNKS      2048
#define STACK_RESERVE   (64 * 1024)

static uint32_t chunks[MAX_CHUNKS + 16];
static unsigned int chunk_count;

static uint32_t highest;

static bool query_memory(struct nt_system_memory_information *info)
{
    unsigned int length = 0;

    return RT_EXPECT_EQ(NtQuerySystemInformation(NT_SYSTEM_MEMORY_INFORMATION, info,
                                                 sizeof(*info), &length), STATUS_SUCCESS) &&
           RT_EXPECT_EQ(length, sizeof(*info));
}

/*
 * Commits stack pages now: at the limit a stack that must grow cannot, and the process
 * would end with STATUS_STACK_OVERFLOW; growing later would also move the totals.
 */
static __attribute__((noinline)) void grow_stack(void)
{
    volatile uint8_t frame[STACK_RESERVE];

    frame[0] = 0;
    frame[STACK_RESERVE - 1] = frame[0];
}

/* The number of reservations in the address space (the first region of each). */
static unsigned int count_reservations(void)
{
    struct nt_memory_basic_information info;
    unsigned int count = 0;
    uint32_t address = 0;

    while (NT_SUCCESS(rt_vm_query(address, &info)) && info.region_size != 0) {
        if (info.state != MEM_FREE && info.base_address == info.allocation_base)
            count++;
        if (info.region_size > highest - address)
            break;
        address += info.region_size;
    }
    return count;
}

static void check_charge_and_return(void)
{
    struct nt_system_memory_information start, committed, decommitted, released;
    uint32_t base = 0, size = CHUNK;

    if (!query_memory(&start))
        return;
    if (!RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                      STATUS_SUCCESS) || !query_memory(&committed))
        return;
    RT_EXPECT_EQ(committed.commit_total - start.commit_total, CHUNK_PAGES);
    RT_EXPECT_EQ(committed.process_commit - start.process_commit, CHUNK_PAGES);
    RT_EXPECT(committed.commit_peak >= committed.commit_total);

    /* Touching pages takes frames, not commit. */
    for (uint32_t offset = 0; offset < CHUNK; offset += 16 * PAGE)
        *(volatile uint32_t *)(base + offset) = offset;
    struct nt_system_memory_information touched;
    if (query_memory(&touched))
        RT_EXPECT_EQ(touched.commit_total, committed.commit_total);

    uint32_t half = base, half_size = CHUNK / 2;
    if (RT_EXPECT_EQ(rt_vm_free(&half, &half_size, MEM_DECOMMIT), STATUS_SUCCESS) &&
        query_memory(&decommitted)) {
        RT_EXPECT_EQ(committed.commit_total - decommitted.commit_total, CHUNK_PAGES / 2);
        RT_EXPECT_EQ(committed.process_commit - decommitted.process_commit, CHUNK_PAGES / 2);
    }
    /* Decommitting what is not committed gives nothing back. */
    half = base;
    half_size = CHUNK / 2;
    struct nt_system_memory_information again;
    if (RT_EXPECT_EQ(rt_vm_free(&half, &half_size, MEM_DECOMMIT), STATUS_SUCCESS) &&
        query_memory(&again))
        RT_EXPECT_EQ(again.commit_total, decommitted.commit_total);
    if (RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS) && query_memory(&released)) {
        RT_EXPECT_EQ(released.commit_total, start.commit_total);
        RT_EXPECT_EQ(released.process_commit, start.process_commit);
    }
}

/* A refused call left everything as it was. */
static void expect_unchanged(const struct nt_system_memory_information *before,
                             unsigned int reservations_before)
{
    struct nt_system_memory_information after;

    if (!query_memory(&after))
        return;
    RT_EXPECT_EQ(after.commit_total, before->commit_total);
    RT_EXPECT_EQ(after.process_commit, before->process_commit);
    RT_EXPECT_EQ(count_reservations(), reservations_before);
}

/* Commits chunks until the limit refuses one; true if it did (not the address space). */
static bool fill_to_limit(const struct nt_system_memory_information *start)
{
    uint32_t bound = start->commit_limit / CHUNK_PAGES + 10;
    struct nt_system_memory_information before, after;
    unsigned int reservations = count_reservations();

    if (bound > MAX_CHUNKS)
        bound = MAX_CHUNKS;
    for (chunk_count = 0; chunk_count < bound;) {
        uint32_t base = 0, size = CHUNK;
        if (!query_memory(&before))
            return false;
        ntstatus_t status = rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT,
                                           PAGE_READWRITE);
        if (status == STATUS_COMMITMENT_LIMIT) {
            RT_EXPECT_MSG(base == 0 && size == CHUNK, "the refused call wrote 0x%08x+0x%x",
                          base, size);
            expect_unchanged(&before, reservations + chunk_count);
            RT_EXPECT_MSG(before.commit_total + CHUNK_PAGES > before.commit_limit,
                          "refused although %u + %u pages fit in %u", before.commit_total,
                          CHUNK_PAGES, before.commit_limit);
            rt_printf("%s: %u chunks committed, %u of %u pages, before the limit\n",
                      rt_program_name, chunk_count, before.commit_total, before.commit_limit);
            return true;
        }
        if (status == STATUS_NO_MEMORY) {
            rt_printf("%s: the address space ran out after %u chunks, %u of %u pages "
                      "committed: the limit cannot be reached\n", rt_program_name, chunk_count,
                      before.commit_total, before.commit_limit);
            return false;
        }
        if (!RT_EXPECT_EQ(status, STATUS_SUCCESS) || !query_memory(&after))
            return false;
        chunks[chunk_count++] = base;
        RT_EXPECT_EQ(after.commit_total - before.commit_total, CHUNK_PAGES);
        RT_EXPECT(after.commit_total <= after.commit_limit);
    }
    RT_EXPECT_MSG(false, "%u chunks and no limit (limit %u pages)", chunk_count,
                  start->commit_limit);
    return false;
}

/* At the limit: a reservation costs nothing; committing in it is refused alike. */
static void check_at_limit(void)
{
    struct nt_system_memory_information before;
    uint32_t base = 0, size = CHUNK;

    if (!RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_RESERVE, PAGE_READWRITE),
                      STATUS_SUCCESS))
        return;
    if (query_memory(&before)) {
        unsigned int reservations = count_reservations();
        uint32_t at = base, commit_size = CHUNK;
        RT_EXPECT_EQ(rt_vm_allocate(&at, &commit_size, MEM_COMMIT, PAGE_READWRITE),
                     STATUS_COMMITMENT_LIMIT);
        RT_EXPECT(at == base && commit_size == CHUNK);
        expect_unchanged(&before, reservations);
        RT_EXPECT_REGION(base, .base_address = base, .allocation_base = base,
                         .allocation_protect = PAGE_READWRITE, .region_size = CHUNK,
                         .state = MEM_RESERVE, .type = MEM_PRIVATE);
    }
    RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);

    /* Releasing a chunk gives its charge back: one fits again. */
    if (chunk_count == 0 || !RT_EXPECT_EQ(rt_vm_release(chunks[--chunk_count]), STATUS_SUCCESS))
        return;
    base = 0;
    size = CHUNK;
    if (RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                     STATUS_SUCCESS))
        chunks[chunk_count++] = base;
}

int main(int argc, char **argv)
{
    struct nt_system_memory_information start, end;

    (void)argc, (void)argv;
    highest = rt_vm_highest_address();
    grow_stack();
    if (!RT_EXPECT(highest >= 0x7FFEFFFF) || !query_memory(&start))
        return (int)rt_failure_count();
    rt_printf("%s: commit %u of %u pages (peak %u), this process %u, %u pages available\n",
              rt_program_name, start.commit_total, start.commit_limit, start.commit_peak,
              start.process_commit, start.available_pages);
    RT_EXPECT(start.commit_total <= start.commit_limit);
    RT_EXPECT(start.process_commit > 0 && start.process_commit <= start.commit_total);

    check_charge_and_return();
    if (fill_to_limit(&start))
        check_at_limit();
    /* Every chunk's charge was taken when it was committed: touching cannot fail. */
    for (unsigned int i = 0; i < chunk_count; i++)
        *(volatile uint32_t *)(chunks[i] + (i % CHUNK_PAGES) * PAGE) = i;
    for (unsigned int i = 0; i < chunk_count; i++)
        RT_EXPECT_EQ(*(volatile uint32_t *)(chunks[i] + (i % CHUNK_PAGES) * PAGE), i);
    for (unsigned int i = 0; i < chunk_count; i++)
        RT_EXPECT_EQ(rt_vm_release(chunks[i]), STATUS_SUCCESS);
    if (query_memory(&end)) {
        RT_EXPECT_EQ(end.commit_total, start.commit_total);
        RT_EXPECT_EQ(end.process_commit, start.process_commit);
    }
    return (int)rt_failure_count();
}
