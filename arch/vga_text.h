#pragma once
/* The VGA text-mode console (80 x 25 at physical 0xB8000). */
#include "lib/types.h"

/*
 * Maps the text buffer with map_device (MmMapIoSpace: the memory manager is a layer above
 * this one) and attaches it to the console.
 */
void vga_text_console_init(void *(*map_device)(paddr_t address, size_t length));
