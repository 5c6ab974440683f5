#include "kernel/modules.h"
#include "lib/string.h"

void module_name(const struct boot_module *module, const char **name, size_t *length)
{
    const char *word = module->name;
    size_t word_length = 0;

    while (word[word_length] && word[word_length] != ' ')
        word_length++;
    const char *start = word;
    for (size_t i = 0; i < word_length; i++)
        if (word[i] == '/')
            start = word + i + 1;
    *name = start;
    *length = word + word_length - start;
}

const struct boot_module *module_find(const char *name, size_t length)
{
    for (unsigned i = 0; i < kernel_boot_info.module_count; i++) {
        const struct boot_module *module = &kernel_boot_info.modules[i];
        const char *candidate;
        size_t candidate_length;
        module_name(module, &candidate, &candidate_length);
        if (candidate_length == length && strncasecmp(candidate, name, length) == 0)
            return module;
    }
    return NULL;
}
