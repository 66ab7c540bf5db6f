/* Peer scoring: the counters the router feeds, their decay, retention
 * after disconnection, IP colocation, IWANT promises, and the score. */
#include <math.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "message.h"
#include "peer.h"
#include "router.h"
#include "score.h"
#include "topic.h"

/* The peers counted under one key: a kind byte (an address, or an IPv6
 * /64) and the 16 bytes of the address or of the prefix. */
#define IPKEY_LEN 17
enum { IPKEY_ADDR, IPKEY_NET64 };

typedef struct gs_ipcount {
  uint8_t key[IPKEY_LEN];
  size_t count;
} gs_ipcount;

static void seed_from(uint8_t *dest, size_t len, void *user) {
  /* the maps of the score are seeded from the router's id key, itself
   * from the rand callback */
  const uint8_t *key = user;
  for (size_t i = 0; i < len; i++) {
    dest[i] = key[i % 16] ^ (uint8_t)(0x5c + i);
  }
}

int lp2p_gs_score_init(lp2p_router *r, lp2p_tstamp now) {
  gs_scoring *sc = &r->score;
  sc->on = r->s.scoring;
  /* with scoring off every threshold is 0 and every score 0: nothing is
   * ever below a threshold */
  if (sc->on) {
    sc->p = r->s.score;
  } else {
    memset(&sc->p, 0, sizeof(sc->p));
  }
  lp2p_map_init(&sc->peers, r->mem, seed_from, r->id_key);
  lp2p_map_init(&sc->topics, r->mem, seed_from, r->id_key + 1);
  lp2p_map_init(&sc->ips, r->mem, seed_from, r->id_key + 2);
  lp2p_u64map_init(&sc->promises, r->mem);
  sc->next_decay = sc->on ? now + sc->p.decay_interval : LP2P_TSTAMP_NEVER;
  return 0;
}

static void free_promises(lp2p_router *r, gs_promise *pr) {
  while (pr) {
    gs_promise *next = pr->next;
    lp2p_free(r->mem, pr);
    pr = next;
  }
}

static bool drop_all_promises(uint64_t key, void *val, void *arg) {
  (void)key;
  free_promises(arg, val);
  return true;
}

void lp2p_gs_score_free(lp2p_router *r) {
  gs_scoring *sc = &r->score;
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&sc->peers, &it)) != NULL) {
    gs_speer *sp = e->value;
    lp2p_free(r->mem, sp->topics);
    lp2p_free(r->mem, sp);
  }
  it = 0;
  while ((e = lp2p_map_next(&sc->topics, &it)) != NULL) {
    lp2p_free(r->mem, e->value);
  }
  it = 0;
  while ((e = lp2p_map_next(&sc->ips, &it)) != NULL) {
    lp2p_free(r->mem, e->value);
  }
  lp2p_u64map_remove_if(&sc->promises, drop_all_promises, r);
  lp2p_map_free(&sc->peers);
  lp2p_map_free(&sc->topics);
  lp2p_map_free(&sc->ips);
  lp2p_u64map_free(&sc->promises);
}

const gs_tscore *lp2p_gs_tscore_find(const lp2p_router *r, const uint8_t *name,
                                     size_t len) {
  return lp2p_map_get(&r->score.topics, name, len);
}

/* ---- IP colocation ---------------------------------------------------- */

static bool ip_is_v4(const uint8_t ip[16]) {
  static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return memcmp(ip, prefix, 12) == 0;
}

/* As go's getIPs, loopback addresses (127/8, ::1) are not counted: they
 * are local test setups, not sybils; nor unknown addresses (all zero). */
static bool ip_counted(const uint8_t ip[16]) {
  static const uint8_t zero[16], loop6[16] = {[15] = 1};
  if (ip_is_v4(ip)) {
    return ip[12] != 127;
  }
  return memcmp(ip, zero, 16) != 0 && memcmp(ip, loop6, 16) != 0;
}

/* The keys an address is counted under, as go: the address, and for
 * IPv6 its /64 too (one host is commonly given a whole /64). */
