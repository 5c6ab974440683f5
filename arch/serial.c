/*
 * COM1, a 16550-compatible UART at I/O port 0x3F8 (the PC's standard address). Output
 * is polled. A missing or dead port never stops the kernel: the port is tested in
 * loopback before use, and each character waits for the transmitter a bounded time.
 */
#include "arch/cpu.h"
#include "arch/serial.h"
#include "lib/console.h"

#define COM1                0x3F8
#define UART_DATA           0   /* with DLAB = 1: divisor low byte */
#define UART_INTERRUPTS     1   /* with DLAB = 1: divisor high byte */
#define UART_FIFO           2
#define UART_LINE_CONTROL   3
#define UART_MODEM_CONTROL  4
#define UART_LINE_STATUS    5

#define LCR_8N1             0x03
#define LCR_DLAB            0x80
#define FIFO_ENABLE_CLEAR   0xC7    /* enable, clear both, 14-byte trigger */
#define MCR_DTR_RTS_OUT2    0x0B
#define MCR_LOOPBACK        0x10
#define LSR_THR_EMPTY       0x20
#define BAUD_DIVISOR        1       /* 115200 / 115200 */
#define TRANSMIT_SPINS      100000

static bool serial_dead;

static void serial_put(char c)
{
    if (serial_dead)
        return;
    for (unsigned spins = 0; !(io_in8(COM1 + UART_LINE_STATUS) & LSR_THR_EMPTY); spins++) {
        if (spins == TRANSMIT_SPINS) {
            serial_dead = true;     /* a port that stops draining is given up */
            return;
        }
    }
    io_out8(COM1 + UART_DATA, (uint8_t)c);
}

static void serial_write(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\n')
            serial_put('\r');
        serial_put(text[i]);
    }
}

static const struct console_output serial_output = {"serial", serial_write};

bool serial_console_init(void)
{
    io_out8(COM1 + UART_INTERRUPTS, 0);
    io_out8(COM1 + UART_LINE_CONTROL, LCR_DLAB);
    io_out8(COM1 + UART_DATA, BAUD_DIVISOR & 0xFF);
    io_out8(COM1 + UART_INTERRUPTS, BAUD_DIVISOR >> 8);
    io_out8(COM1 + UART_LINE_CONTROL, LCR_8N1);
    io_out8(COM1 + UART_FIFO, FIFO_ENABLE_CLEAR);

    /* A byte sent in loopback mode comes back only if a UART is really there. */
    io_out8(COM1 + UART_MODEM_CONTROL, MCR_LOOPBACK | MCR_DTR_RTS_OUT2);
    io_out8(COM1 + UART_DATA, 0xAE);
    for (unsigned spins = 0; spins < TRANSMIT_SPINS; spins++)
        if (io_in8(COM1 + UART_LINE_STATUS) & 0x01)
            break;
    if (io_in8(COM1 + UART_DATA) != 0xAE) {
        serial_dead = true;
        return false;
    }
    io_out8(COM1 + UART_MODEM_CONTROL, MCR_DTR_RTS_OUT2);
    console_attach(&serial_output);
    return true;
}
