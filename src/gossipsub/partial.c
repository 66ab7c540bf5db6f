/* Partial messages, the gossipsub v1.3 extension (libp2p/specs
 * pubsub/gossipsub/partial-messages.md; go-libp2p-pubsub's
 * partialmessages package is the reference for what the spec leaves
 * open). A full message is named by a group id and travels as parts
 * whose encoding, like the partsMetadata saying what a peer has and
 * wants, belongs to the application. The router keeps per topic:
 * - our mode (requesting parts, or only supporting sending them) and
 *   each subscribed peer's (SubOpts.requestsPartial /
 *   supportsSendingPartial);
 * - group states: the peers we exchanged with on the group and each
 *   one's last partsMetadata, so that the application can send a peer
 *   only what it lacks. A state lives partial_group_ttl heartbeats after
 *   we last published the group; those a peer's RPC creates are bounded
 *   per topic and per peer (as go), since a peer chooses group ids.
 * RPC.partial flows only with peers that advertised the extension as we
 * did, as every v1.3 extension; as go, it is taken from such a peer on a
 * topic we gave a mode whether or not the peer subscribed. */
#include <string.h>

#include "base/mem.h"
#include "base/u64map.h"
#include "heartbeat.h"
#include "partial.h"
#include "peer.h"
#include "queue.h"
#include "router.h"
#include "score.h"
#include "topic.h"

#define MIN_GROUP_TTL 3 /* as go's minGroupTTL */

/* A peer's SubOpts flags, packed with the count of group states its RPCs
 * created (FLAG_BITS up) in one map value. */
enum { PEER_REQUESTS = 1, PEER_SUPPORTS = 2, FLAG_BITS = 2 };

/* One peer's state in one group. */
typedef struct gs_ppeer {
  uint32_t serial;
  bool has_md;
  size_t md_len;
  uint8_t *md; /* its last partsMetadata */
} gs_ppeer;

typedef struct gs_pgroup {
  uint32_t initiator; /* serial + 1 of the peer whose RPC created it; 0: us */
  int ttl;            /* heartbeats left */
  gs_ppeer *peers;
  size_t npeers, cap;
  size_t id_len;
  uint8_t id[]; /* the map key */
} gs_pgroup;

typedef struct gs_ptopic {
  lp2p_partial_mode mode;
  lp2p_u64map peers;  /* serial + 1 -> packed flags and count */
  lp2p_map groups;    /* group id -> gs_pgroup */
  size_t peer_groups; /* groups peers' RPCs created (initiator != 0) */
} gs_ptopic;

static int group_ttl(const lp2p_router *r) {
  int ttl = r->s.extensions.partial_group_ttl;
  return ttl > MIN_GROUP_TTL ? ttl : MIN_GROUP_TTL;
}

static gs_ptopic *ptopic_get(lp2p_router *r, gs_topic *t) {
  if (!t->partial) {
    gs_ptopic *pt = lp2p_calloc(r->mem, 1, sizeof(*pt));
    if (!pt) {
      return NULL;
    }
    lp2p_u64map_init(&pt->peers, r->mem);
    lp2p_map_init(&pt->groups, r->mem, r->s.rand_fn, r->s.rand_user);
    t->partial = pt;
  }
  return t->partial;
}

/* ---- a peer's flags -------------------------------------------------- */

static uintptr_t peer_word(const gs_ptopic *pt, const gs_peer *p) {
  return (uintptr_t)lp2p_u64map_get(&pt->peers, (uint64_t)p->serial + 1);
}

/* Sets the word of `key` (serial + 1); 0 removes it. A key present is
 * removed first: put back, it cannot grow the map, so changing a word
 * never fails; only adding one may (LP2P_ERR_NOMEM, nothing changed). */
static int word_set(gs_ptopic *pt, uint64_t key, uintptr_t w) {
  lp2p_u64map_remove(&pt->peers, key);
  return w ? lp2p_u64map_put(&pt->peers, key, (void *)w) : 0;
}