static size_t ip_keys(const uint8_t ip[16], uint8_t keys[2][IPKEY_LEN]) {
  keys[0][0] = IPKEY_ADDR;
  memcpy(keys[0] + 1, ip, 16);
  if (ip_is_v4(ip)) {
    return 1;
  }
  memset(keys[1], 0, IPKEY_LEN);
  keys[1][0] = IPKEY_NET64;
  memcpy(keys[1] + 1, ip, 8);
  return 2;
}

static bool whitelisted(const lp2p_score_params *p, const uint8_t ip[16]) {
  for (size_t i = 0; i < p->ip_colocation_whitelist_len; i++) {
    const lp2p_ip_net *n = &p->ip_colocation_whitelist[i];
    size_t bits = n->prefix_len, full = bits / 8;
    uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
    if (memcmp(ip, n->addr, full) == 0 &&
        (bits % 8 == 0 || ((ip[full] ^ n->addr[full]) & mask) == 0)) {
      return true;
    }
  }
  return false;
}

/* Do `a` and `b` share a key (the address, or an IPv6 /64)? */
static bool ip_colocated(const uint8_t a[16], const uint8_t b[16]) {
  if (ip_is_v4(a) || ip_is_v4(b)) {
    return memcmp(a, b, 16) == 0;
  }
  return memcmp(a, b, 8) == 0;
}

/* Every peer sharing a key with `ip` must recompute P6. */
static void dirty_ip(lp2p_router *r, const uint8_t ip[16]) {
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&r->score.peers, &it)) != NULL) {
    gs_speer *sp = e->value;
    if (sp->has_ip && ip_colocated(sp->ip, ip)) {
      sp->dirty = true;
    }
  }
}

static void key_remove(lp2p_router *r, const uint8_t key[IPKEY_LEN]) {
  gs_ipcount *c = lp2p_map_get(&r->score.ips, key, IPKEY_LEN);
  if (c && --c->count == 0) {
    lp2p_map_remove(&r->score.ips, key, IPKEY_LEN);
    lp2p_free(r->mem, c);
  }
}

static int key_add(lp2p_router *r, const uint8_t key[IPKEY_LEN]) {
  gs_ipcount *c = lp2p_map_get(&r->score.ips, key, IPKEY_LEN);
  if (!c) {
    c = lp2p_calloc(r->mem, 1, sizeof(*c));
    if (!c) {
      return LP2P_ERR_NOMEM;
    }
    memcpy(c->key, key, IPKEY_LEN);
    if (lp2p_map_put(&r->score.ips, c->key, IPKEY_LEN, c) != 0) {
      lp2p_free(r->mem, c);
      return LP2P_ERR_NOMEM;
    }
  }
  c->count++;
  return 0;
}

static int ip_add(lp2p_router *r, const uint8_t ip[16]) {
  uint8_t keys[2][IPKEY_LEN];
  size_t n = ip_keys(ip, keys);
  for (size_t i = 0; i < n; i++) {
    if (key_add(r, keys[i]) != 0) {
      while (i-- > 0) {
        key_remove(r, keys[i]);
      }
      return LP2P_ERR_NOMEM;
    }
  }
  dirty_ip(r, ip);
  return 0;
}

static void ip_remove(lp2p_router *r, const uint8_t ip[16]) {
  uint8_t keys[2][IPKEY_LEN];
  size_t n = ip_keys(ip, keys);
  for (size_t i = 0; i < n; i++) {
    key_remove(r, keys[i]);
  }
  dirty_ip(r, ip);
}

static size_t key_peers(const lp2p_router *r, const uint8_t key[IPKEY_LEN]) {
  const gs_ipcount *c = lp2p_map_get(&r->score.ips, key, IPKEY_LEN);
  return c ? c->count : 0;
}

/* P6 before its weight, as go: the squared surplus over the threshold of
 * the peers under each of the record's keys that is not whitelisted,
 * summed. `*at_addr` gets the count at its address. */
