/*
 * The boot's page-table format and no-execute policy (boot/paging_mode.h). Also linked
 * into the boot stub, which runs it with paging off: it must stay free of anything but
 * lib/cmdline.c and lib/string.c.
 */
#include "boot/paging_mode.h"
#include "lib/cmdline.h"
#include "lib/string.h"

struct paging_mode boot_paging_mode;

static const char *const policy_names[] = {
    [NX_POLICY_ALWAYS_OFF] = "AlwaysOff",
    [NX_POLICY_ALWAYS_ON] = "AlwaysOn",
    [NX_POLICY_OPT_IN] = "OptIn",
    [NX_POLICY_OPT_OUT] = "OptOut",
};

const char *nx_policy_name(enum nx_policy policy)
{
    return (unsigned)policy < ARRAY_SIZE(policy_names) ? policy_names[policy] : "?";
}

static void note(struct paging_mode *mode, enum paging_note_kind kind,
                 const struct cmdline_word *word)
{
    if (mode->note_count < PAGING_MAX_NOTES)
        mode->notes[mode->note_count++] = (struct paging_note){kind, word->text, word->length,
                                                               NULL, 0};
}

static bool value_is(const struct cmdline_word *word, const char *value)
{
    size_t length = strlen(value);

    return word->value_length == length && strncasecmp(word->value, value, length) == 0;
}

/* The policy a word's value names; false when it names none. */
static bool parse_policy(const struct cmdline_word *word, enum nx_policy *policy)
{
    for (unsigned i = 0; i < ARRAY_SIZE(policy_names); i++)
        if (word->has_value && value_is(word, policy_names[i])) {
            *policy = (enum nx_policy)i;
            return true;
        }
    return false;
}

enum pae_request { PAE_DEFAULT, PAE_FORCE_ENABLE, PAE_FORCE_DISABLE };

/* Replaces the option remembered in *last by word, noting the one it overrides. */
static void supersede(struct paging_mode *mode, struct cmdline_word *last,
                      const struct cmdline_word *word)
{
    if (last->text && mode->note_count < PAGING_MAX_NOTES)
        mode->notes[mode->note_count++] = (struct paging_note){
            PAGING_NOTE_OVERRIDDEN, last->text, last->length, word->text, word->length};
    *last = *word;
}

void paging_mode_choose(const char *command_line, const struct paging_cpu *cpu,
                        struct paging_mode *mode)
{
    enum pae_request pae = PAE_DEFAULT;
    struct cmdline_word word, last_pae = {0}, last_policy = {0};
    const char *cursor = command_line ? command_line : "";

    memset(mode, 0, sizeof(*mode));
    mode->policy = NX_POLICY_OPT_IN;
    while (cmdline_next_word(&cursor, &word)) {
        enum nx_policy policy;
        if (cmdline_word_is(&word, "/PAE") && !word.has_value) {
            supersede(mode, &last_pae, &word);
            pae = PAE_FORCE_ENABLE;
        } else if (cmdline_word_is(&word, "/NOPAE") && !word.has_value) {
            supersede(mode, &last_pae, &word);
            pae = PAE_FORCE_DISABLE;
        } else if (cmdline_word_is(&word, "pae")) {
            if (value_is(&word, "ForceEnable") || value_is(&word, "ForceDisable") ||
                value_is(&word, "Default")) {
                supersede(mode, &last_pae, &word);
                pae = value_is(&word, "ForceEnable")    ? PAE_FORCE_ENABLE
                      : value_is(&word, "ForceDisable") ? PAE_FORCE_DISABLE
                                                        : PAE_DEFAULT;
            } else {
                note(mode, PAGING_NOTE_BAD_VALUE, &word);
            }
        } else if (cmdline_word_is(&word, "/NOEXECUTE") || cmdline_word_is(&word, "nx")) {
            if (parse_policy(&word, &policy)) {
                supersede(mode, &last_policy, &word);
                mode->policy = policy;
            } else {
                note(mode, PAGING_NOTE_BAD_VALUE, &word);
            }
        } else if (cmdline_word_is(&word, "/EXECUTE") && !word.has_value) {
            supersede(mode, &last_policy, &word);
            mode->policy = NX_POLICY_ALWAYS_OFF;
        }
    }

    bool want_nx = mode->policy != NX_POLICY_ALWAYS_OFF;
    if (want_nx && !cpu->nx) {
        if (last_policy.text)
            note(mode, PAGING_NOTE_NO_NX_CPU, &last_policy);
        mode->policy = NX_POLICY_ALWAYS_OFF;
        want_nx = false;
    }
    if (!cpu->pae) {
        if (pae == PAE_FORCE_ENABLE)
            note(mode, PAGING_NOTE_NO_PAE_CPU, &last_pae);
        mode->policy = NX_POLICY_ALWAYS_OFF;    /* two-level: no execute-disable bit */
        return;
    }
    if (pae == PAE_FORCE_DISABLE && want_nx) {
        note(mode, PAGING_NOTE_NOPAE_NEEDS_NX_OFF, &last_pae);
        pae = PAE_DEFAULT;
    }
    mode->nx = want_nx;
    mode->pae = want_nx || pae == PAE_FORCE_ENABLE;
}
