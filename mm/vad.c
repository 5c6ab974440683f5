/*
 * The VAD tree: an intrusive AVL tree with parent pointers, so that every operation is
 * a loop (a walk down, then a retrace up) and none recurses.
 */
#include "lib/panic.h"
#include "arch/layout.h"
#include "mm/vad.h"

/* Puts new_child where old_child hangs under parent (the root when parent is NULL). */
static void replace_child(struct mm_avl_table *table, struct mmvad *parent,
                          struct mmvad *old_child, struct mmvad *new_child)
{
    if (!parent)
        table->root = new_child;
    else if (parent->left == old_child)
        parent->left = new_child;
    else
        parent->right = new_child;
    if (new_child)
        new_child->parent = parent;
}

/*
 * The single rotations. Their balance updates hold for any balances, not only the ones
 * insertion leaves, so a double rotation is just two singles and removal can use them
 * when the taller child's balance is 0.
 */
static struct mmvad *rotate_left(struct mm_avl_table *table, struct mmvad *node)
{
    struct mmvad *pivot = node->right;

    node->right = pivot->left;
    if (pivot->left)
        pivot->left->parent = node;
    replace_child(table, node->parent, node, pivot);
    pivot->left = node;
    node->parent = pivot;
    node->balance = node->balance - 1 - MAX(pivot->balance, 0);
    pivot->balance = pivot->balance - 1 + MIN(node->balance, 0);
    return pivot;
}

static struct mmvad *rotate_right(struct mm_avl_table *table, struct mmvad *node)
{
    struct mmvad *pivot = node->left;

    node->left = pivot->right;
    if (pivot->right)
        pivot->right->parent = node;
    replace_child(table, node->parent, node, pivot);
    pivot->right = node;
    node->parent = pivot;
    node->balance = node->balance + 1 - MIN(pivot->balance, 0);
    pivot->balance = pivot->balance + 1 + MAX(node->balance, 0);
    return pivot;
}

/* Rebalances a subtree whose root has balance -2 or +2; returns the new root. */
static struct mmvad *rebalance(struct mm_avl_table *table, struct mmvad *node)
{
    if (node->balance > 0) {
        if (node->right->balance < 0)
            rotate_right(table, node->right);
        return rotate_left(table, node);
    }
    if (node->left->balance > 0)
        rotate_left(table, node->left);
    return rotate_right(table, node);
}

void MiInitializeVadTable(struct mm_avl_table *table)
{
    table->root = NULL;
    table->count = 0;
    table->hint = NULL;
}

void MiInsertVad(struct mm_avl_table *table, struct mmvad *vad)
{
    struct mmvad *parent = NULL;
    struct mmvad **link = &table->root;

    KASSERT(vad->start <= vad->end);
    KASSERT(vad->start % PAGE_SIZE == 0 && (vad->end + 1) % PAGE_SIZE == 0);
    /*
     * Any VAD the new one overlaps lies on this path: the walk only leaves a node's
     * subtree for one side when the new range lies wholly on the other.
     */
    while (*link) {
        parent = *link;
        if (vad->end < parent->start)
            link = &parent->left;
        else if (vad->start > parent->end)
            link = &parent->right;
        else
            panic("VAD %08x-%08x overlaps %08x-%08x", vad->start, vad->end, parent->start,
                  parent->end);
    }
    vad->left = vad->right = NULL;
    vad->parent = parent;
    vad->balance = 0;
    *link = vad;
    table->count++;

    /* Retrace: after an insertion one rotation restores the old height, so it ends there. */
    for (struct mmvad *child = vad; parent; child = parent, parent = parent->parent) {
        parent->balance += child == parent->left ? -1 : 1;
        if (parent->balance == 0)
            break;
        if (parent->balance != 1 && parent->balance != -1) {
            rebalance(table, parent);
            break;
        }
    }
}

void MiRemoveVad(struct mm_avl_table *table, struct mmvad *vad)
{
    struct mmvad *parent;
    bool left_shrank;

    KASSERT(table->count > 0);
    if (!vad->left || !vad->right) {
        struct mmvad *child = vad->left ? vad->left : vad->right;
        parent = vad->parent;
        left_shrank = parent && parent->left == vad;
        replace_child(table, parent, vad, child);
    } else {
        /* The successor has no left child; it takes vad's place and balance. */
        struct mmvad *successor = vad->right;
        while (successor->left)
            successor = successor->left;
        if (successor == vad->right) {
            parent = successor;
            left_shrank = false;
        } else {
            parent = successor->parent;
            left_shrank = true;
            parent->left = successor->right;
            if (successor->right)
                successor->right->parent = parent;
            successor->right = vad->right;
            vad->right->parent = successor;
        }
        successor->left = vad->left;
        vad->left->parent = successor;
        successor->balance = vad->balance;
        replace_child(table, vad->parent, vad, successor);
    }
    vad->left = vad->right = vad->parent = NULL;
    table->count--;
    if (table->hint == vad)
        table->hint = NULL;

    /*
     * Retrace while the subtree under parent has lost height: a balance of -1 or +1
     * afterwards (with or without a rotation) means its height did not change.
     */
    while (parent) {
        parent->balance += left_shrank ? 1 : -1;
        if (parent->balance == 2 || parent->balance == -2)
            parent = rebalance(table, parent);
        if (parent->balance != 0)
            break;
        struct mmvad *child = parent;
        parent = parent->parent;
        left_shrank = parent && parent->left == child;
    }
}