static double ip_colocation(const lp2p_router *r, const gs_speer *sp,
                            size_t *at_addr) {
  const lp2p_score_params *p = &r->score.p;
  uint8_t keys[2][IPKEY_LEN];
  double sum = 0;
  *at_addr = 0;
  if (!sp->has_ip) {
    return 0;
  }
  size_t n = ip_keys(sp->ip, keys);
  size_t threshold = (size_t)p->ip_colocation_factor_threshold;
  *at_addr = key_peers(r, keys[0]);
  for (size_t i = 0; i < n; i++) {
    size_t count = key_peers(r, keys[i]);
    if (count > threshold && !whitelisted(p, keys[i] + 1)) {
      double surplus = (double)(count - threshold);
      sum += surplus * surplus;
    }
  }
  return sum;
}

static double speer_score(const lp2p_router *r, gs_speer *sp);

/* ---- records ---------------------------------------------------------- */

static void forget(lp2p_router *r, gs_speer *sp) {
  lp2p_map_remove(&r->score.peers, sp->id.bytes, sp->id.len);
  if (sp->has_ip) {
    ip_remove(r, sp->ip);
  }
  lp2p_free(r->mem, sp->topics);
  lp2p_free(r->mem, sp);
}

/* Counts the record at the peer's current address (its colocation
 * follows it), dropping the old one. */
static int move_ip(lp2p_router *r, gs_speer *sp, const uint8_t ip[16]) {
  if (sp->has_ip && memcmp(sp->ip, ip, 16) == 0) {
    return 0;
  }
  if (ip_counted(ip) && ip_add(r, ip) != 0) {
    return LP2P_ERR_NOMEM;
  }
  if (sp->has_ip) {
    ip_remove(r, sp->ip);
  }
  sp->has_ip = ip_counted(ip);
  memcpy(sp->ip, ip, 16);
  return 0;
}

int lp2p_gs_score_attach(lp2p_router *r, gs_peer *p, lp2p_tstamp now) {
  (void)now;
  gs_speer *sp = lp2p_map_get(&r->score.peers, p->id.bytes, p->id.len);
  bool fresh = sp == NULL;
  if (fresh) {
    sp = lp2p_calloc(r->mem, 1, sizeof(*sp));
    if (!sp) {
      return LP2P_ERR_NOMEM;
    }
    sp->id = p->id;
    if (lp2p_map_put(&r->score.peers, sp->id.bytes, sp->id.len, sp) != 0) {
      lp2p_free(r->mem, sp);
      return LP2P_ERR_NOMEM;
    }
  }
  if (move_ip(r, sp, p->ip) != 0) {
    if (fresh) {
      forget(r, sp);
    }
    return LP2P_ERR_NOMEM;
  }
  /* a retained record comes back as it was, whatever the address: a peer
   * cannot wash a bad score by reconnecting (go keys it by peer id too) */
  sp->connected = true;
  sp->told_to_leave = false;
  sp->dirty = true;
  p->sp = sp;
  return 0;
}

/* The sticky penalty of a mesh peer that did not deliver enough. */
static void mesh_failure(gs_tstats *ts) {
  double threshold = ts->ts->p.mesh_message_deliveries_threshold;
  if (ts->in_mesh && ts->active && ts->mesh < threshold) {
    double deficit = threshold - ts->mesh;
    ts->failure += deficit * deficit;
  }
}

void lp2p_gs_score_detach(lp2p_router *r, gs_peer *p, lp2p_tstamp now) {
  gs_speer *sp = p->sp;
  p->sp = NULL;
  /* only scores that are not positive are kept, to dissuade attacks on
   * the score function; and only when scoring is on */
  if (!r->score.on || r->score.p.retain_score == 0 || speer_score(r, sp) > 0) {
    forget(r, sp);
    return;
  }
  for (uint32_t i = 0; i < sp->ntopics; i++) {
    gs_tstats *ts = &sp->topics[i];
    ts->first = 0;
    mesh_failure(ts);
    ts->in_mesh = false;
    ts->active = false;
  }
  sp->connected = false;
  sp->dirty = true;
  sp->expire = now + r->score.p.retain_score;
}

/* The counters of `sp` in topic `t`, created on first use; NULL for a
 * topic without score parameters (or out of memory). */
