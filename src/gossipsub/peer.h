/* Peers and peer sets (peer.c): a peer's state in the router. */
#ifndef LP2P_GOSSIPSUB_PEER_H
#define LP2P_GOSSIPSUB_PEER_H

#include "lp2p/gossipsub.h"
#include "queue.h"

typedef struct lp2p_router_peer gs_peer;
typedef struct gs_topic gs_topic;
typedef struct gs_speer gs_speer;

/* A growable array of peer pointers (mesh, fanout, subscribers). */
typedef struct gs_peers {
  gs_peer **items;
  size_t len, cap;
} gs_peers;

struct lp2p_router_peer {
  /* first the fields every forwarded message touches, together: routers
   * of a large simulation miss the cache on each peer they visit */
  uint32_t serial; /* unique per add_peer, never reused */
  lp2p_pubsub_proto proto;
  /* in the list of peers with bytes queued (lp2p_router_pull_next) */
  bool ready;
  gs_peer *ready_prev, *ready_next;
  gs_queue q;
  uint32_t dontwant_beat; /* heartbeat of its last IDONTWANT + 1; 0: none */
  gs_speer *sp;           /* its score record */
  lp2p_peer_id id;
  bool outbound, direct;
  uint8_t ip[16];
  void *user;        /* lp2p_peer_info.user */
  gs_topic **topics; /* topics the peer subscribes to */
  size_t ntopics, cap_topics;
  /* per-heartbeat gossip accounting */
  int ihaves;         /* IHAVE messages received */
  int iasked;         /* message ids we asked for by IWANT */
  int invalid_iwants; /* IWANT ids we could not or would not answer */
  int dontwants;      /* RPCs with IDONTWANT received */
  /* message ids in IDONTWANTs each way, for lp2p_router_peer_counters */
  uint64_t idontwant_ids_sent, idontwant_ids_received;
  uint64_t idontwant_saved; /* copies not sent to it thanks to its IDONTWANT */
  /* gossipsub v1.3 (extensions.c): what we advertised in our first RPC,
   * what the peer advertised in its first (once rpcs_seen), and whether
   * its TestExtension was reported */
  lp2p_rpc_extensions ext_ours, ext_theirs;
  bool rpcs_seen, test_ext_reported;
};

gs_peer *lp2p_gs_peer_find(const lp2p_router *r, const lp2p_peer_id *id);
gs_peer *lp2p_gs_peer_find_serial(const lp2p_router *r, uint32_t serial);
bool lp2p_gs_peers_has(const gs_peers *s, const gs_peer *p);
int lp2p_gs_peers_add(lp2p_router *r, gs_peers *s, gs_peer *p);
bool lp2p_gs_peers_remove(gs_peers *s, const gs_peer *p);
void lp2p_gs_peers_free(lp2p_router *r, gs_peers *s);
void lp2p_gs_peers_shuffle(lp2p_router *r, gs_peers *s);
size_t lp2p_gs_peers_outbound(const gs_peers *s);
bool lp2p_gs_peer_subscribed(const gs_peer *p, const gs_topic *t);
bool lp2p_gs_peer_is_mesh(lp2p_pubsub_proto proto);
/* Does the peer get every message of its topics, mesh or not (floodsub
 * and direct peers)? */
bool lp2p_gs_peer_relays_all(const gs_peer *p);

#endif
