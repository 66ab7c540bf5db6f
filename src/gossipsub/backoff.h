/* PRUNE backoff (backoff.c): after a PRUNE, neither side grafts the other
 * in that topic until the backoff ends. */
#ifndef LP2P_GOSSIPSUB_BACKOFF_H
#define LP2P_GOSSIPSUB_BACKOFF_H

#include "lp2p/gossipsub.h"
#include "pb/rpc.h"

typedef struct lp2p_router_peer gs_peer;
typedef struct gs_topic gs_topic;

/* No GRAFT from or to `peer` in a topic before `until`; the topic's
 * backoff map keys it by the peer id bytes held here. */
typedef struct gs_backoff {
  lp2p_tstamp until;
  lp2p_peer_id peer;
} gs_backoff;

/* go's PruneBackoff, UnsubscribeBackoff and GraftFloodThreshold, and
 * their checks (0 or LP2P_ERR_INVALID_ARG with `err` set). */
void lp2p_gs_backoff_params_default(lp2p_router_params *p);
int lp2p_gs_backoff_params_validate(const lp2p_router_params *p,
                                    lp2p_errdetail *err);

/* When the backoff of `id` in `t` ends; 0 without one. */
lp2p_tstamp lp2p_gs_backoff_until(const gs_topic *t, const lp2p_peer_id *id);
bool lp2p_gs_backoff_active(const gs_topic *t, const lp2p_peer_id *id,
                            lp2p_tstamp now);
/* Records a backoff until `until`, never shortening one. At
 * max_backoffs a new entry is dropped and counted (backoffs_dropped).
 * Returns 0 or LP2P_ERR_NOMEM. */
int lp2p_gs_backoff_add(lp2p_router *r, gs_topic *t, const lp2p_peer_id *id,
                        lp2p_tstamp until);
/* Forgets the backoffs of `t` that ended at or before `now`. */
void lp2p_gs_backoff_expire(lp2p_router *r, gs_topic *t, lp2p_tstamp now);
/* Frees every backoff of `t` (the topic goes). */
void lp2p_gs_backoff_free(lp2p_router *r, gs_topic *t);

/* We PRUNE `p` from `t` for `backoff`: records it, and sets *seconds to
 * what the PRUNE advertises (0 to meshsub 1.0, which knows no backoff).
 * Returns 0 or LP2P_ERR_NOMEM. */
int lp2p_gs_backoff_prune_sent(lp2p_router *r, gs_peer *p, gs_topic *t,
                               lp2p_tstamp backoff, lp2p_tstamp now,
                               uint64_t *seconds);
/* `p` PRUNEd us from `t` with `pr`'s backoff: we do not graft it before
 * that ends. */
void lp2p_gs_backoff_prune_received(lp2p_router *r, gs_peer *p, gs_topic *t,
                                    const lp2p_rpc_prune *pr, lp2p_tstamp now);
/* Is a GRAFT from `p` for `t` one made while we back it off? */
bool lp2p_gs_backoff_grafts_early(const lp2p_router *r, const gs_peer *p,
                                  const gs_topic *t, lp2p_tstamp now);
/* A GRAFT from `p` for `t` while we back it off: penalises it (P7). */
void lp2p_gs_backoff_penalise_graft(lp2p_router *r, gs_peer *p,
                                    const gs_topic *t, lp2p_tstamp now);

#endif