static gs_tstats *tstats(lp2p_router *r, gs_speer *sp, const gs_topic *t) {
  const gs_tscore *tsc = t ? t->tscore : NULL;
  if (!tsc || !sp) {
    return NULL;
  }
  for (uint32_t i = 0; i < sp->ntopics; i++) {
    if (sp->topics[i].ts == tsc) {
      return &sp->topics[i];
    }
  }
  if (sp->ntopics == sp->cap_topics) {
    uint32_t cap = sp->cap_topics ? sp->cap_topics * 2 : 2;
    gs_tstats *a = lp2p_reallocarray(r->mem, sp->topics, cap, sizeof(*a));
    if (!a) {
      return NULL;
    }
    sp->topics = a;
    sp->cap_topics = cap;
  }
  gs_tstats *ts = &sp->topics[sp->ntopics++];
  memset(ts, 0, sizeof(*ts));
  ts->ts = tsc;
  return ts;
}

void lp2p_gs_score_graft(lp2p_router *r, gs_peer *p, const gs_topic *t,
                         lp2p_tstamp now) {
  gs_tstats *ts = tstats(r, p->sp, t);
  if (ts) {
    ts->in_mesh = true;
    ts->graft_time = now;
    ts->mesh_time = 0;
    ts->active = false;
    p->sp->dirty = true;
  }
}

void lp2p_gs_score_prune(lp2p_router *r, gs_peer *p, const gs_topic *t) {
  gs_tstats *ts = tstats(r, p->sp, t);
  if (ts) {
    mesh_failure(ts);
    /* out of the mesh, P3 no longer applies (nim-libp2p's rule): P3b holds
     * what it owed */
    ts->in_mesh = false;
    ts->active = false;
    p->sp->dirty = true;
  }
}

static void add_capped(double *v, double cap) {
  *v = *v + 1 > cap ? cap : *v + 1;
}

void lp2p_gs_score_first(lp2p_router *r, gs_peer *p, const gs_topic *t) {
  gs_tstats *ts = tstats(r, p->sp, t);
  if (ts) {
    add_capped(&ts->first, ts->ts->p.first_message_deliveries_cap);
    if (ts->in_mesh) {
      add_capped(&ts->mesh, ts->ts->p.mesh_message_deliveries_cap);
    }
    p->sp->dirty = true;
  }
}

void lp2p_gs_score_duplicate(lp2p_router *r, gs_peer *p, const gs_topic *t,
                             lp2p_tstamp validated, lp2p_tstamp now) {
  gs_tstats *ts = tstats(r, p->sp, t);
  /* a copy counts for P3 when it came while the first was validated
   * (validated == 0) or within the delivery window after */
  if (ts && ts->in_mesh &&
      (validated == 0 ||
       now - validated <= ts->ts->p.mesh_message_deliveries_window)) {
    add_capped(&ts->mesh, ts->ts->p.mesh_message_deliveries_cap);
    p->sp->dirty = true;
  }
}

void lp2p_gs_score_invalid(lp2p_router *r, gs_peer *p, const gs_topic *t) {
  gs_tstats *ts = tstats(r, p->sp, t);
  if (ts) {
    ts->invalid += 1;
    p->sp->dirty = true;
  }
}

void lp2p_gs_score_penalty(lp2p_router *r, gs_peer *p, double count) {
  (void)r;
  p->sp->behaviour += count;
  p->sp->dirty = true;
}

/* ---- the score -------------------------------------------------------- */

