/*
 * Deferred procedure calls (ke/dpc.c): when a queued DPC runs and at what IRQL, what a
 * second insert and a removal do, the order, a DPC that queues itself again, and the
 * clock's timer expiration DPC. Each routine records what it saw in a struct dpc_record.
 */
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/pcr.h"
#include "ke/dpc.h"
#include "kernel/process.h"
#include "kernel/thread.h"
#include "lib/ntstatus.h"
#include "tests/ktest.h"

#define MAX_RUNS 8

/* What a DPC's routine saw, each time it ran. */
struct dpc_record {
    unsigned runs;
    unsigned requeues;              /* times the routine is to queue its DPC again */
    KIRQL irql;
    bool interrupts_enabled;
    struct kdpc *dpc;
    void *context, *argument1, *argument2;
    uint64_t drain[MAX_RUNS];       /* the dispatch interrupt each run came in */
};

/* The order in which the DPCs of one test ran, by the tag of each one's record. */
static char run_order[8];
static unsigned run_order_length;

static void record_run(struct kdpc *dpc, void *context, void *argument1, void *argument2)
{
    struct dpc_record *record = context;

    if (record->runs < MAX_RUNS)
        record->drain[record->runs] = KeGetCurrentPrcb()->statistics.dispatch_interrupts;
    record->runs++;
    record->irql = KeGetCurrentIrql();
    record->interrupts_enabled = cpu_interrupts_enabled();
    record->dpc = dpc;
    record->context = context;
    record->argument1 = argument1;
    record->argument2 = argument2;
    if (record->requeues) {
        record->requeues--;
        KeInsertQueueDpc(dpc, argument1, argument2);
    }
}

/* Records the run, and the DPC's tag (its first argument) in run_order. */
static void record_order(struct kdpc *dpc, void *context, void *argument1, void *argument2)
{
    if (run_order_length < sizeof(run_order))
        run_order[run_order_length++] = (char)(uintptr_t)argument1;
    record_run(dpc, context, argument1, argument2);
}

/*
 * Queued at HIGH_LEVEL, a DPC waits through DISPATCH_LEVEL and runs the moment the IRQL
 * falls below it, at DISPATCH_LEVEL with interrupts enabled.
 */
static void dpc_runs_once_the_irql_falls_below_dispatch(struct ktest *t)
{
    struct dpc_record record = {0};
    struct kdpc dpc;
    struct kprcb *prcb = KeGetCurrentPrcb();
    uint64_t queued = prcb->statistics.dpcs_queued, run = prcb->statistics.dpcs_run;

    KT_ASSERT_EQ(t, PASSIVE_LEVEL, KeGetCurrentIrql());
    KeInitializeDpc(&dpc, record_run, &record);
    KIRQL old = KeRaiseIrql(HIGH_LEVEL);
    KT_EXPECT(t, KeInsertQueueDpc(&dpc, NULL, NULL));
    KT_EXPECT_EQ(t, HIGH_LEVEL, KeGetCurrentIrql());
    KT_EXPECT(t, prcb->pending_interrupts & (1u << DISPATCH_LEVEL));
    KeLowerIrql(DISPATCH_LEVEL);
    KT_EXPECT_EQ(t, 0, record.runs);
    KT_EXPECT(t, dpc.queued_on == prcb);
    KeLowerIrql(old);
    KT_EXPECT_EQ(t, 1, record.runs);
    KT_EXPECT_EQ(t, DISPATCH_LEVEL, record.irql);
    KT_EXPECT(t, record.interrupts_enabled);
    KT_EXPECT(t, dpc.queued_on == NULL);
    KT_EXPECT_EQ(t, queued + 1, prcb->statistics.dpcs_queued);
    KT_EXPECT_EQ(t, run + 1, prcb->statistics.dpcs_run);
    KT_EXPECT_EQ(t, 0, prcb->dpc_queue_depth);
}

