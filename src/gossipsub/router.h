/* The GossipSub router's internal state, shared by its modules:
 * router.c (API, RPC dispatch), message.c (our messages, signatures, ids),
 * seen.c, mcache.c, dontwant.c, queue.c (per-peer outbound queues), topic.c
 * (topics, subscriptions), backoff.c (PRUNE backoff), relay.c (receiving,
 * validating and
 * forwarding messages), control.c (GRAFT, PRUNE, IHAVE, IWANT, IDONTWANT),
 * heartbeat.c (mesh maintenance, fanout, gossip) and score.c. */
#ifndef LP2P_GOSSIPSUB_ROUTER_H
#define LP2P_GOSSIPSUB_ROUTER_H

#include "backoff.h"
#include "base/map.h"
#include "base/pcg.h"
#include "base/u64map.h"
#include "lp2p/gossipsub.h"
#include "pb/rpc.h"
#include "score.h"

typedef struct lp2p_router_peer gs_peer;
typedef struct gs_topic gs_topic;

/* A message, reference counted and shared by the mcache, the pending
 * validations and every peer queue that sends it. One allocation: the
 * header, then the encoded Message as received (or as we built it), then
 * the id. */
typedef struct gs_msg {
  uint32_t refs;
  uint16_t id_len;
  uint64_t hash;         /* lp2p_gs_id_hash of the id: its key in the mcache */
  uint32_t publish_size; /* bytes of its RPC.publish field */
  /* peer queue entries that hold it: while any does, its body is charged
   * to the router's budget (settings.budget), once (queue.c) */
  uint32_t queues;
  /* IWANT answers per peer while in the mcache (GossipRetransmission) */
  struct gs_iwant_count *iwant_counts;
  uint32_t n_iwant_counts;
  lp2p_rpc_msg f; /* views into bytes[] */
  uint8_t bytes[];
} gs_msg;

typedef struct gs_iwant_count {
  uint32_t peer_serial;
  uint32_t count;
} gs_iwant_count;

const uint8_t *lp2p_gs_msg_id(const gs_msg *m);
/* Copies an encoded Message (and its views) and its id into a new msg
 * with one reference. Returns NULL when out of memory. */
gs_msg *lp2p_gs_msg_new(lp2p_router *r, const lp2p_rpc_msg *f,
                        const uint8_t *id, size_t id_len);
/* The keyed hash by which message ids are looked up (see id_key). */
uint64_t lp2p_gs_id_hash(const lp2p_router *r, const uint8_t *id, size_t len);
gs_msg *lp2p_gs_msg_ref(gs_msg *m);
void lp2p_gs_msg_unref(lp2p_router *r, gs_msg *m);

/* Encoded entries of one kind queued for a peer, with what they count
 * against a receiver's per-RPC limits, so that a pull whose queue fits
 * one RPC needs no parsing. */
typedef struct gs_entries {
  lp2p_buf b;
  size_t n;   /* entries (fields of b) */
  size_t ids; /* message ids in them (IHAVE, IWANT, IDONTWANT) */
  size_t px;  /* PeerInfo records in them (PRUNE) */
} gs_entries;

/* A peer's outbound queue, in the order pulls send it: IDONTWANTs, each
 * its own RPC as go sends them; then RPCs of subscriptions, GRAFT/PRUNE,
 * gossip and data messages. Each kind has its own bound, so that data
 * never crowds out control (see lp2p_router_limits). */
typedef struct gs_queue {
  gs_entries dontwant; /* ControlIDontWant entries */
  gs_entries subs;     /* RPC.subscriptions entries */
  gs_entries ctl;      /* GRAFT and PRUNE entries */
  gs_entries gossip;   /* IHAVE and IWANT entries */
  gs_msg **msgs;       /* ring */
  size_t head, len, cap;
  size_t msg_bytes; /* encoded size of the queued messages */
  /* of the queued messages, what is the peer's own: their frame headers
   * and ring slots (their bodies are charged to the router's budget) */
  size_t msg_own;
  /* the peer's memory budget (lp2p_peer_info.budget) or NULL, and what
   * is reserved in it: the queue's own bytes (queue.c own_bytes) once
   * every change is settled */
  lp2p_budget *budget;
  size_t charged;
} gs_queue;

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
};

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
  size_t name_len;
  uint8_t name[]; /* the map key */
};

/* The peers that sent IDONTWANT for one message id. */
typedef struct gs_dontwant {
  uint32_t beat; /* the heartbeat of the last IDONTWANT for the id */
  uint32_t n, cap;
  uint32_t serials[]; /* n distinct, of cap */
} gs_dontwant;

