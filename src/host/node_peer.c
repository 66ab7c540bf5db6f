/* A peer of the node: our pubsub stream to it (negotiated newest protocol
 * first, its version given to the router) for writing, and its stream to
 * us for reading varint-framed RPCs (net/pubsub_stream.h), each checked
 * against the size limit before any byte of it is buffered. */
#include <string.h>

#include "base/mem.h"
#include "host/node_internal.h"

static size_t max_rpc(const lp2p_node *n) {
  return n->settings.max_rpc_size ? n->settings.max_rpc_size
                                  : n->settings.router.limits.max_rpc_size;
}

/* A peer may have several connections (simultaneous dials): each has its
 * node_peer, reading the RPCs of the pubsub stream the peer opens on it;
 * our own pubsub stream runs on the oldest (the host's lp2p_host_conn),
 * whose node_peer is the one the router knows. */
node_peer *lp2p__node_peer_of(const lp2p_node *n, const lp2p_peer_id *id) {
  lp2p_conn *c = lp2p_host_conn(n->host, id);
  return c ? lp2p_conn_user(c) : NULL;
}

/* The node_peer the router knows for np's peer, or NULL. */
static node_peer *router_peer(node_peer *np) {
  node_peer *first = np->added ? np : lp2p__node_peer_of(np->node, &np->id);
  return first && first->added ? first : NULL;
}

/* IPv4 mapped into IPv6, for the router's IP colocation score. */
static void peer_ip(lp2p_conn *c, uint8_t ip[16]) {
  lp2p_conn_info info;
  lp2p_conn_info_get(c, &info);
  memset(ip, 0, 16);
  size_t off = 0;
  lp2p_ma_component comp;
  if (lp2p_multiaddr_next(info.remote_addr.data, info.remote_addr.len, &off,
                          &comp, NULL) != 1) {
    return;
  }
  if (comp.code == LP2P_MA_IP4) {
    ip[10] = ip[11] = 0xff;
    memcpy(ip + 12, comp.value, 4);
  } else if (comp.code == LP2P_MA_IP6) {
    memcpy(ip, comp.value, 16);
  }
}

static bool is_direct(const lp2p_node *n, const lp2p_peer_id *id) {
  for (size_t i = 0; i < n->ndirect; i++) {
    if (lp2p_peer_id_equal(&n->direct[i].id, id)) {
      return true;
    }
  }
  return false;
}

/* Drops a connection we have no memory for: left up, its peer would stay
 * mute or out of step with us. Counted, as every such drop. */
static void drop_for_nomem(lp2p_node *n, lp2p_conn *c) {
  if (lp2p_conn_close(c) == 0) {
    n->stats.nomem_disconnects++;
  }
}

/* ---- reading ------------------------------------------------------------ */

static void reset_in(node_peer *np) {
  (void)lp2p_stream_reset(np->in);
  lp2p__pubsub_reader_reset(&np->reader);
}

/* The router had no memory for an RPC: the connection was dropped. */
#define RPC_CONN_DROPPED 1

/* Hands one RPC to the router. When the router had no memory for it, it
 * is lost, and with it what the peer told us (subscriptions, GRAFTs), so
 * the connection is dropped rather than kept out of step. */
static int deliver_rpc(const uint8_t *rpc, size_t len, void *user) {
  node_peer *np = user;
  lp2p_node *n = np->node;
  n->stats.bytes_received += len;
  node_peer *known = router_peer(np);
  if (len > 0 && known &&
      lp2p_router_recv_rpc_from(n->router, known->handle, rpc, len,
                                lp2p_host_now()) == LP2P_ERR_NOMEM) {
    reset_in(np);
    drop_for_nomem(n, np->conn);
    return RPC_CONN_DROPPED;
  }
  return 0;
}

/* Consumes a chunk read from the stream (lengths are checked against the
 * limit before any byte of an RPC is kept). Returns false once the stream
 * was reset or the connection closed. */
static bool consume(node_peer *np, const uint8_t *p, size_t len) {
  int rv = lp2p__pubsub_reader_recv(&np->reader, p, len, deliver_rpc, np);
  if (rv == 0 || rv == RPC_CONN_DROPPED) {
    return rv == 0;
  }
  np->node->stats.rpcs_oversized += rv == LP2P_ERR_TOO_LARGE;
  reset_in(np);
  return false;
}

