/*
 * lp2p: the GossipSub router (meshsub 1.0, 1.1, 1.2, 1.3 with extensions;
 * floodsub peers too),
 * sans-IO.
 *
 * The router never touches a socket, a clock or a random source. The host
 * tells it about peers and hands it each RPC a peer sent, with the current
 * time; the router answers through callbacks (deliver, validate, connect,
 * disconnect, peer has data) and through lp2p_router_pull, which yields the
 * bytes to write on a peer's stream. lp2p_router_expiry says when to call
 * lp2p_router_handle_expiry next (the heartbeat).
 *
 * Behaviour follows the specs and nim-libp2p's and go-libp2p-pubsub's
 * routers; parameters carry go-libp2p-pubsub's names and defaults.
 */
#ifndef LP2P_GOSSIPSUB_H
#define LP2P_GOSSIPSUB_H

#include <stdbool.h>

#include "lp2p/budget.h"
#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The router: one per node, for every topic and peer. */
typedef struct lp2p_router lp2p_router;
/* A peer as the router knows it, valid from lp2p_router_add_peer to
 * lp2p_router_remove_peer: hosts that keep it skip a lookup per RPC. */
typedef struct lp2p_router_peer lp2p_router_peer;

/* The pubsub protocol a peer speaks, from its stream's protocol id. */
typedef enum lp2p_pubsub_proto {
  LP2P_FLOODSUB = 0,   /* /floodsub/1.0.0 */
  LP2P_MESHSUB_10 = 1, /* /meshsub/1.0.0 */
  LP2P_MESHSUB_11 = 2, /* /meshsub/1.1.0: PX, backoff */
  LP2P_MESHSUB_12 = 3, /* /meshsub/1.2.0: IDONTWANT */
  LP2P_MESHSUB_13 = 4, /* /meshsub/1.3.0: extensions */
} lp2p_pubsub_proto;

/* How many pubsub protocol ids there are (lp2p_pubsub_protocol_ids). */
#define LP2P_PUBSUB_NPROTOCOLS 5

/* Protocol ids, newest first, as a node offers them: entry i is protocol
 * LP2P_MESHSUB_13 - i. */
extern LP2P_API const char
    *const lp2p_pubsub_protocol_ids[LP2P_PUBSUB_NPROTOCOLS];

/* Mesh parameters: global, and overridable per topic. */
typedef struct lp2p_mesh_params {
  int d;       /* target mesh degree */
  int d_lo;    /* graft below this */
  int d_hi;    /* prune above this */
  int d_score; /* peers kept by score when pruning */
  int d_out;   /* outbound peers kept in the mesh */
  int d_lazy;  /* minimum peers to gossip to */
} lp2p_mesh_params;

/* Router parameters, go-libp2p-pubsub's GossipSubParams and a few of its
 * options; durations in nanoseconds. lp2p_router_params_default fills
 * go's defaults. */
typedef struct lp2p_router_params {
  lp2p_mesh_params mesh;
  int history_length; /* mcache windows kept */
  int history_gossip; /* mcache windows gossiped */
  double gossip_factor;
  int gossip_retransmission;
  lp2p_tstamp heartbeat_initial_delay;
  lp2p_tstamp heartbeat_interval;
  lp2p_tstamp fanout_ttl;
  int prune_peers; /* peers offered in PX */
  lp2p_tstamp prune_backoff;
  lp2p_tstamp unsubscribe_backoff;
  int direct_connect_ticks;
  int opportunistic_graft_ticks;
  int opportunistic_graft_peers;
  lp2p_tstamp graft_flood_threshold;
  int max_ihave_length;   /* message ids asked or given per peer per beat */
  int max_ihave_messages; /* IHAVEs accepted per peer per heartbeat */
  /* RPCs with IDONTWANT read per peer per heartbeat (as go's
   * MaxIDontWantMessages; past it a peer's IDONTWANTs are ignored) */
  int max_idontwant_messages;
  /* message ids read from the IDONTWANTs of one RPC, and sent at most in
   * one IDONTWANT RPC of ours (go's MaxIDontWantLength, 10) */
  int max_idontwant_length;
  int idontwant_message_ttl;          /* heartbeats an IDONTWANT is kept */
  size_t idontwant_message_threshold; /* bytes of data to send IDONTWANT */
  lp2p_tstamp iwant_followup_time;
  lp2p_tstamp seen_ttl;
  bool flood_publish;
  bool do_px; /* attach peer exchange to PRUNE (default off, as go) */
} lp2p_router_params;

/* Fills go-libp2p-pubsub's default parameters. */
LP2P_API void lp2p_router_params_default(lp2p_router_params *p);
/* Checks the parameters for consistency (go's validate plus bounds).
 * Returns 0 or LP2P_ERR_INVALID_ARG with `err` naming the field. */
LP2P_API int lp2p_router_params_validate(const lp2p_router_params *p,
                                         lp2p_errdetail *err);

/* Whether messages are signed: go's StrictSign or StrictNoSign. */
typedef enum lp2p_sign_policy {
  LP2P_STRICT_SIGN = 0,    /* sign ours, require valid signatures */
  LP2P_STRICT_NO_SIGN = 1, /* no from, seqno, signature or key at all */
} lp2p_sign_policy;

/* How a message id is computed. */
typedef enum lp2p_msg_id_fn {
  LP2P_MSG_ID_FROM_SEQNO = 0, /* from ‖ seqno, the libp2p default */
  LP2P_MSG_ID_SHA256 = 1,     /* sha2-256 of the data */
  LP2P_MSG_ID_CALLBACK = 2,   /* the msg_id callback */
  /* rust-libp2p's default: the text of the author's base58 peer id, then
   * the seqno in decimal (as rust, a missing author counts as the peer id
   * bytes 00 01 00 and a missing seqno as 0) */
  LP2P_MSG_ID_RUST = 3,
} lp2p_msg_id_fn;

/* Everything bounded in the router, with defaults from
 * lp2p_router_settings_default. */
typedef struct lp2p_router_limits {
  size_t max_rpc_size;        /* bytes, both directions (1 MiB) */
  size_t max_message_size;    /* bytes of a Message (1 MiB) */
  size_t max_subscriptions;   /* SubOpts per RPC */
  size_t max_messages;        /* Messages per RPC */
  size_t max_control;         /* control entries per RPC */
  size_t max_ids;             /* message ids per RPC */
  size_t max_px;              /* PX peers per RPC */
  size_t max_topic_len;       /* bytes */
  size_t max_id_len;          /* bytes of a message id */
  size_t max_peers;           /* peers added at once */
  size_t max_topics_per_peer; /* subscriptions kept per peer */
  size_t max_topics;          /* topics only peers subscribe to (ours are never
                               * refused: peers must not keep us from joining) */
  size_t max_seen;            /* seen-cache entries */
  size_t max_pending_validations;
  /* Per-peer outbound queues. Each kind of RPC content has a bound of its
   * own, so that a peer whose queue is full of data still gets our
   * subscriptions, GRAFTs and PRUNEs (or the two sides would disagree
   * about the mesh); whatever goes over its bound is dropped and
   * counted. */
  size_t queue_max_messages; /* queued data messages (4096) */
  /* messages of one lp2p_router_publish_batch (1024); also how far each
   * pull looks for a batch's rarest message */
  size_t max_batch;
  /* queued bytes of data messages (16 MiB; go: 32 RPCs of up to 1 MiB).
   * With control and gossip below, 19 MiB: beside the host's 40 MiB peer
   * budget (lp2p/budget.h), a peer that stops reading costs a node less
   * than the +64 MiB one peer may. Messages are shared by the queues
   * that hold them, so many stalled peers cost little more than one. */
  size_t queue_max_bytes;
  /* subscriptions, GRAFT and PRUNE (1 MiB: a thousand PRUNEs with PX) */
  size_t queue_max_control_bytes;
  /* IHAVE and IWANT (2 MiB: several heartbeats of MaxIHaveLength ids in
   * a few topics); go drops gossip too rather than queue it */
  size_t queue_max_gossip_bytes;
  /* IDONTWANT RPCs (1000: what go reads per heartbeat) */
  size_t queue_max_idontwant;
  size_t max_invalid_iwants; /* per peer per heartbeat before ignoring */
  size_t max_backoffs;       /* PRUNE backoffs kept, all topics (65536) */
  /* Partial messages (gossipsub v1.3 extension): group states a peer's
   * RPC may create, per topic over all peers (255, as go) and per topic
   * per peer (8, as go); past either, the RPC is dropped and counted in
   * partial_groups_dropped. Groups we publish are not counted. */
  size_t max_partial_groups_per_topic;
  size_t max_partial_groups_per_peer;
  /* bytes of a partsMetadata (received or kept per peer per group): 4096;
   * a partialMessage is bounded by max_message_size */
  size_t max_partial_metadata;
} lp2p_router_limits;

