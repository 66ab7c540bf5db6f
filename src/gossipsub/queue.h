/* Per-peer outbound queues (queue.c). */
#ifndef LP2P_GOSSIPSUB_QUEUE_H
#define LP2P_GOSSIPSUB_QUEUE_H

#include "lp2p/gossipsub.h"
#include "pb/rpc.h"

typedef struct lp2p_router_peer gs_peer;
typedef struct gs_topic gs_topic;
typedef struct gs_msg gs_msg;

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
  /* RPC.partial entries, each pulled as an RPC of its own (the field is
   * not repeated: two in one RPC would merge), after control and before
   * messages; bounded with the messages by queue_max_bytes */
  gs_entries partial;
  gs_msg **msgs; /* ring */
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
  /* gossipsub v1.3: our ControlExtensions is queued (in `ctl`) and the
   * next pull must send it, before any IDONTWANT; our TestExtension RPC
   * is due, pulled next as an RPC of its own */
  bool hello_due, test_ext_due;
} gs_queue;

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
/* gossipsub v1.3: queues our ControlExtensions advertising `ext`, sent in
 * the next RPC pulled, which is then the stream's first (call it when
 * the peer is added). Returns 0 (also when a full queue or the peer's
 * budget dropped it: counted as control) or LP2P_ERR_NOMEM. */
int lp2p_gs_queue_extensions(lp2p_router *r, gs_peer *p,
                             const lp2p_rpc_extensions *ext);
/* Queues our TestExtension RPC, pulled next after the first RPC. */
void lp2p_gs_queue_test_extension(lp2p_router *r, gs_peer *p);
/* Queues an RPC.partial (partial.c). Returns 1 when queued, 0 when a
 * full queue, the peer's budget or max_rpc_size dropped it (counted in
 * queue_drop_partial), or LP2P_ERR_NOMEM. */
int lp2p_gs_queue_partial(lp2p_router *r, gs_peer *p,
                          const lp2p_rpc_partial *pm);
/* Queues a message (takes a reference). Returns 0, LP2P_ERR_TOO_LARGE
 * when the queue's bounds or a budget refuse it (a drop, counted and
 * traced) or LP2P_ERR_NOMEM. */
int lp2p_gs_queue_msg(lp2p_router *r, gs_peer *p, gs_msg *m);
/* Room for one more message in p's queue, so that the next lp2p_gs_queue_msg
 * cannot fail for want of memory. Returns 0 or LP2P_ERR_NOMEM. */
int lp2p_gs_queue_reserve_msg(lp2p_router *r, gs_peer *p);
/* The same for `n` more (at most queue_max_messages). */
int lp2p_gs_queue_reserve_msgs(lp2p_router *r, gs_peer *p, size_t n);
ptrdiff_t lp2p_gs_queue_pull(lp2p_router *r, gs_peer *p, const uint8_t **out);
void lp2p_gs_want_write(lp2p_router *r, gs_peer *p);
void lp2p_gs_ready_unlink(lp2p_router *r, gs_peer *p);

#endif
