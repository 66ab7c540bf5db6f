/* The byte-level simulator (lp2p sim --wire): every link is a pair of
 * lp2p_sessions, one per end, the dialler the initiator. What a session
 * pulls crosses the link as an EV_WIRE event, after the sender's uplink
 * and the link's latency; what arrives goes into the other session. On
 * `established` each end opens its /meshsub/1.2.0 stream and adds the
 * other to its router; the peer's stream is read through the pubsub
 * codec into lp2p_router_recv_rpc_from, and what the router pulls is
 * written to our stream. Noise draws its keys from the node's PCG, and
 * every session deadline is an event of the simulator's heap: a run is
 * as deterministic as the RPC level. */
#include <string.h>

#include "base/mem.h"
#include "lp2p/noise.h"
#include "lp2p/session.h"
#include "net/pubsub_stream.h"
#include "sim/model.h"
#include "sim/sim_internal.h"

/* Framed RPCs our stream has not taken yet (its window is full, or it is
 * still being negotiated) are held up to this; past it they are dropped
 * and counted as a wire failure. */
#define WIRE_MAX_BACKLOG (8u << 20)

/* A lost chunk is resent after Linux's minimum retransmission timeout,
 * and what follows it on the connection waits for it (TCP keeps order). */
#define WIRE_RTO (200 * LP2P_MILLISECONDS)

static const char *const meshsub[] = {"/meshsub/1.2.0"};

/* One end of a link. */
typedef struct sim_wire {
  sim_entry timer; /* the session's next deadline (first: cast from it) */
  sim *s;
  sim_node *n;           /* this end's node */
  struct sim_wire *peer; /* the other end */
  uint32_t link;         /* its number at n */
  bool initiator;
  bool out_open; /* our stream is negotiated */
  bool has_out, has_in, failed;
  lp2p_session *sess;
  lp2p_router_peer *handle; /* the other end, in n's router */
  uint64_t out_id, in_id;
  lp2p__pubsub_reader in;   /* the peer's stream */
  lp2p__pubsub_writer out;  /* framed RPCs our stream has not taken */
  lp2p_tstamp last_arrival; /* of our bytes at the other end */
} sim_wire;

static sim_wire *wire_of(sim_node *n, uint32_t link) {
  return n->wires[link];
}

/* ---- the link ---------------------------------------------------------- */

/* Sends session bytes: they take n's uplink after what it already
 * carries, then the link's latency, and arrive in order. */
static void send_bytes(sim_wire *w, const uint8_t *p, size_t len) {
  sim *s = w->s;
  sim_node *n = w->n;
  const sim_link *l = &n->links[w->link];
  lp2p_tstamp busy =
      n->uplink_bps ? (lp2p_tstamp)len * 8 * LP2P_SECONDS / n->uplink_bps : 0;
  n->uplink_free = (n->uplink_free > s->now ? n->uplink_free : s->now) + busy;
  s->res->bytes_sent += len;
  lp2p_tstamp at =
      n->uplink_free + lp2p_sim_model_latency(s->c, n->region, l->region);
  if (s->c->loss > 0 && lp2p_pcg_double(&s->rng) < s->c->loss) {
    s->res->rpcs_lost++;
    at += WIRE_RTO;
  }
  /* strictly later than the previous chunk: the heap does not keep the
   * order of equal keys */
  at = at > w->last_arrival ? at : w->last_arrival + 1;
  w->last_arrival = at;
  sim_event *ev = lp2p__sim_event_new(s, len);
  if (!ev) {
    return;
  }
  ev->h.kind = EV_WIRE;
  ev->to = l->node;
  ev->from = n->index;
  ev->wire = w->peer;
  memcpy(ev->bytes, p, len);
  lp2p__sim_event_at(s, ev, at);
}

/* Sends what the session has, and re-arms its deadline. */
static void flush(sim_wire *w) {
  sim *s = w->s;
  const uint8_t *out;
  ssize_t k;
  while (!s->err && (k = lp2p_session_pull(w->sess, &out, s->now)) > 0) {
    send_bytes(w, out, (size_t)k);
  }
  lp2p_tstamp t = lp2p_session_expiry(w->sess);
  if (lp2p_heap_contains(&w->timer.item)) {
    if (t != w->timer.item.key) {
      lp2p_heap_update(&s->heap, &w->timer.item, t);
    }
  } else if (t != LP2P_TSTAMP_NEVER) {
    lp2p__sim_push(s, &w->timer, t);
  }
}

static void wire_failure(sim_wire *w) {
  w->s->res->wire_failures++;
}

/* ---- our stream -------------------------------------------------------- */

/* Our stream as the pubsub writer's sink: nothing taken before it is
 * negotiated. */
