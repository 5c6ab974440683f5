#include "arch/cpu.h"
#include "arch/machine.h"
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

/* One CPU: keeping interrupts off keeps a line from being split by another writer. */
static uint32_t console_lock_acquire(void) { return cpu_save_disable_interrupts(); }
static void console_lock_release(uint32_t flags) { cpu_restore_interrupts(flags); }

static void panic_quiesce(void) { cpu_disable_interrupts(); }
static NORETURN void panic_stop(void) { machine_exit(MACHINE_EXIT_FAILURE); }

static const struct console_lock console_lock = {console_lock_acquire, console_lock_release};
static const struct panic_machine panic_machine = {panic_quiesce, panic_stop};

void machine_init(void)
{
    console_set_lock(&console_lock);
    panic_set_machine(&panic_machine);
}
