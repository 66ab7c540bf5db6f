/* The simulator's engine: nodes, each an lp2p router, connected by
 * simulated links; one event heap of RPC arrivals, publishes and router
 * timers; one virtual clock. Nothing here reads a clock or a random
 * source: randomness is PCG streams from the configured seed. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "net/pubsub_stream.h"
#include "pb/wire.h"
#include "sim/model.h"
#include "sim/sim_internal.h"

void lp2p__sim_node_rand(uint8_t *dest, size_t len, void *user) {
  sim_node *n = user;
  for (size_t i = 0; i < len; i++) {
    dest[i] = (uint8_t)lp2p_pcg_u32(&n->rng);
  }
}

#define TRACE_REC (8 + 1 + 4 + 4 + 8)

static void trace(sim *s, uint8_t kind, uint32_t a, uint32_t b, size_t len) {
  uint64_t t = s->now, l = len;
  if (s->trace_len + TRACE_REC > sizeof(s->trace_buf)) {
    crypto_generichash_update(&s->trace, s->trace_buf, s->trace_len);
    s->trace_len = 0;
  }
  uint8_t *rec = s->trace_buf + s->trace_len;
  memcpy(rec, &t, 8);
  rec[8] = kind;
  memcpy(rec + 9, &a, 4);
  memcpy(rec + 13, &b, 4);
  memcpy(rec + 17, &l, 8);
  s->trace_len += TRACE_REC;
}

void lp2p__sim_trace(sim *s, uint8_t kind, uint32_t a, uint32_t b, size_t len) {
  trace(s, kind, a, b, len);
}

static uint64_t message_index(const lp2p_message *m) {
  uint64_t k = 0;
  for (size_t i = 0; i < 8 && i < m->data.len; i++) {
    k = k << 8 | m->data.data[i];
  }
  return k;
}

void lp2p__sim_delivered(sim *s, const sim_node *n, uint64_t k, size_t len) {
  uint64_t latency = s->now - s->published[k];
  uint64_t bucket = (s->published[k] - s->c->warmup) / s->res->bucket_len;
  s->bucketed[s->res->delivered] = bucket << 48 | latency;
  s->latencies[s->res->delivered++] = latency;
  if (++s->msg_delivered[k] == s->c->copies && s->reached) {
    s->reached[k] = s->now;
  }
  s->res->trace_node_delivered += n->index == s->c->trace_node;
  if (n->index == 0) {
    s->target_latencies[s->target_delivered++] = latency;
  }
  trace(s, 'D', n->index, (uint32_t)k, len);
}

static void on_deliver(lp2p_router *r, const lp2p_message *m, void *user) {
  sim_node *n = user;
  sim *s = n->s;
  uint64_t k = message_index(m);
  (void)r;
  if (!m->received_from || k >= s->c->messages || n->attacker) {
    return; /* ours, not a message of this run, or at an attacker */
  }
  uint8_t *dup = &s->duplicates[(size_t)n->index * s->c->messages + k];
  if (*dup != 0 && *dup != UINT8_MAX) {
    (*dup)--; /* the first copy is no duplicate */
  }
  lp2p__sim_delivered(s, n, k, m->data.len);
}

/* Every copy a peer sent an honest node, counted per node and message
 * (on_deliver takes the first back) for the duplicates histogram; not a
 * copy of a signed message of ours, which the router rejects rather than
 * counts as a duplicate. */
static void on_received(lp2p_router *r, const lp2p_message *m, void *user) {
  const sim_node *n = user;
  sim *s = n->s;
  uint64_t k = message_index(m);
  (void)r;
  if (k >= s->c->messages || n->attacker ||
      (m->from.len == n->id.len &&
       memcmp(m->from.data, n->id.bytes, n->id.len) == 0)) {
    return;
  }
  uint8_t *dup = &s->duplicates[(size_t)n->index * s->c->messages + k];
  if (*dup != UINT8_MAX) {
    (*dup)++;
  }
}

/* Messages carry their index in their first 8 bytes: that is their id
 * when unsigned, as in the gossipsub interop harness. */
static int on_msg_id(lp2p_router *r, const lp2p_message *m, uint8_t *out,
                     size_t cap, void *user) {
  (void)r;
  (void)user;
  if (m->data.len < 8 || cap < 8) {
    return -1;
  }
  memcpy(out, m->data.data, 8);
  return 8;
}

static int on_verify(lp2p_router *r, const lp2p_pubkey *author,
                     const uint8_t *data, size_t len, const uint8_t *sig,
                     size_t sig_len, void *user) {
  sim_node *n = user;
  (void)r;
  return lp2p__sim_sigcache_verify(&n->s->sigs, author, data, len, sig,
                                   sig_len);
}

/* ---- RPCs in flight ------------------------------------------------------ */

#define RPC_ARITY 4

static int rpcs_push(sim_rpcs *q, lp2p_tstamp at, sim_event *ev) {
  if (q->len == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 1024;
    sim_rpc_slot *slots =
        lp2p_reallocarray(q->mem, q->slots, cap, sizeof(*slots));
    if (!slots) {
      return LP2P_ERR_NOMEM;
    }
    q->slots = slots;
    q->cap = cap;
  }
  size_t i = q->len++;
  while (i > 0) {
    size_t parent = (i - 1) / RPC_ARITY;
    if (q->slots[parent].at <= at) {
      break;
    }
    q->slots[i] = q->slots[parent];
    i = parent;
  }
  q->slots[i] = (sim_rpc_slot){at, ev};
  return 0;
}

static sim_event *rpcs_pop(sim_rpcs *q) {
  if (q->len == 0) {
    return NULL;
  }
  sim_event *top = q->slots[0].ev;
  sim_rpc_slot last = q->slots[--q->len];
  size_t i = 0;
  for (;;) {
    size_t first = RPC_ARITY * i + 1, child = first;
    if (first >= q->len) {
      break;
    }
    for (size_t c = first + 1; c < first + RPC_ARITY && c < q->len; c++) {
      if (q->slots[c].at < q->slots[child].at) {
        child = c;
      }
    }
    if (last.at <= q->slots[child].at) {
      break;
    }
    q->slots[i] = q->slots[child];
    i = child;
  }
  if (q->len > 0) {
    q->slots[i] = last;
  }
  return top;
}

/* ---- events ------------------------------------------------------------ */

int lp2p__sim_push(sim *s, sim_entry *e, lp2p_tstamp at) {
  e->item.key = at;
  if (lp2p_heap_push(&s->heap, &e->item) != 0) {
    return s->err = LP2P_ERR_NOMEM;
  }
  return 0;
}

/* Events come from spares by size class, 256 bytes apart, up to 4 KiB;
 * new ones and larger ones from the arena. */
#define EVENT_STEP 256
#define EVENT_CLASSES 16

static size_t event_class(size_t len) {
  return len / EVENT_STEP; /* holds up to (class + 1) * EVENT_STEP - 1 */
}

