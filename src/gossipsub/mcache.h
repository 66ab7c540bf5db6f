/* The message cache (mcache.c): history windows of recent messages,
 * for gossip and IWANT answers. */
#ifndef LP2P_GOSSIPSUB_MCACHE_H
#define LP2P_GOSSIPSUB_MCACHE_H

#include "lp2p/gossipsub.h"

typedef struct lp2p_router_peer gs_peer;
typedef struct gs_topic gs_topic;
typedef struct gs_msg gs_msg;

int lp2p_gs_mcache_init(lp2p_router *r);
void lp2p_gs_mcache_free(lp2p_router *r);
int lp2p_gs_mcache_put(lp2p_router *r, gs_msg *m);
gs_msg *lp2p_gs_mcache_get(const lp2p_router *r, uint64_t id_hash);
void lp2p_gs_mcache_shift(lp2p_router *r);
/* Messages in the gossip windows (the newest history_gossip). */
size_t lp2p_gs_mcache_gossip_len(const lp2p_router *r);
/* Calls fn for the ids of `t` in the gossip windows. */
void lp2p_gs_mcache_each_gossip(const lp2p_router *r, const gs_topic *t,
                                void (*fn)(gs_msg *m, void *arg), void *arg);
/* Counts an IWANT answer for the peer; returns the new count. */
uint32_t lp2p_gs_mcache_count_iwant(lp2p_router *r, gs_msg *m,
                                    const gs_peer *p);

#endif
