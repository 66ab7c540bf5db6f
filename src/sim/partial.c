/* Partial messages in the simulator (lp2p_sim_config.partial): every
 * honest node runs an application of the kind the libp2p/test-plans
 * gossipsub-interop suite runs (go-libp2p/partial.go, experiment.go),
 * with `parts` parts per group instead of its fixed 8:
 *
 *   parts     [bitmap][the parts the bitmap names, in order][group id]
 *   metadata  [bitmap of the parts held][bitmap of the parts wanted]
 *   group id  the message index, 8 bytes big endian
 *
 * A bitmap is ceil(parts / 8) bytes, bit i of byte i / 8 for part i.
 * The suite's metadata is the held bitmap alone, and its node asks
 * every peer that holds something it lacks for all of it, so each part
 * arrives from about every mesh peer (as many copies as full messages
 * without IDONTWANT). Here a node asks each part of one peer: a node
 * that gets new parts announces what it holds (wanting nothing) to the
 * group's peers and its mesh; a node that hears of parts it lacks and
 * has not asked anyone for wants them from that peer; a node sends a
 * peer the parts it wants and it holds, at once or as they arrive. A
 * request unanswered for REQUEST_TIMEOUT is made again. */
#include <string.h>

#include "base/mem.h"
#include "sim/sim_internal.h"

/* How long a node waits for parts it asked a peer for before it asks
 * whoever offers them next. */
#define REQUEST_TIMEOUT (2 * LP2P_SECONDS)

/* What one node holds of one group, and the parts it asked for. */
typedef struct sim_pstate {
  uint64_t have, asked;
  lp2p_tstamp asked_at;
} sim_pstate;

typedef struct sim_partial {
  uint64_t full;     /* the bitmap of a whole group */
  size_t part_len;   /* bytes of a part */
  size_t bitmap_len; /* bytes of a bitmap */
  sim_pstate *state; /* per honest node and group (node-major) */
  uint32_t *sources; /* per group, its `publishers` publishers */
  lp2p_sim_partial_result res;
} sim_partial;

/* A peer's metadata: what it holds and what it wants. */
typedef struct bitmaps {
  uint64_t have, want;
} bitmaps;

/* What one publication needs: its node and group, the metadata it
 * sends, and the buffers its actions' views point into until it
 * returns. */
typedef struct pub_buf {
  struct pub_buf *next;
  uint8_t bytes[];
} pub_buf;

typedef struct pub_ctx {
  sim *s;
  uint64_t group;
  bitmaps ours;
  uint8_t metadata[16];
  pub_buf *bufs;
} pub_ctx;

static int popcount(uint64_t x) {
  return __builtin_popcountll(x);
}

static void put_be64(uint8_t *out, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    out[i] = (uint8_t)(v >> (56 - 8 * i));
  }
}

static uint64_t get_be64(const uint8_t *in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    v = v << 8 | in[i];
  }
  return v;
}

static void put_bitmap(const sim_partial *p, uint8_t *out, uint64_t bits) {
  for (size_t i = 0; i < p->bitmap_len; i++) {
    out[i] = (uint8_t)(bits >> (8 * i));
  }
}

/* A bitmap at the start of `in` (len bytes), naming only real parts. */
static bool get_bitmap(const sim_partial *p, const uint8_t *in, size_t len,
                       uint64_t *bits) {
  uint64_t b = 0;
  if (len < p->bitmap_len) {
    return false;
  }
  for (size_t i = 0; i < p->bitmap_len; i++) {
    b |= (uint64_t)in[i] << (8 * i);
  }
  *bits = b;
  return (b & ~p->full) == 0;
}

static void put_metadata(const sim_partial *p, uint8_t *out, bitmaps md) {
  put_bitmap(p, out, md.have);
  put_bitmap(p, out + p->bitmap_len, md.want);
}