static int peer_word_set(gs_ptopic *pt, const gs_peer *p, uintptr_t w) {
  return word_set(pt, (uint64_t)p->serial + 1, w);
}

/* Partial messages run with `p` at all: both advertised the extension. */
static bool ext_active(const gs_peer *p) {
  return p->rpcs_seen && p->ext_ours.partial_messages &&
         p->ext_theirs.partial_messages;
}

static bool peer_requests(const gs_ptopic *pt, const gs_peer *p) {
  return ext_active(p) && (peer_word(pt, p) & PEER_REQUESTS);
}

static bool peer_supports(const gs_ptopic *pt, const gs_peer *p) {
  return ext_active(p) && (peer_word(pt, p) & PEER_SUPPORTS);
}

bool lp2p_gs_partial_wants_parts(const gs_topic *t, const gs_peer *p) {
  const gs_ptopic *pt = t->partial;
  return pt && pt->mode != LP2P_PARTIAL_OFF && peer_requests(pt, p);
}

bool lp2p_gs_partial_skips_idontwant(const gs_topic *t, const gs_peer *p) {
  const gs_ptopic *pt = t->partial;
  return pt && pt->mode == LP2P_PARTIAL_REQUESTS && peer_supports(pt, p);
}

/* May partial traffic flow with `p` on the topic (go's MeshPeers
 * filter): it requests and we support, or it supports and we request. */
static bool eligible(const gs_ptopic *pt, const gs_peer *p) {
  return (pt->mode != LP2P_PARTIAL_OFF && peer_requests(pt, p)) ||
         (pt->mode == LP2P_PARTIAL_REQUESTS && peer_supports(pt, p));
}

bool lp2p_gs_partial_eligible(const gs_topic *t, const gs_peer *p) {
  return t->partial && eligible(t->partial, p);
}

bool lp2p_gs_partial_gossips(const gs_topic *t) {
  return t->partial && t->partial->mode != LP2P_PARTIAL_OFF;
}

void lp2p_gs_partial_sub_flags(const gs_topic *t, lp2p_rpc_sub *s) {
  lp2p_partial_mode m = t->partial ? t->partial->mode : LP2P_PARTIAL_OFF;
  s->requests_partial = m == LP2P_PARTIAL_REQUESTS;
  s->supports_partial = m != LP2P_PARTIAL_OFF;
}

int lp2p_gs_partial_subscribed(lp2p_router *r, gs_peer *p, gs_topic *t,
                               const lp2p_rpc_sub *s) {
  /* as go: requesting implies supporting; nothing kept while the
   * extension is off here, so that routers without it pay nothing */
  uintptr_t flags = (s->requests_partial ? PEER_REQUESTS | PEER_SUPPORTS : 0) |
                    (s->supports_partial ? PEER_SUPPORTS : 0);
  if (!r->s.extensions.partial_messages || (!flags && !t->partial)) {
    return 0;
  }
  gs_ptopic *pt = ptopic_get(r, t);
  if (!pt) {
    return LP2P_ERR_NOMEM;
  }
  uintptr_t w = peer_word(pt, p);
  return peer_word_set(pt, p, (w & ~(uintptr_t)3) | flags);
}

/* ---- group states ------------------------------------------------------ */

static void ppeer_free(lp2p_router *r, gs_ppeer *pp) {
  lp2p_free(r->mem, pp->md);
}

static void group_free(lp2p_router *r, gs_pgroup *g) {
  for (size_t i = 0; i < g->npeers; i++) {
    ppeer_free(r, &g->peers[i]);
  }
  lp2p_free(r->mem, g->peers);
  lp2p_free(r->mem, g);
}

/* Uncounts a group a peer's RPC created, as it goes or becomes ours. */
static void uncount_initiator(gs_ptopic *pt, gs_pgroup *g) {
  if (g->initiator == 0) {
    return;
  }
  pt->peer_groups--;
  uint64_t key = g->initiator;
  uintptr_t w = (uintptr_t)lp2p_u64map_get(&pt->peers, key);
  if (w >> FLAG_BITS) { /* 0 once the peer left: its count went with it */
    word_set(pt, key, w - ((uintptr_t)1 << FLAG_BITS));
  }
  g->initiator = 0;
}

