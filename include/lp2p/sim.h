/*
 * lp2p: a deterministic discrete-event simulator of GossipSub networks.
 *
 * Thousands of lp2p routers, the same code that runs in a node, exchange
 * encoded RPCs over simulated links with latency, uplink bandwidth and
 * loss, on one virtual clock driven by one event heap. The same
 * configuration and seed give the same run, event for event.
 */
#ifndef LP2P_SIM_H
#define LP2P_SIM_H

#include <stdbool.h>

#include "lp2p/common.h"
#include "lp2p/gossipsub.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How links and uplinks are modelled. */
typedef enum lp2p_sim_model {
  /* every link has the same latency and every node the same uplink */
  LP2P_SIM_UNIFORM = 0,
  /* libp2p/test-plans gossipsub-interop: 8 regions with one-way latencies
   * of 2 to 220 ms, 20% of nodes at 1 Gbit/s and 80% at 50 Mbit/s */
  LP2P_SIM_INTEROP = 1,
} lp2p_sim_model;

/* What the attackers do (each a router like the others, joined to the
 * topic, dialling as many honest nodes as an honest node dials). */
typedef enum lp2p_sim_attack {
  LP2P_ATTACK_NONE = 0,
  LP2P_ATTACK_INVALID = 1, /* publish and forward bad signatures */
  /* stay in meshes, forward nothing, answer no IWANT (the ids they
   * still advertise by IHAVE are withheld) */
  LP2P_ATTACK_DROP = 2,
  LP2P_ATTACK_IHAVE_SPAM = 3, /* advertise ids by IHAVE, answer no IWANT */
  LP2P_ATTACK_GRAFT_SPAM = 4, /* GRAFT again and again during backoff */
  /* stay in meshes, forward nothing, but answer IWANTs: only the mesh
   * delivery counters (P3) can tell them from honest peers */
  LP2P_ATTACK_DROP_SERVE = 5,
  /* forward nothing; advertise every message they receive by IHAVE to
   * every peer at once, and answer no IWANT, so that peers wait
   * IWantFollowupTime on a promise before asking anyone else */
  LP2P_ATTACK_IHAVE_WITHHOLD = 6,
} lp2p_sim_attack;

/* The largest group of lp2p_sim_config.batch. */
#define LP2P_SIM_MAX_BATCH 1024

/* How a publisher sends a group of messages (lp2p_sim_config.batch). */
typedef enum lp2p_sim_batch_order {
  /* lp2p_router_publish_batch, LP2P_BATCH_RAREST_FIRST */
  LP2P_SIM_BATCH_RAREST_FIRST = 0,
  /* lp2p_router_publish_batch, LP2P_BATCH_ROUND_ROBIN: go's order */
  LP2P_SIM_BATCH_ROUND_ROBIN = 1,
  /* lp2p_router_publish for each message, one after another */
  LP2P_SIM_BATCH_ONE_BY_ONE = 2,
} lp2p_sim_batch_order;

/* The number of lp2p_sim_attack values. */
#define LP2P_SIM_ATTACKS 7

/* Per-bucket measures: messages are bucketed by publish time, meshes
 * sampled at the bucket's end (or the end of the run). */
typedef struct lp2p_sim_bucket {
  lp2p_tstamp start; /* publish times in [start, start + bucket_len) */
  uint64_t messages;
  double delivery_ratio; /* honest deliveries / (messages x (nodes - 1)) */
  double latency_p50_ms, latency_p99_ms;
  /* of all honest nodes' mesh slots, the fraction attackers hold */
  double attacker_mesh_fraction;
  /* the mean score honest nodes give the attackers in their meshes (0
   * when none is) */
  double attacker_mesh_score;
} lp2p_sim_bucket;

/* Most buckets in a result; longer runs get longer buckets. */
#define LP2P_SIM_MAX_BUCKETS 64

/* Points of a result's latency CDF: one per percent of the deliveries,
 * from the fastest (0) to the slowest (100). */
#define LP2P_SIM_CDF_POINTS 101
/* Bins of a result's duplicates histogram: 0 to 63 duplicates, then one
 * bin for 64 or more. */
#define LP2P_SIM_DUP_BINS 65