/* One topic's counters and their weighted parts. */
static void topic_breakdown(const gs_tstats *ts,
                            lp2p_topic_score_breakdown *b) {
  const lp2p_topic_score_params *tp = &ts->ts->p;
  memset(b, 0, sizeof(*b));
  b->topic = ts->ts->name;
  b->topic_len = ts->ts->name_len;
  b->in_mesh = ts->in_mesh;
  b->mesh_message_deliveries_active = ts->active;
  if (ts->in_mesh) {
    b->mesh_time = ts->mesh_time; /* as go: only while in the mesh */
    if (tp->time_in_mesh_quantum) {
      b->time_in_mesh = (double)(ts->mesh_time / tp->time_in_mesh_quantum);
      if (b->time_in_mesh > tp->time_in_mesh_cap) {
        b->time_in_mesh = tp->time_in_mesh_cap;
      }
    }
  }
  b->first_message_deliveries = ts->first;
  b->mesh_message_deliveries = ts->mesh;
  if (ts->active && ts->mesh < tp->mesh_message_deliveries_threshold) {
    double deficit = tp->mesh_message_deliveries_threshold - ts->mesh;
    b->mesh_message_deliveries_deficit = deficit * deficit;
  }
  b->mesh_failure_penalty = ts->failure;
  b->invalid_message_deliveries = ts->invalid;
  double w = tp->topic_weight;
  b->p1 = w * b->time_in_mesh * tp->time_in_mesh_weight;
  b->p2 = w * ts->first * tp->first_message_deliveries_weight;
  b->p3 = w * b->mesh_message_deliveries_deficit *
          tp->mesh_message_deliveries_weight;
  b->p3b = w * ts->failure * tp->mesh_failure_penalty_weight;
  b->p4 = w * ts->invalid * ts->invalid * tp->invalid_message_deliveries_weight;
  b->score = b->p1 + b->p2 + b->p3 + b->p3b + b->p4;
}

/* The score of `sp` with `app` as P5's value, and its parts: the one
 * place the score is computed. Its first `cap` topics go to `topics`. */
static void peer_breakdown(const lp2p_router *r, const gs_speer *sp, double app,
                           lp2p_peer_score_breakdown *b,
                           lp2p_topic_score_breakdown *topics, size_t cap) {
  const lp2p_score_params *p = &r->score.p;
  memset(b, 0, sizeof(*b));
  b->peer = sp->id;
  b->connected = sp->connected;
  b->ntopics = sp->ntopics;
  for (uint32_t i = 0; i < sp->ntopics; i++) {
    lp2p_topic_score_breakdown tb;
    topic_breakdown(&sp->topics[i], i < cap ? &topics[i] : &tb);
    b->topics_sum += i < cap ? topics[i].score : tb.score;
  }
  b->topics_capped = b->topics_sum;
  if (p->topic_score_cap > 0 && b->topics_capped > p->topic_score_cap) {
    b->topics_capped = p->topic_score_cap;
  }
  b->app_specific = app;
  b->p5 = p->app_specific_weight * app;
  b->ip_colocation = ip_colocation(r, sp, &b->ip_peers);
  b->p6 = b->ip_colocation * p->ip_colocation_factor_weight;
  b->behaviour_penalty = sp->behaviour;
  if (sp->behaviour > p->behaviour_penalty_threshold) {
    double excess = sp->behaviour - p->behaviour_penalty_threshold;
    b->p7 = excess * excess * p->behaviour_penalty_weight;
  }
  b->score = b->topics_capped + b->p5 + b->p6 + b->p7;
}

/* P5 sampled now: 0 without the callback. */
static double app_score_now(const lp2p_router *r, const gs_speer *sp) {
  return r->cb.app_score ? r->cb.app_score((lp2p_router *)r, &sp->id, r->user)
                         : 0;
}

static double speer_score(const lp2p_router *r, gs_speer *sp) {
  if (!r->score.on) {
    return 0;
  }
  if (sp->dirty) {
    lp2p_peer_score_breakdown b;
    /* a cache, not state: routers are never const objects */
    sp->app = app_score_now(r, sp);
    peer_breakdown(r, sp, sp->app, &b, NULL, 0);
    if (b.score != sp->score) {
      ((lp2p_router *)r)->st.score_changes++;
    }
    sp->score = b.score;
    sp->dirty = false;
  }
  return sp->score;
}

double lp2p_gs_score(const lp2p_router *r, const gs_peer *p) {
  return speer_score(r, p->sp);
}

/* ---- decay -------------------------------------------------------------- */

static void decay(double *v, double factor, double to_zero) {
  *v *= factor;
  if (*v < to_zero) {
    *v = 0;
  }
}