/* ---- peer scoring (gossipsub v1.1), go-libp2p-pubsub's parameters ----
 * Score = TopicCap(sum over topics of TopicWeight x (P1 w1 + P2 w2 + P3 w3
 * + P3b w3b + P4 w4)) + P5 w5 + P6 w6 + P7 w7. */

/* Score parameters of one topic (go's TopicScoreParams). */
typedef struct lp2p_topic_score_params {
  double topic_weight; /* >= 0 */
  /* P1: time in the mesh, in quanta, capped; weight >= 0 */
  double time_in_mesh_weight;
  lp2p_tstamp time_in_mesh_quantum;
  double time_in_mesh_cap;
  /* P2: first deliveries, decaying, capped; weight >= 0 */
  double first_message_deliveries_weight;
  double first_message_deliveries_decay;
  double first_message_deliveries_cap;
  /* P3: deficit squared of mesh deliveries (first ones, and copies within
   * the window after the first), active after a delay in the mesh;
   * weight <= 0 */
  double mesh_message_deliveries_weight;
  double mesh_message_deliveries_decay;
  double mesh_message_deliveries_cap;
  double mesh_message_deliveries_threshold;
  lp2p_tstamp mesh_message_deliveries_window;
  lp2p_tstamp mesh_message_deliveries_activation;
  /* P3b: the deficit squared kept when a peer leaves the mesh; <= 0 */
  double mesh_failure_penalty_weight;
  double mesh_failure_penalty_decay;
  /* P4: invalid messages squared; weight <= 0 */
  double invalid_message_deliveries_weight;
  double invalid_message_deliveries_decay;
} lp2p_topic_score_params;

/* Score thresholds (go's PeerScoreThresholds). */
typedef struct lp2p_score_thresholds {
  double gossip;    /* <= 0: below it, no IHAVE/IWANT either way */
  double publish;   /* <= gossip: below it, no flood publish, no GRAFT */
  double graylist;  /* <= publish: below it, every RPC is ignored and
                     * the peer disconnected (never a direct peer's) */
  double accept_px; /* >= 0: PX taken only from peers at or above it */
  double opportunistic_graft; /* >= 0: median mesh score that triggers */
} lp2p_score_thresholds;

/* An address block exempt from the IP colocation factor (P6). IPv4 is
 * mapped into IPv6 (::ffff:a.b.c.d) with prefix_len counted in IPv6
 * bits. */
typedef struct lp2p_ip_net {
  uint8_t addr[16];
  uint8_t prefix_len;
} lp2p_ip_net;

/* Most address blocks in ip_colocation_whitelist. */
#define LP2P_SCORE_MAX_WHITELIST 16

/* Peer score parameters (go's PeerScoreParams, without the topics:
 * see lp2p_router_set_topic_score_params). */
typedef struct lp2p_score_params {
  double topic_score_cap; /* 0: none */
  double app_specific_weight;
  /* P6: peers sharing an IP beyond the threshold, squared; weight <= 0 */
  double ip_colocation_factor_weight;
  int ip_colocation_factor_threshold;
  lp2p_ip_net ip_colocation_whitelist[LP2P_SCORE_MAX_WHITELIST];
  size_t ip_colocation_whitelist_len;
  /* P7: behaviour penalties beyond the threshold, squared; weight <= 0 */
  double behaviour_penalty_weight;
  double behaviour_penalty_threshold;
  double behaviour_penalty_decay;
  lp2p_tstamp decay_interval; /* >= 1 s */
  double decay_to_zero;       /* counters below it snap to 0 */
  lp2p_tstamp retain_score;   /* a gone peer's score is kept this long */
  lp2p_score_thresholds thresholds;
} lp2p_score_params;

/* Checks parameters the way go-libp2p-pubsub does. Return 0 or
 * LP2P_ERR_INVALID_ARG, with `err` naming the field. */
LP2P_API int lp2p_score_params_validate(const lp2p_score_params *p,
                                        lp2p_errdetail *err);
/* The same checks for one topic's parameters. */
LP2P_API int lp2p_topic_score_params_validate(const lp2p_topic_score_params *p,
                                              lp2p_errdetail *err);

/* ---- score parameters derived from the expected traffic ----
 * The way Ethereum consensus clients (Lighthouse, Lodestar, Prysm) build
 * theirs: every counter decays once a decay interval (the slot, at least
 * 1 s) by the factor that takes it to DecayToZero in its decay time, and
 * caps and thresholds are the values a counter fed at the expected rate
 * settles at. With r messages a decay interval and decay d:
 *   decay for time T      d = DecayToZero ^ (interval / T)
 *   settles at            r / (1 - d)
 *   low point (threshold) d * r / (1 - d), the value just after a decay
 * Topic parameters (D the mesh degree, W the topic weight, and
 * MaxPositive = (max_in_mesh + max_first_deliveries) x the sum of W):
 *   P1  quantum = slot, cap = time_in_mesh_cap_time / slot,
 *       weight = max_in_mesh / cap
 *   P2  decay over first_deliveries_decay_time, cap = what 2r/D a
 *       decay interval settles at, weight = max_first_deliveries / cap
 *   P3  decay over mesh_deliveries_decay_time, threshold = low point of
 *       r / mesh_deliveries_dampening, cap = max(cap_factor x threshold,
 *       2), weight = -MaxPositive / (W x threshold^2) (a mesh peer that
 *       delivers nothing costs the whole positive score, as Lodestar),
 *       activation = the larger of mesh_deliveries_activation and the
 *       time the topic takes to carry 3 D messages (each mesh peer has
 *       had about 3 to deliver), rounded up to whole heartbeats; P3b has
 *       P3's weight and decay, or a slower one if that would let the
 *       penalty of a peer pruned for delivering nothing (threshold^2)
 *       fall to DecayToZero within mesh_failure_backoffs prune_backoffs:
 *       a pruned sybil must not come back after a backoff or two with a
 *       clean score (on mainnet the penalty of a silent beacon-block
 *       peer lasts about 27 min, 27 backoffs; on shorter slots it would
 *       not)
 *   P4  weight = -MaxPositive / W, decay over invalid_decay_time
 * Peer parameters: TopicScoreCap = MaxPositive / 2, IP colocation weight
 * = -TopicScoreCap, behaviour penalty decay over behaviour_decay_time and
 * weight = GossipThreshold / (settled(behaviour_penalties_per_epoch /
 * slots_per_epoch) - threshold)^2 (a peer earning that many penalties
 * an epoch ends at the gossip threshold), RetainScore = 100 epochs.
 *
 * The dampening keeps honest peers unpenalised: a mesh peer of a topic
 * at rate r delivers at least about r/D (each message comes first from
 * one of D peers), and the threshold asks for r/dampening, 50/D times
 * less (Lighthouse's and Lodestar's 50; Prysm uses 90). A peer that
 * forwards nothing falls below it once activated. */

