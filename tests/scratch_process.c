#include "lib/ntstatus.h"
#include "mm/mm.h"
#include "mm/modwriter.h"
#include "mm/pagefile.h"
#include "mm/pfn.h"
#include "tests/scratch_process.h"

bool scratch_begin(struct ktest *t, struct scratch *s, const char *name)
{
    MiWaitForModifiedPageWriterIdle();
    s->available_pages = MmAvailablePages();
    s->committed_pages = MmTotalCommittedPages;
    s->user_page_tables = MiPagesInUse[MI_USE_USER_PAGE_TABLE];
    s->system_page_tables = MiPagesInUse[MI_USE_PAGE_TABLE];
    s->pagefile_slots = MiPagefile.slots_in_use;
    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, process_create(name, true, &s->process)))
        return false;
    process_attach(s->process);
    return true;
}

void scratch_end(struct ktest *t, struct scratch *s)
{
    process_detach();
    process_discard(s->process);
    MiWaitForModifiedPageWriterIdle();     /* pages freed in flight go when written */
    KT_EXPECT_EQ(t, s->committed_pages, MmTotalCommittedPages);
    KT_EXPECT_EQ(t, s->user_page_tables, MiPagesInUse[MI_USE_USER_PAGE_TABLE]);
    KT_EXPECT_EQ(t, s->pagefile_slots, MiPagefile.slots_in_use);
    KT_EXPECT_EQ(t, s->available_pages,
                 MmAvailablePages() + MiPagesInUse[MI_USE_PAGE_TABLE] - s->system_page_tables);
}