static gs_ppeer *group_peer(gs_pgroup *g, uint32_t serial) {
  for (size_t i = 0; i < g->npeers; i++) {
    if (g->peers[i].serial == serial) {
      return &g->peers[i];
    }
  }
  return NULL;
}

/* The peer's state in the group, added when new (NULL: no memory). A
 * group holds each peer at most once, so it is bounded by max_peers. */
static gs_ppeer *group_track(lp2p_router *r, gs_pgroup *g, uint32_t serial) {
  gs_ppeer *pp = group_peer(g, serial);
  if (pp) {
    return pp;
  }
  if (g->npeers == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 4;
    gs_ppeer *a = lp2p_reallocarray(r->mem, g->peers, cap, sizeof(*a));
    if (!a) {
      return NULL;
    }
    g->peers = a;
    g->cap = cap;
  }
  pp = &g->peers[g->npeers++];
  memset(pp, 0, sizeof(*pp));
  pp->serial = serial;
  return pp;
}

static void group_untrack(lp2p_router *r, gs_pgroup *g, uint32_t serial) {
  gs_ppeer *pp = group_peer(g, serial);
  if (pp) {
    ppeer_free(r, pp);
    *pp = g->peers[--g->npeers];
  }
}

/* Replaces the peer's kept metadata ("a later partsMetadata replaces a
 * prior one"). Returns 0 or LP2P_ERR_NOMEM (the old one kept). */
static int ppeer_set_md(lp2p_router *r, gs_ppeer *pp, lp2p_bytes md) {
  uint8_t *copy = NULL;
  if (md.len) {
    copy = lp2p_malloc(r->mem, md.len);
    if (!copy) {
      return LP2P_ERR_NOMEM;
    }
    memcpy(copy, md.data, md.len);
  }
  lp2p_free(r->mem, pp->md);
  pp->md = copy;
  pp->md_len = md.len;
  pp->has_md = true;
  return 0;
}

static gs_pgroup *group_new(lp2p_router *r, gs_ptopic *pt, lp2p_bytes id,
                            uint32_t initiator) {
  gs_pgroup *g = lp2p_calloc(r->mem, 1, sizeof(*g) + id.len);
  if (!g) {
    return NULL;
  }
  memcpy(g->id, id.data, id.len);
  g->id_len = id.len;
  g->ttl = group_ttl(r);
  g->initiator = initiator;
  if (lp2p_map_put(&pt->groups, g->id, g->id_len, g) != 0) {
    lp2p_free(r->mem, g);
    return NULL;
  }
  return g;
}

/* The group a peer's RPC names, created within the bounds on groups
 * peers create (per topic, per peer: as go). NULL with *rv 0 when a
 * bound refused it (counted), LP2P_ERR_NOMEM otherwise. */
static gs_pgroup *group_for_peer(lp2p_router *r, gs_ptopic *pt, gs_peer *p,
                                 lp2p_bytes id, int *rv) {
  gs_pgroup *g = lp2p_map_get(&pt->groups, id.data, id.len);
  *rv = 0;
  if (g) {
    return g;
  }
  uintptr_t w = peer_word(pt, p);
  if (pt->peer_groups >= r->s.limits.max_partial_groups_per_topic ||
      (w >> FLAG_BITS) >= r->s.limits.max_partial_groups_per_peer) {
    r->st.partial_groups_dropped++;
    return NULL;
  }
  if (peer_word_set(pt, p, w + ((uintptr_t)1 << FLAG_BITS)) != 0 ||
      !(g = group_new(r, pt, id, p->serial + 1))) {
    peer_word_set(pt, p, w); /* back as it was: a change cannot fail */
    *rv = LP2P_ERR_NOMEM;
    return NULL;
  }
  pt->peer_groups++;
  return g;
}

/* Our group, created when new; a group a peer's RPC created becomes ours
 * (as go) and no longer counts against the peers' bounds. Its TTL starts
 * again. */
