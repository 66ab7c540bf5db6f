#include "base/heap.h"

#include "base/mem.h"

void lp2p_heap_init(lp2p_heap *h, const lp2p_mem *mem) {
  h->mem = mem;
  h->slots = NULL;
  h->len = h->cap = 0;
}

void lp2p_heap_free(lp2p_heap *h) {
  for (size_t i = 0; i < h->len; i++) {
    h->slots[i].item->index = SIZE_MAX;
  }
  lp2p_free(h->mem, h->slots);
  h->slots = NULL;
  h->len = h->cap = 0;
}

void lp2p_heap_item_init(lp2p_heap_item *it) {
  it->key = 0;
  it->index = SIZE_MAX;
}

bool lp2p_heap_contains(const lp2p_heap_item *it) {
  return it->index != SIZE_MAX;
}

static void place(lp2p_heap *h, size_t i, lp2p_heap_slot s) {
  h->slots[i] = s;
  s.item->index = i;
}

/* Four children per node: half the depth of a binary heap, and the
 * children's keys share a cache line. */
#define ARITY 4

static void sift_up(lp2p_heap *h, size_t i) {
  lp2p_heap_slot s = h->slots[i];
  while (i > 0) {
    size_t parent = (i - 1) / ARITY;
    if (h->slots[parent].key <= s.key) {
      break;
    }
    place(h, i, h->slots[parent]);
    i = parent;
  }
  place(h, i, s);
}

static void sift_down(lp2p_heap *h, size_t i) {
  lp2p_heap_slot s = h->slots[i];
  for (;;) {
    size_t first = ARITY * i + 1, child = first;
    if (first >= h->len) {
      break;
    }
    for (size_t c = first + 1; c < first + ARITY && c < h->len; c++) {
      if (h->slots[c].key < h->slots[child].key) {
        child = c;
      }
    }
    if (s.key <= h->slots[child].key) {
      break;
    }
    place(h, i, h->slots[child]);
    i = child;
  }
  place(h, i, s);
}

int lp2p_heap_push(lp2p_heap *h, lp2p_heap_item *it) {
  if (h->len == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 16;
    lp2p_heap_slot *slots =
        lp2p_reallocarray(h->mem, h->slots, cap, sizeof(*slots));
    if (!slots) {
      return LP2P_ERR_NOMEM;
    }
    h->slots = slots;
    h->cap = cap;
  }
  lp2p_heap_slot s = {it->key, it};
  place(h, h->len++, s);
  sift_up(h, it->index);
  return 0;
}

lp2p_heap_item *lp2p_heap_top(const lp2p_heap *h) {
  return h->len ? h->slots[0].item : NULL;
}

void lp2p_heap_remove(lp2p_heap *h, lp2p_heap_item *it) {
  size_t i = it->index;
  lp2p_heap_slot last = h->slots[--h->len];
  it->index = SIZE_MAX;
  if (last.item == it) {
    return;
  }
  place(h, i, last);
  sift_up(h, i);
  sift_down(h, last.item->index);
}

lp2p_heap_item *lp2p_heap_pop(lp2p_heap *h) {
  lp2p_heap_item *top = lp2p_heap_top(h);
  if (top) {
    lp2p_heap_remove(h, top);
  }
  return top;
}

void lp2p_heap_update(lp2p_heap *h, lp2p_heap_item *it, uint64_t key) {
  it->key = key;
  h->slots[it->index].key = key;
  sift_up(h, it->index);
  sift_down(h, it->index);
}
