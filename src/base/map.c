#include "base/map.h"

#include <sodium.h>
#include <string.h>

#include "base/mem.h"

#define MIN_CAP 16

static uint64_t hash_key(const lp2p_map *m, const void *key, size_t len) {
  uint64_t h;
  crypto_shorthash((uint8_t *)&h, key, len, m->seed);
  return h;
}

void lp2p_map_init(lp2p_map *m, const lp2p_mem *mem, lp2p_rand_fn rand_fn,
                   void *rand_user) {
  memset(m, 0, sizeof(*m));
  m->mem = mem;
  rand_fn(m->seed, sizeof(m->seed), rand_user);
}

void lp2p_map_free(lp2p_map *m) {
  lp2p_free(m->mem, m->slots);
  m->slots = NULL;
  m->cap = m->count = 0;
}

static lp2p_map_entry *find(const lp2p_map *m, uint64_t h, const void *key,
                            size_t len) {
  if (m->cap == 0) {
    return NULL;
  }
  for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    lp2p_map_entry *e = &m->slots[i];
    if (!e->value) {
      return NULL;
    }
    if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0) {
      return e;
    }
  }
}

void *lp2p_map_get(const lp2p_map *m, const void *key, size_t len) {
  lp2p_map_entry *e = find(m, hash_key(m, key, len), key, len);
  return e ? e->value : NULL;
}

static void insert_slot(lp2p_map_entry *slots, size_t cap,
                        const lp2p_map_entry *e) {
  size_t i = e->hash & (cap - 1);
  while (slots[i].value) {
    i = (i + 1) & (cap - 1);
  }
  slots[i] = *e;
}

static int resize(lp2p_map *m, size_t cap) {
  lp2p_map_entry *slots = lp2p_calloc(m->mem, cap, sizeof(*slots));
  if (!slots) {
    return LP2P_ERR_NOMEM;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slots[i].value) {
      insert_slot(slots, cap, &m->slots[i]);
    }
  }
  lp2p_free(m->mem, m->slots);
  m->slots = slots;
  m->cap = cap;
  return 0;
}

int lp2p_map_put(lp2p_map *m, const void *key, size_t len, void *value) {
  uint64_t h = hash_key(m, key, len);
  lp2p_map_entry *e = find(m, h, key, len);
  if (e) {
    e->key = key;
    e->value = value;
    return 0;
  }
  /* keep the load at most 3/4 */
  if ((m->count + 1) * 4 > m->cap * 3) {
    int rv = resize(m, m->cap ? m->cap * 2 : MIN_CAP);
    if (rv != 0) {
      return rv;
    }
  }
  lp2p_map_entry ne = {h, key, len, value};
  insert_slot(m->slots, m->cap, &ne);
  m->count++;
  return 0;
}

/* Backward-shift deletion: move later entries of the probe run back so
 * that no lookup stops early at the hole. */
static void delete_slot(lp2p_map *m, size_t hole) {
  size_t mask = m->cap - 1;
  for (size_t i = (hole + 1) & mask; m->slots[i].value; i = (i + 1) & mask) {
    size_t home = m->slots[i].hash & mask;
    /* the entry may fill the hole when its home is not in (hole, i] */
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      m->slots[hole] = m->slots[i];
      hole = i;
    }
  }
  memset(&m->slots[hole], 0, sizeof(m->slots[hole]));
}

void *lp2p_map_remove(lp2p_map *m, const void *key, size_t len) {
  lp2p_map_entry *e = find(m, hash_key(m, key, len), key, len);
  if (!e) {
    return NULL;
  }
  void *value = e->value;
  delete_slot(m, (size_t)(e - m->slots));
  m->count--;
  /* give memory back when the map has emptied; failing to is harmless */
  if (m->cap > MIN_CAP && m->count * 8 < m->cap) {
    resize(m, m->cap / 2);
  }
  return value;
}

void lp2p_map_remove_if(lp2p_map *m, bool (*drop)(void *value, void *arg),
                        void *arg) {
  /* a deletion shifts later entries into slot i: look at it again; none
   * moves into a slot already passed (but one wrapped around from the
   * start, which is looked at twice) */
  for (size_t i = 0; i < m->cap; i++) {
    while (m->slots[i].value && drop(m->slots[i].value, arg)) {
      delete_slot(m, i);
      m->count--;
    }
  }
  if (m->cap > MIN_CAP && m->count * 8 < m->cap) {
    resize(m, m->cap / 2); /* failing to give memory back is harmless */
  }
}

lp2p_map_entry *lp2p_map_next(const lp2p_map *m, size_t *it) {
  while (*it < m->cap) {
    lp2p_map_entry *e = &m->slots[(*it)++];
    if (e->value) {
      return e;
    }
  }
  return NULL;
}