static void decay_peer(const lp2p_score_params *p, gs_speer *sp,
                       lp2p_tstamp now) {
  for (uint32_t i = 0; i < sp->ntopics; i++) {
    gs_tstats *ts = &sp->topics[i];
    const lp2p_topic_score_params *tp = &ts->ts->p;
    decay(&ts->first, tp->first_message_deliveries_decay, p->decay_to_zero);
    decay(&ts->mesh, tp->mesh_message_deliveries_decay, p->decay_to_zero);
    decay(&ts->failure, tp->mesh_failure_penalty_decay, p->decay_to_zero);
    decay(&ts->invalid, tp->invalid_message_deliveries_decay, p->decay_to_zero);
    if (ts->in_mesh) {
      ts->mesh_time = now - ts->graft_time;
      if (ts->mesh_time > tp->mesh_message_deliveries_activation) {
        ts->active = true;
      }
    }
  }
  decay(&sp->behaviour, p->behaviour_penalty_decay, p->decay_to_zero);
  sp->dirty = true;
}

/* Every DecayInterval: counters decay, mesh times advance, and retained
 * records past RetainScore go. Retained records do not decay: a peer
 * cannot wait a bad score away while gone. */
static void refresh(lp2p_router *r, lp2p_tstamp now) {
  gs_speer **gone = NULL;
  size_t ngone = 0, it = 0;
  lp2p_map_entry *e;
  gone = lp2p_malloc(r->mem, (r->score.peers.count + 1) * sizeof(*gone));
  while ((e = lp2p_map_next(&r->score.peers, &it)) != NULL) {
    gs_speer *sp = e->value;
    if (sp->connected) {
      decay_peer(&r->score.p, sp, now);
    } else if (sp->expire <= now && gone) {
      gone[ngone++] = sp;
    }
  }
  for (size_t i = 0; i < ngone; i++) {
    forget(r, gone[i]);
  }
  lp2p_free(r->mem, gone);
}

/* ---- IWANT promises ------------------------------------------------------ */

void lp2p_gs_promise_add(lp2p_router *r, const gs_peer *p,
                         const lp2p_bytes *ids, size_t n, lp2p_tstamp now) {
  if (!r->score.on || n == 0) {
    return;
  }
  /* one id of the IWANT, at random, stands for all of it, as go does */
  const lp2p_bytes *id = &ids[lp2p_pcg_below(&r->rng, (uint32_t)n)];
  uint64_t h = lp2p_gs_id_hash(r, id->data, id->len);
  gs_promise *head = lp2p_u64map_get(&r->score.promises, h);
  for (gs_promise *q = head; q; q = q->next) {
    if (lp2p_peer_id_equal(&q->peer, &p->id)) {
      return;
    }
  }
  gs_promise *pr = lp2p_malloc(r->mem, sizeof(*pr));
  if (!pr) {
    return; /* an unkept promise then goes unpunished, nothing worse */
  }
  pr->peer = p->id;
  pr->expire = now + r->s.params.iwant_followup_time;
  pr->next = head;
  if (lp2p_u64map_put(&r->score.promises, h, pr) != 0) {
    lp2p_free(r->mem, pr);
    return;
  }
  r->score.npromises++;
}

void lp2p_gs_promise_fulfill(lp2p_router *r, uint64_t id_hash) {
  gs_promise *pr = lp2p_u64map_remove(&r->score.promises, id_hash);
  while (pr) {
    gs_promise *next = pr->next;
    lp2p_free(r->mem, pr);
    r->score.npromises--;
    pr = next;
  }
}

/* Penalises the peer of every expired promise, once per promise. */
static void break_promises(lp2p_router *r, gs_promise **link, lp2p_tstamp now) {
  while (*link) {
    gs_promise *pr = *link;
    if (pr->expire > now) {
      link = &pr->next;
      continue;
    }
    gs_peer *p = lp2p_gs_peer_find(r, &pr->peer);
    if (p) {
      lp2p_gs_score_penalty(r, p, 1);
      r->st.broken_promises++;
    }
    *link = pr->next;
    lp2p_free(r->mem, pr);
    r->score.npromises--;
  }
}

