/* The GossipSub router's own state (struct lp2p_router), what every
 * module reaches through the router. Each module's types and functions
 * are in its own header: message.h, queue.h, peer.h, topic.h, backoff.h,
 * dontwant.h, seen.h, mcache.h, relay.h, control.h, heartbeat.h,
 * score.h; router.c is the API and RPC dispatch. */
#ifndef LP2P_GOSSIPSUB_ROUTER_H
#define LP2P_GOSSIPSUB_ROUTER_H

#include "base/map.h"
#include "base/pcg.h"
#include "base/u64map.h"
#include "lp2p/gossipsub.h"
#include "pb/rpc.h"
#include "score.h"

typedef struct gs_msg gs_msg;
typedef struct gs_seen gs_seen;
typedef struct gs_topic gs_topic;
typedef struct lp2p_router_peer gs_peer;

struct lp2p_router {
  const lp2p_mem *mem;
  lp2p_router_settings s;
  lp2p_router_callbacks cb;
  void *user;
  lp2p_pcg rng;
  lp2p_peer_id self;
  lp2p_pubkey self_key;
  bool self_key_inline; /* our peer id carries our key: omit Message.key */
  uint64_t seqno;
  uint64_t batch_seq; /* the last batch message's place in batch order */
  uint32_t next_serial;
  uint32_t beat; /* heartbeat counter */
  lp2p_tstamp next_heartbeat;

  lp2p_map peers;       /* peer id bytes -> gs_peer */
  lp2p_u64map serials;  /* serial -> gs_peer */
  lp2p_map topics;      /* topic name -> gs_topic */
  gs_topic *last_topic; /* the last found: most RPCs are about one topic */
  lp2p_map direct;      /* peer id bytes -> lp2p_peer_id (heap) */
  size_t nrelay_all;    /* peers for which lp2p_gs_peer_relays_all() holds */
  size_t nbackoff;      /* backoff entries over all topics */

  /* Message ids are looked up by a SipHash of them under this secret key,
   * never by their bytes: a 64-bit keyed hash cannot be aimed at, and
   * comparing hashes touches one cache line instead of two. */
  uint8_t id_key[16];
  lp2p_u64map seen; /* id hash -> gs_seen */
  gs_seen *seen_head, *seen_tail;
  /* the blocks the entries are carved from, oldest first (seen.c) */
  struct gs_seen_block *seen_blocks, *seen_blocks_tail;
  size_t npending;

  lp2p_u64map dontwant; /* id hash -> gs_dontwant (dontwant.c) */
  /* ids we asked for by IWANT lately: id hash -> heartbeat + 1 (control.c) */
  lp2p_u64map iwanted;

  /* where message bodies are kept, NULL: in each message (message.h) */
  const struct lp2p__msg_store *store;
  lp2p_u64map mcache; /* id hash -> gs_msg */
  gs_msg ***windows;  /* history_length rings of msgs, newest first */
  size_t *window_len, *window_cap;

  lp2p_rpc rpc;         /* decode scratch, reused */
  lp2p_buf out;         /* the last pull's bytes */
  lp2p_buf scratch;     /* encode scratch */
  lp2p_buf ctl_scratch; /* control entries encoded once for many peers */
  /* the large messages first seen in the RPC being handled (references):
   * IDONTWANT for them goes out when it is done (relay.c) */
  gs_msg **idw;
  size_t nidw, cap_idw;
  gs_peer *last_peer; /* the last found: pulls come in runs */
  gs_peer *ready_head, *ready_tail;
  /* part of the RPC being handled (a subscription, a message) was lost
   * for want of memory: lp2p_router_recv_rpc_from says so */
  bool rpc_lost;
  /* NULL unless a trace callback was given: the events' scratch and
   * clock (trace.c) */
  struct gs_trace *trace;
  lp2p_rpc_limits rpc_limits;
  /* what our RPCs keep within: our own count limits, at most those of a
   * receiver with default settings, and our max_rpc_size */
  lp2p_rpc_limits send_limits;
  gs_scoring score;
  lp2p_router_stats st;
};

#endif