/* The peer's bytes where the connection holds them: the codec cuts RPCs
 * out of them in place. Until the router knows the peer they wait (and
 * so does the peer's window); in_readable takes them then. */
static size_t in_data(lp2p_stream *s, const uint8_t *p, size_t len,
                      void *user) {
  node_peer *np = user;
  if (!router_peer(np)) {
    return 0;
  }
  if (consume(np, p, len) && np->in == s) {
    lp2p__node_after_router(np->node);
  }
  return len; /* taken, or the stream was reset */
}

static void in_readable(lp2p_stream *s, void *user) {
  node_peer *np = user;
  lp2p_node *n = np->node;
  if (!router_peer(np)) {
    return; /* read once the router knows the peer; the window waits */
  }
  for (;;) {
    bool eof;
    ssize_t got = lp2p_stream_read(s, n->chunk, sizeof(n->chunk), &eof);
    if (got <= 0 || !consume(np, n->chunk, (size_t)got) || np->in != s) {
      break;
    }
  }
  lp2p__node_after_router(n);
}

static void in_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)why;
  node_peer *np = user;
  if (np->in == s) {
    np->in = NULL;
    lp2p__pubsub_reader_reset(&np->reader);
  }
}

void lp2p__node_peer_stream(lp2p_stream *s, void *user) {
  static const lp2p_stream_callbacks cb = {
      .readable = in_readable, .closed = in_closed, .data = in_data};
  lp2p_node *n = user;
  node_peer *np = lp2p_conn_user(lp2p_stream_conn(s));
  if (!np || np->in) {
    n->stats.duplicate_streams += np != NULL;
    (void)lp2p_stream_reset(s); /* one reading stream per peer */
    return;
  }
  np->in = s;
  lp2p_stream_set_callbacks(s, &cb, np);
  /* we never write on the peer's stream, but must not close our side of
   * it either: go-libp2p-pubsub reads its outgoing stream and takes the
   * end of it as the peer gone */
}

/* ---- writing ------------------------------------------------------------ */

/* Our stream as the pubsub writer's sink. A write refused for want of
 * memory takes nothing now: the heartbeat retries. */
static ptrdiff_t sink_write(const uint8_t *p, size_t len, void *user) {
  node_peer *np = user;
  ssize_t w = lp2p_stream_write(np->out, p, len);
  if (w == LP2P_ERR_NOMEM) {
    np->retry = true;
    return 0;
  }
  if (w > 0) {
    np->node->stats.bytes_sent += (uint64_t)w;
  }
  return w;
}

/* An RPC written whole: SEND_RPC_COMPLETED when tracing, as go v0.19. */
static void sink_written(const uint8_t *rpc, size_t len, lp2p_tstamp since,
                         void *user) {
  node_peer *np = user;
  lp2p_node *n = np->node;
  if (n->cb.trace) {
    lp2p_tstamp now = lp2p_host_now();
    lp2p_router_trace_written(n->router, &np->id, rpc, len, now - since, now);
  }
}

void lp2p__node_peer_flush(node_peer *np) {
  lp2p_node *n = np->node;
  const lp2p__pubsub_sink sink = {sink_write, sink_written, np};
  while (np->added && np->out) {
    lp2p_tstamp now = lp2p_host_now();
    if (lp2p__pubsub_writer_flush(&np->writer, &sink, now) != 1) {
      return; /* writable follows, or the stream's close */
    }
    const uint8_t *out;
    ptrdiff_t len = lp2p_router_pull(n->router, &np->id, &out, now);
    if (len <= 0) {
      /* what could not be written out stays queued, and the router asks
       * again only once the queue was empty: the heartbeat retries */
      np->retry = len == LP2P_ERR_NOMEM;
      return;
    }
    int rv = lp2p__pubsub_writer_put(&np->writer, out, (size_t)len, &sink, now);
    if (rv == LP2P_ERR_NOMEM || rv == LP2P_ERR_TOO_LARGE) {
      /* a lost or torn RPC cannot be sent: not left connected with the
       * peer missing what it said (a GRAFT, a subscription) */
      drop_for_nomem(n, np->conn);
      return;
    }
  }
}