static sim_event *event_alloc(sim *s, size_t len) {
  size_t c = event_class(len);
  sim_event *ev;
  if (c < EVENT_CLASSES && s->spare[c].len) {
    ev = s->spare[c].items[--s->spare[c].len];
  } else {
    size_t room = c < EVENT_CLASSES ? (c + 1) * EVENT_STEP : len;
    ev = lp2p_malloc(lp2p__sim_arena_mem(&s->arena), sizeof(sim_event) + room);
  }
  if (ev) {
    ev->pieces = 0;
  }
  return ev;
}

/* The bytes an event holds: its RPC less the pieces, plus their table. */
static size_t event_stored(const sim_event *ev) {
  const sim_piece *p = (const sim_piece *)(const void *)ev->bytes;
  size_t n = ev->len + ev->pieces * sizeof(sim_piece);
  for (uint32_t i = 0; i < ev->pieces; i++) {
    n -= p[i].len;
  }
  return n;
}

static void event_free(sim *s, sim_event *ev) {
  const sim_piece *p = (const sim_piece *)(const void *)ev->bytes;
  size_t c = event_class(event_stored(ev));
  for (uint32_t i = 0; i < ev->pieces; i++) {
    lp2p__sim_msgstore_release(&s->bodies, p[i].body);
  }
  sim_spares *sp = c < EVENT_CLASSES ? &s->spare[c] : NULL;
  if (sp && sp->len == sp->cap) {
    size_t cap = sp->cap ? sp->cap * 2 : 256;
    sim_event **items =
        lp2p_reallocarray(s->mem, sp->items, cap, sizeof(*items));
    if (items) {
      sp->items = items;
      sp->cap = cap;
    }
  }
  if (sp && sp->len < sp->cap) {
    sp->items[sp->len++] = ev;
  } else {
    lp2p_free(lp2p__sim_arena_mem(&s->arena), ev);
  }
}

sim_event *lp2p__sim_event_new(sim *s, size_t len) {
  sim_event *ev = event_alloc(s, len);
  if (!ev) {
    s->err = LP2P_ERR_NOMEM;
    return NULL;
  }
  ev->len = (uint32_t)len;
  lp2p_heap_item_init(&ev->h.item);
  return ev;
}

void lp2p__sim_event_at(sim *s, sim_event *ev, lp2p_tstamp at) {
  ev->h.item.key = at;
  if (rpcs_push(&s->rpcs, at, ev) != 0) {
    s->err = LP2P_ERR_NOMEM;
    event_free(s, ev);
  }
}

/* Fields shorter than this are copied into the event: sharing would
 * save less than it costs. */
#define PIECE_MIN 256
#define PIECES_MAX 16

/* Finds the long top-level fields of a framed RPC and takes a store
 * reference to each; returns how many it took. They are messages
 * (RPC.publish), held by the store already for the routers' mcaches, and
 * control, whose IHAVE of a heartbeat is the same bytes for every peer
 * and for most nodes (at 5,000 nodes, 4 KiB in flight per node when the
 * heartbeats coincide). A field it cannot parse ends the search: the
 * rest is copied as it is. */
static uint32_t take_pieces(sim *s, const uint8_t *rpc, size_t len,
                            sim_piece *out) {
  const uint8_t *pos = rpc, *end = rpc + len;
  uint64_t v, tag;
  uint32_t n = 0;
  if (lp2p_pb_read_varint(&pos, end, &v) != 0) {
    return 0; /* the frame's length */
  }
  while (n < PIECES_MAX && pos < end &&
         lp2p_pb_read_varint(&pos, end, &tag) == 0 && (tag & 7) == 2 &&
         lp2p_pb_read_varint(&pos, end, &v) == 0 &&
         v <= (uint64_t)(end - pos)) {
    if (v >= PIECE_MIN) {
      const uint8_t *body = lp2p__sim_msgstore_intern(&s->bodies, pos, v);
      if (body) {
        out[n++] = (sim_piece){body, (uint32_t)(pos - rpc), (uint32_t)v};
      }
    }
    pos += v;
  }
  return n;
}

/* An RPC event: the pieces' table, then the RPC's bytes between them. */
static sim_event *rpc_event(sim *s, const uint8_t *rpc, size_t len) {
  sim_piece pieces[PIECES_MAX];
  uint32_t np = take_pieces(s, rpc, len, pieces);
  size_t stored = len + np * sizeof(sim_piece);
  for (uint32_t i = 0; i < np; i++) {
    stored -= pieces[i].len;
  }
  sim_event *ev = event_alloc(s, stored);
  if (!ev) {
    for (uint32_t i = 0; i < np; i++) {
      lp2p__sim_msgstore_release(&s->bodies, pieces[i].body);
    }
    return NULL;
  }
  ev->len = (uint32_t)len;
  ev->pieces = np;
  memcpy(ev->bytes, pieces, np * sizeof(sim_piece));
  uint8_t *to = ev->bytes + np * sizeof(sim_piece);
  size_t from = 0;
  for (uint32_t i = 0; i < np; i++) {
    memcpy(to, rpc + from, pieces[i].at - from);
    to += pieces[i].at - from;
    from = pieces[i].at + pieces[i].len;
  }
  memcpy(to, rpc + from, len - from);
  return ev;
}

/* The RPC an event carries, whole: its bytes, or with pieces rebuilt in
 * s->rebuilt (NULL without memory). */
static const uint8_t *event_rpc(sim *s, const sim_event *ev) {
  if (ev->pieces == 0) {
    return ev->bytes;
  }
  if (s->rebuilt_cap < ev->len) {
    uint8_t *b = lp2p_reallocarray(s->mem, s->rebuilt, ev->len, 1);
    if (!b) {
      return NULL;
    }
    s->rebuilt = b;
    s->rebuilt_cap = ev->len;
  }
  const sim_piece *p = (const sim_piece *)(const void *)ev->bytes;
  const uint8_t *from = ev->bytes + ev->pieces * sizeof(sim_piece);
  size_t at = 0;
  for (uint32_t i = 0; i < ev->pieces; i++) {
    memcpy(s->rebuilt + at, from, p[i].at - at);
    from += p[i].at - at;
    memcpy(s->rebuilt + p[i].at, p[i].body, p[i].len);
    at = p[i].at + p[i].len;
  }
  memcpy(s->rebuilt + at, from, ev->len - at);
  return s->rebuilt;
}