/* The expected traffic of one topic, for lp2p_score_params_derive. */
typedef struct lp2p_score_topic_traffic {
  double msgs_per_s; /* expected messages a second on the topic, > 0 */
  double weight;     /* TopicWeight, > 0: the topic's share of the score */
  int mesh_d;        /* 0: the traffic's mesh_d */
  lp2p_tstamp first_deliveries_decay_time; /* P2 counter: 20 epochs */
  /* P3 and P3b: off for topics too quiet to expect steady deliveries
   * (Ethereum scores them only on blocks, aggregates and attestations) */
  bool mesh_deliveries;
  lp2p_tstamp mesh_deliveries_decay_time; /* 5 epochs */
  double mesh_deliveries_dampening;       /* 50 */
  double mesh_deliveries_cap_factor;      /* 3 */
  lp2p_tstamp mesh_deliveries_activation; /* one epoch, or longer: above */
  lp2p_tstamp mesh_deliveries_window;     /* 2 s */
} lp2p_score_topic_traffic;

/* The network's time scale and targets, for lp2p_score_params_derive. */
typedef struct lp2p_score_traffic {
  lp2p_tstamp slot;            /* the time quantum: P1, and the decay
                                * interval (at least 1 s) */
  int slots_per_epoch;         /* > 0 */
  lp2p_tstamp heartbeat;       /* the router's heartbeat interval */
  int mesh_d;                  /* the mesh degree D */
  double max_in_mesh;          /* P1's most, per unit of topic weight: 10 */
  double max_first_deliveries; /* P2's most: 40 */
  lp2p_tstamp time_in_mesh_cap_time;    /* P1 stops growing after: 1 h */
  lp2p_tstamp invalid_decay_time;       /* P4 counters: 50 epochs */
  lp2p_tstamp behaviour_decay_time;     /* P7 counter: 10 epochs */
  double behaviour_penalty_threshold;   /* 6 */
  double behaviour_penalties_per_epoch; /* reach the gossip threshold: 10 */
  int ip_colocation_threshold;          /* 8 peers an address */
  double decay_to_zero;                 /* 0.01 */
  lp2p_tstamp prune_backoff; /* the router's PruneBackoff: 1 min, as go */
  int mesh_failure_backoffs; /* P3b's floor, in prune_backoffs (0: none): 10 */
  lp2p_score_thresholds thresholds; /* -4000, -8000, -16000, 100, 5 */
} lp2p_score_traffic;

/* Lighthouse's choices on Ethereum mainnet: 12 s slots, 32 a epoch,
 * heartbeat 700 ms, D 8, and the values in the comments above. */
LP2P_API void lp2p_score_traffic_default(lp2p_score_traffic *t);
/* A topic at `msgs_per_s` with weight 0.5 (Ethereum's beacon block
 * topic's) and the defaults above, for `t`'s epoch length, mesh
 * deliveries scored. */
LP2P_API void lp2p_score_topic_traffic_default(lp2p_score_topic_traffic *tt,
                                               const lp2p_score_traffic *t,
                                               double msgs_per_s);

/* Derives the peer parameters into `peer` and one topic's into
 * topic_out[i] for each topics[i] (the sum of the topic weights sets the
 * positive score a peer can reach). Everything written passes
 * lp2p_score_params_validate and lp2p_topic_score_params_validate.
 * Returns 0 or LP2P_ERR_INVALID_ARG, `err` naming the input at fault:
 * a non-positive rate, weight, degree or duration, or a topic so quiet
 * that its P3 threshold falls below DecayToZero (score it without mesh
 * deliveries). */
LP2P_API int lp2p_score_params_derive(const lp2p_score_traffic *t,
                                      const lp2p_score_topic_traffic *topics,
                                      size_t ntopics, lp2p_score_params *peer,
                                      lp2p_topic_score_params *topic_out,
                                      lp2p_errdetail *err);

/* The gossipsub v1.3 extensions we advertise. A ControlExtensions
 * listing them goes in the first RPC of our stream to each /meshsub/1.3.0
 * peer (none when all are off); an extension runs with a peer once both
 * sides advertised it. All off by default. */
typedef struct lp2p_router_extensions {
  /* The test extension (interop tests): with a peer that advertises it
   * too, each side sends one RPC carrying RPC.testExtension; the peer's
   * is reported as LP2P_EV_TEST_EXTENSION. */
  bool test_extension;
  /* Partial messages (libp2p/specs pubsub/gossipsub/partial-messages.md,
   * go's WithPartialMessagesExtension): lets topics be joined with
   * lp2p_router_join_partial and groups be published with
   * lp2p_router_publish_partial; RPC.partial flows only with peers that
   * advertised the extension too. See docs/partial-messages.md. */
  bool partial_messages;
  /* heartbeats a group's state is kept after we last published it or a
   * peer's RPC created it; at least 3 (as go's minGroupTTL) */
  int partial_group_ttl;
} lp2p_router_extensions;

/* A partial message RPC from a peer, for the `partial` callback; views
 * valid during the call. */
typedef struct lp2p_partial_rpc {
  const lp2p_peer_id *from;
  lp2p_bytes topic, group;
  /* the encoded parts (application defined); data NULL when absent, or
   * when we joined the topic only supporting partial messages (the
   * spec's peers must then omit them) */
  lp2p_bytes parts;
  /* the peer's partsMetadata (what it has and wants, application
   * defined); data NULL when absent */
  lp2p_bytes metadata;
} lp2p_partial_rpc;

/* Everything a router is created with. */
typedef struct lp2p_router_settings {
  lp2p_privkey key; /* our identity; signs our messages */
  lp2p_router_params params;
  /* peer scoring: off (every peer scores 0) unless `scoring` is set */
  bool scoring;
  lp2p_score_params score;
  lp2p_router_limits limits;
  lp2p_sign_policy sign_policy;
  lp2p_msg_id_fn msg_id;
  /* first sequence number; 0 draws it from the rand callback */
  uint64_t first_seqno;
  lp2p_router_extensions extensions; /* gossipsub v1.3 */
  lp2p_rand_fn rand_fn;
  void *rand_user;
  /* Optional: the memory budget (lp2p/budget.h) of the message bodies
   * the peer queues hold, NULL for none. A message is one buffer shared
   * by every queue that sends it, so its body is charged here once, from
   * the first queue that takes it until the last lets it go; each peer's
   * budget (lp2p_peer_info.budget) holds only what is that peer's own. A
   * message this budget refuses is not queued, counted as a full queue
   * (queue_drop_messages and queue_drop_budget). A node gives a child of
   * the host's scope (lp2p_node_settings.max_router_memory), so that the
   * queues cannot take the memory the peers' streams need. It must
   * outlive the router. */
  lp2p_budget *budget;
} lp2p_router_settings;

