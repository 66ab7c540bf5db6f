/* Topics (topic.c): subscribers, mesh, fanout and the backoffs of each
 * topic, mesh membership changes and router events. */
#ifndef LP2P_GOSSIPSUB_TOPIC_H
#define LP2P_GOSSIPSUB_TOPIC_H

#include "base/map.h"
#include "lp2p/gossipsub.h"
#include "peer.h"

typedef struct gs_tscore gs_tscore;

struct gs_topic {
  bool joined;
  bool has_params;
  const gs_tscore *tscore; /* its score parameters, or NULL */
  lp2p_mesh_params params;
  gs_peers peers;            /* subscribed peers */
  gs_peers mesh;             /* when joined */
  gs_peers fanout;           /* when not joined and publishing */
  lp2p_tstamp fanout_expiry; /* LP2P_TSTAMP_NEVER without a fanout */
  /* peer id bytes -> gs_backoff, as go's map[topic]map[peer]time: O(1)
   * lookups, expired entries purged at each heartbeat, all topics'
   * together bounded by limits.max_backoffs (r->nbackoff); seeded at its
   * first entry, as most topics (only peers') never get one */
  lp2p_map backoff;
  bool backoff_seeded;
  /* validation (validation.c): the topic's limits, its rate's bucket,
   * its pending validations and what its limits dropped */
  bool has_validation;
  lp2p_topic_validation validation;
  double tokens;
  lp2p_tstamp refilled;
  size_t npending;
  uint64_t val_dropped_full, val_dropped_pending, val_dropped_rate;
  /* partial messages (partial.c): our mode, the peers' requests and the
   * group states; NULL until the extension is used on the topic */
  struct gs_ptopic *partial;
  size_t name_len;
  uint8_t name[]; /* the map key */
};

gs_topic *lp2p_gs_topic_find(const lp2p_router *r, const uint8_t *name,
                             size_t len);
/* Finds or creates; NULL when out of memory, or at max_topics for a
 * topic only peers subscribe to (`ours` false): peers' subscriptions must
 * not stop us from joining or publishing. */
gs_topic *lp2p_gs_topic_get(lp2p_router *r, const uint8_t *name, size_t len,
                            bool ours);
/* Frees the topic when nothing refers to it any more. */
void lp2p_gs_topic_maybe_free(lp2p_router *r, gs_topic *t);
void lp2p_gs_topic_free(lp2p_router *r, gs_topic *t);
const lp2p_mesh_params *lp2p_gs_topic_params(const lp2p_router *r,
                                             const gs_topic *t);
int lp2p_gs_subscribe_peer(lp2p_router *r, gs_peer *p, gs_topic *t);
void lp2p_gs_unsubscribe_peer(lp2p_router *r, gs_peer *p, gs_topic *t);
/* Mesh membership changes, with their events and score hooks. */
int lp2p_gs_mesh_add(lp2p_router *r, gs_topic *t, gs_peer *p, lp2p_tstamp now);
/* Out of the mesh without a PRUNE trace: the peer is gone (as go's
 * RemovePeer). */
void lp2p_gs_mesh_forget(lp2p_router *r, gs_topic *t, gs_peer *p);
void lp2p_gs_mesh_remove(lp2p_router *r, gs_topic *t, gs_peer *p,
                         lp2p_tstamp now);
void lp2p_gs_event(lp2p_router *r, lp2p_router_event_type type,
                   const gs_peer *p, const gs_topic *t);

#endif
