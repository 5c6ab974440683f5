/* How a process starts and ends: the command line becomes argv on the stack. */
#include "tests/user/runtime/rt.h"

/* Longer command lines are cut: a wrong length must not use up the whole stack. */
#define MAX_COMMAND_LINE 4096

const char *rt_program_name = "?";
const struct nt_process_parameters *rt_parameters;

/* GCC calls __main at the top of main on Windows targets, to run constructors: none here. */
void __main(void);
void __main(void)
{
}

_Noreturn void rt_exit(ntstatus_t status)
{
    for (;;)
        NtTerminateProcess(NT_CURRENT_PROCESS, status);
}

_Noreturn void rt_entry(const struct nt_process_parameters *parameters)
{
    size_t header = offsetof(struct nt_process_parameters, command_line);
    size_t length = 0;

    rt_parameters = parameters;
    /* The kernel wrote both sizes; trust neither beyond the other. */
    if (parameters->size > header) {
        length = parameters->command_line_length;
        if (length > parameters->size - header)
            length = parameters->size - header;
        if (length > MAX_COMMAND_LINE)
            length = MAX_COMMAND_LINE;
    }
    char line[length + 1];
    memcpy(line, parameters->command_line, length);
    line[length] = '\0';

    unsigned int argc = rt_count_words(line);
    char *argv[argc + 1];
    rt_split_words(line, argv, argc);
    argv[argc] = NULL;
    if (argc > 0)
        rt_program_name = argv[0];
    rt_exit(main((int)argc, argv));
}