static void out_writable(lp2p_stream *s, void *user) {
  (void)s;
  node_peer *np = user;
  lp2p__node_peer_flush(np);
}

/* The peer does not write on our stream; whatever comes is dropped. */
static void out_readable(lp2p_stream *s, void *user) {
  node_peer *np = user;
  while (lp2p_stream_read(s, np->node->chunk, sizeof(np->node->chunk), NULL) >
         0) {
  }
}

/* Our stream is gone: the peer is dead to the router, as in go. */
static void peer_dead(node_peer *np) {
  lp2p_node *n = np->node;
  if (!np->added) {
    return;
  }
  np->added = false;
  np->handle = NULL;
  (void)lp2p_router_remove_peer(n->router, &np->id, lp2p_host_now());
  lp2p__pubsub_writer_clear(&np->writer);
  if (n->cb.peer) {
    n->cb.peer(n, &np->id, false, np->outbound, n->user);
  }
  lp2p__node_after_router(n);
}

static void out_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  node_peer *np = user;
  if (np->out == s) {
    np->out = NULL;
    lp2p__pubsub_writer_clear(&np->writer); /* a torn RPC cannot go on */
    if (why != LP2P_STREAM_END_SESSION) {
      peer_dead(np);
    } /* else its connection is ending: lp2p__node_peer_disconnected decides */
  }
}

static void add_to_router(node_peer *np, lp2p_stream *s) {
  lp2p_node *n = np->node;
  lp2p_peer_info info = {
      .proto = lp2p__pubsub_proto_of(lp2p_stream_protocol(s)),
      .outbound = np->outbound,
      .direct = is_direct(n, &np->id),
      .user = np,
      /* the router peer is removed (peer_dead) or moved to another of the
       * peer's connections (move_to) in `disconnected`, before the host
       * lets go of the peer's scope with its last connection */
      .budget = lp2p_conn_peer_budget(np->conn),
  };
  memcpy(info.ip, np->ip, 16);
  int rv = lp2p_router_add_peer(n->router, &np->id, &info, lp2p_host_now());
  if (rv == LP2P_ERR_NOMEM) {
    /* the router would never know it: not left connected and mute, as
     * when its pubsub stream cannot be opened */
    drop_for_nomem(n, np->conn);
    return;
  }
  if (rv != 0) {
    (void)lp2p_stream_reset(s);
    return;
  }
  np->added = true;
  np->handle = lp2p_router_peer_handle(n->router, &np->id);
  n->stats.streams_opened++;
  if (n->cb.peer) {
    n->cb.peer(n, &np->id, true, np->outbound, n->user);
  }
  /* it may have written, on any of its connections, before we were ready
   * to read */
  for (node_peer *p = n->peers; p; p = p->next) {
    if (p->in && lp2p_peer_id_equal(&p->id, &np->id)) {
      in_readable(p->in, p);
    }
  }
  lp2p__node_after_router(n);
}

static void on_out_open(lp2p_conn *c, lp2p_stream *s, int err, void *user) {
  static const lp2p_stream_callbacks cb = {
      .readable = out_readable, .writable = out_writable, .closed = out_closed};
  node_peer *np = user;
  np->opening = false;
  if (err != 0) {
    np->node->stats.streams_refused += err == LP2P_ERR_UNSUPPORTED;
    /* as go (handleNewPeer): a peer whose pubsub stream cannot be opened
     * is given up, and the connection kept */
    np->node->stats.streams_given_up +=
        err == LP2P_ERR_PROTOCOL || err == LP2P_ERR_TIMEOUT;
    peer_dead(np); /* when it took the peer over from a closed connection */
    if (err == LP2P_ERR_NOMEM) {
      drop_for_nomem(np->node, c); /* as open_out */
    }
    return;
  }
  np->out = s;
  lp2p_stream_set_callbacks(s, &cb, np);
  if (np->added) {
    lp2p__node_peer_flush(np); /* what the router queued meanwhile */
  } else {
    add_to_router(np, s);
  }
}

