#include "arch/context.h"
#include "arch/cpu.h"
#include "arch/descriptors.h"
#include "arch/trap.h"

extern const char arch_thread_entry[];

/* What arch_context_switch pops, lowest address first (see switch.S). */
struct switch_frame {
    uint32_t eflags;
    uint32_t edi, esi, ebx, ebp;
    uint32_t return_address;
};

uint32_t arch_prepare_thread_stack(vaddr_t stack_top, vaddr_t user_eip, vaddr_t user_esp)
{
    uint8_t *sp = (uint8_t *)stack_top;

    if (user_eip) {
        sp -= sizeof(struct trap_frame);
        struct trap_frame *frame = (struct trap_frame *)sp;
        *frame = (struct trap_frame){
            .gs = USER_DATA_SELECTOR, .fs = USER_DATA_SELECTOR,
            .es = USER_DATA_SELECTOR, .ds = USER_DATA_SELECTOR,
            .eip = user_eip, .cs = USER_CODE_SELECTOR, .eflags = EFLAGS_IF | EFLAGS_ALWAYS_1,
            .user_esp = user_esp, .user_ss = USER_DATA_SELECTOR,
        };
    }
    sp -= sizeof(struct switch_frame);
    /* Interrupts off until ke_thread_startup has finished the switch. */
    *(struct switch_frame *)sp = (struct switch_frame){.eflags = EFLAGS_ALWAYS_1,
                                                       .return_address = (uint32_t)arch_thread_entry};
    return (uint32_t)sp;
}
