/* A hash table from 64-bit keys to pointers, for keys that are already
 * good hashes (keyed SipHash of message ids): open addressing on the key
 * itself, linear probing, backward-shift deletion. Key 0 is reserved. */
#ifndef LP2P_BASE_U64MAP_H
#define LP2P_BASE_U64MAP_H

#include <stdbool.h>

#include "lp2p/common.h"

/* Key and value side by side: a hit costs one cache line. */
typedef struct lp2p_u64slot {
  uint64_t key; /* 0 marks a free slot */
  void *val;
} lp2p_u64slot;

typedef struct lp2p_u64map {
  const lp2p_mem *mem;
  lp2p_u64slot *slots;
  size_t cap; /* 0 or a power of two */
  size_t len;
} lp2p_u64map;

void lp2p_u64map_init(lp2p_u64map *m, const lp2p_mem *mem);
void lp2p_u64map_free(lp2p_u64map *m);
/* The value of `key` (never 0), or NULL. */
void *lp2p_u64map_get(const lp2p_u64map *m, uint64_t key);
/* Inserts or replaces. Returns 0 or LP2P_ERR_NOMEM (unchanged). */
int lp2p_u64map_put(lp2p_u64map *m, uint64_t key, void *val);
/* Removes `key` and returns its value, or NULL when absent. */
void *lp2p_u64map_remove(lp2p_u64map *m, uint64_t key);
/* Calls fn for every entry with a pointer to its value, which fn may
 * change; a value set to NULL reads as absent until removed. */
void lp2p_u64map_each(lp2p_u64map *m,
                      void (*fn)(uint64_t key, void **val, void *arg),
                      void *arg);
/* Removes every entry for which `drop(key, val, arg)` is true. */
void lp2p_u64map_remove_if(lp2p_u64map *m,
                           bool (*drop)(uint64_t key, void *val, void *arg),
                           void *arg);

#endif
