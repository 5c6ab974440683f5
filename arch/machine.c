#include "arch/cpu.h"
#include "arch/machine.h"
#include "arch/spinlock.h"
#include "lib/console.h"
#include "lib/panic.h"

#define QEMU_DEBUG_EXIT_PORT 0xF4

NORETURN void machine_exit(uint32_t code)
{
    cpu_disable_interrupts();
    io_out32(QEMU_DEBUG_EXIT_PORT, code);
    for (;;)
        cpu_halt();
}

/*
 * The console lock: HIGH_LEVEL, so that an interrupt handler or a stop report can print
 * at any IRQL and a line is never split by another writer. Outside the lock checker,
 * which reports through it.
 */
static struct lock_class console_lock_class = LOCK_CLASS_INTERRUPT("console", HIGH_LEVEL);
static struct kspin_lock console_spin_lock = KSPIN_LOCK_INIT(console_lock_class);

static uint32_t console_lock_acquire(void)
{
    KIRQL old = KeRaiseIrql(HIGH_LEVEL);
    ke_spin_lock_word(&console_spin_lock);
    return old;
}

static void console_lock_release(uint32_t old)
{
    ke_spin_unlock_word(&console_spin_lock);
    KeLowerIrql((KIRQL)old);
}

/* A stop: nothing else runs on this processor from here. */
static void panic_quiesce(void)
{
    cpu_disable_interrupts();
    hal_set_irql(HIGH_LEVEL);
}
static NORETURN void panic_stop(void) { machine_exit(MACHINE_EXIT_FAILURE); }

static const struct console_lock console_lock = {console_lock_acquire, console_lock_release};
static const struct panic_machine panic_machine = {panic_quiesce, panic_stop};

void machine_init(void)
{
    console_set_lock(&console_lock);
    panic_set_machine(&panic_machine);
}