/* A partsMetadata: two bitmaps, exactly. */
static bool get_metadata(const sim_partial *p, lp2p_bytes md, bitmaps *out) {
  return md.data && md.len == 2 * p->bitmap_len &&
         get_bitmap(p, md.data, p->bitmap_len, &out->have) &&
         get_bitmap(p, md.data + p->bitmap_len, p->bitmap_len, &out->want);
}

static sim_pstate *pstate(const sim *s, const sim_node *n, uint64_t group) {
  return &s->partial->state[(size_t)n->index * s->c->messages + group];
}

/* ---- parts ---------------------------------------------------------- */

/* Each part starts with its tag (group x 64 + part, big endian) and is
 * zero after it: a receiver checks what it can without a hash. */
static uint64_t part_tag(uint64_t group, unsigned part) {
  return group * 64 + part;
}

static size_t parts_len(const sim_partial *p, uint64_t bits) {
  return p->bitmap_len + (size_t)popcount(bits) * p->part_len + 8;
}

static void encode_parts(const sim_partial *p, uint64_t group, uint64_t bits,
                         uint8_t *out) {
  put_bitmap(p, out, bits);
  uint8_t *at = out + p->bitmap_len;
  for (unsigned i = 0; i < 64; i++) {
    if (bits >> i & 1) {
      memset(at, 0, p->part_len);
      put_be64(at, part_tag(group, i));
      at += p->part_len;
    }
  }
  put_be64(at, group);
}

/* Received parts: the bitmap, a length that matches it, our group id and
 * each part's tag; hostile input for all the application knows. */
static bool decode_parts(const sim_partial *p, uint64_t group, lp2p_bytes in,
                         uint64_t *bits) {
  if (!get_bitmap(p, in.data, in.len, bits) || in.len != parts_len(p, *bits) ||
      get_be64(in.data + in.len - 8) != group) {
    return false;
  }
  const uint8_t *at = in.data + p->bitmap_len;
  for (unsigned i = 0; i < 64; i++) {
    if (*bits >> i & 1) {
      if (get_be64(at) != part_tag(group, i)) {
        return false;
      }
      at += p->part_len;
    }
  }
  return true;
}

/* ---- publishing ------------------------------------------------------ */

static uint8_t *pub_alloc(pub_ctx *c, size_t len) {
  pub_buf *b = lp2p_malloc(c->s->mem, sizeof(*b) + len);
  if (!b) {
    c->s->err = LP2P_ERR_NOMEM;
    return NULL;
  }
  b->next = c->bufs;
  c->bufs = b;
  return b->bytes;
}

/* Sends `peer` the parts it wants that we hold, and our metadata; the
 * router then keeps that it holds them and wants them no more. Nothing
 * to a peer known to hold all we hold, unless we want something. */
static bool action(lp2p_router *r, const lp2p_partial_peer *peer,
                   lp2p_partial_action *out, void *arg) {
  pub_ctx *c = arg;
  const sim_partial *p = c->s->partial;
  bitmaps theirs;
  (void)r;
  out->metadata = (lp2p_bytes){c->metadata, 2 * p->bitmap_len};
  if (!get_metadata(p, peer->metadata, &theirs)) {
    return true; /* it learns what we hold, and asks */
  }
  uint64_t give = theirs.want & c->ours.have & ~theirs.have;
  if (!peer->requests_partial) {
    give = 0;
  }
  if (!give) {
    return c->ours.want || (c->ours.have & ~theirs.have);
  }
  size_t len = parts_len(p, give);
  uint8_t *parts = pub_alloc(c, len + 2 * p->bitmap_len);
  if (!parts) {
    return false;
  }
  encode_parts(p, c->group, give, parts);
  put_metadata(p, parts + len,
               (bitmaps){theirs.have | give, theirs.want & ~give});
  out->parts = (lp2p_bytes){parts, len};
  out->peer_metadata = (lp2p_bytes){parts + len, 2 * p->bitmap_len};
  c->s->partial->res.rpcs_with_parts++;
  return true;
}