void lp2p__sim_send_rpc(sim *s, sim_node *n, uint32_t link, const uint8_t *rpc,
                        size_t len, lp2p_tstamp sent) {
  const sim_link *l = &n->links[link];
  if (s->c->loss > 0 && lp2p_pcg_double(&s->rng) < s->c->loss) {
    s->res->rpcs_lost++;
    return;
  }
  sim_event *ev = len <= UINT32_MAX ? rpc_event(s, rpc, len) : NULL;
  if (!ev) {
    s->err = LP2P_ERR_NOMEM;
    return;
  }
  ev->h.kind = EV_RPC;
  ev->to = l->node;
  ev->from = n->index;
  ev->handle = l->at_other;
  lp2p_heap_item_init(&ev->h.item);
  ev->h.item.key = sent + lp2p_sim_model_latency(s->c, n->region, l->region);
  if (rpcs_push(&s->rpcs, ev->h.item.key, ev) != 0) {
    s->err = LP2P_ERR_NOMEM;
    event_free(s, ev);
  }
}

/* What an attacker's router would send, as the attack rewrites it. */
static void send_attacker_rpc(sim *s, sim_node *n, uint32_t link,
                              const uint8_t *rpc, size_t len) {
  uint8_t *copy = lp2p_malloc(s->mem, len);
  if (!copy) {
    s->err = LP2P_ERR_NOMEM;
    return;
  }
  memcpy(copy, rpc, len);
  len = lp2p__sim_attack_filter(s, n, link, copy, len);
  if (len) {
    lp2p__sim_send_rpc(s, n, link, copy, len, n->uplink_free);
  }
  lp2p_free(s->mem, copy);
}

/* RPCs that start within this window of now are pulled at once: an
 * IDONTWANT can then no longer cancel them, which real uplinks also
 * allow for what already sits in socket buffers; it saves an event per
 * RPC on fast links. */
#define TX_WINDOW LP2P_MILLISECONDS

/* The uplink of `n`, like a socket with backpressure: while it is free,
 * take the router's next RPC (it goes round robin over the peers with
 * data) and hold the uplink for size / bandwidth. What waits stays in the
 * router's queues, where an IDONTWANT can still take a message out. */
static void transmit(sim *s, sim_node *n) {
  while (!s->err && lp2p_router_has_pending(n->r)) {
    if (n->uplink_free > s->now + TX_WINDOW) {
      /* come back when the uplink is free, once */
      if (!lp2p_heap_contains(&n->tx_done.item)) {
        lp2p__sim_push(s, &n->tx_done, n->uplink_free);
      }
      return;
    }
    const lp2p_peer_id *peer;
    const uint8_t *out;
    void *peer_user;
    ptrdiff_t len =
        lp2p_router_pull_next(n->r, &peer, &peer_user, &out, s->now);
    if (len <= 0) {
      return;
    }
    if (s->c->wire) {
      /* the session's bytes take the uplink, overheads and all */
      uint32_t link = (uint32_t)((uintptr_t)peer_user - 1);
      lp2p__sim_wire_send_rpc(s, n, link, out, (size_t)len);
      continue;
    }
    lp2p_tstamp busy =
        n->uplink_bps ? (lp2p_tstamp)len * 8 * LP2P_SECONDS / n->uplink_bps : 0;
    n->uplink_free = (n->uplink_free > s->now ? n->uplink_free : s->now) + busy;
    s->res->bytes_sent += (uint64_t)len;
    /* routers know each peer by its link number (+ 1, never NULL) */
    uint32_t link = (uint32_t)((uintptr_t)peer_user - 1);
    if (n->attacker) {
      send_attacker_rpc(s, n, link, out, (size_t)len);
    } else {
      lp2p__sim_send_rpc(s, n, link, out, (size_t)len, n->uplink_free);
    }
  }
}

/* After anything happened at a node: send what it queued, re-arm its
 * timer. */
static void settle(sim *s, sim_node *n) {
  transmit(s, n);
  lp2p_tstamp t = lp2p_router_expiry(n->r);
  if (t != n->timer.item.key) {
    lp2p_heap_update(&s->heap, &n->timer.item, t);
  }
}

/* Attackers GRAFT every peer they meet and never prune, as the sybils
 * of the v1.1 evaluation (gossipsub-hardening's badboy) do: a mesh with
 * room for all of an attacker's links. */
#define SIM_ATTACKER_MESH 10000

static void greedy_mesh(lp2p_mesh_params *m) {
  m->d = m->d_lo = m->d_hi = m->d_score = SIM_ATTACKER_MESH;
  m->d_out = 0;
}

static void on_trace(lp2p_router *r, const lp2p_trace_event *ev, void *user) {
  const sim_node *n = user;
  (void)r;
  n->s->c->trace(ev, n->s->c->trace_user);
}

static int make_router(sim *s, sim_node *n) {
  const lp2p_sim_config *c = s->c;
  lp2p_router_settings st;
  lp2p_router_callbacks cb = {0};
  uint8_t seed[32];
  lp2p_router_settings_default(&st);
  lp2p__sim_node_rand(seed, sizeof(seed), n);
  int rv = lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &st.key);
  st.params = c->params;
  if (n->attacker) {
    greedy_mesh(&st.params.mesh);
  }
  if (!c->idontwant) {
    st.params.idontwant_message_threshold = SIZE_MAX;
  }
  st.sign_policy = c->sign ? LP2P_STRICT_SIGN : LP2P_STRICT_NO_SIGN;
  st.msg_id = c->sign ? LP2P_MSG_ID_FROM_SEQNO : LP2P_MSG_ID_CALLBACK;
  st.rand_fn = lp2p__sim_node_rand;
  st.rand_user = n;
  st.first_seqno = 1;
  st.scoring = c->scoring;
  st.score = c->score;
  cb.deliver = on_deliver;
  cb.received = on_received;
  cb.msg_id = on_msg_id;
  cb.verify = on_verify;
  if (c->trace && n->index == c->trace_node) {
    cb.trace = on_trace; /* one node: a 10,000-node trace is gigabytes */
  }
  if (c->partial) {
    lp2p__sim_partial_router(&st, &cb);
  }
  if (rv == 0) {
    rv = lp2p_router_new(&n->r, &st, &cb, lp2p__sim_arena_mem(&s->arena), n, 0,
                         NULL);
  }
  if (rv == 0) {
    lp2p__router_set_msg_store(n->r, &s->bodies.hooks);
  }
  if (rv == 0 && c->scoring) {
    rv = lp2p_router_set_topic_score_params(
        n->r, (const uint8_t *)SIM_TOPIC, SIM_TOPIC_LEN, &c->topic_score, NULL);
  }
  lp2p_pubkey pub;
  if (rv == 0) {
    lp2p_privkey_public(&st.key, &pub);
    rv = lp2p_peer_id_from_pubkey(&pub, &n->id);
  }
  if (c->wire) {
    n->key = st.key; /* the sessions' identity */
  }
  lp2p_privkey_wipe(&st.key);
  return rv;
}

static bool linked(const sim_node *a, uint32_t b) {
  for (uint32_t i = 0; i < a->nlinks; i++) {
    if (a->links[i].node == b) {
      return true;
    }
  }
  return false;
}