/* Queued at PASSIVE_LEVEL, it has run by the time KeInsertQueueDpc returns. */
static void dpc_queued_below_dispatch_runs_at_once(struct ktest *t)
{
    struct dpc_record record = {0};
    struct kdpc dpc;

    KT_ASSERT_EQ(t, PASSIVE_LEVEL, KeGetCurrentIrql());
    KeInitializeDpc(&dpc, record_run, &record);
    KT_EXPECT(t, KeInsertQueueDpc(&dpc, NULL, NULL));
    KT_EXPECT_EQ(t, 1, record.runs);
    KT_EXPECT_EQ(t, DISPATCH_LEVEL, record.irql);
    KT_EXPECT_EQ(t, PASSIVE_LEVEL, KeGetCurrentIrql());
}

/* The routine gets its DPC, its context and the insert's two arguments. */
static void dpc_routine_gets_its_arguments(struct ktest *t)
{
    struct dpc_record record = {0};
    struct kdpc dpc;
    int first, second;

    KeInitializeDpc(&dpc, record_run, &record);
    KT_EXPECT(t, KeInsertQueueDpc(&dpc, &first, &second));
    KT_ASSERT_EQ(t, 1, record.runs);
    KT_EXPECT(t, record.dpc == &dpc);
    KT_EXPECT(t, record.context == &record);
    KT_EXPECT(t, record.argument1 == &first);
    KT_EXPECT(t, record.argument2 == &second);
}

/* A DPC already queued is not queued again: it runs once, with the first insert's arguments. */
static void second_insert_of_a_queued_dpc_is_refused(struct ktest *t)
{
    struct dpc_record record = {0};
    struct kdpc dpc;
    int first, second;

    KeInitializeDpc(&dpc, record_run, &record);
    KIRQL old = KeRaiseIrql(DISPATCH_LEVEL);
    KT_EXPECT(t, KeInsertQueueDpc(&dpc, &first, NULL));
    KT_EXPECT(t, !KeInsertQueueDpc(&dpc, &second, NULL));
    KT_EXPECT_EQ(t, 1, KeGetCurrentPrcb()->dpc_queue_depth);
    KeLowerIrql(old);
    KT_EXPECT_EQ(t, 1, record.runs);
    KT_EXPECT(t, record.argument1 == &first);
    /* Once it has run, it may be queued again. */
    KT_EXPECT(t, KeInsertQueueDpc(&dpc, &second, NULL));
    KT_EXPECT_EQ(t, 2, record.runs);
    KT_EXPECT(t, record.argument1 == &second);
}

/* A DPC taken off its queue does not run; removing it twice, or one never queued, fails. */
static void removed_dpc_does_not_run(struct ktest *t)
{
    struct dpc_record record = {0}, other_record = {0};
    struct kdpc dpc, other;

    KeInitializeDpc(&dpc, record_run, &record);
    KeInitializeDpc(&other, record_run, &other_record);
    KT_EXPECT(t, !KeRemoveQueueDpc(&dpc));
    KIRQL old = KeRaiseIrql(DISPATCH_LEVEL);
    KT_EXPECT(t, KeInsertQueueDpc(&dpc, NULL, NULL));
    KT_EXPECT(t, KeInsertQueueDpc(&other, NULL, NULL));
    KT_EXPECT(t, KeRemoveQueueDpc(&dpc));
    KT_EXPECT(t, !KeRemoveQueueDpc(&dpc));
    KT_EXPECT_EQ(t, 1, KeGetCurrentPrcb()->dpc_queue_depth);
    KeLowerIrql(old);
    KT_EXPECT_EQ(t, 0, record.runs);
    KT_EXPECT_EQ(t, 1, other_record.runs);
    KT_EXPECT(t, !KeRemoveQueueDpc(&other));    /* it has run: on no queue */
    KT_EXPECT(t, KeInsertQueueDpc(&dpc, NULL, NULL));
    KT_EXPECT_EQ(t, 1, record.runs);
}

