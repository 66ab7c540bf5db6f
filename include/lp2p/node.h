/*
 * lp2p: the GossipSub node, the router wired to the host.
 *
 * Every connection the host makes or accepts gets a pubsub stream of ours
 * for writing, negotiated from /meshsub/1.2.0, /meshsub/1.1.0,
 * /meshsub/1.0.0 and /floodsub/1.0.0 in that order, and the peer's stream
 * for reading; the version agreed on our stream is the one the router
 * uses with the peer. RPCs travel varint-framed, their size checked
 * before they are buffered. The router's requests become host actions:
 * PX and direct peers are dialed, graylisted peers disconnected, and the
 * signed peer records learnt through identify are offered in PX. PX
 * entries without a record are dialed at the addresses a bounded address
 * book keeps of peers met before (identify, our dials), as go dials from
 * its peerstore.
 *
 * Same threading and callback rules as lp2p/host.h: one libuv loop, and
 * no callback runs inside the call that caused it.
 */
#ifndef LP2P_NODE_H
#define LP2P_NODE_H

#include "lp2p/gossipsub.h"
#include "lp2p/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A node: a host and a router on one libuv loop. */
typedef struct lp2p_node lp2p_node;

/* Everything a node is created with; lp2p_node_settings_default. */
typedef struct lp2p_node_settings {
  /* The host's settings; host.key is required and also signs messages. */
  lp2p_host_settings host;
  /* The router's; its key, rand_fn and budget are set by lp2p_node_new. */
  lp2p_router_settings router;
  /* The memory budget of the message bodies the router queues for peers
   * (lp2p_router_settings.budget), charged once however many peers'
   * queues hold one, a scope under the host's max_memory beside the
   * peers': the queues of peers that stop reading can take this much, and
   * never the whole host's budget that streams need. 0 (the default):
   * half of host.max_memory. */
  uint64_t max_router_memory;
  /* Largest RPC read from a peer; a larger one resets its stream. 0:
   * router.limits.max_rpc_size. */
  size_t max_rpc_size;
  /* How long lp2p_node_close gives the peers to read our last PRUNEs
   * before the connections close; 0 closes at once. */
  lp2p_tstamp close_linger;
} lp2p_node_settings;

/* The host's and router's defaults (scoring off, StrictSign), a close
 * linger of 200 ms. */
LP2P_API void lp2p_node_settings_default(lp2p_node_settings *s);

/* How the node reaches the application; `message` is the one most need. */
typedef struct lp2p_node_callbacks {
  /* A message from another peer passed validation on a topic we joined
   * (our own publications are not delivered back). */
  void (*message)(lp2p_node *n, const lp2p_message *msg, void *user);
  /* Optional application validation; NULL accepts everything. May return
   * LP2P_VALIDATION_PENDING and answer later with
   * lp2p_router_report_validation on lp2p_node_router. */
  lp2p_validation (*validate)(lp2p_node *n, const lp2p_message *msg,
                              void *user);
  /* A peer's pubsub stream is up (`up`), or it went away. */
  void (*peer)(lp2p_node *n, const lp2p_peer_id *peer, bool up, bool outbound,
               void *user);
  /* Subscriptions, GRAFT and PRUNE seen by the router. */
  void (*router_event)(lp2p_node *n, const lp2p_router_event *ev, void *user);
  /* Required when router.msg_id is LP2P_MSG_ID_CALLBACK: the id of `msg`,
   * as the router's msg_id callback. */
  int (*msg_id)(lp2p_node *n, const lp2p_message *msg, uint8_t *out, size_t cap,
                void *user);
  /* Optional tracing: every copy of a message received, duplicates
   * included (the router's `received`). */
  void (*received)(lp2p_node *n, const lp2p_message *msg, void *user);
  /* Optional: the router's trace events in go-libp2p-pubsub's format
   * (the router's `trace`), time stamped in nanoseconds since the Unix
   * epoch as go's are. NULL costs nothing. */
  void (*trace)(lp2p_node *n, const lp2p_trace_event *ev, void *user);
  /* Optional, partial messages (router.extensions.partial_messages): the
   * router's `partial` and `partial_gossip` callbacks. Answer with
   * lp2p_router_publish_partial on lp2p_node_router; the node writes
   * what that queues when the callback returns. */
  void (*partial)(lp2p_node *n, const lp2p_partial_rpc *pm, void *user);
  void (*partial_gossip)(lp2p_node *n, lp2p_bytes topic, lp2p_bytes group,
                         const lp2p_peer_id *peers, size_t npeers, void *user);
} lp2p_node_callbacks;