/* Fills defaults; the caller sets key, rand_fn and anything else. */
LP2P_API void lp2p_router_settings_default(lp2p_router_settings *s);

/* A message as the application sees it; views valid during the callback
 * (copy what you keep). */
typedef struct lp2p_message {
  lp2p_bytes from; /* author's peer id bytes (absent under StrictNoSign) */
  lp2p_bytes data;
  lp2p_bytes seqno; /* 8 bytes big endian, or absent */
  lp2p_bytes topic;
  lp2p_bytes id;                     /* message id */
  const lp2p_peer_id *received_from; /* NULL for our own messages */
} lp2p_message;

/* An application's verdict on a message. */
typedef enum lp2p_validation {
  LP2P_VALIDATION_ACCEPT = 0,
  LP2P_VALIDATION_REJECT = 1,  /* invalid: penalise the sender */
  LP2P_VALIDATION_IGNORE = 2,  /* drop without penalty */
  LP2P_VALIDATION_PENDING = 3, /* answer later with report_validation */
} lp2p_validation;

/* What an lp2p_router_event reports. */
typedef enum lp2p_router_event_type {
  LP2P_EV_PEER_SUBSCRIBED = 0,
  LP2P_EV_PEER_UNSUBSCRIBED = 1,
  LP2P_EV_GRAFT = 2, /* a peer joined our mesh for a topic */
  LP2P_EV_PRUNE = 3, /* a peer left our mesh for a topic */
  LP2P_EV_PX = 4,    /* a PRUNE from `peer` offered other peers */
  /* gossipsub v1.3: `peer`'s TestExtension RPC arrived, both sides having
   * advertised the test extension (once per peer; no topic) */
  LP2P_EV_TEST_EXTENSION = 5,
} lp2p_router_event_type;

/* A peer or mesh event, for the `event` callback. */
typedef struct lp2p_router_event {
  lp2p_router_event_type type;
  const lp2p_peer_id *peer;
  lp2p_bytes topic;
  /* LP2P_EV_PX: the peer ids offered (bytes, not yet checked), before
   * the router acts on them */
  const lp2p_bytes *px;
  size_t npx;
} lp2p_router_event;

/* How the router reaches the host and the application. */
typedef struct lp2p_router_callbacks {
  /* A message passed validation (or is ours) on a topic we joined. */
  void (*deliver)(lp2p_router *r, const lp2p_message *msg, void *user);
  /* Optional: application validation; NULL accepts everything. */
  lp2p_validation (*validate)(lp2p_router *r, const lp2p_message *msg,
                              void *user);
  /* Required with LP2P_MSG_ID_CALLBACK: writes the id of `msg` (its id
   * field is empty here) into `out` and returns its length, or a negative
   * value to reject the message as invalid. */
  int (*msg_id)(lp2p_router *r, const lp2p_message *msg, uint8_t *out,
                size_t cap, void *user);
  /* The router has bytes for `peer` (whose lp2p_peer_info.user is
   * `peer_user`): call lp2p_router_pull. */
  void (*want_write)(lp2p_router *r, const lp2p_peer_id *peer, void *peer_user,
                     void *user);
  /* Dial a peer learnt by PX (`record` is its verified signed peer
   * record, or NULL when the PX entry carried none: dial it only if its
   * addresses are known otherwise, as go) or a direct peer to keep
   * connected. */
  void (*connect)(lp2p_router *r, const lp2p_peer_id *peer,
                  const uint8_t *record, size_t record_len, void *user);
  /* Optional: our signed peer record for `peer` to offer in PX; returns
   * its length and sets *rec, or 0 when there is none. */
  size_t (*peer_record)(lp2p_router *r, const lp2p_peer_id *peer,
                        const uint8_t **rec, void *user);
  /* Optional: peer and mesh events. */
  void (*event)(lp2p_router *r, const lp2p_router_event *ev, void *user);
  /* Optional: P5, the application's score of a peer; sampled when the
   * router recomputes the peer's score. */
  double (*app_score)(lp2p_router *r, const lp2p_peer_id *peer, void *user);
  /* Optional: the router asks the host to close a peer's connection: its
   * score fell below the graylist threshold. */
  void (*disconnect)(lp2p_router *r, const lp2p_peer_id *peer, void *peer_user,
                     void *user);
  /* Optional, for tracing: every copy of a message a peer sent on a topic
   * we joined, duplicates included, once its id is known and before
   * validation (what go-libp2p-pubsub's tracers log as received). */
  void (*received)(lp2p_router *r, const lp2p_message *msg, void *user);
  /* Optional: checks a message's signature in place of
   * lp2p_pubkey_verify (same arguments, same result). A verdict depends
   * only on these bytes, so a process running many routers (the
   * simulator) can verify each distinct signed message once. */
  int (*verify)(lp2p_router *r, const lp2p_pubkey *author, const uint8_t *data,
                size_t len, const uint8_t *sig, size_t sig_len, void *user);
  /* Optional: go-libp2p-pubsub's trace events (lp2p/trace.h), called
   * where go's tracer is: our publish, a message's rejection (go's reason
   * strings), duplicate or delivery, an RPC received, pulled (SEND_RPC:
   * lp2p queues entries, an RPC exists once pulled) or dropped for a
   * full queue (DROP_RPC: what was dropped), a peer added or removed
   * (ON_NEW/CLOSED_OUTBOUND_STREAM), join, leave, graft and prune, and
   * an RPC written (SEND_RPC_COMPLETED, lp2p_router_trace_written). The
   * time stamp is the `now` of the call that caused the event (the host's
   * clock); the event and its bytes are valid during the call only. */
  void (*trace)(lp2p_router *r, const lp2p_trace_event *ev, void *user);
  /* Optional, partial messages: a peer's RPC.partial for a topic we gave
   * a partial-messages mode (as go's OnIncomingRPC). Its
   * metadata, when present, is already kept as the peer's for the group
   * (lp2p_partial_peer.metadata). The application merges the parts,
   * answers with lp2p_router_publish_partial if it likes (allowed
   * here), and scores the peer with lp2p_router_partial_feedback. */
  void (*partial)(lp2p_router *r, const lp2p_partial_rpc *pm, void *user);
  /* Optional, partial messages: the heartbeat's gossip picked `peers`
   * (outside the mesh, with partial traffic on `topic`: they request
   * parts and we support sending them, or they support sending and we
   * request) that know nothing yet of our group `group`: as go's
   * OnEmitGossip, the application tells them what it has (or wants) by
   * calling lp2p_router_publish_partial for these peers (allowed here). */
  void (*partial_gossip)(lp2p_router *r, lp2p_bytes topic, lp2p_bytes group,
                         const lp2p_peer_id *peers, size_t npeers, void *user);
} lp2p_router_callbacks;

/* Creates a router. Returns 0, LP2P_ERR_NOMEM or LP2P_ERR_INVALID_ARG
 * (inconsistent settings; `err` names the field). The first heartbeat is
 * at now + heartbeat_initial_delay. */
LP2P_API int lp2p_router_new(lp2p_router **out,
                             const lp2p_router_settings *settings,
                             const lp2p_router_callbacks *cb,
                             const lp2p_mem *mem, void *user, lp2p_tstamp now,
                             lp2p_errdetail *err);
/* Frees the router and everything it holds; NULL is a no-op. */
LP2P_API void lp2p_router_del(lp2p_router *r);
/* The `user` pointer given to lp2p_router_new. */
LP2P_API void *lp2p_router_user(const lp2p_router *r);