/* DPCs run in the order they were queued. */
static void dpcs_run_in_the_order_queued(struct ktest *t)
{
    struct dpc_record records[3] = {{0}};
    struct kdpc dpcs[3];

    run_order_length = 0;
    for (unsigned i = 0; i < 3; i++)
        KeInitializeDpc(&dpcs[i], record_order, &records[i]);
    KIRQL old = KeRaiseIrql(DISPATCH_LEVEL);
    KT_EXPECT(t, KeInsertQueueDpc(&dpcs[1], (void *)'b', NULL));
    KT_EXPECT(t, KeInsertQueueDpc(&dpcs[0], (void *)'a', NULL));
    KT_EXPECT(t, KeInsertQueueDpc(&dpcs[2], (void *)'c', NULL));
    KeLowerIrql(old);
    KT_ASSERT_EQ(t, 3, run_order_length);
    KT_EXPECT_EQ(t, 'b', run_order[0]);
    KT_EXPECT_EQ(t, 'a', run_order[1]);
    KT_EXPECT_EQ(t, 'c', run_order[2]);
}

/*
 * A DPC that queues itself again from its routine runs again in the next drain -- a
 * dispatch interrupt of its own -- not again and again inside the drain that ran it.
 */
static void requeued_dpc_runs_in_the_next_drain(struct ktest *t)
{
    struct dpc_record record = {.requeues = 3};
    struct kdpc dpc;

    KeInitializeDpc(&dpc, record_run, &record);
    KT_EXPECT(t, KeInsertQueueDpc(&dpc, NULL, NULL));
    KT_ASSERT_EQ(t, 4, record.runs);
    for (unsigned i = 1; i < record.runs; i++)
        KT_EXPECT(t, record.drain[i] > record.drain[i - 1]);
    KT_EXPECT(t, dpc.queued_on == NULL);
    KT_EXPECT_EQ(t, 0, KeGetCurrentPrcb()->dpc_queue_depth);
}

static struct wait_queue nobody_wakes;

struct sleeper {
    volatile bool done;
    ntstatus_t status;
};

static void sleep_a_few_ticks(void *context)
{
    struct sleeper *sleeper = context;

    sleeper->status = scheduler_wait(&nobody_wakes, 3);
    sleeper->done = true;
}

/*
 * The clock interrupt queues the timer expiration DPC when a sleeper's time is up, and
 * that DPC wakes it: a wait nothing else ends comes back with STATUS_TIMEOUT, and the
 * processor counts the DPC queued and run.
 */
static void clock_queues_the_timer_dpc(struct ktest *t)
{
    struct kprcb *prcb = KeGetCurrentPrcb();
    static struct sleeper sleeper;
    uint64_t queued = prcb->statistics.dpcs_queued, run = prcb->statistics.dpcs_run;

    wait_queue_init(&nobody_wakes);
    sleeper = (struct sleeper){0};
    KT_ASSERT_EQ(t, STATUS_SUCCESS, thread_create(&system_process, sleep_a_few_ticks, &sleeper,
                                                  0, 0, 0, false, NULL));
    uint64_t start = scheduler_ticks;
    while (!sleeper.done && scheduler_ticks - start < 1000)
        scheduler_yield();
    KT_ASSERT(t, sleeper.done);
    KT_EXPECT_EQ(t, STATUS_TIMEOUT, sleeper.status);
    KT_EXPECT(t, prcb->statistics.dpcs_queued > queued);
    KT_EXPECT(t, prcb->statistics.dpcs_run > run);
    ktest_diag(t, "woken after %u ticks; %u DPCs queued, %u run meanwhile",
               (uint32_t)(scheduler_ticks - start),
               (uint32_t)(prcb->statistics.dpcs_queued - queued),
               (uint32_t)(prcb->statistics.dpcs_run - run));
    scheduler_yield();          /* the ended thread is reaped */
}

static const struct ktest_case cases[] = {
    KTEST_CASE(dpc_runs_once_the_irql_falls_below_dispatch),
    KTEST_CASE(dpc_queued_below_dispatch_runs_at_once),
    KTEST_CASE(dpc_routine_gets_its_arguments),
    KTEST_CASE(second_insert_of_a_queued_dpc_is_refused),
    KTEST_CASE(removed_dpc_does_not_run),
    KTEST_CASE(dpcs_run_in_the_order_queued),
    KTEST_CASE(requeued_dpc_runs_in_the_next_drain),
    KTEST_CASE(clock_queues_the_timer_dpc),
};

KTEST_SUITE(dpc_suite, "dpc", cases);