/* Adds a link to `b` at `a`; returns its number, or -1. */
static int add_link(sim_node *a, const sim_node *b) {
  const lp2p_mem *mem = lp2p__sim_arena_mem(&a->s->arena);
  if (a->nlinks == a->caplinks) {
    uint32_t cap = a->caplinks ? a->caplinks * 2 : 16;
    sim_link *l = lp2p_reallocarray(mem, a->links, cap, sizeof(*l));
    if (!l) {
      return -1;
    }
    a->links = l;
    if (a->s->c->wire) {
      struct sim_wire **w = lp2p_reallocarray(mem, a->wires, cap, sizeof(*w));
      if (!w) {
        return -1;
      }
      a->wires = w;
    }
    a->caplinks = cap;
  }
  if (a->wires) {
    a->wires[a->nlinks] = NULL;
  }
  a->links[a->nlinks] = (sim_link){b->index, b->region, NULL};
  return (int)a->nlinks++;
}

/* A node's address when the attackers share a few (IP colocation):
 * honest nodes have one each in 10/8, attackers share attacker_ips in
 * 172.16/16. Otherwise none (all zero: not counted by P6). */
static void node_ip(const sim *s, const sim_node *n, uint8_t ip[16]) {
  size_t ips = s->c->attacker_ips;
  memset(ip, 0, 16);
  if (ips == 0) {
    return;
  }
  ip[10] = ip[11] = 0xff;
  uint32_t host =
      n->attacker ? (uint32_t)((n->index - s->c->nodes) % ips) : n->index + 1;
  ip[12] = n->attacker ? 172 : 10;
  ip[13] = n->attacker ? 16 : (uint8_t)(host >> 16);
  ip[14] = (uint8_t)(host >> 8);
  ip[15] = (uint8_t)host;
}

/* Node `a` dials `b`: both routers learn of each other, and each end
 * keeps its handle in the other's router. */
static int connect_nodes(sim *s, sim_node *a, sim_node *b) {
  int ka = add_link(a, b), kb = add_link(b, a);
  if (ka < 0 || kb < 0) {
    return LP2P_ERR_NOMEM;
  }
  if (s->c->wire) {
    /* the routers learn of each other once the sessions are up */
    return lp2p__sim_wire_connect(s, a, (uint32_t)ka, b, (uint32_t)kb);
  }
  /* partial messages need the extensions of /meshsub/1.3.0 */
  lp2p_peer_info info = {s->c->partial ? LP2P_MESHSUB_13 : LP2P_MESHSUB_12,
                         true,
                         false,
                         {0},
                         (void *)(uintptr_t)(ka + 1),
                         NULL};
  node_ip(s, b, info.ip);
  int rv = lp2p_router_add_peer(a->r, &b->id, &info, s->now);
  info.outbound = false;
  info.user = (void *)(uintptr_t)(kb + 1);
  node_ip(s, a, info.ip);
  if (rv == 0) {
    rv = lp2p_router_add_peer(b->r, &a->id, &info, s->now);
  }
  if (rv == 0) {
    a->links[ka].at_other = lp2p_router_peer_handle(b->r, &a->id);
    b->links[kb].at_other = lp2p_router_peer_handle(a->r, &b->id);
  }
  return rv;
}

/* Node `a` dials `dials` random nodes among the first `among`. */
static int dial_random(sim *s, sim_node *a, size_t dials, size_t among) {
  for (size_t d = 0, tries = 0; d < dials && tries < 64 * dials; tries++) {
    uint32_t j = lp2p_pcg_below(&s->rng, (uint32_t)among);
    if (j == a->index || linked(a, j)) {
      continue;
    }
    int rv = connect_nodes(s, a, &s->nodes[j]);
    if (rv != 0) {
      return rv;
    }
    d++;
  }
  return 0;
}

/* The attackers dial honest nodes only (links among themselves would
 * only spend their connections), each as many as an honest node dials,
 * and the eclipse target first. */
static int attackers_dial(sim *s) {
  const lp2p_sim_config *c = s->c;
  int rv = 0;
  for (size_t i = c->nodes; rv == 0 && i < s->total; i++) {
    sim_node *a = &s->nodes[i];
    if (c->eclipse && !linked(a, 0)) {
      rv = connect_nodes(s, a, &s->nodes[0]);
    }
    if (rv == 0) {
      rv = dial_random(s, a, c->degree / 2 - c->eclipse, c->nodes);
    }
  }
  return rv;
}

/* Each honest node dials degree/2 random honest others, so honest
 * degrees average `degree`; the attackers add their connections on top
 * (at once in a cold boot, later in a warm network), as in the v1.1
 * evaluation's testground plans, where every node dials honest nodes
 * only: sybils cannot make honest nodes drop each other. */
static int build_topology(sim *s) {
  const lp2p_sim_config *c = s->c;
  for (size_t i = 0; i < c->nodes; i++) {
    int rv = dial_random(s, &s->nodes[i], c->degree / 2, c->nodes);
    if (rv != 0) {
      return rv;
    }
  }
  return c->attack_join == 0 ? attackers_dial(s) : 0;
}

/* A warm network: the attackers dial in, and everyone sends what the
 * new links queued. */
static void attackers_join(sim *s) {
  s->err = attackers_dial(s);
  for (size_t i = 0; !s->err && i < s->total; i++) {
    settle(s, &s->nodes[i]);
  }
}

static int setup_nodes(sim *s) {
  const lp2p_sim_config *c = s->c;
  for (size_t i = 0; i < s->total; i++) {
    sim_node *n = &s->nodes[i];
    n->s = s;
    n->index = (uint32_t)i;
    n->attacker = i >= c->nodes;
    if (n->attacker) {
      n->atk = lp2p_calloc(s->mem, 1, sizeof(*n->atk));
      if (!n->atk) {
        return LP2P_ERR_NOMEM;
      }
    }
    lp2p_pcg_seed(&n->rng, c->seed, 2 * i + 1);
    lp2p_sim_model_place(c, &s->rng, &n->region, &n->uplink_bps);
    int rv = make_router(s, n);
    if (rv != 0) {
      return rv;
    }
    n->timer.kind = EV_TIMER;
    lp2p_heap_item_init(&n->timer.item);
    n->tx_done.kind = EV_TX_DONE;
    lp2p_heap_item_init(&n->tx_done.item);
    n->attack.kind = EV_ATTACK;
    lp2p_heap_item_init(&n->attack.item);
  }
  int rv = build_topology(s);
  for (size_t i = 0; rv == 0 && i < s->total; i++) {
    sim_node *n = &s->nodes[i];
    rv = c->partial ? lp2p_router_join_partial(n->r, (const uint8_t *)SIM_TOPIC,
                                               SIM_TOPIC_LEN,
                                               LP2P_PARTIAL_REQUESTS, s->now)
                    : lp2p_router_join(n->r, (const uint8_t *)SIM_TOPIC,
                                       SIM_TOPIC_LEN, s->now);
    if (rv == 0) {
      transmit(s, n);
      rv = lp2p__sim_push(s, &n->timer, lp2p_router_expiry(n->r));
    }
  }
  return rv != 0 ? rv : s->err;
}

