#include "net/stab.h"

#include <string.h>

#include "base/mem.h"

/* Index of the first entry whose key is >= `key`. */
static size_t lower_bound(const lp2p_stab *t, uint64_t key) {
  size_t lo = 0, hi = t->len;
  if (hi > 0 && t->items[hi - 1].key < key) {
    return hi; /* the common case: a new, larger id */
  }
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->items[mid].key < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

void *lp2p_stab_get(const lp2p_stab *t, uint64_t key) {
  size_t i = lower_bound(t, key);
  return i < t->len && t->items[i].key == key ? t->items[i].value : NULL;
}

int lp2p_stab_put(lp2p_stab *t, const lp2p_mem *mem, uint64_t key,
                  void *value) {
  if (t->len == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 8;
    lp2p_stab_entry *items =
        lp2p_reallocarray(mem, t->items, cap, sizeof(*items));
    if (!items) {
      return LP2P_ERR_NOMEM;
    }
    t->items = items;
    t->cap = cap;
  }
  size_t i = lower_bound(t, key);
  memmove(&t->items[i + 1], &t->items[i], (t->len - i) * sizeof(*t->items));
  t->items[i].key = key;
  t->items[i].value = value;
  t->len++;
  return 0;
}

void *lp2p_stab_remove(lp2p_stab *t, uint64_t key) {
  size_t i = lower_bound(t, key);
  if (i == t->len || t->items[i].key != key) {
    return NULL;
  }
  void *value = t->items[i].value;
  t->len--;
  memmove(&t->items[i], &t->items[i + 1], (t->len - i) * sizeof(*t->items));
  return value;
}

void lp2p_stab_free(lp2p_stab *t, const lp2p_mem *mem) {
  lp2p_free(mem, t->items);
  memset(t, 0, sizeof(*t));
}
