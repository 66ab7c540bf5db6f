/* The node's private structures, shared by node.c (life cycle, router
 * callbacks, the public API), node_peer.c (a peer's pubsub streams),
 * node_dial.c (PX dials) and node_metrics.c. */
#ifndef LP2P_HOST_NODE_INTERNAL_H
#define LP2P_HOST_NODE_INTERNAL_H

#include <uv.h>

#include "host/addrbook.h"
#include "lp2p/node.h"
#include "net/pubsub_stream.h"

/* Bytes read from a pubsub stream at a time; whole RPCs inside one read
 * go to the router straight from this buffer. */
#define NODE_READ_CHUNK (64u * 1024u)
#define NODE_MAX_TOPICS 64
#define NODE_MAX_DIRECT 64
/* Time between the last PRUNEs of lp2p_node_close and closing the
 * connections. */
#define NODE_CLOSE_LINGER_MS 200

typedef struct node_peer {
  lp2p_node *node;
  lp2p_conn *conn;
  lp2p_peer_id id;
  struct node_peer *prev, *next;
  struct node_peer *dirty_next;
  bool dirty; /* the router has bytes for it */
  /* an RPC could not be pulled or written for want of memory: the
   * heartbeat flushes it again */
  bool retry;
  bool outbound;
  bool opening;     /* our stream is being negotiated */
  bool added;       /* the router knows it */
  lp2p_stream *out; /* ours, for writing */
  lp2p_stream *in;  /* the peer's, for reading */
  lp2p_router_peer *handle;
  uint8_t ip[16];
  /* Reading: the RPCs of the peer's stream, split anywhere. */
  lp2p__pubsub_reader reader;
  /* Writing: the RPC our stream did not take at once (at most one: the
   * next is pulled once it is all written). */
  lp2p__pubsub_writer writer;
  /* The peer's signed peer record from identify, offered in PX. */
  lp2p_buf record;
} node_peer;

/* A PX dial of one peer's addresses (node_dial.c). */
typedef struct px_dial px_dial;

typedef struct node_direct {
  lp2p_peer_id id;
  lp2p_buf addr; /* binary multiaddr with /p2p/ID */
} node_direct;

/* Which peers and topics the score metrics show
 * (lp2p_node_set_score_metrics). */
typedef struct lp2p__score_metrics {
  size_t top_n;
  char *topics[LP2P_NODE_MAX_METRICS_TOPICS]; /* NUL-terminated copies */
  size_t ntopics;
} lp2p__score_metrics;

struct lp2p_node {
  uv_loop_t *loop;
  lp2p_host *host;
  lp2p_router *router;
  lp2p_node_settings settings;
  /* the router's budget (settings.router.budget), under the host's */
  lp2p_budget router_budget;
  lp2p_node_callbacks cb;
  int64_t unix_offset_ns; /* Unix time minus the host's clock (tracing) */
  const lp2p_mem *mem;
  void *user;
  uv_timer_t timer;
  lp2p_tstamp timer_due; /* the router deadline `timer` is armed for */
  node_peer *peers;
  node_peer *dirty;
  char *topics[NODE_MAX_TOPICS]; /* joined, NUL-terminated copies */
  size_t topic_lens[NODE_MAX_TOPICS];
  size_t ntopics;
  node_direct direct[NODE_MAX_DIRECT];
  size_t ndirect;
  lp2p_node_stats stats;
  /* where to dial PX peers named without a signed record */
  lp2p__addrbook addrbook;
  /* PX dials under way, each with a dial in flight (so at most the
   * host's max_pending_dials), and the timer of their next dials */
  px_dial *px_dials;
  uv_timer_t dial_timer;
  lp2p__score_metrics score_metrics;
  bool closing;
  void (*done)(void *user);
  void *done_user;
  uint8_t chunk[NODE_READ_CHUNK];
};

/* ---- node.c ---- */
/* After every call into the router: write what it queued, rearm the
 * heartbeat timer. */
void lp2p__node_after_router(lp2p_node *n);

/* ---- node_peer.c ---- */
/* A new connection: opens our pubsub stream. */
void lp2p__node_peer_connected(lp2p_node *n, lp2p_conn *c);
/* The connection ended (its streams already closed). */
void lp2p__node_peer_disconnected(lp2p_node *n, lp2p_conn *c);
/* Stores the peer's signed peer record from identify. */
void lp2p__node_peer_identified(lp2p_node *n, lp2p_conn *c);
/* Inbound pubsub streams, for every protocol id. */
void lp2p__node_peer_stream(lp2p_stream *s, void *user);
/* Writes what the router has for the peer, as far as the stream takes. */
void lp2p__node_peer_flush(node_peer *np);
node_peer *lp2p__node_peer_of(const lp2p_node *n, const lp2p_peer_id *id);

/* ---- node_dial.c ---- */
/* Dials `peer` at the addresses of its signed peer record `record`. */
void lp2p__node_dial_record(lp2p_node *n, const lp2p_peer_id *peer,
                            const uint8_t *record, size_t len);
/* Dials `peer` at the addresses the book has for it. Returns whether a
 * dial started. */
bool lp2p__node_dial_from_book(lp2p_node *n, const lp2p_peer_id *peer);
/* The node is closing: cancels the PX dials and closes their timer. */
void lp2p__node_dials_close(lp2p_node *n);

/* ---- node_metrics.c ---- */
/* Appends the score series `m` chooses for the router's connected peers
 * to `out`. Returns 0 or LP2P_ERR_NOMEM. */
int lp2p__score_metrics_write(lp2p_router *r, const lp2p__score_metrics *m,
                              lp2p_buf *out);
/* Frees the topic names of `m`. */
void lp2p__score_metrics_free(lp2p__score_metrics *m, const lp2p_mem *mem);

#endif