static gs_pgroup *group_ours(lp2p_router *r, gs_ptopic *pt, lp2p_bytes id) {
  gs_pgroup *g = lp2p_map_get(&pt->groups, id.data, id.len);
  if (!g) {
    g = group_new(r, pt, id, 0);
  }
  if (g) {
    uncount_initiator(pt, g);
    g->ttl = group_ttl(r);
  }
  return g;
}

static bool drop_all_groups(void *v, void *arg) {
  lp2p_router *r = arg;
  group_free(r, v);
  return true;
}

void lp2p_gs_partial_topic_free(lp2p_router *r, gs_topic *t) {
  gs_ptopic *pt = t->partial;
  if (!pt) {
    return;
  }
  lp2p_map_remove_if(&pt->groups, drop_all_groups, r);
  lp2p_map_free(&pt->groups);
  lp2p_u64map_free(&pt->peers);
  lp2p_free(r->mem, pt);
  t->partial = NULL;
}

void lp2p_gs_partial_left(gs_topic *t) {
  if (t->partial) {
    t->partial->mode = LP2P_PARTIAL_OFF;
  }
}

void lp2p_gs_partial_unsubscribed(lp2p_router *r, gs_peer *p, gs_topic *t) {
  gs_ptopic *pt = t->partial;
  if (!pt) {
    return;
  }
  /* as go's OnClosedOutboundStream: its state in every group goes, and
   * with its flags the count of groups it created (they stay until their
   * TTL, still counted per topic) */
  peer_word_set(pt, p, 0);
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&pt->groups, &it)) != NULL) {
    group_untrack(r, e->value, p->serial);
  }
}

void lp2p_gs_partial_peer_gone(lp2p_router *r, gs_peer *p) {
  if (!ext_active(p)) {
    return; /* it never had partial state */
  }
  /* its RPCs may have made state on topics it never subscribed to */
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&r->topics, &it)) != NULL) {
    lp2p_gs_partial_unsubscribed(r, p, e->value);
  }
}

/* ---- heartbeat ---------------------------------------------------------- */

typedef struct expire_ctx {
  lp2p_router *r;
  gs_ptopic *pt;
} expire_ctx;

/* As go's Heartbeat: a group goes when its TTL ran out or it tracks no
 * peer; else one heartbeat of its TTL is used up. */
static bool expire_group(void *v, void *arg) {
  expire_ctx *c = arg;
  gs_pgroup *g = v;
  if (g->ttl > 0 && g->npeers > 0) {
    g->ttl--;
    return false;
  }
  uncount_initiator(c->pt, g);
  group_free(c->r, g);
  c->r->st.partial_groups_expired++;
  return true;
}

void lp2p_gs_partial_expire(lp2p_router *r, gs_topic *t) {
  if (t->partial) {
    expire_ctx c = {r, t->partial};
    lp2p_map_remove_if(&t->partial->groups, expire_group, &c);
  }
}

/* The gossip peers `g` does not track yet, now tracked (as go: they get
 * a zero PeerState), into ids[]; returns how many. */
static size_t untracked(lp2p_router *r, gs_pgroup *g, const gs_peers *peers,
                        lp2p_peer_id *ids) {
  size_t n = 0;
  for (size_t i = 0; i < peers->len; i++) {
    const gs_peer *p = peers->items[i];
    if (!group_peer(g, p->serial) && group_track(r, g, p->serial)) {
      ids[n++] = p->id;
    }
  }
  return n;
}

