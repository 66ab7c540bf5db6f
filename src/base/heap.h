/* A 4-ary min-heap of intrusive items ordered by a 64-bit key (a deadline,
 * usually). Items know their position, so removing or re-keying one is
 * O(log n). */
#ifndef LP2P_BASE_HEAP_H
#define LP2P_BASE_HEAP_H

#include <stdbool.h>

#include "lp2p/common.h"

typedef struct lp2p_heap_item {
  uint64_t key;
  size_t index; /* position in the heap; SIZE_MAX when not in one */
} lp2p_heap_item;

/* Keys are kept beside the item pointers so that sifting compares
 * without dereferencing items (a cache miss each in large heaps). */
typedef struct lp2p_heap_slot {
  uint64_t key;
  lp2p_heap_item *item;
} lp2p_heap_slot;

typedef struct lp2p_heap {
  const lp2p_mem *mem;
  lp2p_heap_slot *slots;
  size_t len;
  size_t cap;
} lp2p_heap;

void lp2p_heap_init(lp2p_heap *h, const lp2p_mem *mem);
void lp2p_heap_free(lp2p_heap *h);
void lp2p_heap_item_init(lp2p_heap_item *it);
bool lp2p_heap_contains(const lp2p_heap_item *it);
/* Returns 0 or LP2P_ERR_NOMEM. The item must not be in a heap. */
int lp2p_heap_push(lp2p_heap *h, lp2p_heap_item *it);
/* The item with the smallest key, or NULL. */
lp2p_heap_item *lp2p_heap_top(const lp2p_heap *h);
lp2p_heap_item *lp2p_heap_pop(lp2p_heap *h);
/* Removes an item that is in the heap. */
void lp2p_heap_remove(lp2p_heap *h, lp2p_heap_item *it);
/* Changes the key of an item that is in the heap. */
void lp2p_heap_update(lp2p_heap *h, lp2p_heap_item *it, uint64_t key);

#endif
