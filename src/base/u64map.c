#include "base/u64map.h"

#include <string.h>

#include "base/mem.h"

#define MIN_CAP 16

void lp2p_u64map_init(lp2p_u64map *m, const lp2p_mem *mem) {
  memset(m, 0, sizeof(*m));
  m->mem = mem;
}

void lp2p_u64map_free(lp2p_u64map *m) {
  lp2p_free(m->mem, m->keys);
  lp2p_free(m->mem, m->vals);
  m->keys = NULL;
  m->vals = NULL;
  m->cap = m->len = 0;
}

static size_t slot_of(const lp2p_u64map *m, uint64_t key) {
  size_t mask = m->cap - 1, i = key & mask;
  while (m->keys[i] && m->keys[i] != key) {
    i = (i + 1) & mask;
  }
  return i;
}

void *lp2p_u64map_get(const lp2p_u64map *m, uint64_t key) {
  if (m->cap == 0) {
    return NULL;
  }
  size_t i = slot_of(m, key);
  return m->keys[i] ? m->vals[i] : NULL;
}

static int resize(lp2p_u64map *m, size_t cap) {
  lp2p_u64map n;
  lp2p_u64map_init(&n, m->mem);
  n.keys = lp2p_calloc(m->mem, cap, sizeof(*n.keys));
  n.vals = lp2p_malloc(m->mem, cap * sizeof(*n.vals));
  if (!n.keys || !n.vals) {
    lp2p_u64map_free(&n);
    return LP2P_ERR_NOMEM;
  }
  n.cap = cap;
  n.len = m->len;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->keys[i]) {
      size_t s = slot_of(&n, m->keys[i]);
      n.keys[s] = m->keys[i];
      n.vals[s] = m->vals[i];
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
  size_t i = slot_of(m, key);
  m->len += m->keys[i] == 0;
  m->keys[i] = key;
  m->vals[i] = val;
  return 0;
}

/* Fills the hole at `hole` with later entries of its probe run. */
static void delete_slot(lp2p_u64map *m, size_t hole) {
  size_t mask = m->cap - 1;
  for (size_t i = (hole + 1) & mask; m->keys[i]; i = (i + 1) & mask) {
    size_t home = m->keys[i] & mask;
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      m->keys[hole] = m->keys[i];
      m->vals[hole] = m->vals[i];
      hole = i;
    }
  }
  m->keys[hole] = 0;
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
  if (!m->keys[i]) {
    return NULL;
  }
  void *val = m->vals[i];
  delete_slot(m, i);
  maybe_shrink(m);
  return val;
}

void lp2p_u64map_remove_if(lp2p_u64map *m,
                           bool (*drop)(uint64_t key, void *val, void *arg),
                           void *arg) {
  /* a deletion shifts later entries into slot i: look at it again */
  for (size_t i = 0; i < m->cap; i++) {
    while (m->keys[i] && drop(m->keys[i], m->vals[i], arg)) {
      delete_slot(m, i);
    }
  }
  maybe_shrink(m);
}