/* A simulation's configuration; lp2p_sim_config_default. */
typedef struct lp2p_sim_config {
  size_t nodes;
  size_t degree;   /* connections each node makes and accepts, about */
  size_t messages; /* published, by random nodes */
  size_t size;     /* bytes of data per message (at least 8) */
  uint64_t seed;
  bool sign;      /* StrictSign (Ed25519), else StrictNoSign */
  bool idontwant; /* send IDONTWANT (meshsub 1.2 behaviour) */
  lp2p_sim_model model;
  lp2p_tstamp latency;       /* one way, UNIFORM model */
  uint64_t uplink_bps;       /* UNIFORM model; 0 = unlimited */
  double loss;               /* probability an RPC is lost */
  lp2p_tstamp warmup;        /* before the first publish */
  lp2p_tstamp interval;      /* between publishes */
  lp2p_tstamp drain;         /* after the last publish */
  lp2p_router_params params; /* for every router */
  size_t attackers;          /* extra nodes, beside `nodes` honest ones */
  lp2p_sim_attack attack;
  lp2p_tstamp attack_interval; /* between an attacker's moves */
  /* when the attackers connect: 0 is a cold boot (they are there from
   * the start); later, a warm network (the honest meshes stand when the
   * attackers dial in). Either way honest nodes dial only each other
   * and each attacker dials degree/2 honest nodes on top, as in the
   * v1.1 evaluation */
  lp2p_tstamp attack_join;
  /* when they start attacking; before it they behave as honest routers
   * (a covert flash: build up score, then all attack at once) */
  lp2p_tstamp attack_start;
  bool eclipse;        /* every attacker also dials honest node 0 */
  size_t attacker_ips; /* 0: every node its own address; else the
                        * attackers share this many (IP colocation) */
  bool scoring;        /* peer scoring with score / topic_score below */
  /* derive score and topic_score from `interval` and the mesh degree
   * (lp2p_sim_score_params) when the run starts; false: use them as set */
  bool score_from_traffic;
  lp2p_score_params score;
  lp2p_topic_score_params topic_score;
  /* 0: each message published by a random node, one every `interval`.
   * N (at most LP2P_SIM_MAX_BATCH): groups of N messages, each group published
   * at once by a random node in `batch_order`, one group every `interval`; the
   * result then says how soon each group spread (batch_to_copies_ms) */
  size_t batch;
  lp2p_sim_batch_order batch_order;
  /* honest nodes other than the publisher a message must reach to count
   * as spread, with `batch` (8; at most nodes - 1) */
  size_t copies;
  /* called now and then with the fraction of simulated time done */
  void (*progress)(double done, void *user);
  void *progress_user;
  /* every allocation of a run goes through it: the routers' arena takes
   * its chunks (32 MiB) from it. NULL: the C library, and chunks mapped
   * from the kernel as huge pages */
  const lp2p_mem *mem;
  /* byte level: every link is a pair of lp2p_sessions (Noise XX with each
   * node's Ed25519 key, yamux, a /meshsub/1.2.0 stream each way with
   * varint-framed RPCs) whose bytes cross the link, so that the run
   * costs what the whole stack costs (docs/sim-wire.md). Loss delays
   * bytes by a retransmission, as TCP would, instead of dropping RPCs.
   * Not with attackers. false: RPC level, for 10,000 nodes and more */
  bool wire;
  /* Optional: the trace events (lp2p/trace.h) of one router, node
   * `trace_node` (below nodes + attackers), time stamped with the virtual
   * clock (nanoseconds since the run's start). NULL: nothing is traced */
  void (*trace)(const lp2p_trace_event *ev, void *user);
  /* The `user` argument of `trace`. */
  void *trace_user;
  /* The node whose router is traced (0 by default). */
  size_t trace_node;
  /* Partial messages (gossipsub v1.3, docs/partial-messages.md): each
   * message of `size` bytes is a group of `parts` equal parts (size a
   * multiple of parts), dealt round robin across `publishers` random
   * nodes, which publish their parts at the same time. Every node runs
   * the application of the libp2p/test-plans gossipsub-interop suite on
   * its router: joined requesting parts; merges what arrives; tells its
   * mesh its parts bitmap when it gets new ones; answers a peer whose
   * bitmap differs with its own bitmap and the parts that peer lacks; a
   * node completes a group when it holds every part. Deliveries are then
   * completions (of the nodes that lacked a part), latency runs from the
   * publication to the completion, and bytes per delivered byte counts
   * the bytes each completing node lacked. Not with attackers or `wire`.
   * false: full messages, one publisher each */
  bool partial;
  size_t parts;      /* 1 to 64 (8) */
  size_t publishers; /* 1 to parts, below nodes (2) */
} lp2p_sim_config;

/* Defaults: 100 nodes, degree 20, 100 messages of 1 KiB, seed 1, signed,
 * IDONTWANT on, uniform 50 ms links at 1 Gbit/s, no loss, go's router
 * parameters, no attackers, scoring off (its parameters, when on,
 * derived from the traffic), no groups (copies 8), full messages (partial
 * off; when on, 8 parts and 2 publishers). */
LP2P_API void lp2p_sim_config_default(lp2p_sim_config *c);

/* Score parameters for the simulated topic from lp2p_score_params_derive,
 * as Ethereum clients derive theirs, on the simulator's time scale: a
 * slot is 1 s and an epoch 4 slots, so that activation and decay happen
 * within a run of seconds; the expected rate is one message every
 * c->interval, the mesh degree c->params.mesh.d. Returns 0 or
 * LP2P_ERR_INVALID_ARG (`err`, which may be NULL, says why). */
LP2P_API int lp2p_sim_score_params(const lp2p_sim_config *c,
                                   lp2p_score_params *p,
                                   lp2p_topic_score_params *tp,
                                   lp2p_errdetail *err);
/* lp2p_sim_score_params for the default configuration (10 messages a
 * second, D 6). */
LP2P_API void lp2p_sim_score_params_default(lp2p_score_params *p,
                                            lp2p_topic_score_params *tp);