static ptrdiff_t sink_write(const uint8_t *p, size_t len, void *user) {
  sim_wire *w = user;
  if (!w->out_open) {
    return 0;
  }
  ptrdiff_t k = lp2p_session_stream_write(w->sess, w->out_id, p, len);
  if (k < 0) {
    w->out_open = false; /* reset under us: stream_reset counts it */
  }
  return k;
}

/* Writes held RPC bytes while the stream takes them. */
static void write_rest(sim_wire *w) {
  const lp2p__pubsub_sink sink = {sink_write, NULL, w};
  (void)lp2p__pubsub_writer_flush(&w->out, &sink, w->s->now);
}

void lp2p__sim_wire_send_rpc(sim *s, sim_node *n, uint32_t link,
                             const uint8_t *rpc, size_t len) {
  sim_wire *w = wire_of(n, link);
  if (w->failed) {
    return;
  }
  const lp2p__pubsub_sink sink = {sink_write, NULL, w};
  int rv = lp2p__pubsub_writer_put(&w->out, rpc, len, &sink, s->now);
  if (rv == LP2P_ERR_TOO_LARGE) {
    wire_failure(w); /* a backlog past WIRE_MAX_BACKLOG */
  } else if (rv == LP2P_ERR_NOMEM) {
    s->err = LP2P_ERR_NOMEM;
  }
  flush(w);
}

/* ---- session callbacks --------------------------------------------------- */

/* The node behind a session must be the one its link leads to: the
 * dialler's Noise checks it, the listener's is checked here. */
static bool is_linked_peer(const sim_wire *w, const lp2p_peer_id *remote) {
  const sim_node *m = &w->s->nodes[w->n->links[w->link].node];
  return lp2p_peer_id_equal(&m->id, remote);
}

static void on_established(lp2p_session *sess, const lp2p_peer_id *remote,
                           const char *muxer, bool early, void *user) {
  sim_wire *w = user;
  sim *s = w->s;
  (void)muxer;
  (void)early;
  if (!is_linked_peer(w, remote) ||
      lp2p_session_open_stream(sess, meshsub, 1, w, &w->out_id) != 0) {
    wire_failure(w);
    return;
  }
  w->has_out = true;
  s->res->sessions_established++;
  lp2p__sim_trace(s, 'E', w->n->index, w->n->links[w->link].node, 0);
  lp2p_peer_info info = {LP2P_MESHSUB_12,
                         w->initiator,
                         false,
                         {0},
                         (void *)(uintptr_t)(w->link + 1),
                         NULL};
  int rv = lp2p_router_add_peer(w->n->r, remote, &info, s->now);
  if (rv != 0) {
    s->err = rv;
    return;
  }
  w->handle = lp2p_router_peer_handle(w->n->r, remote);
}

static void on_closed(lp2p_session *sess, int err, const char *msg,
                      void *user) {
  sim_wire *w = user;
  (void)sess;
  (void)err;
  (void)msg;
  w->failed = true;
  w->out_open = false;
  wire_failure(w);
  if (w->handle) {
    /* as the node: the peer is dead to the router with its connection */
    (void)lp2p_router_remove_peer(
        w->n->r, &w->s->nodes[w->n->links[w->link].node].id, w->s->now);
    w->handle = NULL;
  }
}

static void on_stream_opened(lp2p_session *sess, uint64_t id, const char *proto,
                             bool inbound, void **stream_user, void *user) {
  sim_wire *w = user;
  (void)proto;
  (void)stream_user;
  if (!inbound) {
    w->out_open = true;
    write_rest(w); /* what the router queued while we negotiated */
    return;
  }
  if (w->has_in) {
    /* one reading stream per peer, as the node */
    (void)lp2p_session_stream_reset(sess, id);
    wire_failure(w);
    return;
  }
  w->has_in = true;
  w->in_id = id;
  lp2p__pubsub_reader_reset(&w->in);
}

static int deliver(const uint8_t *rpc, size_t len, void *user) {
  sim_wire *w = user;
  sim *s = w->s;
  lp2p__sim_trace(s, 'R', w->n->index, w->n->links[w->link].node, len);
  return lp2p_router_recv_rpc_from(w->n->r, w->handle, rpc, len, s->now);
}

static void on_stream_data(lp2p_session *sess, uint64_t id, void *stream_user,
                           const uint8_t *data, size_t len, void *user) {
  sim_wire *w = user;
  (void)stream_user;
  if (!w->has_in || id != w->in_id || !w->handle) {
    /* the peer writes nothing on our stream: dropped */
    (void)lp2p_session_stream_consume(sess, id, len);
    return;
  }
  int rv = lp2p__pubsub_reader_recv(&w->in, data, len, deliver, w);
  if (rv == LP2P_ERR_NOMEM) {
    w->s->err = rv;
  } else if (rv != 0) {
    /* an oversized or malformed length: reset, as the node does */
    (void)lp2p_session_stream_reset(sess, id);
    w->has_in = false;
    wire_failure(w);
    return;
  }
  (void)lp2p_session_stream_consume(sess, id, len); /* all of it was read */
}

