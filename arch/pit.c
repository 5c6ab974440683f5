/* The 8254 (Intel 8254 datasheet): input clock 1.193182 MHz, channel 0 on IRQ 0. */
#include "arch/cpu.h"
#include "arch/pit.h"

#define PIT_INPUT_HZ    1193182
#define PIT_CHANNEL0    0x40
#define PIT_COMMAND     0x43
#define PIT_RATE_MODE   0x34    /* channel 0, low then high byte, mode 2 (rate generator) */

#define PIT_CHANNEL2        0x42
#define PIT_ONE_SHOT_2      0xB0    /* channel 2, low then high byte, mode 0 */
#define PORT_B              0x61    /* bit 0: channel 2 gate, bit 1: speaker, bit 5: OUT2 */
#define PORT_B_GATE2        0x01
#define PORT_B_SPEAKER      0x02
#define PORT_B_OUT2         0x20
#define CALIBRATION_MS      10
#define CALIBRATION_SPINS   10000000

uint64_t pit_measure_rate(uint64_t (*read_counter)(void))
{
    uint32_t count = PIT_INPUT_HZ / (1000 / CALIBRATION_MS);
    uint8_t port_b = io_in8(PORT_B);

    io_out8(PORT_B, (port_b & ~PORT_B_SPEAKER) & ~PORT_B_GATE2);
    io_out8(PIT_COMMAND, PIT_ONE_SHOT_2);
    io_out8(PIT_CHANNEL2, count & 0xFF);
    io_out8(PIT_CHANNEL2, count >> 8);
    io_out8(PORT_B, (port_b & ~PORT_B_SPEAKER) | PORT_B_GATE2);   /* counting starts */
    uint64_t start = read_counter();
    uint32_t spins = 0;
    while (!(io_in8(PORT_B) & PORT_B_OUT2) && ++spins < CALIBRATION_SPINS)
        ;
    uint64_t elapsed = read_counter() - start;
    io_out8(PORT_B, port_b);
    if (spins == CALIBRATION_SPINS)
        return 0;
    return elapsed * (1000 / CALIBRATION_MS);
}

void pit_init(void)
{
    uint32_t divisor = (PIT_INPUT_HZ + PIT_HZ / 2) / PIT_HZ;

    io_out8(PIT_COMMAND, PIT_RATE_MODE);
    io_out8(PIT_CHANNEL0, divisor & 0xFF);
    io_out8(PIT_CHANNEL0, divisor >> 8);
}