/* Sets what a scenario of the GossipSub v1.1 evaluation decides
 * (attack_join, attack_start, eclipse, attacker_ips) from the rest of
 * `c` (warmup, messages, interval, attackers), which is to be set
 * first:
 *   "none"          as lp2p_sim_config_default: a cold boot
 *   "cold-boot"     attackers there from t=0, dialled by honest nodes
 *   "warm"          they dial in at `warmup`, once the honest meshes stand
 *   "covert-flash"  there from t=0, behaving until a third of the
 *                   publishing is done (whole seconds), then attacking
 *   "eclipse"       every attacker also dials honest node 0
 *   "ip-colocation" attackers behind 4 addresses
 * Returns 0 or LP2P_ERR_INVALID_ARG (an unknown name). */
LP2P_API int lp2p_sim_scenario(lp2p_sim_config *c, const char *name);

/* What a partial-messages run (lp2p_sim_config.partial) measured beyond
 * the common fields, all summed over the honest nodes. */
typedef struct lp2p_sim_partial_result {
  /* bytes of parts the completing nodes lacked when the group was
   * published: the denominator of bytes_per_delivered_byte */
  uint64_t delivered_bytes;
  /* parts received that the node lacked, and that it already held */
  uint64_t parts_new, parts_duplicate;
  /* RPC.partial queued to peers; of them, those that carried parts */
  uint64_t rpcs, rpcs_with_parts;
  /* what the routers' bounds dropped (lp2p_router_stats): group states a
   * peer's RPC could not create, oversized parts or metadata, RPC.partial
   * a full queue dropped; and received parts the application refused
   * (malformed) */
  uint64_t groups_dropped, too_large, queue_dropped, invalid;
} lp2p_sim_partial_result;

/* What a run measured. */
typedef struct lp2p_sim_result {
  double delivery_ratio; /* deliveries / (messages x (nodes - 1)) */
  double latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_max_ms;
  double duplicates_per_message; /* per node and message */
  double bytes_per_delivered_byte;
  size_t mesh_min, mesh_max;
  double mesh_mean;
  uint64_t events;
  uint64_t delivered, expected;
  uint64_t bytes_sent; /* every RPC byte that left a node */
  /* RPCs lost; with `wire`, chunks of session bytes the link lost and
   * resent (they arrive late, never lost) */
  uint64_t rpcs_lost;
  /* with `wire`: sessions upgraded (Noise and yamux), and what should
   * never happen there: sessions that failed, pubsub streams reset or
   * refused, RPCs dropped for a stream's full backlog */
  uint64_t sessions_established;
  uint64_t wire_failures;
  /* the mean score honest nodes hold for the attackers they know at the
   * end (0 without attackers) */
  double attacker_score_mean;
  /* over the samples of the buckets: the largest fraction of honest
   * mesh slots attackers held, and the mean score of attackers in
   * honest meshes (over every sampled slot they held) */
  double attacker_mesh_fraction_max;
  double attacker_mesh_score_mean;
  /* the eclipse target (honest node 0): its share of the messages
   * others published, and its p99 latency */
  double target_delivery_ratio, target_latency_p99_ms;
  /* seconds from the attack's start (the later of attack_join and
   * attack_start) until every message published from then on reaches
   * at least 99% of honest nodes; 0 if none fell below, -1 if the run
   * ended before that */
  double recovery_s;
  lp2p_tstamp bucket_len; /* 10 s, longer for runs of over 64 buckets */
  size_t nbuckets;
  lp2p_sim_bucket buckets[LP2P_SIM_MAX_BUCKETS];
  /* with `batch`: for each group, the time from its publication until
   * every message of it reached `copies` honest nodes; the mean, median
   * and largest over the groups that did, and how many did not */
  double batch_to_copies_ms_mean, batch_to_copies_ms_p50;
  double batch_to_copies_ms_max;
  size_t batches_short;
  uint8_t trace_hash[32]; /* BLAKE2b-256 of the ordered event trace */
  /* at `trace_node`: the messages of others it delivered, and those it
   * published (what its trace's DELIVER and PUBLISH events count) */
  uint64_t trace_node_delivered, trace_node_published;
  /* the latency CDF of honest deliveries: latency_cdf_ms[i] is the
   * latency within which i% of them arrived (all 0 when none did); the
   * fraction of all expected deliveries is i% of delivery_ratio */
  double latency_cdf_ms[LP2P_SIM_CDF_POINTS];
  /* per honest node and message (nodes x messages pairs): how many
   * duplicates the node received of the message, copies beyond the first
   * (a publisher's copies back, but not a signed message's, which is
   * rejected as our own); the last bin counts 64 or more */
  uint64_t duplicates_histogram[LP2P_SIM_DUP_BINS];
  /* with `partial` (all 0 otherwise); the common fields then count group
   * completions as deliveries, and duplicates are duplicate parts */
  lp2p_sim_partial_result partial;
} lp2p_sim_result;

/* Runs a simulation. Returns 0, LP2P_ERR_INVALID_ARG (an impossible
 * configuration) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_run(const lp2p_sim_config *c, lp2p_sim_result *res);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_SIM_H */
