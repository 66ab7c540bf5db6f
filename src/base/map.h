/* A hash map from byte-string keys to pointers: open addressing, linear
 * probing with backward-shift deletion, keyed SipHash seeded from the rand
 * callback so that peers cannot aim collisions at it. Keys are not copied:
 * each must stay valid while its entry exists (usually the value holds
 * it). */
#ifndef LP2P_BASE_MAP_H
#define LP2P_BASE_MAP_H

#include <stdbool.h>

#include "lp2p/common.h"

typedef struct lp2p_map_entry {
  uint64_t hash;
  const void *key;
  size_t key_len;
  void *value; /* NULL marks a free slot */
} lp2p_map_entry;

typedef struct lp2p_map {
  const lp2p_mem *mem;
  uint8_t seed[16];
  lp2p_map_entry *slots;
  size_t cap; /* 0 or a power of two */
  size_t count;
} lp2p_map;

void lp2p_map_init(lp2p_map *m, const lp2p_mem *mem, lp2p_rand_fn rand_fn,
                   void *rand_user);
void lp2p_map_free(lp2p_map *m);
void *lp2p_map_get(const lp2p_map *m, const void *key, size_t len);
/* Inserts or replaces; `value` must not be NULL. Returns 0 or
 * LP2P_ERR_NOMEM (the map is unchanged). */
int lp2p_map_put(lp2p_map *m, const void *key, size_t len, void *value);
/* Removes the entry and returns its value, or NULL when absent. */
void *lp2p_map_remove(lp2p_map *m, const void *key, size_t len);
/* Removes every entry for which `drop(value, arg)` is true; `drop` may
 * free the value (and the key it holds), which is not touched after. */
void lp2p_map_remove_if(lp2p_map *m, bool (*drop)(void *value, void *arg),
                        void *arg);
/* Iterates: start with *it = 0; returns the next entry or NULL. Entries
 * must not be added or removed during an iteration. */
lp2p_map_entry *lp2p_map_next(const lp2p_map *m, size_t *it);

#endif