void lp2p_gs_partial_emit_gossip(lp2p_router *r, gs_topic *t,
                                 const gs_peers *peers) {
  gs_ptopic *pt = t->partial;
  if (!pt || !r->cb.partial_gossip || peers->len == 0 ||
      pt->groups.count == 0) {
    return;
  }
  /* the groups first: the callback may publish, adding groups */
  size_t ng = 0, it = 0;
  gs_pgroup **groups = lp2p_malloc(r->mem, pt->groups.count * sizeof(*groups));
  lp2p_peer_id *ids = lp2p_malloc(r->mem, peers->len * sizeof(*ids));
  lp2p_map_entry *e;
  while (groups && ids && (e = lp2p_map_next(&pt->groups, &it)) != NULL) {
    gs_pgroup *g = e->value;
    if (g->initiator == 0) { /* as go: only groups we published */
      groups[ng++] = g;
    }
  }
  for (size_t i = 0; i < ng; i++) {
    size_t n = untracked(r, groups[i], peers, ids);
    if (n) {
      lp2p_bytes topic = {t->name, t->name_len};
      lp2p_bytes group = {groups[i]->id, groups[i]->id_len};
      r->cb.partial_gossip(r, topic, group, ids, n, r->user);
    }
  }
  lp2p_free(r->mem, groups);
  lp2p_free(r->mem, ids);
}

size_t lp2p_gs_partial_groups(const lp2p_router *r) {
  size_t n = 0, it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&r->topics, &it)) != NULL) {
    const gs_topic *t = e->value;
    n += t->partial ? t->partial->groups.count : 0;
  }
  return n;
}

/* ---- receiving ---------------------------------------------------------- */

/* The topic of a received RPC.partial, when it is one we gave a
 * partial-messages mode and the peer advertised the extension. As go's
 * HandleRPC, the peer need not have subscribed: a publisher that never
 * joins the topic (go's fanout publication to a peer list) sends parts
 * all the same. */
static gs_topic *recv_topic(lp2p_router *r, const gs_peer *p,
                            const lp2p_rpc_partial *pm) {
  if (!pm->topic.data || !pm->group.len || !ext_active(p)) {
    return NULL;
  }
  gs_topic *t = lp2p_gs_topic_find(r, pm->topic.data, pm->topic.len);
  if (!t || !lp2p_gs_partial_gossips(t)) {
    return NULL;
  }
  return t;
}

static void deliver(lp2p_router *r, const gs_peer *p, const gs_topic *t,
                    const lp2p_rpc_partial *pm) {
  r->st.partial_received++;
  if (!r->cb.partial) {
    return;
  }
  lp2p_partial_rpc ev = {&p->id, pm->topic, pm->group, pm->message,
                         pm->metadata};
  /* parts only for a requester: a peer must omit them for a supporter */
  if (t->partial->mode != LP2P_PARTIAL_REQUESTS) {
    ev.parts = (lp2p_bytes){NULL, 0};
  }
  r->cb.partial(r, &ev, r->user);
}

void lp2p_gs_partial_recv(lp2p_router *r, gs_peer *p) {
  const lp2p_rpc_partial *pm = &r->rpc.partial;
  if (!r->rpc.has_partial) {
    return;
  }
  gs_topic *t = recv_topic(r, p, pm);
  if (!t) {
    r->st.partial_ignored++; /* as go: only when both advertised it */
    return;
  }
  if (pm->message.len > r->s.limits.max_message_size ||
      pm->metadata.len > r->s.limits.max_partial_metadata) {
    r->st.partial_too_large++;
    return;
  }
  int rv;
  gs_pgroup *g = group_for_peer(r, t->partial, p, pm->group, &rv);
  if (!g) {
    r->rpc_lost = r->rpc_lost || rv != 0; /* else a bound refused it */
    return;
  }
  gs_ppeer *pp = group_track(r, g, p->serial);
  if (!pp || (pm->metadata.data && ppeer_set_md(r, pp, pm->metadata) != 0)) {
    r->rpc_lost = true;
    return;
  }
  deliver(r, p, t, pm);
}

/* ---- the application's API ---------------------------------------------- */

bool lp2p_gs_partial_keeps(const gs_topic *t) {
  return lp2p_gs_partial_gossips(t);
}