/* With batch: one event per group of `batch` messages (ev->from, its
 * first), all published at the group's time by one random node. */
static int schedule_groups(sim *s) {
  const lp2p_sim_config *c = s->c;
  for (size_t first = 0, g = 0; first < c->messages; first += c->batch, g++) {
    sim_event *ev = event_alloc(s, 0);
    if (!ev) {
      return LP2P_ERR_NOMEM;
    }
    ev->h.kind = EV_PUBLISH;
    ev->to = lp2p_pcg_below(&s->rng, (uint32_t)c->nodes);
    ev->from = (uint32_t)first;
    ev->len = 0;
    lp2p_heap_item_init(&ev->h.item);
    for (size_t k = first; k < first + c->batch && k < c->messages; k++) {
      s->published[k] = c->warmup + (lp2p_tstamp)g * c->interval;
      s->target_expected += ev->to != 0;
    }
    if (lp2p__sim_push(s, &ev->h, s->published[first]) != 0) {
      event_free(s, ev);
      return LP2P_ERR_NOMEM;
    }
  }
  return 0;
}

static int schedule_publishes(sim *s) {
  const lp2p_sim_config *c = s->c;
  if (c->partial) {
    return lp2p__sim_partial_schedule(s);
  }
  if (c->batch) {
    return schedule_groups(s);
  }
  for (size_t k = 0; k < c->messages; k++) {
    sim_event *ev = event_alloc(s, 0);
    if (!ev) {
      return LP2P_ERR_NOMEM;
    }
    ev->h.kind = EV_PUBLISH;
    ev->to = lp2p_pcg_below(&s->rng, (uint32_t)c->nodes);
    ev->from = (uint32_t)k;
    ev->len = 0;
    lp2p_heap_item_init(&ev->h.item);
    s->published[k] = c->warmup + (lp2p_tstamp)k * c->interval;
    s->target_expected += ev->to != 0;
    if (lp2p__sim_push(s, &ev->h, s->published[k]) != 0) {
      event_free(s, ev);
      return LP2P_ERR_NOMEM;
    }
  }
  return 0;
}

/* A message's data: its index in the first 8 bytes, zeros after. */
static void message_data(uint8_t *data, size_t size, uint64_t k) {
  memset(data, 0, size);
  for (int i = 0; i < 8; i++) {
    data[i] = (uint8_t)(k >> (56 - 8 * i));
  }
}

/* Publishes the group of messages from `first` at `n`, in batch_order. */
static void publish_group(sim *s, sim_node *n, size_t first, uint8_t *data) {
  const lp2p_sim_config *c = s->c;
  lp2p_batch_msg msgs[LP2P_SIM_MAX_BATCH];
  int results[LP2P_SIM_MAX_BATCH];
  size_t count =
      c->messages - first < c->batch ? c->messages - first : c->batch;
  for (size_t i = 0; i < count; i++) {
    uint8_t *d = data + i * c->size;
    message_data(d, c->size, first + i);
    msgs[i] = (lp2p_batch_msg){
        (const uint8_t *)SIM_TOPIC, SIM_TOPIC_LEN, d, c->size, NULL, NULL};
    if (c->batch_order == LP2P_SIM_BATCH_ONE_BY_ONE) {
      lp2p_router_publish(n->r, msgs[i].topic, msgs[i].topic_len, d, c->size,
                          NULL, NULL, s->now);
    }
  }
  s->res->trace_node_published += n->index == c->trace_node ? count : 0;
  if (c->batch_order != LP2P_SIM_BATCH_ONE_BY_ONE) {
    lp2p_router_publish_batch(n->r, msgs, count,
                              c->batch_order == LP2P_SIM_BATCH_ROUND_ROBIN
                                  ? LP2P_BATCH_ROUND_ROBIN
                                  : LP2P_BATCH_RAREST_FIRST,
                              results, s->now);
  }
}

static void publish(sim *s, sim_event *ev) {
  size_t size = s->c->size, count = s->c->batch ? s->c->batch : 1;
  uint8_t *data = lp2p_reallocarray(s->mem, NULL, count, size);
  if (!data) {
    s->err = LP2P_ERR_NOMEM;
    return;
  }
  sim_node *n = &s->nodes[ev->to];
  if (s->c->batch) {
    publish_group(s, n, ev->from, data);
  } else {
    message_data(data, size, ev->from);
    s->res->trace_node_published += ev->to == s->c->trace_node;
    lp2p_router_publish(n->r, (const uint8_t *)SIM_TOPIC, SIM_TOPIC_LEN, data,
                        size, NULL, NULL, s->now);
  }
  lp2p_free(s->mem, data);
  settle(s, n);
}

static void publish_partial(sim *s, sim_event *ev) {
  lp2p__sim_partial_publish(s, ev);
  settle(s, &s->nodes[ev->to]);
}

/* The node behind mesh peer `id` of `n`, found among its links. */
static const sim_node *linked_node(const sim *s, const sim_node *n,
                                   const lp2p_peer_id *id) {
  for (uint32_t i = 0; i < n->nlinks; i++) {
    const sim_node *m = &s->nodes[n->links[i].node];
    if (m->id.len == id->len && memcmp(m->id.bytes, id->bytes, id->len) == 0) {
      return m;
    }
  }
  return NULL;
}

#define SAMPLE_MESH_MAX 64

/* The end of a bucket: which of the honest nodes' mesh slots attackers
 * hold, and the scores they hold them with. */
static void sample_meshes(sim *s) {
  const lp2p_sim_config *c = s->c;
  lp2p_peer_id mesh[SAMPLE_MESH_MAX];
  uint64_t slots = 0, held = 0;
  double score = 0;
  for (size_t i = 0; i < c->nodes; i++) {
    const sim_node *n = &s->nodes[i];
    size_t k = lp2p_router_mesh_peers(n->r, (const uint8_t *)SIM_TOPIC,
                                      SIM_TOPIC_LEN, mesh, SAMPLE_MESH_MAX);
    k = k < SAMPLE_MESH_MAX ? k : SAMPLE_MESH_MAX;
    slots += k;
    for (size_t j = 0; j < k; j++) {
      const sim_node *m = linked_node(s, n, &mesh[j]);
      if (m && m->attacker) {
        held++;
        score += lp2p_router_peer_score(n->r, &mesh[j]);
      }
    }
  }
  lp2p_sim_bucket *b = &s->res->buckets[s->sampled++];
  b->attacker_mesh_fraction = slots ? (double)held / (double)slots : 0;
  b->attacker_mesh_score = held ? score / (double)held : 0;
  s->mesh_score_sum += score;
  s->mesh_score_n += held;
  lp2p_tstamp next = c->warmup + (s->sampled + 1) * s->res->bucket_len;
  if (s->sampled < s->res->nbuckets && next <= s->end) {
    lp2p__sim_push(s, &s->sample, next);
  }
}