/* What became of a message, for scoring the copies that follow it. */
enum { GS_VALIDATING, GS_VALID, GS_INVALID, GS_IGNORED };

/* The peers whose copies of one message were counted: this many inline,
 * the rest (rare: a message from more peers than a mesh holds) in a
 * spill array, so that every sender is remembered and a replay never
 * earns a second mesh delivery. */
#define GS_SEEN_PEERS 16

typedef struct gs_seen_spill {
  uint32_t n, cap;
  uint32_t serials[]; /* n of cap, after the inline ones */
} gs_seen_spill;

/* A seen-cache entry, in arrival order for expiry: also the message's
 * delivery record (who sent copies, and whether it proved valid), and the
 * message itself while the application validates it. */
typedef struct gs_seen {
  struct gs_seen *next; /* arrival order */
  lp2p_tstamp expiry;
  lp2p_tstamp first_seen;
  lp2p_tstamp validated; /* when it was accepted */
  uint8_t status;
  uint8_t npeers;
  uint32_t source; /* serial of the peer that sent it first; 0: us */
  uint32_t peers[GS_SEEN_PEERS]; /* serials of those that sent copies */
  gs_seen_spill *spill;          /* the senders past the inline ones */
  gs_msg *pending;               /* message awaiting validation, or NULL */
  lp2p_peer_id pending_from;
  uint64_t hash; /* of the id */
} gs_seen;

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
  lp2p_rpc_limits rpc_limits;
  /* what our RPCs keep within: our own count limits, at most those of a
   * receiver with default settings, and our max_rpc_size */
  lp2p_rpc_limits send_limits;
  gs_scoring score;
  lp2p_router_stats st;
};

/* ---- peers and peer sets (peer.c) */
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

/* ---- IDONTWANT (dontwant.c) */
/* The peers that do not want the message of `id_hash`, or NULL. */
const gs_dontwant *lp2p_gs_dontwant_find(const lp2p_router *r,
                                         uint64_t id_hash);
/* Is the peer of `serial` among them (false for NULL)? */
bool lp2p_gs_dontwant_lists(const gs_dontwant *d, uint32_t serial);
bool lp2p_gs_dontwant_has(const lp2p_router *r, const gs_peer *p,
                          uint64_t id_hash);
int lp2p_gs_dontwant_add(lp2p_router *r, gs_peer *p, uint64_t id_hash);
/* Forgets the ids last received idontwant_message_ttl heartbeats ago. */
void lp2p_gs_dontwant_expire(lp2p_router *r);
void lp2p_gs_dontwant_free_all(lp2p_router *r);

/* ---- outbound queues (queue.c) */
void lp2p_gs_queue_init(lp2p_router *r, gs_queue *q);
void lp2p_gs_queue_free(lp2p_router *r, gs_queue *q);
size_t lp2p_gs_queue_bytes(const gs_queue *q);
/* Control-queue appenders (subscriptions, GRAFT, PRUNE): each drops (and
 * counts) only when the peer's control bytes are at
 * queue_max_control_bytes; all return 0 or LP2P_ERR_NOMEM. */
int lp2p_gs_queue_sub(lp2p_router *r, gs_peer *p, bool subscribe,
                      const gs_topic *t);
/* Makes room for one SubOpts of `t`, so that queueing it cannot fail for
 * lack of memory. Returns 0 or LP2P_ERR_NOMEM. */
int lp2p_gs_queue_reserve_sub(gs_peer *p, const gs_topic *t);
int lp2p_gs_queue_graft(lp2p_router *r, gs_peer *p, const gs_topic *t);
int lp2p_gs_queue_prune(lp2p_router *r, gs_peer *p, const gs_topic *t,
                        uint64_t backoff_s, const lp2p_rpc_px *px, size_t npx);
/* Gossip appenders (IHAVE, IWANT): dropped and counted past
 * queue_max_gossip_bytes, as go drops gossip rather than retry it.
 * lp2p_gs_queue_encoded appends entries already encoded (one IHAVE for many
 * peers: encoded once, copied to each), counted in *sent. */
int lp2p_gs_queue_encoded(lp2p_router *r, gs_peer *p, const uint8_t *ctl,
                          size_t len, uint64_t *sent);
/* Appends IHAVE entries for `ids` to `b`, as many as it takes for each to
 * fit in one RPC. Returns 0 or LP2P_ERR_NOMEM, LP2P_ERR_TOO_LARGE. */
