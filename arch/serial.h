#pragma once
/* The COM1 serial console: 115200 baud, 8 data bits, no parity, 1 stop bit. */
#include "lib/types.h"

/* Finds and programs COM1 and attaches it to the console; false when it is absent. */
bool serial_console_init(void);