static void handle(sim *s, sim_entry *e) {
  s->res->events++;
  if (e->kind == EV_TIMER) {
    sim_node *n = (sim_node *)e;
    trace(s, 'T', n->index, 0, 0);
    lp2p_router_handle_expiry(n->r, s->now);
    if (s->c->partial) {
      lp2p__sim_partial_heartbeat(s, n);
    }
    transmit(s, n);
    lp2p__sim_push(s, &n->timer, lp2p_router_expiry(n->r));
    return;
  }
  if (e->kind == EV_TX_DONE) {
    transmit(s, (sim_node *)((uint8_t *)e - offsetof(sim_node, tx_done)));
    return;
  }
  if (e->kind == EV_JOIN) {
    trace(s, 'J', 0, 0, 0);
    attackers_join(s);
    return;
  }
  if (e->kind == EV_SAMPLE) {
    sample_meshes(s); /* reads the routers, changes nothing: not traced */
    return;
  }
  if (e->kind == EV_SESSION) {
    sim_node *n = lp2p__sim_wire_expire(s, e);
    settle(s, n);
    return;
  }
  if (e->kind == EV_ATTACK) {
    sim_node *n = (sim_node *)((uint8_t *)e - offsetof(sim_node, attack));
    trace(s, 'A', n->index, 0, 0);
    lp2p__sim_attack_tick(s, n);
    return;
  }
  sim_event *ev = (sim_event *)e;
  if (e->kind == EV_PUBLISH) {
    trace(s, 'P', ev->to, ev->from, 0);
    (s->c->partial ? publish_partial : publish)(s, ev);
  } else if (e->kind == EV_WIRE) {
    lp2p__sim_wire_arrive(s, ev);
    settle(s, &s->nodes[ev->to]);
  } else {
    sim_node *n = &s->nodes[ev->to];
    trace(s, 'R', ev->to, ev->from, ev->len);
    const uint8_t *whole = event_rpc(s, ev), *rpc;
    if (!whole) {
      s->err = LP2P_ERR_NOMEM;
      event_free(s, ev);
      return;
    }
    if (n->attacker) {
      lp2p__sim_attack_observe(s, n, ev->from, whole, ev->len);
    }
    size_t len;
    if (lp2p__pubsub_unframe(whole, ev->len, &rpc, &len) == 0) {
      lp2p_router_recv_rpc_from(n->r, ev->handle, rpc, len, s->now);
    }
    settle(s, n);
  }
  event_free(s, ev);
}

/* The next event: the earlier of the two queues' first (the other queue's
 * on a tie, so that a timer due when an RPC arrives runs first). */
static sim_entry *next_event(sim *s) {
  lp2p_heap_item *it = lp2p_heap_top(&s->heap);
  if (s->rpcs.len > 0 && (!it || s->rpcs.slots[0].at < it->key)) {
    return &rpcs_pop(&s->rpcs)->h;
  }
  if (it) {
    lp2p_heap_pop(&s->heap);
  }
  return (sim_entry *)it;
}

static lp2p_tstamp next_time(const sim *s) {
  lp2p_heap_item *it = lp2p_heap_top(&s->heap);
  lp2p_tstamp t = it ? it->key : LP2P_TSTAMP_NEVER;
  return s->rpcs.len > 0 && s->rpcs.slots[0].at < t ? s->rpcs.slots[0].at : t;
}

