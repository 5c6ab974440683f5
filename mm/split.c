/*
 * The user/system split, chosen at boot (docs/memory-model.md, 1.1).
 *
 *   (nothing)             2048 MB of user space
 *   /3GB                  3072 MB
 *   /3GB /USERVA=N        N MB, 2048 <= N <= 3072
 *   increaseuserva=N      as /3GB /USERVA=N (the BCDEdit spelling)
 *
 * With N MB of user space, MmHighestUserAddress is N MB - 64 KB - 1 and system space
 * starts at N MB rounded up to a page-directory boundary (4 MB, 2 MB with PAE), so no page table is
 * ever shared between user and system space. As on Windows, /USERVA means nothing
 * without /3GB.
 */
#include "arch/layout.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "mm/split.h"

vaddr_t MmSystemRangeStart;
vaddr_t MmHighestUserAddress;
vaddr_t MmUserProbeAddress;

#define MEGABYTE 0x100000u

/* A command-line value in megabytes; none when absent or malformed. */
struct megabytes {
    bool present;
    bool valid;
    uint32_t value;         /* saturates at UINT32_MAX */
    const char *text;       /* the option as written, for messages */
    size_t text_length;
};

static void parse_megabytes(struct megabytes *mb, const struct cmdline_word *word)
{
    mb->present = true;
    mb->valid = word->value_length > 0;
    mb->value = 0;
    mb->text = word->text;
    mb->text_length = word->length;
    for (size_t i = 0; i < word->value_length; i++) {
        char c = word->value[i];
        if (c < '0' || c > '9') {
            mb->valid = false;
            return;
        }
        uint32_t digit = c - '0';
        mb->value = mb->value > (UINT32_MAX - digit) / 10 ? UINT32_MAX : mb->value * 10 + digit;
    }
}

static void warn(char *warning, size_t size, const char *fmt, const struct megabytes *mb,
                 uint32_t fallback)
{
    size_t used = strlen(warning);
    ksnprintf(warning + used, size - used, fmt, (int)mb->text_length, mb->text, fallback);
}

/* The user-space size an option asks for, clamped to the valid range with a warning. */
static uint32_t checked_megabytes(const struct megabytes *mb, uint32_t fallback, char *warning,
                                  size_t size)
{
    if (!mb->valid) {
        warn(warning, size, "warning: %.*s is not a number of megabytes; using %u MB of user space\n",
             mb, fallback);
        return fallback;
    }
    if (mb->value < MM_SPLIT_MIN_MB || mb->value > MM_SPLIT_MAX_MB) {
        uint32_t nearest = mb->value < MM_SPLIT_MIN_MB ? MM_SPLIT_MIN_MB : MM_SPLIT_MAX_MB;
        warn(warning, size, "warning: %.*s is outside 2048-3072 MB; using %u MB of user space\n",
             mb, nearest);
        return nearest;
    }
    return mb->value;
}

void MiParseSplit(const char *command_line, struct mi_split *split, char *warning,
                  size_t warning_size)
{
    struct megabytes userva = {0}, increase = {0};
    bool three_gb = false;
    struct cmdline_word word;

    warning[0] = '\0';
    while (cmdline_next_word(&command_line, &word)) {
        if (cmdline_word_is(&word, "/3GB"))
            three_gb = true;
        else if (cmdline_word_is(&word, "/USERVA"))
            parse_megabytes(&userva, &word);
        else if (cmdline_word_is(&word, "increaseuserva"))
            parse_megabytes(&increase, &word);
    }

    uint32_t user_mb = MM_SPLIT_DEFAULT_MB;
    if (increase.present) {
        user_mb = checked_megabytes(&increase, MM_SPLIT_DEFAULT_MB, warning, warning_size);
    } else if (three_gb) {
        user_mb = userva.present
                      ? checked_megabytes(&userva, MM_SPLIT_3GB_MB, warning, warning_size)
                      : MM_SPLIT_3GB_MB;
    } else if (userva.present) {
        warn(warning, warning_size, "warning: %.*s ignored without /3GB; using %u MB of user space\n",
             &userva, MM_SPLIT_DEFAULT_MB);
    }

    uint32_t user_bytes = user_mb * MEGABYTE;
    split->highest_user_address = user_bytes - MM_NO_ACCESS_GAP - 1;
    split->user_probe_address = split->highest_user_address + 1;
    split->system_range_start = ALIGN_UP(user_bytes, (uint32_t)PDE_SPAN);
}

void MmInitializeSplit(const char *command_line)
{
    struct mi_split split;
    char warning[MI_SPLIT_WARNING_LENGTH];

    MiParseSplit(command_line, &split, warning, sizeof(warning));
    if (warning[0])
        kprintf("split: %s", warning);
    MmSystemRangeStart = split.system_range_start;
    MmHighestUserAddress = split.highest_user_address;
    MmUserProbeAddress = split.user_probe_address;
}