int lp2p_gs_put_ihaves(const lp2p_router *r, lp2p_buf *b, const gs_topic *t,
                       const lp2p_bytes *ids, size_t n);
int lp2p_gs_queue_ids(lp2p_router *r, gs_peer *p, uint32_t field,
                      const lp2p_bytes *ids, size_t n);
/* Appends IDONTWANT entries for `ids` to `b`, at most
 * max_idontwant_length ids each; sets *n to how many. Returns 0 or
 * LP2P_ERR_NOMEM. */
int lp2p_gs_put_idontwants(lp2p_router *r, lp2p_buf *b, const lp2p_bytes *ids,
                           size_t nids, size_t *n);
/* Queues `n` IDONTWANT entries (`nids` ids) made by lp2p_gs_put_idontwants,
 * each to be pulled as its own RPC before anything else; dropped and
 * counted past queue_max_idontwant. Returns 0 or LP2P_ERR_NOMEM. */
int lp2p_gs_queue_idontwants(lp2p_router *r, gs_peer *p, const uint8_t *ctl,
                             size_t len, size_t n, size_t nids);
/* Drops the IHAVEs still queued for `p` from an earlier heartbeat: a
 * peer that could not take them in time gets the new ones instead (go
 * drops the gossip a full queue cannot take, and a receiver takes at most
 * MaxIHaveMessages IHAVEs per heartbeat, so a backlog would cost it the
 * fresh ones). Counted in queue_drop_gossip. */
void lp2p_gs_queue_drop_ihaves(lp2p_router *r, gs_peer *p);
/* Queues a message (takes a reference); drops and counts when full. */
int lp2p_gs_queue_msg(lp2p_router *r, gs_peer *p, gs_msg *m);
/* Room for one more message in p's queue, so that the next lp2p_gs_queue_msg
 * cannot fail for want of memory. Returns 0 or LP2P_ERR_NOMEM. */
int lp2p_gs_queue_reserve_msg(lp2p_router *r, gs_peer *p);
ptrdiff_t lp2p_gs_queue_pull(lp2p_router *r, gs_peer *p, const uint8_t **out);
void lp2p_gs_want_write(lp2p_router *r, gs_peer *p);
void lp2p_gs_ready_unlink(lp2p_router *r, gs_peer *p);

/* ---- topics (topic.c) */
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
void lp2p_gs_mesh_remove(lp2p_router *r, gs_topic *t, gs_peer *p,
                         lp2p_tstamp now);
void lp2p_gs_event(lp2p_router *r, lp2p_router_event_type type,
                   const gs_peer *p, const gs_topic *t);

/* ---- seen cache (seen.c) */
gs_seen *lp2p_gs_seen_find(const lp2p_router *r, uint64_t id_hash);
gs_seen *lp2p_gs_seen_add(lp2p_router *r, uint64_t id_hash, lp2p_tstamp now);
void lp2p_gs_seen_expire(lp2p_router *r, lp2p_tstamp now);
void lp2p_gs_seen_free_all(lp2p_router *r);

/* ---- message cache (mcache.c) */
int lp2p_gs_mcache_init(lp2p_router *r);
void lp2p_gs_mcache_free(lp2p_router *r);
int lp2p_gs_mcache_put(lp2p_router *r, gs_msg *m);
gs_msg *lp2p_gs_mcache_get(const lp2p_router *r, uint64_t id_hash);
void lp2p_gs_mcache_shift(lp2p_router *r);
/* Messages in the gossip windows (the newest history_gossip). */
size_t lp2p_gs_mcache_gossip_len(const lp2p_router *r);
/* Calls fn for the ids of `t` in the gossip windows. */
void lp2p_gs_mcache_each_gossip(const lp2p_router *r, const gs_topic *t,
                                void (*fn)(gs_msg *m, void *arg), void *arg);
/* Counts an IWANT answer for the peer; returns the new count. */
uint32_t lp2p_gs_mcache_count_iwant(lp2p_router *r, gs_msg *m,
                                    const gs_peer *p);

/* ---- messages (message.c) */
/* Builds, signs and ids a message of ours. */
gs_msg *lp2p_gs_msg_build(lp2p_router *r, const uint8_t *topic,
                          size_t topic_len, const uint8_t *data, size_t len,
                          int *err);
/* Checks the signing policy and the signature. Returns 0 or the error
 * that rejects the message. */
int lp2p_gs_msg_check_signature(lp2p_router *r, const lp2p_rpc_msg *m);
/* Computes the id; returns its length or a negative error. */
int lp2p_gs_msg_compute_id(lp2p_router *r, const lp2p_rpc_msg *m, uint8_t *out,
                           size_t cap);