/* Creates a node on `loop`. Returns 0, LP2P_ERR_INVALID_ARG (bad host or
 * router settings; `err` says which) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_node_new(lp2p_node **out, struct uv_loop_s *loop,
                           const lp2p_node_settings *s,
                           const lp2p_node_callbacks *cb, const lp2p_mem *mem,
                           void *user, lp2p_errdetail *err);
/* lp2p_node_new with lp2p_node_settings_default's settings, `key` as
 * host.key, and libc's allocator: for bindings (ctypes, other FFIs) that
 * cannot lay out lp2p_node_settings. `key` is copied. Returns 0,
 * LP2P_ERR_INVALID_ARG (no key, or one that cannot sign; `err` says
 * which) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_node_new_with_key(lp2p_node **out, struct uv_loop_s *loop,
                                    const lp2p_privkey *key,
                                    const lp2p_node_callbacks *cb, void *user,
                                    lp2p_errdetail *err);
/* Leaves every topic (PRUNE with backoff to mesh peers), flushes what is
 * queued, waits close_linger for the peers to read it, closes every connection
 * and frees the node; `done` (may be NULL)
 * runs once everything is released. Returns 0 or LP2P_ERR_STATE. */
LP2P_API int lp2p_node_close(lp2p_node *n, void (*done)(void *user),
                             void *user);

/* The node's host, for connections, handlers and their counters. */
LP2P_API lp2p_host *lp2p_node_host(const lp2p_node *n);
/* The router, for the calls the node does not wrap (statistics, scores,
 * topic parameters, validation results). Calls that make the router send
 * must be followed by lp2p_node_flush. */
LP2P_API lp2p_router *lp2p_node_router(const lp2p_node *n);
/* Writes what the router queued after a direct call to it. */
LP2P_API void lp2p_node_flush(lp2p_node *n);

/* Dials a peer (binary multiaddr with /p2p/ID, or without to accept
 * anyone); pubsub starts once connected. Returns 0 or an lp2p_host_dial
 * error; a failure later is only logged in the node's counters. */
LP2P_API int lp2p_node_connect(lp2p_node *n, const uint8_t *ma, size_t len,
                               lp2p_errdetail *err);
/* Like lp2p_node_connect, and the peer becomes a direct peer: never in a
 * mesh, always sent our messages, redialed while disconnected. The
 * multiaddr must end in /p2p/ID. */
LP2P_API int lp2p_node_add_direct(lp2p_node *n, const uint8_t *ma, size_t len,
                                  lp2p_errdetail *err);

/* Joins a topic (lp2p_router_join). Returns 0 (also when joined
 * already), LP2P_ERR_TOO_LARGE (64 topics joined), a join error or
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_node_subscribe(lp2p_node *n, const uint8_t *topic,
                                 size_t len);
/* Leaves a topic (lp2p_router_leave). Returns 0 or LP2P_ERR_NOT_FOUND
 * (not joined). */
LP2P_API int lp2p_node_unsubscribe(lp2p_node *n, const uint8_t *topic,
                                   size_t len);
/* lp2p_router_publish, then the writes. Same returns. */
LP2P_API int lp2p_node_publish(lp2p_node *n, const uint8_t *topic,
                               size_t topic_len, const uint8_t *data,
                               size_t len, uint8_t *id, size_t *id_len);

/* lp2p_router_publish_batch, then the writes. Same returns. */
LP2P_API int lp2p_node_publish_batch(lp2p_node *n, const lp2p_batch_msg *msgs,
                                     size_t count, lp2p_batch_order order,
                                     int *results);