/* What the host tells the router about a new peer. */
typedef struct lp2p_peer_info {
  lp2p_pubsub_proto proto;
  bool outbound; /* we dialled it */
  bool direct;   /* a direct (explicit) peer: never in a mesh */
  /* IPv4 mapped into IPv6; all zero when unknown. P6 counts IPv6 peers
   * by address and by /64, as go; loopback is not counted. */
  uint8_t ip[16];
  void *user; /* the host's handle of the peer, given back to it */
  /* Optional: the peer's memory budget (lp2p/budget.h), NULL for none.
   * What is queued for the peer alone is reserved in it before it is
   * queued and given back when it is pulled or dropped: control, gossip
   * and IDONTWANT entries, and each message's frame header and queue
   * slot; what the budget refuses is dropped and counted as a full queue
   * drops it (queue_drop_* and queue_drop_budget). Message bodies, shared
   * by every queue that holds them, are charged once to the router's
   * budget (lp2p_router_settings.budget) instead. The budget must
   * outlive the peer: until lp2p_router_remove_peer or lp2p_router_del. */
  lp2p_budget *budget;
} lp2p_peer_info;

/* A peer's pubsub stream is up. Queues our subscriptions to it. Returns
 * 0, LP2P_ERR_STATE (already added), LP2P_ERR_TOO_LARGE (max_peers) or
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_router_add_peer(lp2p_router *r, const lp2p_peer_id *peer,
                                  const lp2p_peer_info *info, lp2p_tstamp now);
/* The peer is gone: forgets it and everything queued for it. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_router_remove_peer(lp2p_router *r, const lp2p_peer_id *peer,
                                     lp2p_tstamp now);
/* Keeps `peer` connected as a direct peer (asks `connect` every
 * direct_connect_ticks heartbeats while it is not). */
LP2P_API int lp2p_router_add_direct(lp2p_router *r, const lp2p_peer_id *peer);

/* One RPC from `peer`, without its length prefix. A malformed RPC, or one
 * over max_rpc_size or with a topic or id over its length limit, is
 * dropped and counted (only a malformed one costs the peer a behaviour
 * penalty); it is the peer's fault, so this returns 0 then too. Entries
 * past a count limit (max_messages, max_control, max_ids, ...) are
 * skipped and counted, and the rest is handled. Returns
 * LP2P_ERR_NOT_FOUND for an unknown peer or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_router_recv_rpc(lp2p_router *r, const lp2p_peer_id *peer,
                                  const uint8_t *rpc, size_t len,
                                  lp2p_tstamp now);
/* The handle of a peer, or NULL when it is not added. */
LP2P_API lp2p_router_peer *lp2p_router_peer_handle(lp2p_router *r,
                                                   const lp2p_peer_id *peer);
/* Replaces the peer's lp2p_peer_info.user (the host moved the peer to
 * another connection). */
LP2P_API void lp2p_router_peer_set_user(lp2p_router_peer *p, void *user);
/* lp2p_router_recv_rpc for a peer given by its handle. Returns 0 or
 * LP2P_ERR_NOMEM: the RPC, or part of it (a subscription, a message),
 * could not be kept; the rest of it was handled, and the router and the
 * peer may now disagree (the node drops the connection). */
LP2P_API int lp2p_router_recv_rpc_from(lp2p_router *r, lp2p_router_peer *peer,
                                       const uint8_t *rpc, size_t len,
                                       lp2p_tstamp now);
/* The next bytes to write to `peer`: one length-prefixed RPC, control
 * before data (IDONTWANTs first, each in an RPC of its own), at most
 * max_rpc_size and within the count limits (max_subscriptions,
 * max_messages, max_control, max_ids, max_px) both of our settings and of
 * lp2p_router_settings_default, so that a receiver with default limits
 * takes all of it. *out stays valid until
 * the next call for this router. Returns the byte count (0: nothing
 * pending) or LP2P_ERR_NOT_FOUND / LP2P_ERR_NOMEM. */
LP2P_API ptrdiff_t lp2p_router_pull(lp2p_router *r, const lp2p_peer_id *peer,
                                    const uint8_t **out, lp2p_tstamp now);

/* The next RPC for any peer with bytes queued, round robin over them:
 * one framed RPC per call, as lp2p_router_pull. Sets *peer (valid until
 * that peer is removed) and *peer_user (its lp2p_peer_info.user). Returns
 * the byte count, 0 when nothing is queued anywhere, or LP2P_ERR_NOMEM.
 * A host that writes to all peers alike needs no want_write callback. */
LP2P_API ptrdiff_t lp2p_router_pull_next(lp2p_router *r,
                                         const lp2p_peer_id **peer,
                                         void **peer_user, const uint8_t **out,
                                         lp2p_tstamp now);

/* The host wrote all of an RPC it pulled (`framed`, `len`: the bytes the
 * pull gave, copied if the write took several calls) to `peer`'s stream,
 * `write_duration` after pulling it. Traces SEND_RPC_COMPLETED with the
 * RPC's meta, as go v0.19 traces a write to the stream; nothing without a
 * trace callback. */
LP2P_API void lp2p_router_trace_written(lp2p_router *r,
                                        const lp2p_peer_id *peer,
                                        const uint8_t *framed, size_t len,
                                        lp2p_tstamp write_duration,
                                        lp2p_tstamp now);
/* Whether some peer may have bytes queued (lp2p_router_pull_next would
 * find out; it may then return 0). */
LP2P_API bool lp2p_router_has_pending(const lp2p_router *r);

/* Subscribe to / leave a topic. Joining grafts up to D peers already
 * known to subscribe at once; peers that subscribe later are grafted by
 * a heartbeat (as go). Returns 0, LP2P_ERR_INVALID_ARG (empty or too long
 * topic) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_router_join(lp2p_router *r, const uint8_t *topic, size_t len,
                              lp2p_tstamp now);
/* Leaves a topic: PRUNE (with unsubscribe_backoff) to its mesh peers,
 * then our unsubscription. Returns 0, also when not joined. */
LP2P_API int lp2p_router_leave(lp2p_router *r, const uint8_t *topic, size_t len,
                               lp2p_tstamp now);
/* Overrides the mesh parameters of one topic (before or after joining). */
LP2P_API int lp2p_router_set_topic_params(lp2p_router *r, const uint8_t *topic,
                                          size_t len,
                                          const lp2p_mesh_params *p);

/* Validation limits of one topic, beside the router-wide
 * max_pending_validations (as go's per-topic validator concurrency,
 * WithValidatorConcurrency, plus a rate). They bound the messages handed
 * to `validate`: a message over a limit is dropped before validation,
 * counted per topic and reason (lp2p_topic_stats), traced as go's
 * "validation throttled", costs its sender no score and is not marked
 * seen (a later copy may be validated). */
typedef struct lp2p_topic_validation {
  size_t max_pending; /* PENDING validations at once; 0: no topic bound */
  double rate;        /* validations started per second; 0: no rate */
  double burst;       /* started at once after a pause; 0: max(1, rate) */
} lp2p_topic_validation;

