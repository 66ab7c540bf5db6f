#include "base/u64map.h"

#include <string.h>

#include "base/mem.h"

#define MIN_CAP 16

void lp2p_u64map_init(lp2p_u64map *m, const lp2p_mem *mem) {
  memset(m, 0, sizeof(*m));
  m->mem = mem;
}

void lp2p_u64map_free(lp2p_u64map *m) {
  lp2p_free(m->mem, m->slots);
  m->slots = NULL;
  m->cap = m->len = 0;
}

static size_t slot_of(const lp2p_u64map *m, uint64_t key) {
  size_t mask = m->cap - 1, i = key & mask;
  while (m->slots[i].key && m->slots[i].key != key) {
    i = (i + 1) & mask;
  }
  return i;
}

void *lp2p_u64map_get(const lp2p_u64map *m, uint64_t key) {
  if (m->cap == 0) {
    return NULL;
  }
  const lp2p_u64slot *s = &m->slots[slot_of(m, key)];
  return s->key ? s->val : NULL;
}

static int resize(lp2p_u64map *m, size_t cap) {
  lp2p_u64map n;
  lp2p_u64map_init(&n, m->mem);
  n.slots = lp2p_calloc(m->mem, cap, sizeof(*n.slots));
  if (!n.slots) {
    return LP2P_ERR_NOMEM;
  }
  n.cap = cap;
  n.len = m->len;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slots[i].key) {
      n.slots[slot_of(&n, m->slots[i].key)] = m->slots[i];
    }
  }
  lp2p_u64map_free(m);
  *m = n;
  return 0;
}

int lp2p_u64map_put(lp2p_u64map *m, uint64_t key, void *val) {
  /* keep the load at most 1/2: probes stay within a cache line or two */
  if ((m->len + 1) * 2 > m->cap) {
    int rv = resize(m, m->cap ? m->cap * 2 : MIN_CAP);
    if (rv != 0) {
      return rv;
    }
  }
  lp2p_u64slot *s = &m->slots[slot_of(m, key)];
  m->len += s->key == 0;
  s->key = key;
  s->val = val;
  return 0;
}

/* Fills the hole at `hole` with later entries of its probe run. */
static void delete_slot(lp2p_u64map *m, size_t hole) {
  size_t mask = m->cap - 1;
  for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
    size_t home = m->slots[i].key & mask;
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      m->slots[hole] = m->slots[i];
      hole = i;
    }
  }
  m->slots[hole].key = 0;
  m->len--;
}

/* Gives memory back once the table is mostly empty; failing to is
 * harmless. */
static void maybe_shrink(lp2p_u64map *m) {
  if (m->len == 0) {
    lp2p_u64map_free(m);
  } else if (m->cap > MIN_CAP && m->len * 8 < m->cap) {
    resize(m, m->cap / 2);
  }
}

void *lp2p_u64map_remove(lp2p_u64map *m, uint64_t key) {
  if (m->cap == 0) {
    return NULL;
  }
  size_t i = slot_of(m, key);
  if (!m->slots[i].key) {
    return NULL;
  }
  void *val = m->slots[i].val;
  delete_slot(m, i);
  maybe_shrink(m);
  return val;
}

void lp2p_u64map_each(lp2p_u64map *m,
                      void (*fn)(uint64_t key, void **val, void *arg),
                      void *arg) {
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slots[i].key) {
      fn(m->slots[i].key, &m->slots[i].val, arg);
    }
  }
}

void lp2p_u64map_remove_if(lp2p_u64map *m,
                           bool (*drop)(uint64_t key, void *val, void *arg),
                           void *arg) {
  /* a deletion shifts later entries into slot i: look at it again */
  for (size_t i = 0; i < m->cap; i++) {
    while (m->slots[i].key && drop(m->slots[i].key, m->slots[i].val, arg)) {
      delete_slot(m, i);
    }
  }
  maybe_shrink(m);
}
