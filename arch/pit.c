/* The 8254 (Intel 8254 datasheet): input clock 1.193182 MHz, channel 0 on IRQ 0. */
#include "arch/cpu.h"
#include "arch/pit.h"

#define PIT_INPUT_HZ    1193182
#define PIT_CHANNEL0    0x40
#define PIT_COMMAND     0x43
#define PIT_RATE_MODE   0x34    /* channel 0, low then high byte, mode 2 (rate generator) */

void pit_init(void)
{
    uint32_t divisor = (PIT_INPUT_HZ + PIT_HZ / 2) / PIT_HZ;

    io_out8(PIT_COMMAND, PIT_RATE_MODE);
    io_out8(PIT_CHANNEL0, divisor & 0xFF);
    io_out8(PIT_CHANNEL0, divisor >> 8);
}