void lp2p_gs_msg_view(const gs_msg *m, const lp2p_peer_id *from,
                      lp2p_message *out);

/* ---- receiving and forwarding (relay.c) */
/* Handles the messages of the RPC just decoded, and sends the IDONTWANTs
 * they call for. */
void lp2p_gs_handle_messages(lp2p_router *r, gs_peer *from, lp2p_tstamp now);
void lp2p_gs_idw_free(lp2p_router *r);
/* Completes validation of `m` (seen entry `e`, from `from`). */
void lp2p_gs_validation_done(lp2p_router *r, gs_msg *m, gs_seen *e,
                             const lp2p_peer_id *from, lp2p_validation res,
                             lp2p_tstamp now);
/* Queues `m` to the peers that should get it, except `from` (serial) and
 * the peers `e` says sent it too; returns how many. */
size_t lp2p_gs_forward(lp2p_router *r, gs_msg *m, gs_topic *t, uint32_t from,
                       const gs_seen *e);

/* ---- control (control.c) */
void lp2p_gs_handle_control(lp2p_router *r, gs_peer *p, lp2p_tstamp now);
/* Sends PRUNE for `t` with `backoff`, and PX when asked and the peer
 * speaks meshsub 1.1 or later; records our backoff for the peer. */
int lp2p_gs_send_prune(lp2p_router *r, gs_peer *p, gs_topic *t,
                       lp2p_tstamp backoff, bool px, lp2p_tstamp now);

/* Forgets the ids asked for by IWANT long enough ago to be asked again. */
void lp2p_gs_iwanted_expire(lp2p_router *r);

/* ---- heartbeat (heartbeat.c) */
void lp2p_gs_heartbeat(lp2p_router *r, lp2p_tstamp now);
void lp2p_gs_rebalance(lp2p_router *r, gs_topic *t, lp2p_tstamp now,
                       bool opportunistic);
void lp2p_gs_fanout_fill(lp2p_router *r, gs_topic *t);

/* ---- score (score.c): every hook is safe with scoring off, when the
 * score is always 0 and only the raw counters move */
int lp2p_gs_score_init(lp2p_router *r, lp2p_tstamp now);
void lp2p_gs_score_free(lp2p_router *r);
/* A peer connects: its retained record or a new one. */
int lp2p_gs_score_attach(lp2p_router *r, gs_peer *p, lp2p_tstamp now);
/* A peer leaves: its record is kept for RetainScore unless positive. */
void lp2p_gs_score_detach(lp2p_router *r, gs_peer *p, lp2p_tstamp now);
double lp2p_gs_score(const lp2p_router *r, const gs_peer *p);
void lp2p_gs_score_graft(lp2p_router *r, gs_peer *p, const gs_topic *t,
                         lp2p_tstamp now);
void lp2p_gs_score_prune(lp2p_router *r, gs_peer *p, const gs_topic *t);
/* P2 and P3: `p` delivered a message first. */
void lp2p_gs_score_first(lp2p_router *r, gs_peer *p, const gs_topic *t);
/* P3: a copy from `p` of a message validated at `validated` (0: still
 * being validated). */
void lp2p_gs_score_duplicate(lp2p_router *r, gs_peer *p, const gs_topic *t,
                             lp2p_tstamp validated, lp2p_tstamp now);
/* P4: `p` sent an invalid message on `t` (NULL when the topic is gone). */
void lp2p_gs_score_invalid(lp2p_router *r, gs_peer *p, const gs_topic *t);
/* P7: a behaviour penalty (GRAFT while backing off, broken promise). */
void lp2p_gs_score_penalty(lp2p_router *r, gs_peer *p, double count);
/* Decay when due, broken promises, graylisted peers. */
void lp2p_gs_score_heartbeat(lp2p_router *r, lp2p_tstamp now);
lp2p_tstamp lp2p_gs_score_expiry(const lp2p_router *r);
const gs_tscore *lp2p_gs_tscore_find(const lp2p_router *r, const uint8_t *name,
                                     size_t len);
/* IWANT promises: `p` advertised `ids` we asked for; the message
 * arriving from anyone keeps the promise once it starts validation, or is
 * dropped for a full validation queue or as self-origin (as go; not when
 * its signature fails). */
void lp2p_gs_promise_add(lp2p_router *r, const gs_peer *p,
                         const lp2p_bytes *ids, size_t n, lp2p_tstamp now);
void lp2p_gs_promise_fulfill(lp2p_router *r, uint64_t id_hash);

#endif
