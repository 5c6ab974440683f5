#pragma once
/* The VGA text-mode console (80 x 25 at physical 0xB8000). */
#include "lib/types.h"

/* Maps the text buffer and attaches it to the console. Call once memory management is up. */
void vga_text_console_init(void);