/* Sets (or with all zero clears) a topic's validation limits, joined or
 * not. Returns 0, LP2P_ERR_INVALID_ARG (a bad topic, a negative or
 * non-finite rate or burst, a burst below 1) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_router_set_topic_validation(lp2p_router *r,
                                              const uint8_t *topic, size_t len,
                                              const lp2p_topic_validation *v);

/* Publishes `data` on `topic` (joined or not: fanout). Writes the message
 * id into `id` when it is not NULL (room for max_id_len bytes) and its
 * length into *id_len. Returns the number of peers it was queued to
 * (at least 1), or LP2P_ERR_NOT_SENT when no peer could take it (none to
 * send to, or every target's queue full: each such target counts a
 * queue drop), LP2P_ERR_INVALID_ARG, LP2P_ERR_TOO_LARGE (over
 * max_message_size, or too large for one RPC of max_rpc_size),
 * LP2P_ERR_STATE (a message with this id was seen already) or
 * LP2P_ERR_NOMEM. A publication that fails did nothing (not seen, not
 * cached, not delivered to us) beyond the drops its targets counted: the
 * application may publish it again. No publish is dropped silently,
 * unlike go's (go#217). */
LP2P_API int lp2p_router_publish(lp2p_router *r, const uint8_t *topic,
                                 size_t topic_len, const uint8_t *data,
                                 size_t len, uint8_t *id, size_t *id_len,
                                 lp2p_tstamp now);
/* One message of a batch (lp2p_router_publish_batch): its topic and
 * data, and optionally where its id goes. */
typedef struct lp2p_batch_msg {
  const uint8_t *topic;
  size_t topic_len;
  const uint8_t *data;
  size_t len;
  uint8_t *id;    /* NULL, or room for max_id_len bytes: the message id */
  size_t *id_len; /* its length, when `id` is not NULL */
} lp2p_batch_msg;

/* How the copies of a batch share the publisher's uplink. */
typedef enum lp2p_batch_order {
  /* Each pull for a peer (lp2p_router_pull, pull_next) takes, of the
   * batch messages queued for it, the one with the fewest copies pulled so
   * far for any peer (ties: batch order), alone in its RPC: every first
   * copy leaves before any second copy, however fast each peer pulls. */
  LP2P_BATCH_RAREST_FIRST = 0,
  /* go's order (its MessageBatch's RarestFirstStrategy, in fact a round
   * robin fixed when queued): round k queues each message to its k-th
   * target, targets in a random order per message, and every peer sends
   * its queue first in first out, each copy in an RPC of its own. For
   * comparison. */
  LP2P_BATCH_ROUND_ROBIN = 1,
} lp2p_batch_order;

/* Publishes `n` messages at once (topics may differ, as in go's
 * MessageBatch), each validated, signed and ided as by
 * lp2p_router_publish, with its result in results[i]: what
 * lp2p_router_publish would return for it alone (a message with the id
 * of an earlier one of the batch: LP2P_ERR_STATE). Messages of a batch
 * keep their place among other queued messages, which stay first in
 * first out; among themselves they go in `order`. Returns how many
 * messages were published (results[i] > 0), or, with nothing done,
 * LP2P_ERR_INVALID_ARG (n 0, NULL msgs or results, an unknown order),
 * LP2P_ERR_TOO_LARGE (n over limits.max_batch, counted in
 * batches_refused) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_router_publish_batch(lp2p_router *r,
                                       const lp2p_batch_msg *msgs, size_t n,
                                       lp2p_batch_order order, int *results,
                                       lp2p_tstamp now);

/* The result of a PENDING validation. Returns 0 or LP2P_ERR_NOT_FOUND (no
 * such pending message: it expired or was answered). */
LP2P_API int lp2p_router_report_validation(lp2p_router *r, const uint8_t *id,
                                           size_t id_len,
                                           lp2p_validation result,
                                           lp2p_tstamp now);

/* ---- partial messages (gossipsub v1.3 extension) ----
 * An application that splits messages into parts (its own encoding)
 * names each full message by a group id, publishes parts and
 * partsMetadata per peer, and merges what arrives. The router keeps,
 * per topic per group, the peers it exchanged with and each one's last
 * partsMetadata, for partial_group_ttl heartbeats. docs/partial-messages.md
 * maps this API to go-libp2p-pubsub's. */

/* How we take part in partial messages on a topic (go's topic options). */
typedef enum lp2p_partial_mode {
  LP2P_PARTIAL_OFF = 0, /* full messages only */
  /* send parts and metadata to peers that request them (go's
   * SupportsPartialMessages); we get full messages */
  LP2P_PARTIAL_SUPPORTS = 1,
  /* ask peers for parts, and support sending them (go's
   * RequestPartialMessages); full messages are still accepted */
  LP2P_PARTIAL_REQUESTS = 2,
} lp2p_partial_mode;

/* lp2p_router_join with a partial-messages mode, told to peers in our
 * subscription (SubOpts.requestsPartial / supportsSendingPartial). On a
 * joined topic it changes the mode and tells every peer again. Returns 0,
 * LP2P_ERR_STATE (settings.extensions.partial_messages is off),
 * LP2P_ERR_INVALID_ARG or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_router_join_partial(lp2p_router *r, const uint8_t *topic,
                                      size_t len, lp2p_partial_mode mode,
                                      lp2p_tstamp now);

/* Sets our partial-messages mode on a topic without joining it (go's
 * topic options on a Join without Subscribe): to publish parts to its
 * fanout, and to take parts and metadata from its peers. LP2P_PARTIAL_OFF
 * undoes it. Returns 0, LP2P_ERR_STATE (the extension is off),
 * LP2P_ERR_INVALID_ARG or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_router_set_topic_partial(lp2p_router *r, const uint8_t *topic,
                                           size_t len, lp2p_partial_mode mode);

/* One peer a publication may go to, for lp2p_partial_action_fn. */
typedef struct lp2p_partial_peer {
  const lp2p_peer_id *peer;
  /* it asked for parts: `parts` is sent to it; otherwise only metadata
   * (the spec forbids parts to a peer that did not request them) */
  bool requests_partial;
  /* its last partsMetadata for the group (what it sent, or what the
   * application inferred: lp2p_partial_action.peer_metadata); data NULL
   * when none yet */
  lp2p_bytes metadata;
} lp2p_partial_peer;

/* What to send one peer (views that must stay valid until the
 * publication returns). */
typedef struct lp2p_partial_action {
  lp2p_bytes parts;    /* encoded parts; empty: none */
  lp2p_bytes metadata; /* our partsMetadata; empty: none */
  /* data not NULL: replaces the peer's kept metadata for the group (what
   * it has now that these parts are on their way), as go's actions
   * update their PeerState */
  lp2p_bytes peer_metadata;
} lp2p_partial_action;

/* Decides what `peer` gets (go's PublishActionsFn, one peer a call):
 * fills `out` and returns true to send it, false to send nothing. */
typedef bool (*lp2p_partial_action_fn)(lp2p_router *r,
                                       const lp2p_partial_peer *peer,
                                       lp2p_partial_action *out, void *arg);

/* Publishes parts of group `group` on `topic` (go's PublishPartial),
 * which we joined with lp2p_router_join_partial or gave a mode with
 * lp2p_router_set_topic_partial. The peers are `peers`
 * when npeers > 0 (the spec's publish-to list, e.g. to answer a peer
 * outside the mesh), else every peer already in the group's state and
 * the mesh (the fanout, when the mesh is empty) peers; of them only
 * those with partial messages on both sides (the extension advertised,
 * and they request parts while we support sending them, or they support
 * sending while we request) are asked about. `fn` is called once per
 * such peer; an RPC.partial goes to it when it returns true and there is
 * metadata, or parts for a requester. The group's state lives
 * partial_group_ttl heartbeats from now. Returns the number of peers an
 * RPC was queued to, or LP2P_ERR_INVALID_ARG (topic, or a group id
 * empty or over max_id_len), LP2P_ERR_STATE (no partial-messages mode on
 * the topic), LP2P_ERR_NOMEM. Parts over max_message_size or
 * metadata over max_partial_metadata are not sent (partial_too_large). */