/* Publishes node `n`'s metadata of `group`, wanting `want`, with the
 * parts each peer wants: to `to` alone, or (NULL) to the group's peers
 * and the mesh. */
static void publish(sim *s, sim_node *n, uint64_t group, uint64_t want,
                    const lp2p_peer_id *to) {
  const sim_partial *p = s->partial;
  pub_ctx c = {s, group, {pstate(s, n, group)->have, want}, {0}, NULL};
  uint8_t id[8];
  put_be64(id, group);
  put_metadata(p, c.metadata, c.ours);
  int rv = lp2p_router_publish_partial(n->r, (const uint8_t *)SIM_TOPIC,
                                       SIM_TOPIC_LEN, id, sizeof(id), to,
                                       to ? 1 : 0, action, &c, s->now);
  if (rv == LP2P_ERR_NOMEM) {
    s->err = rv;
  }
  while (c.bufs) {
    pub_buf *next = c.bufs->next;
    lp2p_free(s->mem, c.bufs);
    c.bufs = next;
  }
}

/* ---- receiving -------------------------------------------------------- */

/* The parts of `group` node `n` held from the start. */
static uint64_t initial_parts(const sim *s, const sim_node *n, uint64_t group) {
  const lp2p_sim_config *c = s->c;
  const uint32_t *src = &s->partial->sources[group * c->publishers];
  for (size_t j = 0; j < c->publishers; j++) {
    if (src[j] == n->index) {
      uint64_t share = 0;
      for (size_t i = j; i < c->parts; i += c->publishers) {
        share |= UINT64_C(1) << i;
      }
      return share;
    }
  }
  return 0;
}

static void complete(sim *s, const sim_node *n, uint64_t group) {
  sim_partial *p = s->partial;
  uint64_t lacked = p->full & ~initial_parts(s, n, group);
  size_t bytes = (size_t)popcount(lacked) * p->part_len;
  p->res.delivered_bytes += bytes;
  lp2p__sim_delivered(s, n, group, bytes);
}

/* Merges received parts into what `n` holds of `group`; returns whether
 * it holds more now, or -1 for parts that are not what they claim. */
static int merge(sim *s, sim_node *n, uint64_t group, lp2p_bytes parts) {
  sim_partial *p = s->partial;
  sim_pstate *st = pstate(s, n, group);
  uint64_t got;
  if (!decode_parts(p, group, parts, &got)) {
    p->res.invalid++;
    return -1;
  }
  uint64_t dup = got & st->have;
  p->res.parts_new += (uint64_t)popcount(got & ~st->have);
  p->res.parts_duplicate += (uint64_t)popcount(dup);
  uint8_t *d = &s->duplicates[(size_t)n->index * s->c->messages + group];
  int dups = *d + popcount(dup);
  *d = (uint8_t)(dups < UINT8_MAX ? dups : UINT8_MAX);
  uint64_t before = st->have;
  st->have |= got;
  st->asked &= ~got;
  if (st->have != before && st->have == p->full) {
    complete(s, n, group);
  }
  return st->have != before;
}

static bool group_index(const sim *s, lp2p_bytes id, uint64_t *group) {
  if (id.len != 8) {
    return false;
  }
  *group = get_be64(id.data);
  return *group < s->c->messages;
}

/* The parts `n` lacks that `offered` holds and it has asked no one for
 * (or asked too long ago): it asks for them now. */
static uint64_t ask(sim *s, sim_node *n, uint64_t group, uint64_t offered) {
  sim_pstate *st = pstate(s, n, group);
  if (s->now >= st->asked_at + REQUEST_TIMEOUT) {
    st->asked = 0;
  }
  uint64_t want = offered & ~st->have & ~st->asked;
  if (want) {
    st->asked |= want;
    st->asked_at = s->now;
  }
  return want;
}