/* ---- connections -------------------------------------------------------- */

static void open_out(node_peer *np) {
  int rv = lp2p_conn_open_stream(np->conn, lp2p_pubsub_protocol_ids,
                                 LP2P_PUBSUB_NPROTOCOLS, on_out_open, np);
  if (rv == 0) {
    np->opening = true;
  } else if (rv == LP2P_ERR_NOMEM) {
    /* without our pubsub stream the peer would stay connected and never
     * hear from us: drop it, as when its node_peer cannot be allocated */
    drop_for_nomem(np->node, np->conn);
  }
}

void lp2p__node_peer_connected(lp2p_node *n, lp2p_conn *c) {
  if (n->closing) {
    return;
  }
  node_peer *np = lp2p_calloc(n->mem, 1, sizeof(*np));
  if (!np) {
    drop_for_nomem(n, c);
    return;
  }
  lp2p_conn_info info;
  lp2p_conn_info_get(c, &info);
  np->node = n;
  np->conn = c;
  np->id = info.peer_id;
  np->outbound = info.outbound;
  peer_ip(c, np->ip);
  lp2p__pubsub_reader_init(&np->reader, max_rpc(n), n->mem);
  /* the router never pulls an RPC over max_rpc_size, frame included */
  lp2p__pubsub_writer_init(
      &np->writer,
      n->settings.router.limits.max_rpc_size + LP2P_UVARINT_MAX_LEN, n->mem);
  lp2p_buf_init(&np->record, n->mem);
  np->next = n->peers;
  if (n->peers) {
    n->peers->prev = np;
  }
  n->peers = np;
  lp2p_conn_set_user(c, np);
  if (lp2p_host_conn(n->host, &np->id) == c) {
    open_out(np);
  }
}

void lp2p__node_peer_identified(lp2p_node *n, lp2p_conn *c) {
  (void)n;
  node_peer *np = lp2p_conn_user(c);
  lp2p_identify id;
  if (!np || lp2p_conn_identify(c, &id) != 0 || !id.signed_peer_record.data) {
    return;
  }
  lp2p_identify_verified v;
  if (lp2p_identify_verify(&id, &np->id, &v) != 0 || !v.has_record ||
      v.record_error != 0) {
    return; /* only records that name this peer are offered in PX */
  }
  lp2p_buf_truncate(&np->record, 0);
  (void)lp2p_buf_append(&np->record, id.signed_peer_record.data,
                        id.signed_peer_record.len);
}

/* The connection our stream ran on ended but the peer has another (the
 * oldest now, `next`): the router keeps the peer, mesh and all, and our
 * stream is reopened there, as go-libp2p-pubsub respawns its writer.
 * Removing and adding the peer instead would lose the subscriptions it
 * sent, which it has no reason to send again. */
static void move_to(node_peer *np, node_peer *next) {
  next->added = true;
  next->handle = np->handle;
  lp2p_router_peer_set_user(next->handle, next);
  np->added = false;
  np->handle = NULL;
}

void lp2p__node_peer_disconnected(lp2p_node *n, lp2p_conn *c) {
  node_peer *np = lp2p_conn_user(c);
  if (!np) {
    return;
  }
  node_peer *next = lp2p__node_peer_of(n, &np->id);
  if (next == np || n->closing) {
    next = NULL;
  }
  if (np->added && next) {
    move_to(np, next);
  } else {
    peer_dead(np);
  }
  if (next && !next->out && !next->opening) {
    open_out(next);
  }
  if (np->prev) {
    np->prev->next = np->next;
  } else {
    n->peers = np->next;
  }
  if (np->next) {
    np->next->prev = np->prev;
  }
  for (node_peer **p = &n->dirty; *p; p = &(*p)->dirty_next) {
    if (*p == np) {
      *p = np->dirty_next;
      break;
    }
  }
  lp2p__pubsub_reader_free(&np->reader);
  lp2p__pubsub_writer_free(&np->writer);
  lp2p_buf_free(&np->record);
  lp2p_conn_set_user(c, NULL);
  lp2p_free(n->mem, np);
}