/* Sets our mode on the topic; *changed says whether it did. */
static int set_mode(lp2p_router *r, const uint8_t *topic, size_t len,
                    lp2p_partial_mode mode, gs_topic **out, bool *changed) {
  if (!r->s.extensions.partial_messages) {
    return LP2P_ERR_STATE; /* as go: "partial messages are not enabled" */
  }
  if (len == 0 || len > r->s.limits.max_topic_len ||
      mode > LP2P_PARTIAL_REQUESTS) {
    return LP2P_ERR_INVALID_ARG;
  }
  gs_topic *t = lp2p_gs_topic_get(r, topic, len, true);
  gs_ptopic *pt = t ? ptopic_get(r, t) : NULL;
  if (!pt) {
    return LP2P_ERR_NOMEM;
  }
  *changed = pt->mode != mode;
  pt->mode = mode;
  *out = t;
  return 0;
}

int lp2p_router_set_topic_partial(lp2p_router *r, const uint8_t *topic,
                                  size_t len, lp2p_partial_mode mode) {
  gs_topic *t;
  bool changed;
  int rv = set_mode(r, topic, len, mode, &t, &changed);
  if (rv == 0 && mode == LP2P_PARTIAL_OFF) {
    lp2p_gs_topic_maybe_free(r, t);
  }
  return rv;
}

int lp2p_router_join_partial(lp2p_router *r, const uint8_t *topic, size_t len,
                             lp2p_partial_mode mode, lp2p_tstamp now) {
  gs_topic *t;
  bool changed;
  int rv = set_mode(r, topic, len, mode, &t, &changed);
  if (rv != 0) {
    return rv;
  }
  bool was_joined = t->joined;
  rv = lp2p_router_join(r, topic, len, now);
  if (rv == 0 && was_joined && changed) {
    /* tell every peer the new mode: a subscription again */
    size_t it = 0;
    lp2p_map_entry *e;
    while ((e = lp2p_map_next(&r->peers, &it)) != NULL) {
      lp2p_gs_queue_sub(r, e->value, true, t);
    }
  }
  return rv;
}

/* One publication in progress. */
typedef struct pub_ctx {
  lp2p_router *r;
  gs_topic *t;
  gs_pgroup *g;
  lp2p_partial_action_fn fn;
  void *arg;
  int sent;
} pub_ctx;

static bool action_fits(lp2p_router *r, const lp2p_partial_action *a) {
  if (a->parts.len > r->s.limits.max_message_size ||
      a->metadata.len > r->s.limits.max_partial_metadata ||
      (a->peer_metadata.data &&
       a->peer_metadata.len > r->s.limits.max_partial_metadata)) {
    r->st.partial_too_large++;
    return false;
  }
  return true;
}

/* Asks the application about `p` and queues what it answers (as go's
 * publish: parts only to a requester; nothing when there is nothing). */
static int publish_to(pub_ctx *c, gs_peer *p) {
  lp2p_router *r = c->r;
  gs_ppeer *pp = group_track(r, c->g, p->serial);
  if (!pp) {
    return LP2P_ERR_NOMEM;
  }
  bool req = lp2p_gs_partial_wants_parts(c->t, p);
  lp2p_partial_peer info = {&p->id, req, {NULL, 0}};
  if (pp->has_md) { /* kept, maybe empty: a present view all the same */
    info.metadata.data = pp->md ? pp->md : (const uint8_t *)"";
    info.metadata.len = pp->md_len;
  }
  lp2p_partial_action a;
  memset(&a, 0, sizeof(a));
  if (!c->fn(r, &info, &a, c->arg) || !action_fits(r, &a)) {
    return 0;
  }
  /* again: the callback may have published, moving the group's peers */
  pp = group_peer(c->g, p->serial);
  if (pp && a.peer_metadata.data && ppeer_set_md(r, pp, a.peer_metadata) != 0) {
    return LP2P_ERR_NOMEM;
  }
  bool parts = req && a.parts.len > 0;
  if (!parts && a.metadata.len == 0) {
    return 0;
  }
  lp2p_rpc_partial pm = {{c->t->name, c->t->name_len},
                         {c->g->id, c->g->id_len},
                         parts ? a.parts : (lp2p_bytes){NULL, 0},
                         a.metadata.len ? a.metadata : (lp2p_bytes){NULL, 0}};
  int rv = lp2p_gs_queue_partial(r, p, &pm);
  c->sent += rv == 1;
  return rv < 0 ? rv : 0;
}