LP2P_API int lp2p_router_publish_partial(
    lp2p_router *r, const uint8_t *topic, size_t topic_len,
    const uint8_t *group, size_t group_len, const lp2p_peer_id *peers,
    size_t npeers, lp2p_partial_action_fn fn, void *arg, lp2p_tstamp now);

/* The application's verdict on what a peer sent it (go's
 * PeerFeedbackKind). */
typedef enum lp2p_partial_feedback {
  LP2P_PARTIAL_USEFUL = 0,  /* new parts: a first delivery (P2, and P3 in
                             * the mesh) */
  LP2P_PARTIAL_INVALID = 1, /* invalid parts: an invalid message (P4) */
} lp2p_partial_feedback;

/* Scores `peer` on `topic` as go's PeerFeedback. Returns 0 or
 * LP2P_ERR_NOT_FOUND (not a connected peer). */
LP2P_API int lp2p_router_partial_feedback(lp2p_router *r, const uint8_t *topic,
                                          size_t len, const lp2p_peer_id *peer,
                                          lp2p_partial_feedback kind);

/* When lp2p_router_handle_expiry must be called next. */
LP2P_API lp2p_tstamp lp2p_router_expiry(const lp2p_router *r);
/* Runs the heartbeat when it is due. */
LP2P_API int lp2p_router_handle_expiry(lp2p_router *r, lp2p_tstamp now);

/* Counters for metrics; all monotonic except where noted. */
typedef struct lp2p_router_stats {
  uint64_t rpcs_received, rpcs_sent;
  uint64_t rpcs_malformed;    /* dropped whole: bad encoding or a size limit */
  uint64_t trace_events_lost; /* trace events not emitted: no memory */
  /* entries of received RPCs skipped past a count limit (max_messages,
   * max_control, max_ids, ...): the rest of the RPC is handled */
  uint64_t rpc_entries_truncated;
  uint64_t msgs_received;  /* first copies */
  uint64_t msgs_delivered; /* to the application */
  uint64_t msgs_duplicate;
  uint64_t msgs_published;
  uint64_t msgs_forwarded; /* copies queued to peers */
  uint64_t msgs_rejected, msgs_ignored;
  uint64_t msgs_invalid_signature;
  uint64_t msgs_unsubscribed_topic; /* for a topic we did not join */
  uint64_t msgs_too_large;
  uint64_t validation_overflow;  /* pending validations over the limit */
  uint64_t validation_throttled; /* over a topic's lp2p_topic_validation */
  uint64_t ihave_sent, ihave_received;
  uint64_t iwant_sent, iwant_received;
  uint64_t idontwant_sent, idontwant_received;
  uint64_t graft_sent, graft_received;
  uint64_t prune_sent, prune_received;
  uint64_t iwant_answered, iwant_invalid;
  /* IWANT ids by what became of them: iwant_answered from the message
   * cache; iwant_invalid is the sum of the next two */
  uint64_t iwant_not_found;           /* not (or no longer) in the cache */
  uint64_t iwant_over_retransmission; /* answered gossip_retransmission
                                       * times to that peer already */
  uint64_t iwant_skipped;             /* not looked at: the peer was past
                                       * max_invalid_iwants this heartbeat */
  uint64_t idontwant_saved;           /* copies not sent thanks to IDONTWANT */
  uint64_t copies_crossed;            /* queued copies not sent: the peer
                                       * sent us the message meanwhile */
  uint64_t idontwant_crossed;         /* queued IDONTWANTs not sent: the
                                       * peer sent us every message named */
  uint64_t queue_drop_messages;       /* data dropped: a peer's queue full */
  uint64_t publish_not_sent;          /* publications no peer could take */
  uint64_t batches_published;         /* with at least one message sent */
  uint64_t batches_refused;           /* whole: over limits.max_batch */
  uint64_t queue_drop_control;        /* SubOpts, GRAFT, PRUNE dropped: over
                                       * queue_max_control_bytes or too large */
  uint64_t queue_drop_gossip;         /* IHAVE, IWANT, IDONTWANT dropped: over
                                       * their bound or too large */
  uint64_t queue_drop_budget;         /* of the three above, those the
                                       * peer's memory budget or the
                                       * router's refused */
  uint64_t seen_evicted;              /* seen-cache entries dropped early */
  uint64_t subscriptions_dropped;     /* over max_topics_per_peer/max_topics */
  uint64_t px_received;               /* peers offered to us by PX */
  uint64_t px_ignored;                /* PX from peers below accept_px */
  uint64_t rpcs_graylisted;           /* RPCs ignored: sender below graylist */
  uint64_t score_changes;             /* recomputed scores that changed */
  uint64_t broken_promises;           /* IWANTs not answered in time */
  uint64_t backoffs_dropped;          /* backoffs not kept: max_backoffs */
  /* gossipsub v1.3: ControlExtensions after a peer's first RPC, each a
   * misbehaviour charged 10 to its behaviour penalty (P7), as go */
  uint64_t extensions_repeated;
  /* partial messages: RPC.partial received and handed to the
   * application; queued to peers; ignored (the extension not on both
   * sides, a topic we did not join with partial messages, a peer that
   * did not subscribe supporting them, no group id); refused for a
   * partialMessage over max_message_size or a partsMetadata over
   * max_partial_metadata; group states a peer's RPC could not create
   * (max_partial_groups_per_topic / _per_peer); group states expired
   * (TTL, or tracking no peer); RPC.partial dropped by a full queue
   * (over queue_max_bytes with the queued messages, or the budget) */
  uint64_t partial_received, partial_sent, partial_ignored;
  uint64_t partial_too_large, partial_groups_dropped, partial_groups_expired;
  uint64_t queue_drop_partial;
  uint64_t heartbeats;
  /* gauges, as of now */
  uint64_t peers, topics, mcache_messages, seen_entries;
  uint64_t pending_validations, queued_bytes;
  /* peers whose queue is past half its message or byte limit: a publisher
   * faster than the network can wait while most peers are */
  uint64_t peers_congested;
  /* mesh health: of the topics we joined, those whose mesh is empty, has
   * 1 to Dlo - 1 peers, Dlo to Dhi, more than Dhi (until the heartbeat
   * prunes it), and (any size) fewer than Dout outbound peers; Dlo, Dhi
   * and Dout are the topic's own when set */
  uint64_t topics_mesh_empty, topics_mesh_low, topics_mesh_healthy;
  uint64_t topics_mesh_high, topics_mesh_under_dout;
  /* messages in the history_gossip newest mcache windows, the ones IHAVE
   * advertises (mcache_messages counts all history_length windows) */
  uint64_t mcache_gossip_messages;
  uint64_t backoff_entries; /* PRUNE backoffs kept, all topics */
  uint64_t partial_groups;  /* partial-message group states, all topics */
} lp2p_router_stats;

/* Fills `st` with the counters and gauges as of now. */
LP2P_API void lp2p_router_get_stats(const lp2p_router *r,
                                    lp2p_router_stats *st);