/* The node's own counters (the router's and host's have theirs). */
typedef struct lp2p_node_stats {
  uint64_t pubsub_peers;    /* peers the router knows now */
  uint64_t streams_opened;  /* our pubsub streams negotiated */
  uint64_t streams_refused; /* peers that speak no pubsub protocol */
  /* our pubsub streams the peer reset (it may have had no memory for
   * them) or that timed out while being opened: the peer stays connected
   * without pubsub, as go gives up a peer whose stream it cannot open */
  uint64_t streams_given_up;
  uint64_t duplicate_streams; /* second inbound pubsub streams, reset */
  uint64_t rpcs_oversized;    /* framed RPCs over max_rpc_size: reset */
  uint64_t bytes_received, bytes_sent; /* RPC bytes on pubsub streams */
  uint64_t dials, dials_failed;        /* connect requests and failures */
  /* PX entries without a signed peer record (rust-libp2p sends none) for
   * peers the address book has no address of: ignored, as go's connect
   * finds nothing in its peerstore. */
  uint64_t px_unknown_addr;
  /* connections dropped because the node or its host had no memory for
   * them (the peer's state, its pubsub stream, an RPC to or from it):
   * kept, the peer would have stayed mute or out of step */
  uint64_t nomem_disconnects;
  /* PX entries without a record dialed at an address from the book */
  uint64_t px_dialed_from_book;
  /* The address book: the listen addresses peers report through identify
   * (filtered as go's identify) and the addresses of connections we made,
   * for dialing record-less PX entries. At most 1,024 peers (the least
   * recently used evicted), 8 addresses a peer (the soonest to expire
   * replaced), each kept an hour after it was last seen, as go's
   * AddressTTL. `addrbook_peers` is a gauge. */
  uint64_t addrbook_peers;
  uint64_t addrbook_peers_evicted;
  uint64_t addrbook_addrs_replaced;
  uint64_t addrbook_addrs_rejected; /* not dialable (not ip4|ip6/tcp...) */
  uint64_t addrbook_addrs_expired;
  /* PX dials: a peer's addresses are dialled as go's swarm dials them
   * (QUIC first, TCP 30 ms later for private addresses, 250 ms for
   * public ones, the next address at once when a dial fails); once one
   * connects, the others are cancelled (counted here). Addresses of one
   * PX entry past LP2P_DIAL_PLAN_MAX (16) are dropped (counted). */
  uint64_t dials_cancelled;
  uint64_t px_addrs_dropped;
} lp2p_node_stats;

/* Fills `st` as of now. */
LP2P_API void lp2p_node_get_stats(const lp2p_node *n, lp2p_node_stats *st);

/* Appends the node's metrics in the Prometheus text format (version
 * 0.0.4): router counters, per-topic mesh / fanout / peer gauges, the
 * peer score histogram, connections and streams. Names follow
 * go-libp2p-pubsub's and nim-libp2p's. Returns 0 or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_node_metrics(lp2p_node *n, lp2p_buf *out);

/* Most peers ranked at each end, and most topics, that
 * lp2p_node_set_score_metrics takes. */
#define LP2P_NODE_MAX_METRICS_PEERS 256
#define LP2P_NODE_MAX_METRICS_TOPICS 16

/* Chooses the score series lp2p_node_metrics adds while scoring is on,
 * whose label sets must stay bounded however many peers come and go:
 * libp2p_gossipsub_peer_score{peer} and
 * libp2p_gossipsub_peer_score_component{peer,component} (topics_sum,
 * topics after TopicScoreCap, p5, p6, p7) for the `top_n` highest and
 * the `top_n` lowest scored connected peers (2 x top_n series at most;
 * 5 by default, 0 for none), and
 * libp2p_gossipsub_peer_topic_score_component{peer,topic,component} (p1,
 * p2, p3, p3b, p4, weighted) for those peers in the `ntopics` `topics`
 * only (none by default). The names are copied. Returns 0,
 * LP2P_ERR_INVALID_ARG (top_n or ntopics over its bound, an empty name)
 * or LP2P_ERR_NOMEM (the previous choice then stays). */
LP2P_API int lp2p_node_set_score_metrics(lp2p_node *n, size_t top_n,
                                         const char *const *topics,
                                         size_t ntopics);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_NODE_H */
