/* Peer scoring, as far as the router core goes: the raw counters that the
 * score function of gossipsub v1.1 weighs (behaviour penalties, invalid
 * messages). Without score parameters every peer scores 0, as in
 * go-libp2p-pubsub without WithPeerScore, so the thresholds the router
 * checks (score < 0, gossip, publish) never exclude anyone. */
#include "router.h"

double gs_score(const lp2p_router *r, const gs_peer *p) {
  (void)r;
  (void)p;
  return 0.0;
}

void gs_score_penalty(lp2p_router *r, gs_peer *p, double count) {
  (void)r;
  p->behaviour_penalty += count;
}

void gs_score_reject(lp2p_router *r, gs_peer *p, const gs_topic *t) {
  (void)r;
  (void)t;
  p->invalid_messages++;
}

double lp2p_router_peer_score(const lp2p_router *r, const lp2p_peer_id *peer) {
  gs_peer *p = gs_peer_find(r, peer);
  return p ? gs_score(r, p) : 0.0;
}