static void on_stream_writable(lp2p_session *sess, uint64_t id,
                               void *stream_user, void *user) {
  sim_wire *w = user;
  (void)sess;
  (void)stream_user;
  if (w->has_out && id == w->out_id) {
    write_rest(w);
  }
}

static void stream_gone(sim_wire *w, uint64_t id) {
  if (w->has_in && id == w->in_id) {
    w->has_in = false;
  } else if (w->has_out && id == w->out_id) {
    w->has_out = w->out_open = false;
  }
}

static void on_stream_closed(lp2p_session *sess, uint64_t id, void *stream_user,
                             void *user) {
  (void)sess;
  (void)stream_user;
  stream_gone(user, id);
}

static void on_stream_reset(lp2p_session *sess, uint64_t id, void *stream_user,
                            int err, void *user) {
  sim_wire *w = user;
  (void)sess;
  (void)stream_user;
  (void)err;
  if ((w->has_in && id == w->in_id) || (w->has_out && id == w->out_id)) {
    wire_failure(w);
  }
  stream_gone(w, id);
}

static const lp2p_session_callbacks wire_cb = {
    .established = on_established,
    .closed = on_closed,
    .stream_opened = on_stream_opened,
    .stream_data = on_stream_data,
    .stream_writable = on_stream_writable,
    .stream_closed = on_stream_closed,
    .stream_reset = on_stream_reset,
};

/* ---- ends ---------------------------------------------------------------- */

static sim_wire *new_end(sim *s, sim_node *n, uint32_t link, bool initiator) {
  const lp2p_mem *mem = lp2p__sim_arena_mem(&s->arena);
  sim_wire *w = lp2p_calloc(mem, 1, sizeof(*w));
  if (!w) {
    return NULL;
  }
  w->s = s;
  w->n = n;
  w->link = link;
  w->initiator = initiator;
  w->timer.kind = EV_SESSION;
  lp2p_heap_item_init(&w->timer.item);
  lp2p_router_settings rs; /* the routers' limits: make_router's defaults */
  lp2p_router_settings_default(&rs);
  lp2p__pubsub_reader_init(&w->in, rs.limits.max_rpc_size, mem);
  lp2p__pubsub_writer_init(&w->out, WIRE_MAX_BACKLOG, mem);
  lp2p_session_settings set;
  lp2p_session_settings_default(&set);
  static const char *const noise_only[] = {LP2P_NOISE_PROTOCOL_ID};
  set.security = noise_only; /* no wall clock here for TLS certificates */
  set.nsecurity = 1;
  set.protocols = meshsub;
  set.nprotocols = 1;
  set.rand_fn = lp2p__sim_node_rand;
  set.rand_user = n;
  if (initiator) {
    set.remote_peer_id = &s->nodes[n->links[link].node].id;
  }
  n->wires[link] = w;
  if (lp2p_session_new(&w->sess, &set, &n->key, initiator, &wire_cb, mem, w,
                       s->now) != 0) {
    return NULL; /* freed with the node */
  }
  return w;
}

int lp2p__sim_wire_connect(sim *s, sim_node *a, uint32_t ka, sim_node *b,
                           uint32_t kb) {
  sim_wire *wa = new_end(s, a, ka, true), *wb = new_end(s, b, kb, false);
  if (!wa || !wb) {
    return LP2P_ERR_NOMEM;
  }
  wa->peer = wb;
  wb->peer = wa;
  flush(wa); /* the dialler speaks first */
  return s->err;
}

void lp2p__sim_wire_arrive(sim *s, sim_event *ev) {
  sim_wire *w = ev->wire;
  lp2p__sim_trace(s, 'W', ev->to, ev->from, ev->len);
  if (w->failed) {
    return;
  }
  (void)lp2p_session_recv(w->sess, ev->bytes, ev->len, s->now);
  flush(w);
}

sim_node *lp2p__sim_wire_expire(sim *s, sim_entry *e) {
  sim_wire *w = (sim_wire *)e;
  lp2p__sim_trace(s, 'S', w->n->index, w->n->links[w->link].node, 0);
  (void)lp2p_session_handle_expiry(w->sess, s->now);
  flush(w);
  return w->n;
}

void lp2p__sim_wire_free(sim *s, sim_node *n) {
  const lp2p_mem *mem = lp2p__sim_arena_mem(&s->arena);
  for (uint32_t i = 0; n->wires && i < n->nlinks; i++) {
    sim_wire *w = n->wires[i];
    if (w) {
      lp2p_session_del(w->sess);
      lp2p__pubsub_reader_free(&w->in);
      lp2p__pubsub_writer_free(&w->out);
      lp2p_free(mem, w);
    }
  }
}
