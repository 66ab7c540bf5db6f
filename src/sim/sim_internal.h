/* The simulator's internals, shared by its engine (sim.c) and its
 * attackers (attack.c). */
#ifndef LP2P_SIM_INTERNAL_H
#define LP2P_SIM_INTERNAL_H

#include <sodium.h>

#include "base/heap.h"
#include "base/pcg.h"
#include "lp2p/sim.h"
#include "pb/rpc.h"
#include "sim/arena.h"
#include "sim/msgstore.h"
#include "sim/sigcache.h"

#define SIM_TOPIC "lp2p-sim"
#define SIM_TOPIC_LEN (sizeof(SIM_TOPIC) - 1)

enum {
  EV_TIMER,
  EV_TX_DONE,
  EV_RPC,
  EV_PUBLISH,
  EV_ATTACK,
  EV_JOIN,
  EV_SAMPLE,
  EV_WIRE,   /* --wire: session bytes reach the other end of a link */
  EV_SESSION /* --wire: a session's deadline */
};

/* Heap entries start with this header so that one heap orders them all. */
typedef struct sim_entry {
  lp2p_heap_item item; /* key: time */
  uint8_t kind;
} sim_entry;

typedef struct sim_event {
  sim_entry h;
  uint32_t to, from;
  union {
    lp2p_router_peer *handle; /* EV_RPC: the sender, in the receiver's router */
    struct sim_wire *wire;    /* EV_WIRE: the receiving end of the link */
  };
  uint32_t len; /* of the RPC or chunk, whole */
  /* EV_RPC: fields of the RPC (messages, control) that the run's
   * message store holds: a sim_piece table at the front of bytes[], then
   * the rest of the RPC */
  uint32_t pieces;
  uint8_t bytes[];
} sim_event;

/* A field of an RPC in flight that stays in the message store: its
 * place in the RPC. RPCs in flight were a fifth of a 50,000-node run's
 * memory, nearly all of it copies of the same bytes. */
typedef struct sim_piece {
  const uint8_t *body;
  uint32_t at, len;
} sim_piece;

/* A connection as one of its two ends sees it. */
typedef struct sim_link {
  uint32_t node;              /* the other end */
  uint8_t region;             /* the other end's: sending reads no node */
  lp2p_router_peer *at_other; /* this end, in the other end's router */
} sim_link;

typedef struct sim sim;

/* Message ids peers asked an attacker for by IWANT (drop-serve answers
 * those): a direct-mapped table, so that it stays bounded whatever the
 * peers send; an entry overwritten early only costs one answer. */
#define SIM_IWANTED 1024

typedef struct sim_iwanted {
  uint64_t key; /* hash of (asking node, message id); 0 = empty */
} sim_iwanted;

typedef struct sim_attacker {
  sim_iwanted iwanted[SIM_IWANTED];
} sim_attacker;

typedef struct sim_node {
  sim_entry timer;   /* the router's next heartbeat */
  sim_entry tx_done; /* the uplink finishes sending an RPC */
  sim_entry attack;  /* an attacker's next move */
  lp2p_tstamp uplink_free;
  sim *s;
  uint32_t index;
  bool attacker;
  uint64_t attack_seq; /* messages or rounds of the attack so far */
  sim_attacker *atk;   /* attackers' own state (NULL at honest nodes) */
  lp2p_router *r;
  lp2p_privkey key;
  lp2p_peer_id id;
  lp2p_pcg rng;
  uint64_t uplink_bps;
  uint8_t region;
  sim_link *links;
  struct sim_wire **wires; /* --wire: each link's session, as links */
  uint32_t nlinks, caplinks;
} sim_node;

/* RPCs in flight, by arrival time: a 4-ary heap of (time, event) pairs
 * that is only pushed and popped, so unlike lp2p_heap it never writes
 * into the events it moves (a cache miss each, 7% of a 10,000-node run
 * when the RPCs shared the timers' heap). */
typedef struct sim_rpc_slot {
  lp2p_tstamp at;
  struct sim_event *ev;
} sim_rpc_slot;

typedef struct sim_rpcs {
  sim_rpc_slot *slots;
  size_t len, cap;
  const lp2p_mem *mem;
} sim_rpcs;

typedef struct sim_spares {
  struct sim_event **items;
  size_t len, cap;
} sim_spares;

struct sim {
  const lp2p_sim_config *c;
  const lp2p_mem *mem; /* c->mem: every allocation of the run */
  sim_node *nodes;
  size_t total;        /* honest nodes, then attackers */
  sim_arena arena;     /* the routers' memory */
  sim_sigcache sigs;   /* every node's signature checks */
  sim_msgstore bodies; /* every node's message bodies */
  lp2p_heap heap;      /* timers, uplinks, attacks, publications */
  sim_rpcs rpcs;
  lp2p_pcg rng;
  lp2p_tstamp now, end;
  crypto_generichash_state trace; /* BLAKE2b: SHA-256 cost a fifth of a run */
  /* trace records are hashed a buffer at a time: hashing each one alone
   * would cost more than the event */
  uint8_t trace_buf[4096];
  size_t trace_len;
  lp2p_tstamp *published; /* per message */
  uint64_t *latencies;    /* ns, one per delivery */
  /* one per delivery: its message's bucket in the top 16 bits, the
   * latency below, so that one sort orders each bucket's latencies */
  uint64_t *bucketed;
  uint32_t *msg_delivered; /* honest deliveries per message */
  /* with batch: when each message reached c->copies honest nodes (NEVER
   * until it does) */
  lp2p_tstamp *reached;
  /* per honest node and message (node-major): copies received beyond
   * the first, saturating at UINT8_MAX */
  uint8_t *duplicates;
  uint64_t target_delivered, target_expected;
  uint64_t *target_latencies;
  sim_entry join;   /* a warm network: when the attackers dial in */
  sim_entry sample; /* the end of the next bucket: meshes are sampled */
  size_t sampled;   /* buckets sampled so far */
  double mesh_score_sum;
  uint64_t mesh_score_n;
  lp2p_sim_result *res;
  /* spare events by size class (256-byte steps up to 4 KiB): an RPC
   * arrives per event, and malloc for each would dominate. Stacks of
   * pointers, not lists through the events: taking one then reads no
   * cold event. */
  sim_spares spare[16];
  uint8_t *rebuilt; /* the RPC of an event with pieces, whole again */
  size_t rebuilt_cap;
  int err;
  /* honest nodes each message is to reach: nodes - 1, or with `partial`
   * those that start without some part */
  size_t receivers;
  struct sim_partial *partial; /* --partial: the parts nodes hold */
};