static void run_events(sim *s) {
  const lp2p_sim_config *c = s->c;
  while (!s->err && next_time(s) <= s->end) {
    sim_entry *e = next_event(s);
    s->now = e->item.key;
    handle(s, e);
    if (c->progress && (s->res->events & 0xffff) == 0) {
      c->progress((double)s->now / (double)s->end, c->progress_user);
    }
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double percentile_ms(const uint64_t *sorted, size_t n, double p) {
  if (n == 0) {
    return 0;
  }
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return (double)sorted[i] / 1e6;
}

/* The mean of the scores honest nodes hold for the attackers they have
 * met (connected, or retained after a disconnection). */
static double attacker_score_mean(sim *s) {
  double sum = 0;
  size_t n = 0;
  for (size_t i = 0; i < s->c->nodes; i++) {
    for (size_t j = s->c->nodes; j < s->total; j++) {
      lp2p_peer_score_info in;
      if (lp2p_router_peer_score_info(s->nodes[i].r, &s->nodes[j].id, &in) ==
          0) {
        sum += in.score;
        n++;
      }
    }
  }
  return n ? sum / (double)n : 0;
}

/* Per bucket: delivery from the per-message counts, latency
 * percentiles from the bucket's run in the sorted `bucketed`. */
static void summarise_buckets(sim *s) {
  const lp2p_sim_config *c = s->c;
  lp2p_sim_result *res = s->res;
  for (size_t k = 0; k < c->messages; k++) {
    lp2p_sim_bucket *b =
        &res->buckets[(s->published[k] - c->warmup) / res->bucket_len];
    b->messages++;
    b->delivery_ratio += s->msg_delivered[k];
  }
  qsort(s->bucketed, res->delivered, sizeof(uint64_t), cmp_u64);
  const uint64_t lat_mask = (UINT64_C(1) << 48) - 1;
  size_t at = 0;
  for (size_t i = 0; i < res->nbuckets; i++) {
    lp2p_sim_bucket *b = &res->buckets[i];
    b->start = c->warmup + i * res->bucket_len;
    b->delivery_ratio =
        b->messages
            ? b->delivery_ratio / ((double)b->messages * (double)s->receivers)
            : 1;
    size_t first = at;
    while (at < res->delivered && s->bucketed[at] >> 48 == i) {
      s->bucketed[at++] &= lat_mask;
    }
    b->latency_p50_ms = percentile_ms(s->bucketed + first, at - first, 0.50);
    b->latency_p99_ms = percentile_ms(s->bucketed + first, at - first, 0.99);
  }
}

/* Seconds from the attack's onset until every message published from
 * then on reached 99% of honest nodes (0: none fell short; -1: the last
 * did). */
static double recovery_s(const sim *s) {
  const lp2p_sim_config *c = s->c;
  lp2p_tstamp onset =
      c->attack_start > c->attack_join ? c->attack_start : c->attack_join;
  double need = 0.99 * (double)(c->nodes - 1);
  size_t last_short = SIZE_MAX;
  for (size_t k = 0; k < c->messages; k++) {
    if (s->published[k] >= onset && (double)s->msg_delivered[k] < need) {
      last_short = k;
    }
  }
  if (c->attackers == 0 || last_short == SIZE_MAX) {
    return 0;
  }
  if (last_short + 1 == c->messages) {
    return -1;
  }
  return (double)(s->published[last_short + 1] - onset) / 1e9;
}

static void summarise_attack(sim *s) {
  const lp2p_sim_config *c = s->c;
  lp2p_sim_result *res = s->res;
  summarise_buckets(s);
  while (c->attackers && s->sampled < res->nbuckets) {
    sample_meshes(s); /* buckets that end after the run: sampled now */
  }
  for (size_t i = 0; i < res->nbuckets; i++) {
    double f = res->buckets[i].attacker_mesh_fraction;
    res->attacker_mesh_fraction_max = f > res->attacker_mesh_fraction_max
                                          ? f
                                          : res->attacker_mesh_fraction_max;
  }
  res->attacker_mesh_score_mean =
      s->mesh_score_n ? s->mesh_score_sum / (double)s->mesh_score_n : 0;
  res->target_delivery_ratio =
      s->target_expected
          ? (double)s->target_delivered / (double)s->target_expected
          : 1;
  qsort(s->target_latencies, s->target_delivered, sizeof(uint64_t), cmp_u64);
  res->target_latency_p99_ms =
      percentile_ms(s->target_latencies, s->target_delivered, 0.99);
  res->recovery_s = recovery_s(s);
}

/* One point per percent of the sorted latencies. */
static void summarise_cdf(sim *s) {
  for (size_t i = 0; i < LP2P_SIM_CDF_POINTS; i++) {
    s->res->latency_cdf_ms[i] = percentile_ms(
        s->latencies, s->res->delivered, (double)i / (LP2P_SIM_CDF_POINTS - 1));
  }
}

static void summarise_duplicates(sim *s) {
  size_t pairs = s->c->nodes * s->c->messages;
  for (size_t i = 0; i < pairs; i++) {
    size_t d = s->duplicates[i];
    s->res->duplicates_histogram[d < LP2P_SIM_DUP_BINS - 1
                                     ? d
                                     : LP2P_SIM_DUP_BINS - 1]++;
  }
}

/* Per group: until its last message reached c->copies honest nodes. */
static void summarise_groups(sim *s) {
  const lp2p_sim_config *c = s->c;
  lp2p_sim_result *res = s->res;
  size_t n = 0;
  for (size_t first = 0; c->batch && first < c->messages; first += c->batch) {
    lp2p_tstamp last = 0;
    for (size_t k = first; k < first + c->batch && k < c->messages; k++) {
      last = s->reached[k] > last ? s->reached[k] : last;
    }
    if (last == LP2P_TSTAMP_NEVER) {
      res->batches_short++;
      continue;
    }
    s->latencies[n++] = last - s->published[first]; /* reused: summarised */
  }
  qsort(s->latencies, n, sizeof(uint64_t), cmp_u64);
  for (size_t i = 0; i < n; i++) {
    res->batch_to_copies_ms_mean += (double)s->latencies[i] / 1e6 / (double)n;
  }
  res->batch_to_copies_ms_p50 = percentile_ms(s->latencies, n, 0.50);
  res->batch_to_copies_ms_max = percentile_ms(s->latencies, n, 1.0);
}

static void summarise(sim *s) {
  const lp2p_sim_config *c = s->c;
  lp2p_sim_result *res = s->res;
  uint64_t dups = 0;
  res->mesh_min = SIZE_MAX;
  for (size_t i = 0; i < c->nodes; i++) {
    lp2p_router_stats st;
    lp2p_topic_stats ts;
    lp2p_router_get_stats(s->nodes[i].r, &st);
    dups += st.msgs_duplicate;
    lp2p_router_topic_stats(s->nodes[i].r, (const uint8_t *)SIM_TOPIC,
                            SIM_TOPIC_LEN, &ts);
    res->mesh_min = ts.mesh < res->mesh_min ? ts.mesh : res->mesh_min;
    res->mesh_max = ts.mesh > res->mesh_max ? ts.mesh : res->mesh_max;
    res->mesh_mean += (double)ts.mesh / (double)c->nodes;
  }
  res->expected = (uint64_t)c->messages * s->receivers;
  res->delivery_ratio =
      res->expected ? (double)res->delivered / (double)res->expected : 1;
  res->duplicates_per_message = (double)dups / (double)(c->messages * c->nodes);
  res->bytes_per_delivered_byte =
      res->delivered
          ? (double)res->bytes_sent / (double)(res->delivered * c->size)
          : 0;
  if (c->partial) {
    lp2p__sim_partial_summarise(s);
  }
  qsort(s->latencies, res->delivered, sizeof(uint64_t), cmp_u64);
  res->latency_p50_ms = percentile_ms(s->latencies, res->delivered, 0.50);
  res->latency_p90_ms = percentile_ms(s->latencies, res->delivered, 0.90);
  res->latency_p99_ms = percentile_ms(s->latencies, res->delivered, 0.99);
  res->latency_max_ms = percentile_ms(s->latencies, res->delivered, 1.0);
  summarise_cdf(s);
  summarise_duplicates(s);
  res->attacker_score_mean = attacker_score_mean(s);
  summarise_attack(s);
  summarise_groups(s); /* last: it reuses `latencies` */
  crypto_generichash_update(&s->trace, s->trace_buf, s->trace_len);
  crypto_generichash_final(&s->trace, res->trace_hash, sizeof(res->trace_hash));
}

static void teardown(sim *s) {
  lp2p_heap_item *it;
  while ((it = lp2p_heap_pop(&s->heap)) != NULL) {
    uint8_t kind = ((sim_entry *)it)->kind;
    if (kind == EV_PUBLISH || kind == EV_RPC) {
      event_free(s, (sim_event *)it);
    }
  }
  lp2p_heap_free(&s->heap);
  lp2p__sim_sigcache_free(&s->sigs);
  sim_event *in_flight;
  while ((in_flight = rpcs_pop(&s->rpcs)) != NULL) {
    event_free(s, in_flight);
  }
  lp2p_free(s->mem, s->rpcs.slots);
  for (size_t c = 0; c < EVENT_CLASSES; c++) {
    while (s->spare[c].len) {
      lp2p_free(lp2p__sim_arena_mem(&s->arena),
                s->spare[c].items[--s->spare[c].len]);
    }
    lp2p_free(s->mem, s->spare[c].items);
  }
  for (size_t i = 0; s->nodes && i < s->total; i++) {
    lp2p__sim_wire_free(s, &s->nodes[i]);
    lp2p_router_del(s->nodes[i].r);
    lp2p_free(lp2p__sim_arena_mem(&s->arena), s->nodes[i].links);
    lp2p_free(lp2p__sim_arena_mem(&s->arena), s->nodes[i].wires);
    lp2p_privkey_wipe(&s->nodes[i].key);
  }
  lp2p__sim_msgstore_free(&s->bodies);
  lp2p__sim_arena_release(&s->arena);
  for (size_t i = 0; s->nodes && i < s->total; i++) {
    lp2p_free(s->mem, s->nodes[i].atk);
  }
  lp2p_free(s->mem, s->nodes);
  lp2p_free(s->mem, s->published);
  lp2p_free(s->mem, s->latencies);
  lp2p_free(s->mem, s->bucketed);
  lp2p_free(s->mem, s->msg_delivered);
  lp2p_free(s->mem, s->reached);
  lp2p_free(s->mem, s->duplicates);
  lp2p_free(s->mem, s->target_latencies);
  lp2p_free(s->mem, s->rebuilt);
  lp2p__sim_partial_free(s);
}

static int check_config(const lp2p_sim_config *c) {
  if (c->nodes < 2 || c->nodes > 1000000 || c->attackers > 1000000 ||
      c->degree < 2 || c->degree >= c->nodes + c->attackers || c->size < 8 ||
      c->size > (1u << 20) - 1024 || c->loss < 0 || c->loss >= 1 ||
      c->interval == 0 || c->attack_interval == 0 ||
      (c->attack != LP2P_ATTACK_NONE) != (c->attackers > 0) ||
      (unsigned)c->attack >= LP2P_SIM_ATTACKS ||
      c->attacker_ips > c->attackers || (c->eclipse && c->degree < 4) ||
      (c->wire && c->attackers > 0) || c->batch > LP2P_SIM_MAX_BATCH ||
      (unsigned)c->batch_order > LP2P_SIM_BATCH_ONE_BY_ONE ||
      (c->batch && (c->copies == 0 || c->copies >= c->nodes)) ||
      (c->batch && c->partial)) {
    return LP2P_ERR_INVALID_ARG;
  }
  int rv = lp2p__sim_partial_check(c);
  rv = rv != 0 ? rv : lp2p_router_params_validate(&c->params, NULL);
  if (rv == 0 && c->scoring) {
    rv = lp2p_score_params_validate(&c->score, NULL);
  }
  if (rv == 0 && c->scoring) {
    rv = lp2p_topic_score_params_validate(&c->topic_score, NULL);
  }
  return rv;
}

/* Buckets of 10 s of publish times, doubled until the run fits. */
static void set_buckets(sim *s) {
  const lp2p_sim_config *c = s->c;
  lp2p_tstamp span =
      (lp2p_tstamp)(c->messages ? c->messages - 1 : 0) * c->interval;
  s->res->bucket_len = 10 * LP2P_SECONDS;
  while (span / s->res->bucket_len + 1 > LP2P_SIM_MAX_BUCKETS) {
    s->res->bucket_len *= 2;
  }
  s->res->nbuckets = (size_t)(span / s->res->bucket_len) + 1;
}

/* A warm network's join, and the mesh samples (only with attackers:
 * without, a run is as it was, event for event). */
static int schedule_attack_measures(sim *s) {
  const lp2p_sim_config *c = s->c;
  if (c->attackers == 0) {
    return 0;
  }
  s->join.kind = EV_JOIN;
  s->sample.kind = EV_SAMPLE;
  lp2p_heap_item_init(&s->join.item);
  lp2p_heap_item_init(&s->sample.item);
  int rv = 0;
  if (c->attack_join > 0) {
    rv = lp2p__sim_push(s, &s->join, c->attack_join);
  }
  if (rv == 0 && c->warmup + s->res->bucket_len <= s->end) {
    rv = lp2p__sim_push(s, &s->sample, c->warmup + s->res->bucket_len);
  }
  return rv;
}

/* With batch: no message has reached c->copies nodes yet. */
static int unreached(sim *s) {
  size_t n = s->c->messages + 1;
  s->reached = lp2p_reallocarray(s->mem, NULL, n, sizeof(*s->reached));
  for (size_t k = 0; s->reached && k < n; k++) {
    s->reached[k] = LP2P_TSTAMP_NEVER;
  }
  return s->reached ? 0 : LP2P_ERR_NOMEM;
}

int lp2p_sim_run(const lp2p_sim_config *conf, lp2p_sim_result *res) {
  sim s;
  lp2p_sim_config scored;
  const lp2p_sim_config *c = &scored;
  int rv = lp2p_sim_config_scored(conf, &scored);
  rv = rv != 0 ? rv : check_config(c);
  if (rv != 0) {
    return rv;
  }
  memset(&s, 0, sizeof(s));
  memset(res, 0, sizeof(*res));
  s.c = c;
  s.mem = c->mem;
  s.rpcs.mem = c->mem;
  s.res = res;
  lp2p__sim_arena_init(&s.arena, c->mem);
  lp2p__sim_sigcache_init(&s.sigs, c->mem);
  lp2p__sim_msgstore_init(&s.bodies, lp2p__sim_arena_mem(&s.arena));
  lp2p_pcg_seed(&s.rng, c->seed, 0);
  lp2p_heap_init(&s.heap, c->mem);
  crypto_generichash_init(&s.trace, NULL, 0, sizeof(s.res->trace_hash));
  s.end = c->warmup +
          (lp2p_tstamp)(c->messages ? c->messages - 1 : 0) * c->interval +
          c->drain;
  s.total = c->nodes + c->attackers;
  size_t deliveries = c->messages * c->nodes + 1;
  s.nodes = lp2p_calloc(s.mem, s.total, sizeof(*s.nodes));
  s.published = lp2p_calloc(s.mem, c->messages + 1, sizeof(*s.published));
  s.latencies = lp2p_reallocarray(s.mem, NULL, deliveries, sizeof(uint64_t));
  s.bucketed = lp2p_reallocarray(s.mem, NULL, deliveries, sizeof(uint64_t));
  s.msg_delivered = lp2p_calloc(s.mem, c->messages + 1, sizeof(uint32_t));
  s.duplicates = lp2p_calloc(s.mem, deliveries, 1);
  s.target_latencies =
      lp2p_reallocarray(s.mem, NULL, c->messages + 1, sizeof(uint64_t));
  set_buckets(&s);
  s.receivers = c->nodes - 1;
  if (c->partial && s.nodes) {
    rv = lp2p__sim_partial_init(&s);
  }
  rv = rv != 0 ? rv
       : s.nodes && s.published && s.latencies && s.bucketed &&
               s.msg_delivered && s.duplicates && s.target_latencies
           ? 0
           : LP2P_ERR_NOMEM;
  if (rv == 0 && c->batch) {
    rv = unreached(&s);
  }
  if (rv == 0) {
    rv = setup_nodes(&s);
  }
  if (rv == 0) {
    rv = schedule_publishes(&s);
  }
  if (rv == 0) {
    rv = lp2p__sim_attack_schedule(&s);
  }
  if (rv == 0) {
    rv = schedule_attack_measures(&s);
  }
  if (rv == 0) {
    run_events(&s);
    rv = s.err;
  }
  if (rv == 0) {
    summarise(&s);
  }
  teardown(&s);
  return rv;
}
