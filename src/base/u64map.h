/* A hash table from 64-bit keys to pointers, for keys that are already
 * good hashes (keyed SipHash of message ids): open addressing on the key
 * itself, linear probing, backward-shift deletion. A lookup reads only
 * the key array, so a miss costs one cache line. Key 0 is reserved. */
#ifndef LP2P_BASE_U64MAP_H
#define LP2P_BASE_U64MAP_H

#include <stdbool.h>

#include "lp2p/common.h"

typedef struct lp2p_u64map {
  const lp2p_mem *mem;
  uint64_t *keys; /* 0 marks a free slot */
  void **vals;
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
/* Removes every entry for which `drop(key, val, arg)` is true. */
void lp2p_u64map_remove_if(lp2p_u64map *m,
                           bool (*drop)(uint64_t key, void *val, void *arg),
                           void *arg);

#endif