/* A peer's RPC.partial: merge the parts and score the peer on them;
 * with new parts, announce them to the group's peers and the mesh (each
 * gets the parts it wanted); then ask the sender for what it offers
 * that we still need, and send it what it wants. */
static void on_partial(lp2p_router *r, const lp2p_partial_rpc *pm, void *user) {
  sim_node *n = user;
  sim *s = n->s;
  uint64_t group;
  bitmaps theirs;
  if (!group_index(s, pm->group, &group)) {
    return;
  }
  lp2p_peer_id from = *pm->from;
  int extended = 0;
  if (pm->parts.data) {
    extended = merge(s, n, group, pm->parts);
    lp2p_router_partial_feedback(
        r, (const uint8_t *)SIM_TOPIC, SIM_TOPIC_LEN, &from,
        extended < 0 ? LP2P_PARTIAL_INVALID : LP2P_PARTIAL_USEFUL);
  }
  bool md = get_metadata(s->partial, pm->metadata, &theirs);
  if (extended > 0) {
    publish(s, n, group, 0, NULL); /* the group's peers include the sender */
  }
  uint64_t want = md ? ask(s, n, group, theirs.have) : 0;
  uint64_t have = pstate(s, n, group)->have;
  if (want || (md && extended <= 0 && (theirs.want & have & ~theirs.have))) {
    publish(s, n, group, want, &from);
  }
}

/* The heartbeat picked gossip peers that know nothing of our group: they
 * learn what we hold (as the suite's application, through go's
 * OnEmitGossip), and ask. */
static void on_partial_gossip(lp2p_router *r, lp2p_bytes topic,
                              lp2p_bytes group, const lp2p_peer_id *peers,
                              size_t npeers, void *user) {
  sim_node *n = user;
  uint64_t k;
  (void)r;
  (void)topic;
  if (!group_index(n->s, group, &k)) {
    return;
  }
  for (size_t i = 0; i < npeers; i++) {
    publish(n->s, n, k, 0, &peers[i]);
  }
}

/* At each heartbeat of `n`: a group it still lacks parts of, published
 * REQUEST_TIMEOUT ago or more, whose requests (if any) went unanswered
 * as long, is asked of the whole mesh (a lost RPC, or an offer the
 * router's bounds dropped). Rare, so the copies it may bring cost
 * little. */
void lp2p__sim_partial_heartbeat(sim *s, sim_node *n) {
  const sim_partial *p = s->partial;
  for (uint64_t k = 0; k < s->c->messages; k++) {
    sim_pstate *st = pstate(s, n, k);
    if (s->published[k] + REQUEST_TIMEOUT > s->now) {
      break; /* published in order: the rest are younger */
    }
    if (st->have == p->full || st->asked_at + REQUEST_TIMEOUT > s->now) {
      continue;
    }
    st->asked = p->full & ~st->have;
    st->asked_at = s->now;
    publish(s, n, k, st->asked, NULL);
  }
}

/* ---- the run ---------------------------------------------------------- */

