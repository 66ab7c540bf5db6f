/* The message bodies of a simulation run, one copy each for all nodes
 * (the routers' lp2p__msg_store), and the long fields of the RPCs in
 * flight (sim.c). Every node held its own copy of every message in its
 * mcache, 40% of a 50,000-node run's memory; the bodies are
 * byte-identical, so a run interns them: equal bytes share one
 * reference-counted copy, and a copy with other bytes (an attacker's
 * forgery) is a body of its own. */
#ifndef LP2P_SIM_MSGSTORE_H
#define LP2P_SIM_MSGSTORE_H

#include "base/u64map.h"
#include "gossipsub/message.h"

typedef struct sim_msgstore {
  lp2p__msg_store hooks; /* for lp2p__router_set_msg_store */
  const lp2p_mem *mem;
  lp2p_u64map index;         /* content hash -> body */
  size_t bodies;             /* distinct bodies held */
  uint64_t interned, shared; /* intern calls, of which found held */
} sim_msgstore;

void lp2p__sim_msgstore_init(sim_msgstore *st, const lp2p_mem *mem);
/* Frees the index; every body must have been released. */
void lp2p__sim_msgstore_free(sim_msgstore *st);
/* The store's copy of body[0..len) with one more reference, or NULL
 * without memory. */
const uint8_t *lp2p__sim_msgstore_intern(sim_msgstore *st, const uint8_t *body,
                                         size_t len);
/* Drops a reference from lp2p__sim_msgstore_intern; the last frees it. */
void lp2p__sim_msgstore_release(sim_msgstore *st, const uint8_t *shared);

#endif
