#include "lib/object_header.h"
#include "lib/panic.h"

void object_reference(struct object_header *object)
{
    __atomic_add_fetch(&object->references, 1, __ATOMIC_RELAXED);
}

void object_dereference(struct object_header *object)
{
    uint32_t before = __atomic_fetch_sub(&object->references, 1, __ATOMIC_ACQ_REL);

    KASSERT(before > 0);
    if (before == 1)
        object->destroy(object);
}