int lp2p__sim_partial_check(const lp2p_sim_config *c) {
  if (!c->partial) {
    return 0;
  }
  if (c->parts < 1 || c->parts > 64 || c->publishers < 1 ||
      c->publishers > c->parts || c->publishers >= c->nodes ||
      c->size % c->parts != 0 || c->size / c->parts < 8 || c->wire ||
      c->attackers > 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  return 0;
}

void lp2p__sim_partial_router(lp2p_router_settings *st,
                              lp2p_router_callbacks *cb) {
  st->extensions.partial_messages = true;
  cb->partial = on_partial;
  cb->partial_gossip = on_partial_gossip;
}

int lp2p__sim_partial_init(sim *s) {
  const lp2p_sim_config *c = s->c;
  sim_partial *p = lp2p_calloc(s->mem, 1, sizeof(*p));
  if (!p) {
    return LP2P_ERR_NOMEM;
  }
  s->partial = p;
  p->full = c->parts == 64 ? UINT64_MAX : (UINT64_C(1) << c->parts) - 1;
  p->part_len = c->size / c->parts;
  p->bitmap_len = (c->parts + 7) / 8;
  p->state = lp2p_calloc(s->mem, c->nodes * c->messages + 1, sizeof(*p->state));
  p->sources =
      lp2p_calloc(s->mem, c->messages * c->publishers + 1, sizeof(uint32_t));
  /* the one publisher of a group holds it all: the others must complete */
  s->receivers = c->publishers == 1 ? c->nodes - 1 : c->nodes;
  return p->state && p->sources ? 0 : LP2P_ERR_NOMEM;
}

void lp2p__sim_partial_free(sim *s) {
  if (s->partial) {
    lp2p_free(s->mem, s->partial->state);
    lp2p_free(s->mem, s->partial->sources);
    lp2p_free(s->mem, s->partial);
    s->partial = NULL;
  }
}

/* `publishers` distinct random nodes for `group`, each an EV_PUBLISH
 * carrying its place among them (its share of the parts). */
static int schedule_group(sim *s, uint64_t group) {
  const lp2p_sim_config *c = s->c;
  uint32_t *src = &s->partial->sources[group * c->publishers];
  for (size_t j = 0; j < c->publishers; j++) {
    uint32_t node;
    bool taken;
    do {
      node = lp2p_pcg_below(&s->rng, (uint32_t)c->nodes);
      taken = false;
      for (size_t i = 0; i < j; i++) {
        taken = taken || src[i] == node;
      }
    } while (taken);
    src[j] = node;
    sim_event *ev = lp2p__sim_event_new(s, 0);
    if (!ev) {
      return LP2P_ERR_NOMEM;
    }
    ev->h.kind = EV_PUBLISH;
    ev->to = node;
    ev->from = (uint32_t)group;
    if (lp2p__sim_push(s, &ev->h, s->published[group]) != 0) {
      return LP2P_ERR_NOMEM;
    }
  }
  return 0;
}

int lp2p__sim_partial_schedule(sim *s) {
  const lp2p_sim_config *c = s->c;
  for (size_t k = 0; k < c->messages; k++) {
    s->published[k] = c->warmup + (lp2p_tstamp)k * c->interval;
    int rv = schedule_group(s, k);
    if (rv != 0) {
      return rv;
    }
  }
  return 0;
}

/* A publisher takes its share of the group's parts and announces them to
 * its mesh (go's lazy mode: parts go to those that ask). */
void lp2p__sim_partial_publish(sim *s, sim_event *ev) {
  sim_node *n = &s->nodes[ev->to];
  uint64_t group = ev->from;
  sim_pstate *st = pstate(s, n, group);
  uint64_t before = st->have;
  st->have |= initial_parts(s, n, group);
  if (before != s->partial->full && st->have == s->partial->full &&
      s->c->publishers > 1) {
    complete(s, n, group); /* the others' parts came first */
  }
  publish(s, n, group, 0, NULL);
}

void lp2p__sim_partial_summarise(sim *s) {
  sim_partial *p = s->partial;
  lp2p_sim_result *res = s->res;
  for (size_t i = 0; i < s->c->nodes; i++) {
    lp2p_router_stats st;
    lp2p_router_get_stats(s->nodes[i].r, &st);
    p->res.rpcs += st.partial_sent;
    p->res.groups_dropped += st.partial_groups_dropped;
    p->res.too_large += st.partial_too_large;
    p->res.queue_dropped += st.queue_drop_partial;
  }
  res->partial = p->res;
  res->duplicates_per_message =
      (double)p->res.parts_duplicate /
      (double)(s->c->messages ? s->c->messages * s->c->nodes : 1);
  res->bytes_per_delivered_byte =
      p->res.delivered_bytes
          ? (double)res->bytes_sent / (double)p->res.delivered_bytes
          : 0;
}