static bool no_promise_left(uint64_t key, void *val, void *arg) {
  (void)key;
  (void)arg;
  return val == NULL;
}

typedef struct broken_ctx {
  lp2p_router *r;
  lp2p_tstamp now;
} broken_ctx;

static void break_message_promises(uint64_t key, void **val, void *arg) {
  broken_ctx *c = arg;
  (void)key;
  break_promises(c->r, (gs_promise **)val, c->now);
}

static void check_promises(lp2p_router *r, lp2p_tstamp now) {
  broken_ctx c = {r, now};
  lp2p_u64map_each(&r->score.promises, break_message_promises, &c);
  lp2p_u64map_remove_if(&r->score.promises, no_promise_left, NULL);
}

/* Asks the host to drop peers below the graylist threshold, once; never
 * a direct peer, whose RPCs are always accepted (as go's AcceptFrom). */
static void disconnect_graylisted(lp2p_router *r) {
  size_t it = 0;
  lp2p_map_entry *e;
  double graylist = r->score.p.thresholds.graylist;
  while (r->cb.disconnect && (e = lp2p_map_next(&r->peers, &it)) != NULL) {
    gs_peer *p = e->value;
    if (!p->direct && !p->sp->told_to_leave && lp2p_gs_score(r, p) < graylist) {
      p->sp->told_to_leave = true;
      r->cb.disconnect(r, &p->id, p->user, r->user);
    }
  }
}

void lp2p_gs_score_heartbeat(lp2p_router *r, lp2p_tstamp now) {
  if (!r->score.on) {
    return;
  }
  if (now >= r->score.next_decay) {
    refresh(r, now);
    r->score.next_decay += r->score.p.decay_interval;
    if (r->score.next_decay <= now) {
      r->score.next_decay = now + r->score.p.decay_interval;
    }
  }
  check_promises(r, now);
  disconnect_graylisted(r);
}

lp2p_tstamp lp2p_gs_score_expiry(const lp2p_router *r) {
  return r->score.next_decay;
}

/* ---- the API ------------------------------------------------------------- */

double lp2p_router_peer_score(const lp2p_router *r, const lp2p_peer_id *peer) {
  gs_speer *sp = lp2p_map_get(&r->score.peers, peer->bytes, peer->len);
  return sp ? speer_score(r, sp) : 0.0;
}

int lp2p_router_peer_score_info(lp2p_router *r, const lp2p_peer_id *peer,
                                lp2p_peer_score_info *info) {
  gs_speer *sp = lp2p_map_get(&r->score.peers, peer->bytes, peer->len);
  if (!sp) {
    return LP2P_ERR_NOT_FOUND;
  }
  lp2p_peer_score_breakdown b;
  peer_breakdown(r, sp, app_score_now(r, sp), &b, NULL, 0);
  memset(info, 0, sizeof(*info));
  info->behaviour_penalty = b.behaviour_penalty;
  info->ip_peers = b.ip_peers;
  info->connected = b.connected;
  if (!r->score.on) {
    return 0;
  }
  for (uint32_t i = 0; i < sp->ntopics; i++) {
    lp2p_topic_score_breakdown tb;
    topic_breakdown(&sp->topics[i], &tb);
    info->p1 += tb.p1;
    info->p2 += tb.p2;
    info->p3 += tb.p3;
    info->p3b += tb.p3b;
    info->p4 += tb.p4;
  }
  info->topics = b.topics_capped;
  info->p5 = b.p5;
  info->p6 = b.p6;
  info->p7 = b.p7;
  info->score = b.score;
  return 0;
}

/* The breakdown of a record: its score brought up to date first, then
 * its parts from the same P5 value, so that they add up to it. */
static void record_breakdown(lp2p_router *r, gs_speer *sp,
                             lp2p_peer_score_breakdown *out,
                             lp2p_topic_score_breakdown *topics, size_t cap) {
  speer_score(r, sp);
  peer_breakdown(r, sp, r->score.on ? sp->app : 0, out, topics, cap);
  if (!r->score.on) {
    /* every weight is 0 then, and so the score: only counters remain */
    out->score = 0;
  }
}