/* The default peers (go's peerState map after initPeerState): those the
 * group tracks, then the mesh (as go, the fanout when the mesh is empty,
 * chosen now when there is none), each once. Collected first: the
 * callback may change the mesh. */
static int default_peers(lp2p_router *r, gs_topic *t, gs_pgroup *g,
                         gs_peers *out, lp2p_tstamp now) {
  if (!t->joined) {
    if (t->fanout.len == 0) {
      lp2p_gs_fanout_fill(r, t);
    }
    t->fanout_expiry = now + r->s.params.fanout_ttl;
  }
  const gs_peers *mesh = t->mesh.len ? &t->mesh : &t->fanout;
  for (size_t i = 0; i < g->npeers; i++) {
    gs_peer *p = lp2p_gs_peer_find_serial(r, g->peers[i].serial);
    if (p && lp2p_gs_peers_add(r, out, p) != 0) {
      return LP2P_ERR_NOMEM;
    }
  }
  for (size_t i = 0; i < mesh->len; i++) {
    if (!lp2p_gs_peers_has(out, mesh->items[i]) &&
        lp2p_gs_peers_add(r, out, mesh->items[i]) != 0) {
      return LP2P_ERR_NOMEM;
    }
  }
  return 0;
}

static int given_peers(lp2p_router *r, const lp2p_peer_id *ids, size_t n,
                       gs_peers *out) {
  for (size_t i = 0; i < n; i++) {
    gs_peer *p = lp2p_gs_peer_find(r, &ids[i]);
    if (p && !lp2p_gs_peers_has(out, p) && lp2p_gs_peers_add(r, out, p) != 0) {
      return LP2P_ERR_NOMEM;
    }
  }
  return 0;
}

int lp2p_router_publish_partial(lp2p_router *r, const uint8_t *topic,
                                size_t topic_len, const uint8_t *group,
                                size_t group_len, const lp2p_peer_id *peers,
                                size_t npeers, lp2p_partial_action_fn fn,
                                void *arg, lp2p_tstamp now) {
  if (topic_len == 0 || topic_len > r->s.limits.max_topic_len ||
      group_len == 0 || group_len > r->s.limits.max_id_len || !fn) {
    return LP2P_ERR_INVALID_ARG;
  }
  gs_topic *t = lp2p_gs_topic_find(r, topic, topic_len);
  if (!t || !lp2p_gs_partial_gossips(t)) {
    return LP2P_ERR_STATE;
  }
  pub_ctx c = {
      r,  t,   group_ours(r, t->partial, (lp2p_bytes){group, group_len}),
      fn, arg, 0};
  if (!c.g) {
    return LP2P_ERR_NOMEM;
  }
  gs_peers to = {NULL, 0, 0};
  int rv = npeers ? given_peers(r, peers, npeers, &to)
                  : default_peers(r, t, c.g, &to, now);
  for (size_t i = 0; rv == 0 && i < to.len; i++) {
    if (eligible(t->partial, to.items[i])) {
      rv = publish_to(&c, to.items[i]);
    }
  }
  lp2p_gs_peers_free(r, &to);
  return rv < 0 ? rv : c.sent;
}

int lp2p_router_partial_feedback(lp2p_router *r, const uint8_t *topic,
                                 size_t len, const lp2p_peer_id *peer,
                                 lp2p_partial_feedback kind) {
  gs_peer *p = lp2p_gs_peer_find(r, peer);
  if (!p) {
    return LP2P_ERR_NOT_FOUND;
  }
  gs_topic *t = lp2p_gs_topic_find(r, topic, len);
  if (!t) {
    return 0; /* as go: a topic without score counters scores nothing */
  }
  if (kind == LP2P_PARTIAL_INVALID) {
    lp2p_gs_score_invalid(r, p, t); /* as go's markInvalidMessageDelivery */
  } else {
    lp2p_gs_score_first(r, p, t); /* as go's markFirstMessageDelivery */
  }
  return 0;
}
