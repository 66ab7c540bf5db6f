/* A harness for router tests: routers with deterministic keys and
 * randomness, scripted remote peers that send hand-built RPCs, and a
 * decoder of everything a router queued for a peer. */
#ifndef LP2P_TESTUTIL_ROUTER_H
#define LP2P_TESTUTIL_ROUTER_H

/* router tests look inside: every module's header */
#include "gossipsub/backoff.h"
#include "gossipsub/control.h"
#include "gossipsub/dontwant.h"
#include "gossipsub/heartbeat.h"
#include "gossipsub/mcache.h"
#include "gossipsub/message.h"
#include "gossipsub/peer.h"
#include "gossipsub/queue.h"
#include "gossipsub/relay.h"
#include "gossipsub/router.h"
#include "gossipsub/score.h"
#include "gossipsub/seen.h"
#include "gossipsub/topic.h"
#include "testutil.h"

#define TH_T0 (1000 * LP2P_SECONDS)

typedef struct th_router {
  lp2p_router *r;
  lp2p_peer_id id;
  uint64_t rand_ctr;
  size_t delivered;
  uint8_t last_data[256];
  size_t last_len;
  bool last_own; /* last delivered message was our own */
  bool validator;
  lp2p_validation verdict;
  size_t validated;
  size_t connects;
  lp2p_peer_id last_connect;
  size_t last_connect_record_len; /* 0: a PX entry without a record */
  size_t events[LP2P_EV_TEST_EXTENSION + 1];
  size_t disconnects;
  /* P5 of each peer: the app_score callback answers from here */
  lp2p_peer_id app_peer[32];
  double app_value[32];
  size_t napp;
  /* the verify callback (th_router_new_verifying): calls, and whether it
   * refuses every signature */
  size_t verifies;
  bool verify_refuses;
  /* partial messages: RPC.partial handed to the application (those with
   * parts, with metadata) and the last one's group and parts; calls of
   * the partial_gossip callback, the peers they named and the last
   * one's first peer */
  size_t partials, partial_parts, partial_metadata;
  uint8_t last_group[64];
  size_t last_group_len, last_parts_len;
  size_t gossip_calls, gossip_peers;
  lp2p_peer_id last_gossip_peer;
} th_router;

/* Sets the application score (P5, weight from the settings) of `peer`. */
void th_set_app_score(th_router *t, const lp2p_peer_id *peer, double v);
/* Scoring on: decay every second, DecayToZero 0.01, RetainScore 10 s,
 * AppSpecificWeight 1, thresholds gossip -10, publish -20, graylist -30,
 * acceptPX 5, opportunistic graft 3; other weights 0. */
void th_score_settings(lp2p_router_settings *s);

/* Default settings with the key made from `seed`. */
void th_settings(lp2p_router_settings *s, uint8_t seed);
void th_router_new(th_router *t, const lp2p_router_settings *s);
/* The same with a validator that returns t->verdict (initially
 * `verdict`). */
void th_router_new_validating(th_router *t, const lp2p_router_settings *s,
                              lp2p_validation verdict);
/* The same with the application's signature check (the verify callback),
 * counted in t->verifies. */
void th_router_new_verifying(th_router *t, const lp2p_router_settings *s);
typedef void (*th_trace_fn)(lp2p_router *r, const lp2p_trace_event *ev,
                            void *user);
/* Any of the above (`verdict` -1: no validator; `verify_hook`: the
 * verify callback) with the router's trace callback `trace`. */
void th_router_new_traced(th_router *t, const lp2p_router_settings *s,
                          lp2p_validation verdict, bool verify_hook,
                          th_trace_fn trace);
void th_router_del(th_router *t);
/* A remote identity made from `seed` (Ed25519). */
void th_identity(uint8_t seed, lp2p_privkey *key, lp2p_peer_id *id);
/* Adds peer `seed` to the router. */
void th_add_peer(th_router *t, uint8_t seed, lp2p_pubsub_proto proto,
                 bool outbound, lp2p_peer_id *id);

/* An RPC under construction. */
typedef struct th_rpc {
  lp2p_buf body;
  lp2p_buf ctl;
} th_rpc;

void th_rpc_init(th_rpc *m);
void th_rpc_sub(th_rpc *m, const char *topic, bool subscribe);
void th_rpc_graft(th_rpc *m, const char *topic);
void th_rpc_prune(th_rpc *m, const char *topic, uint64_t backoff,
                  const lp2p_rpc_px *px, size_t npx);
void th_rpc_ihave(th_rpc *m, const char *topic, const lp2p_bytes *ids,
                  size_t n);
void th_rpc_ids(th_rpc *m, uint32_t field, const lp2p_bytes *ids, size_t n);
/* A message signed by `author` with `seqno`. */
void th_rpc_msg(th_rpc *m, const lp2p_privkey *author, const char *topic,
                const uint8_t *data, size_t len, uint64_t seqno);
void th_rpc_raw_msg(th_rpc *m, const lp2p_rpc_msg *f);
/* Sends and frees the RPC. */
void th_rpc_send(th_router *t, const lp2p_peer_id *from, th_rpc *m,
                 lp2p_tstamp now);
/* Appends the RPC, varint-framed as on a pubsub stream, to `out`, and
 * frees it. */
void th_rpc_frame(th_rpc *m, lp2p_buf *out);
/* The bare RPC of a buffer that holds exactly one framed RPC (what
 * lp2p_router_pull yields); asserts that it does. */
const uint8_t *th_unframe(const uint8_t *framed, size_t n, size_t *len);
/* The id lp2p gives a message of `author` and `seqno` (from ‖ seqno). */
size_t th_msg_id(const lp2p_privkey *author, uint64_t seqno, uint8_t *out);

/* What a router queued for one peer. */
typedef struct th_out {
  size_t rpcs, bytes, max_rpc;
  size_t subs, unsubs, grafts, prunes, px, ihaves, ihave_ids, iwants, iwant_ids,
      idontwant_ids, msgs;
  uint64_t prune_backoff; /* of the last PRUNE */
  /* gossipsub v1.3: RPCs with a ControlExtensions, whether the first RPC
   * pulled had one, what the last one advertised; RPCs with a
   * TestExtension, and of them those carrying nothing else */
  size_t ext_rpcs;
  bool ext_in_first;
  lp2p_rpc_extensions ext;
  size_t test_exts, test_ext_alone;
  /* partial messages: RPC.partial received, with parts, with metadata;
   * subscriptions requesting parts, supporting sending them */
  size_t partials, partial_parts, partial_metadata;
  size_t sub_requests, sub_supports;
  lp2p_bytes last_iwant_ids[64];
  uint8_t id_store[64 * 64];
} th_out;

/* Pulls everything queued for `peer` and decodes it into `o` (zeroed
 * first). */
void th_drain(th_router *t, const lp2p_peer_id *peer, th_out *o,
              lp2p_tstamp now);
/* Pulls and discards everything queued for every peer. */
void th_drain_all(th_router *t, lp2p_tstamp now);
/* Runs heartbeats until `until`. */
void th_run(th_router *t, lp2p_tstamp *now, lp2p_tstamp until);

#endif