int lp2p_router_peer_score_breakdown(lp2p_router *r, const lp2p_peer_id *peer,
                                     lp2p_peer_score_breakdown *out,
                                     lp2p_topic_score_breakdown *topics,
                                     size_t cap) {
  gs_speer *sp = lp2p_map_get(&r->score.peers, peer->bytes, peer->len);
  if (!sp) {
    return LP2P_ERR_NOT_FOUND;
  }
  record_breakdown(r, sp, out, topics, topics ? cap : 0);
  return 0;
}

int lp2p_router_scores_each(lp2p_router *r, lp2p_score_breakdown_fn fn,
                            void *user) {
  /* a peer has counters in each scored topic at most once: one array
   * sized to the scored topics serves every peer */
  size_t cap = r->score.topics.count;
  lp2p_topic_score_breakdown *topics = NULL;
  if (cap > 0) {
    topics = lp2p_reallocarray(r->mem, NULL, cap, sizeof(*topics));
    if (!topics) {
      return LP2P_ERR_NOMEM;
    }
  }
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&r->score.peers, &it)) != NULL) {
    lp2p_peer_score_breakdown b;
    record_breakdown(r, e->value, &b, topics, cap);
    fn(&b, topics, user);
  }
  lp2p_free(r->mem, topics);
  return 0;
}

int lp2p_router_peer_topic_score(const lp2p_router *r, const lp2p_peer_id *peer,
                                 const uint8_t *topic, size_t len,
                                 lp2p_peer_topic_score *out) {
  gs_speer *sp = lp2p_map_get(&r->score.peers, peer->bytes, peer->len);
  const gs_tscore *tsc = lp2p_gs_tscore_find(r, topic, len);
  for (uint32_t i = 0; sp && tsc && i < sp->ntopics; i++) {
    const gs_tstats *ts = &sp->topics[i];
    if (ts->ts == tsc) {
      out->in_mesh = ts->in_mesh;
      out->mesh_time = ts->mesh_time;
      out->first_message_deliveries = ts->first;
      out->mesh_message_deliveries = ts->mesh;
      out->mesh_message_deliveries_active = ts->active;
      out->mesh_failure_penalty = ts->failure;
      out->invalid_message_deliveries = ts->invalid;
      return 0;
    }
  }
  return LP2P_ERR_NOT_FOUND;
}

/* New parameters: every cached score, retained ones too, is stale. */
static void dirty_all(lp2p_router *r) {
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&r->score.peers, &it)) != NULL) {
    ((gs_speer *)e->value)->dirty = true;
  }
}

int lp2p_router_set_topic_score_params(lp2p_router *r, const uint8_t *topic,
                                       size_t len,
                                       const lp2p_topic_score_params *p,
                                       lp2p_errdetail *err) {
  if (!r->score.on) {
    return lp2p_errdetail_set(err, LP2P_ERR_STATE,
                              "scoring is off: set settings.scoring");
  }
  if (len == 0 || len > r->s.limits.max_topic_len) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG, "bad topic length");
  }
  int rv = lp2p_topic_score_params_validate(p, err);
  if (rv != 0) {
    return rv;
  }
  gs_tscore *tsc = lp2p_map_get(&r->score.topics, topic, len);
  if (tsc) {
    tsc->p = *p; /* counters keep running under the new parameters */
    dirty_all(r);
    return 0;
  }
  tsc = lp2p_malloc(r->mem, sizeof(*tsc) + len);
  if (!tsc) {
    return LP2P_ERR_NOMEM;
  }
  tsc->p = *p;
  tsc->name_len = len;
  memcpy(tsc->name, topic, len);
  if (lp2p_map_put(&r->score.topics, tsc->name, len, tsc) != 0) {
    lp2p_free(r->mem, tsc);
    return LP2P_ERR_NOMEM;
  }
  gs_topic *t = lp2p_gs_topic_find(r, topic, len);
  if (t) {
    t->tscore = tsc;
  }
  return 0;
}