struct mmvad *MiLocateVad(struct mm_avl_table *table, vaddr_t va)
{
    struct mmvad *node = table->hint;

    if (node && node->start <= va && va <= node->end)
        return node;
    for (node = table->root; node;) {
        if (va < node->start) {
            node = node->left;
        } else if (va > node->end) {
            node = node->right;
        } else {
            table->hint = node;
            break;
        }
    }
    return node;
}

/* The lowest VAD ending at or above va, or NULL. */
static struct mmvad *first_vad_ending_at_or_above(struct mm_avl_table *table, vaddr_t va)
{
    struct mmvad *found = NULL;

    for (struct mmvad *node = table->root; node;) {
        if (node->end >= va) {
            found = node;
            node = node->left;
        } else {
            node = node->right;
        }
    }
    return found;
}

/* The highest VAD starting at or below va, or NULL. */
static struct mmvad *last_vad_starting_at_or_below(struct mm_avl_table *table, vaddr_t va)
{
    struct mmvad *found = NULL;

    for (struct mmvad *node = table->root; node;) {
        if (node->start <= va) {
            found = node;
            node = node->right;
        } else {
            node = node->left;
        }
    }
    return found;
}

struct mmvad *MiCheckForConflictingVad(struct mm_avl_table *table, vaddr_t start, vaddr_t end)
{
    KASSERT(start <= end);
    struct mmvad *vad = first_vad_ending_at_or_above(table, start);
    return vad && vad->start <= end ? vad : NULL;
}

struct mmvad *MiFirstVad(struct mm_avl_table *table)
{
    struct mmvad *node = table->root;

    while (node && node->left)
        node = node->left;
    return node;
}

struct mmvad *MiNextVad(struct mmvad *vad)
{
    if (vad->right) {
        vad = vad->right;
        while (vad->left)
            vad = vad->left;
        return vad;
    }
    while (vad->parent && vad == vad->parent->right)
        vad = vad->parent;
    return vad->parent;
}

static struct mmvad *previous_vad(struct mmvad *vad)
{
    if (vad->left) {
        vad = vad->left;
        while (vad->right)
            vad = vad->right;
        return vad;
    }
    while (vad->parent && vad == vad->parent->left)
        vad = vad->parent;
    return vad->parent;
}

/*
 * Fits size bytes into the free gap [first, last]. The bounds are 64-bit and signed so
 * that "one past 0xFFFFFFFF" and "one below 0" are plain values, not wrapped ones.
 */
static bool fit_in_gap(int64_t first, int64_t last, uint32_t size, uint32_t alignment,
                       bool top_down, vaddr_t *base)
{
    int64_t mask = ~((int64_t)alignment - 1);
    int64_t candidate;

    if (last - first + 1 < size)
        return false;
    if (top_down)
        candidate = (last - size + 1) & mask;
    else
        candidate = (first + alignment - 1) & mask;
    if (candidate < first || candidate + size - 1 > last)
        return false;
    *base = (vaddr_t)candidate;
    return true;
}

/*
 * One walk over the gaps from the bound inwards, ending at the first that fits: only
 * the VADs that lie between the bound and the result are visited.
 */
bool MiFindEmptyAddressRange(struct mm_avl_table *table, uint32_t size, uint32_t alignment,
                             vaddr_t lowest, vaddr_t highest, bool top_down, vaddr_t *base)
{
    KASSERT(alignment != 0 && (alignment & (alignment - 1)) == 0);
    if (size == 0 || highest < lowest)
        return false;

    if (!top_down) {
        int64_t gap_start = lowest;
        struct mmvad *vad = first_vad_ending_at_or_above(table, lowest);
        for (; vad && vad->start <= highest; vad = MiNextVad(vad)) {
            if (fit_in_gap(gap_start, (int64_t)vad->start - 1, size, alignment, false, base))
                return true;
            gap_start = (int64_t)vad->end + 1;
        }
        return fit_in_gap(gap_start, highest, size, alignment, false, base);
    }

    int64_t gap_end = highest;
    struct mmvad *vad = last_vad_starting_at_or_below(table, highest);
    for (; vad && vad->end >= lowest; vad = previous_vad(vad)) {
        if (fit_in_gap((int64_t)vad->end + 1, gap_end, size, alignment, true, base))
            return true;
        gap_end = (int64_t)vad->start - 1;
    }
    return fit_in_gap(lowest, gap_end, size, alignment, true, base);
}

unsigned MiVadTreeHeight(const struct mm_avl_table *table)
{
    const struct mmvad *node = table->root;
    unsigned depth = 1, height = 0;

    if (!node)
        return 0;
    /* An in-order walk that tracks the depth, so a broken tree is measured as it is. */
    while (node->left) {
        node = node->left;
        depth++;
    }
    while (node) {
        height = MAX(height, depth);
        if (node->right) {
            node = node->right;
            depth++;
            while (node->left) {
                node = node->left;
                depth++;
            }
            continue;
        }
        while (node->parent && node == node->parent->right) {
            node = node->parent;
            depth--;
        }
        node = node->parent;
        depth--;
    }
    return height;
}
