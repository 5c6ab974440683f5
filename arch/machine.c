#include "arch/cpu.h"
#include "arch/machine.h"

#define QEMU_DEBUG_EXIT_PORT 0xF4

NORETURN void machine_exit(uint32_t code)
{
    cpu_disable_interrupts();
    io_out32(QEMU_DEBUG_EXIT_PORT, code);
    for (;;)
        cpu_halt();
}
