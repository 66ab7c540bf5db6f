/* Partial messages, the gossipsub v1.3 extension (partial.c): our mode
 * and the peers' requests per topic, group states, RPC.partial in and
 * out, and the heartbeat's metadata gossip and expiry. */
#ifndef LP2P_GOSSIPSUB_PARTIAL_H
#define LP2P_GOSSIPSUB_PARTIAL_H

#include "lp2p/gossipsub.h"
#include "pb/rpc.h"

typedef struct lp2p_router_peer gs_peer;
typedef struct gs_topic gs_topic;
typedef struct gs_peers gs_peers;

/* Frees the topic's partial-message state (when the topic goes). */
void lp2p_gs_partial_topic_free(lp2p_router *r, gs_topic *t);
/* `p` (re)subscribed to `t` with `s`'s requestsPartial and
 * supportsSendingPartial. Returns 0 or LP2P_ERR_NOMEM. */
int lp2p_gs_partial_subscribed(lp2p_router *r, gs_peer *p, gs_topic *t,
                               const lp2p_rpc_sub *s);
/* We left `t`: our mode is off until joined with one again. */
void lp2p_gs_partial_left(gs_topic *t);
/* `p` left `t` (unsubscribed or gone): forgets its requests and its
 * state in the topic's groups. */
void lp2p_gs_partial_unsubscribed(lp2p_router *r, gs_peer *p, gs_topic *t);
/* `p` is going: forgets its state on every topic, also those it never
 * subscribed to but sent RPC.partial on. */
void lp2p_gs_partial_peer_gone(lp2p_router *r, gs_peer *p);
/* Our SubOpts flags for `t`. */
void lp2p_gs_partial_sub_flags(const gs_topic *t, lp2p_rpc_sub *s);
/* The RPC.partial of r->rpc, just received from `p`. */
void lp2p_gs_partial_recv(lp2p_router *r, gs_peer *p);
/* Does `p` get parts instead of full messages on `t` (as go: it requested
 * them and we support sending them)? Cheap when `t` has no partial
 * state. */
bool lp2p_gs_partial_wants_parts(const gs_topic *t, const gs_peer *p);
/* Should `p` get no IDONTWANT on `t` (as go: we request parts and it
 * supports sending them)? */
bool lp2p_gs_partial_skips_idontwant(const gs_topic *t, const gs_peer *p);
/* May partial traffic flow with `p` on `t`: both advertised the
 * extension, and it requests parts while we support sending them, or it
 * supports sending them while we request them. */
bool lp2p_gs_partial_eligible(const gs_topic *t, const gs_peer *p);
/* Heartbeat gossip: does `t` send partsMetadata to gossip peers that
 * request parts (instead of IHAVE, as go)? */
bool lp2p_gs_partial_gossips(const gs_topic *t);
/* Heartbeat gossip: `peers` (outside the mesh, partial traffic with
 * each eligible) are
 * offered each of our groups they know nothing of, by the
 * partial_gossip callback. */
void lp2p_gs_partial_emit_gossip(lp2p_router *r, gs_topic *t,
                                 const gs_peers *peers);
/* Heartbeat: group states past their TTL, or tracking no peer, go. */
void lp2p_gs_partial_expire(lp2p_router *r, gs_topic *t);
/* Must the topic be kept while nothing else refers to it (our mode is
 * set on it)? */
bool lp2p_gs_partial_keeps(const gs_topic *t);
/* Group states over all topics (a gauge). */
size_t lp2p_gs_partial_groups(const lp2p_router *r);

#endif
