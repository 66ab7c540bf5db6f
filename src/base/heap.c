#include "base/heap.h"

#include "base/mem.h"

void lp2p_heap_init(lp2p_heap *h, const lp2p_mem *mem) {
  h->mem = mem;
  h->items = NULL;
  h->len = h->cap = 0;
}

void lp2p_heap_free(lp2p_heap *h) {
  for (size_t i = 0; i < h->len; i++) {
    h->items[i]->index = SIZE_MAX;
  }
  lp2p_free(h->mem, h->items);
  h->items = NULL;
  h->len = h->cap = 0;
}

void lp2p_heap_item_init(lp2p_heap_item *it) {
  it->key = 0;
  it->index = SIZE_MAX;
}

bool lp2p_heap_contains(const lp2p_heap_item *it) {
  return it->index != SIZE_MAX;
}

static void place(lp2p_heap *h, size_t i, lp2p_heap_item *it) {
  h->items[i] = it;
  it->index = i;
}

static void sift_up(lp2p_heap *h, size_t i) {
  lp2p_heap_item *it = h->items[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (h->items[parent]->key <= it->key) {
      break;
    }
    place(h, i, h->items[parent]);
    i = parent;
  }
  place(h, i, it);
}

static void sift_down(lp2p_heap *h, size_t i) {
  lp2p_heap_item *it = h->items[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->len) {
      break;
    }
    if (child + 1 < h->len && h->items[child + 1]->key < h->items[child]->key) {
      child++;
    }
    if (it->key <= h->items[child]->key) {
      break;
    }
    place(h, i, h->items[child]);
    i = child;
  }
  place(h, i, it);
}

int lp2p_heap_push(lp2p_heap *h, lp2p_heap_item *it) {
  if (h->len == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 16;
    lp2p_heap_item **items =
        lp2p_reallocarray(h->mem, h->items, cap, sizeof(*items));
    if (!items) {
      return LP2P_ERR_NOMEM;
    }
    h->items = items;
    h->cap = cap;
  }
  place(h, h->len++, it);
  sift_up(h, it->index);
  return 0;
}

lp2p_heap_item *lp2p_heap_top(const lp2p_heap *h) {
  return h->len ? h->items[0] : NULL;
}

void lp2p_heap_remove(lp2p_heap *h, lp2p_heap_item *it) {
  size_t i = it->index;
  lp2p_heap_item *last = h->items[--h->len];
  it->index = SIZE_MAX;
  if (last == it) {
    return;
  }
  place(h, i, last);
  sift_up(h, i);
  sift_down(h, last->index);
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
  sift_up(h, it->index);
  sift_down(h, it->index);
}
