/*
 * The PAE build of the kernel, as the ELF file its link made (debug information
 * stripped), for the boot stub to load (boot/select.c). PAE_BUILD names the file.
 */
    .section .rodata
    .globl pae_build, pae_build_end
    .balign 4
pae_build:
    .incbin PAE_BUILD
pae_build_end:

    .section .note.GNU-stack, "", @progbits