int lp2p__sim_push(sim *s, sim_entry *e, lp2p_tstamp at);
/* Appends an event record to the trace. */
void lp2p__sim_trace(sim *s, uint8_t kind, uint32_t a, uint32_t b, size_t len);
/* The node's deterministic randomness (an lp2p_rand_fn; user: sim_node). */
void lp2p__sim_node_rand(uint8_t *dest, size_t len, void *user);
/* An event of `len` bytes, initialised but for kind, to, from and the
 * union; NULL without memory. */
sim_event *lp2p__sim_event_new(sim *s, size_t len);
/* Queues an event that carries bytes (EV_RPC, EV_WIRE) for time `at`;
 * frees it when it cannot. */
void lp2p__sim_event_at(sim *s, sim_event *ev, lp2p_tstamp at);
/* Delivers `rpc` (framed) from `n` over its link number `link`, leaving
 * at `sent`, a link latency later, unless the link loses it. */
void lp2p__sim_send_rpc(sim *s, sim_node *n, uint32_t link, const uint8_t *rpc,
                        size_t len, lp2p_tstamp sent);

/* Counts a delivery of message `k` (`len` bytes) at honest node `n`,
 * now: its latency, bucket and trace record. */
void lp2p__sim_delivered(sim *s, const sim_node *n, uint64_t k, size_t len);

/* ---- partial messages (partial.c, --partial) */
/* 0, or LP2P_ERR_INVALID_ARG for a partial run that cannot be. */
int lp2p__sim_partial_check(const lp2p_sim_config *c);
/* A node's router settings and callbacks for a partial run. */
void lp2p__sim_partial_router(lp2p_router_settings *st,
                              lp2p_router_callbacks *cb);
/* The parts state of every node and group; 0 or LP2P_ERR_NOMEM. */
int lp2p__sim_partial_init(sim *s);
void lp2p__sim_partial_free(sim *s);
/* Each group's publishers, and their EV_PUBLISH at its publish time. */
int lp2p__sim_partial_schedule(sim *s);
/* EV_PUBLISH: a publisher publishes its share of a group. */
void lp2p__sim_partial_publish(sim *s, sim_event *ev);
/* A heartbeat of `n`: groups whose requests went unanswered are asked
 * of the mesh. */
void lp2p__sim_partial_heartbeat(sim *s, sim_node *n);
/* Fills res->partial and the measures a partial run counts its way. */
void lp2p__sim_partial_summarise(sim *s);

/* ---- byte-level links (wire.c, --wire) */
/* Node `a` dials `b` over their links `ka` (at a) and `kb` (at b): a pair
 * of sessions, `a` the initiator, whose first bytes leave at once. */
int lp2p__sim_wire_connect(sim *s, sim_node *a, uint32_t ka, sim_node *b,
                           uint32_t kb);
/* The router of `n` yielded `rpc` (framed) for its link `link`: it goes
 * down that link's meshsub stream. */
void lp2p__sim_wire_send_rpc(sim *s, sim_node *n, uint32_t link,
                             const uint8_t *rpc, size_t len);
/* EV_WIRE: bytes reach a session. */
void lp2p__sim_wire_arrive(sim *s, sim_event *ev);
/* EV_SESSION: a session's deadline. Returns the node to settle. */
sim_node *lp2p__sim_wire_expire(sim *s, sim_entry *e);
/* Frees the sessions of `n`'s links. */
void lp2p__sim_wire_free(sim *s, sim_node *n);

/* ---- attackers (attack.c) */
/* Whether the attackers attack yet (before, they behave). */
bool lp2p__sim_attacking(const sim *s);
/* Rewrites an RPC an attacker sends over its link `link`, in place;
 * returns its new length (0: nothing left to send). */
size_t lp2p__sim_attack_filter(sim *s, sim_node *n, uint32_t link, uint8_t *rpc,
                               size_t len);
/* An attacker reads an RPC (framed) it received from node `from`,
 * before its router does. */
void lp2p__sim_attack_observe(sim *s, sim_node *n, uint32_t from,
                              const uint8_t *rpc, size_t len);
/* The message id the simulated routers give `m`; returns its length. */
size_t lp2p__sim_msg_id(const sim *s, const lp2p_rpc_msg *m, uint8_t *out,
                        size_t cap);
/* The attacker's periodic move (its EV_ATTACK). */
void lp2p__sim_attack_tick(sim *s, sim_node *n);
/* The first move of every attacker. */
int lp2p__sim_attack_schedule(sim *s);

#endif