/* One topic as the router sees it now. */
typedef struct lp2p_topic_stats {
  bool joined;
  size_t peers;  /* peers subscribed to the topic */
  size_t mesh;   /* our mesh peers */
  size_t fanout; /* our fanout peers */
  size_t pending_validations;
  /* received messages dropped before validation, by reason: the
   * router-wide max_pending_validations, the topic's max_pending, the
   * topic's rate (lp2p_topic_validation) */
  uint64_t validation_dropped_full, validation_dropped_pending,
      validation_dropped_rate;
} lp2p_topic_stats;

/* Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_router_topic_stats(const lp2p_router *r, const uint8_t *topic,
                                     size_t len, lp2p_topic_stats *st);
/* Copies up to `cap` mesh peers of `topic` into `out`; returns how many
 * there are (may exceed cap). */
LP2P_API size_t lp2p_router_mesh_peers(const lp2p_router *r,
                                       const uint8_t *topic, size_t len,
                                       lp2p_peer_id *out, size_t cap);
/* The score the router holds for a peer (0 while scoring is off). */
LP2P_API double lp2p_router_peer_score(const lp2p_router *r,
                                       const lp2p_peer_id *peer);

/* Per-peer counters, for tracing and interop tests. */
typedef struct lp2p_router_peer_counters {
  uint64_t idontwant_sent;     /* message ids we told it we have */
  uint64_t idontwant_received; /* message ids it told us it has */
  /* copies of messages not sent to it because its IDONTWANT named their
   * id: nonzero only when its ids and ours agree (interop tests read it
   * to show that two implementations share a message id) */
  uint64_t idontwant_saved;
} lp2p_router_peer_counters;

/* Returns 0 or LP2P_ERR_NOT_FOUND (not a connected peer). */
LP2P_API int lp2p_router_peer_counters_get(const lp2p_router *r,
                                           const lp2p_peer_id *peer,
                                           lp2p_router_peer_counters *out);

/* A peer's score and the weighted contribution of each component (P1 to
 * P4 summed over topics with their topic weights, before the topic cap),
 * and the raw counters behind P6 and P7. */
typedef struct lp2p_peer_score_info {
  double score;
  double p1, p2, p3, p3b, p4; /* weighted, summed over topics */
  double topics;              /* their sum after TopicScoreCap */
  double p5, p6, p7;          /* weighted */
  double behaviour_penalty;   /* P7's counter */
  size_t ip_peers;            /* peers at this peer's IP */
  bool connected;             /* false: a retained score */
} lp2p_peer_score_info;

/* Fills `info` for a connected or retained peer. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_router_peer_score_info(lp2p_router *r,
                                         const lp2p_peer_id *peer,
                                         lp2p_peer_score_info *info);

/* The raw counters of one peer in one scored topic. */
typedef struct lp2p_peer_topic_score {
  bool in_mesh;
  lp2p_tstamp mesh_time;
  double first_message_deliveries;
  double mesh_message_deliveries;
  bool mesh_message_deliveries_active;
  double mesh_failure_penalty;
  double invalid_message_deliveries;
} lp2p_peer_topic_score;

/* Fills `out` for a peer in a scored topic. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_router_peer_topic_score(const lp2p_router *r,
                                          const lp2p_peer_id *peer,
                                          const uint8_t *topic, size_t len,
                                          lp2p_peer_topic_score *out);

/* ---- score breakdowns ----
 * Everything go-libp2p-pubsub's PeerScoreSnapshot reports (its
 * WithPeerScoreInspect) and more: each component's counter beside its
 * weighted contribution, per topic and per peer, adding up to the score
 * the router holds:
 *   score         = topics_capped + p5 + p6 + p7
 *   topics_capped = topics_sum, at most TopicScoreCap when one is set
 *   topics_sum    = the sum of each scored topic's `score`
 *   topic score   = p1 + p2 + p3 + p3b + p4
 * added in that order, so the equalities hold to the last bit. */

/* One peer in one scored topic. The contributions include the topic's
 * weight: p1 = TopicWeight x TimeInMeshWeight x time_in_mesh, and so on. */
typedef struct lp2p_topic_score_breakdown {
  const uint8_t *topic; /* the router's copy of the name: valid until the
                         * router is deleted */
  size_t topic_len;
  bool in_mesh;
  bool mesh_message_deliveries_active; /* P3 applies */
  lp2p_tstamp mesh_time; /* in the mesh as of the last decay; 0 when out
                          * of it (as go's TopicScoreSnapshot) */
  double time_in_mesh;   /* P1: mesh_time in quanta, capped */
  double first_message_deliveries;        /* P2 */
  double mesh_message_deliveries;         /* P3's counter */
  double mesh_message_deliveries_deficit; /* P3: the deficit under the
                                           * threshold, squared; 0 while
                                           * not active */
  double mesh_failure_penalty;            /* P3b */
  double invalid_message_deliveries;      /* P4's counter (P4: squared) */
  double p1, p2, p3, p3b, p4;             /* weighted contributions */
  double score;                           /* their sum */
} lp2p_topic_score_breakdown;

/* One peer's score and its parts. */
typedef struct lp2p_peer_score_breakdown {
  lp2p_peer_id peer;
  bool connected;           /* false: a retained score */
  double score;             /* what lp2p_router_peer_score returns */
  double topics_sum;        /* the topics' scores, summed */
  double topics_capped;     /* topics_sum after TopicScoreCap */
  double app_specific;      /* P5's value from the app_score callback, as
                             * sampled when the score was last computed */
  double p5;                /* AppSpecificWeight x app_specific */
  double ip_colocation;     /* P6's counter: the peers sharing its
                             * address (or IPv6 /64) beyond the
                             * threshold, squared, summed */
  size_t ip_peers;          /* peers at this peer's address */
  double p6;                /* IPColocationFactorWeight x ip_colocation */
  double behaviour_penalty; /* P7's counter */
  double p7;                /* weighted square of its excess */
  size_t ntopics;           /* scored topics the peer has counters in */
} lp2p_peer_score_breakdown;

/* Fills `out` for a connected or retained peer, and `topics` with up to
 * `cap` of its topics (out->ntopics says how many there are; `topics` may
 * be NULL when `cap` is 0). The score is brought up to date first, as
 * lp2p_router_peer_score does. While scoring is off every weighted part
 * and the score are 0 and only the counters move. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_router_peer_score_breakdown(
    lp2p_router *r, const lp2p_peer_id *peer, lp2p_peer_score_breakdown *out,
    lp2p_topic_score_breakdown *topics, size_t cap);

/* Called once per scored peer by lp2p_router_scores_each, with its
 * `ntopics` topics; both arrays are valid during the call only. */
typedef void (*lp2p_score_breakdown_fn)(
    const lp2p_peer_score_breakdown *peer,
    const lp2p_topic_score_breakdown *topics, void *user);

/* Calls `fn` for every peer with a score record, connected or retained,
 * in no particular order, without the caller knowing their ids. `fn` may
 * read the router (scores, stats) but must not change it: no recv, add,
 * remove, join, publish or heartbeat. Returns 0 or LP2P_ERR_NOMEM (then
 * `fn` was not called). */
LP2P_API int lp2p_router_scores_each(lp2p_router *r, lp2p_score_breakdown_fn fn,
                                     void *user);

/* Scores `topic` with `p` (a copy is kept). Returns 0,
 * LP2P_ERR_INVALID_ARG (`err` names the field), LP2P_ERR_STATE (scoring
 * is off) or LP2P_ERR_NOMEM. */
LP2P_API int
lp2p_router_set_topic_score_params(lp2p_router *r, const uint8_t *topic,
                                   size_t len, const lp2p_topic_score_params *p,
                                   lp2p_errdetail *err);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_GOSSIPSUB_H */
