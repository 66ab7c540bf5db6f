/* The router's API: creation, peers, RPC dispatch, topics, publishing,
 * validation results, the heartbeat timer and statistics. */
#include <string.h>

#include "backoff.h"
#include "base/err.h"
#include "base/mem.h"
#include "batch.h"
#include "control.h"
#include "dontwant.h"
#include "extensions.h"
#include "heartbeat.h"
#include "mcache.h"
#include "message.h"
#include "partial.h"
#include "peer.h"
#include "queue.h"
#include "relay.h"
#include "router.h"
#include "score.h"
#include "seen.h"
#include "topic.h"
#include "trace.h"
#include "validation.h"

static void rpc_limits_from(const lp2p_router_limits *l, lp2p_rpc_limits *o) {
  o->max_rpc_size = l->max_rpc_size;
  o->max_subscriptions = l->max_subscriptions;
  o->max_messages = l->max_messages;
  o->max_control = l->max_control;
  o->max_ids = l->max_ids;
  o->max_px = l->max_px;
  o->max_topic_len = l->max_topic_len;
  o->max_id_len = l->max_id_len;
}

static size_t min_size(size_t a, size_t b) {
  return a < b ? a : b;
}

/* Our RPCs keep within our own count limits and those of a receiver with
 * default settings (any lp2p node, unless configured otherwise): past
 * them, it would skip entries. Our max_rpc_size is the user's choice:
 * raised, it is for peers that accept larger RPCs. */
static void send_limits_from(const lp2p_router_limits *l, lp2p_rpc_limits *o) {
  lp2p_router_settings d;
  lp2p_router_settings_default(&d);
  rpc_limits_from(l, o);
  o->max_subscriptions =
      min_size(l->max_subscriptions, d.limits.max_subscriptions);
  o->max_messages = min_size(l->max_messages, d.limits.max_messages);
  o->max_control = min_size(l->max_control, d.limits.max_control);
  o->max_ids = min_size(l->max_ids, d.limits.max_ids);
  o->max_px = min_size(l->max_px, d.limits.max_px);
}

static int check_settings(const lp2p_router_settings *s,
                          const lp2p_router_callbacks *cb,
                          lp2p_errdetail *err) {
  int rv = lp2p_router_params_validate(&s->params, err);
  if (rv == 0 && s->scoring) {
    rv = lp2p_score_params_validate(&s->score, err);
  }
  if (rv != 0) {
    return rv;
  }
  if (!s->rand_fn) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                              "settings.rand_fn is required");
  }
  if (s->msg_id == LP2P_MSG_ID_CALLBACK && !cb->msg_id) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                              "msg_id callback required by "
                              "LP2P_MSG_ID_CALLBACK");
  }
  if (s->sign_policy == LP2P_STRICT_NO_SIGN &&
      (s->msg_id == LP2P_MSG_ID_FROM_SEQNO || s->msg_id == LP2P_MSG_ID_RUST)) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                              "StrictNoSign messages have no from or seqno:"
                              " choose another message id");
  }
  const lp2p_router_limits *l = &s->limits;
  if (l->max_id_len < 1 || l->max_id_len > 256 || l->max_rpc_size < 64 ||
      l->max_message_size > l->max_rpc_size || l->max_topic_len < 1 ||
      l->max_topic_len > 65535 || l->max_peers < 1 || l->max_seen < 1) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                              "limits out of range (max_id_len 1..256, "
                              "max_message_size <= max_rpc_size, ...)");
  }
  if (s->extensions.partial_messages &&
      (l->max_partial_groups_per_topic < 1 ||
       l->max_partial_groups_per_peer < 1 || l->max_partial_metadata < 1)) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                              "partial messages need max_partial_groups_per_"
                              "topic, _per_peer and max_partial_metadata > 0");
  }
  return 0;
}

static int init_identity(lp2p_router *r) {
  int rv = lp2p_privkey_public(&r->s.key, &r->self_key);
  if (rv == 0) {
    rv = lp2p_peer_id_from_pubkey(&r->self_key, &r->self);
  }
  if (rv == 0) {
    lp2p_pubkey inl;
    r->self_key_inline = lp2p_peer_id_pubkey(&r->self, &inl) == 0;
  }
  return rv;
}

int lp2p_router_new(lp2p_router **out, const lp2p_router_settings *settings,
                    const lp2p_router_callbacks *cb, const lp2p_mem *mem,
                    void *user, lp2p_tstamp now, lp2p_errdetail *err) {
  int rv = check_settings(settings, cb, err);
  if (rv != 0) {
    return rv;
  }
  lp2p_router *r = lp2p_calloc(mem, 1, sizeof(*r));
  if (!r) {
    return LP2P_ERR_NOMEM;
  }
  r->mem = mem;
  r->s = *settings;
  r->cb = *cb;
  r->user = user;
  lp2p_pcg_seed_from(&r->rng, settings->rand_fn, settings->rand_user);
  r->seqno = settings->first_seqno ? settings->first_seqno
                                   : lp2p_pcg_u64(&r->rng) >> 1;
  lp2p_map_init(&r->peers, mem, settings->rand_fn, settings->rand_user);
  lp2p_map_init(&r->topics, mem, settings->rand_fn, settings->rand_user);
  lp2p_u64map_init(&r->serials, mem);
  lp2p_map_init(&r->direct, mem, settings->rand_fn, settings->rand_user);
  settings->rand_fn(r->id_key, sizeof(r->id_key), settings->rand_user);
  lp2p_u64map_init(&r->seen, mem);
  lp2p_u64map_init(&r->mcache, mem);
  lp2p_u64map_init(&r->dontwant, mem);
  lp2p_u64map_init(&r->iwanted, mem);
  lp2p_rpc_init(&r->rpc, mem);
  lp2p_buf_init(&r->out, mem);
  lp2p_buf_init(&r->scratch, mem);
  lp2p_buf_init(&r->ctl_scratch, mem);
  rpc_limits_from(&settings->limits, &r->rpc_limits);
  send_limits_from(&settings->limits, &r->send_limits);
  r->next_heartbeat = now + settings->params.heartbeat_initial_delay;
  r->next_serial = 1;
  rv = settings->sign_policy == LP2P_STRICT_SIGN ? init_identity(r) : 0;
  if (rv == 0) {
    rv = lp2p_gs_mcache_init(r);
  }
  if (rv == 0) {
    rv = lp2p_gs_score_init(r, now);
  }
  if (rv == 0 && cb->trace) {
    rv = lp2p_gs_trace_new(r);
  }
  if (rv != 0) {
    lp2p_router_del(r);
    return rv;
  }
  *out = r;
  return 0;
}

static void free_peer(lp2p_router *r, gs_peer *p) {
  lp2p_gs_queue_free(r, &p->q);
  lp2p_free(r->mem, p->topics);
  lp2p_free(r->mem, p);
}

static void free_map_values(lp2p_router *r, lp2p_map *m,
                            void (*fn)(lp2p_router *, void *)) {
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(m, &it)) != NULL) {
    fn(r, e->value);
  }
  lp2p_map_free(m);
}

static void free_peer_v(lp2p_router *r, void *p) {
  free_peer(r, p);
}
static void free_topic_v(lp2p_router *r, void *t) {
  lp2p_gs_topic_free(r, t);
}
static void free_plain_v(lp2p_router *r, void *p) {
  lp2p_free(r->mem, p);
}

void lp2p_router_del(lp2p_router *r) {
  if (!r) {
    return;
  }
  lp2p_gs_seen_free_all(r);
  lp2p_gs_mcache_free(r);
  lp2p_gs_dontwant_free_all(r);
  lp2p_u64map_free(&r->iwanted);
  free_map_values(r, &r->peers, free_peer_v);
  lp2p_u64map_free(&r->serials);
  free_map_values(r, &r->topics, free_topic_v);
  lp2p_gs_score_free(r);
  free_map_values(r, &r->direct, free_plain_v);
  lp2p_rpc_free(&r->rpc);
  lp2p_gs_trace_free(r);
  lp2p_buf_free(&r->out);
  lp2p_buf_free(&r->scratch);
  lp2p_buf_free(&r->ctl_scratch);
  lp2p_gs_idw_free(r);
  lp2p_privkey_wipe(&r->s.key);
  lp2p_free(r->mem, r);
}

void *lp2p_router_user(const lp2p_router *r) {
  return r->user;
}

/* ---- peers ----------------------------------------------------------------
 */

/* go v0.19 traces the pubsub stream to a peer opening and closing where
 * it used to trace AddPeer and RemovePeer: as go, with the protocol id. */
static void trace_stream(lp2p_router *r, const gs_peer *p, bool added,
                         lp2p_tstamp now) {
  if (!r->trace) {
    return;
  }
  lp2p_gs_trace_clock(r, now);
  const char *proto = lp2p_pubsub_protocol_ids[LP2P_MESHSUB_13 - p->proto];
  lp2p_gs_trace_peer(r,
                     added ? LP2P_TRACE_ON_NEW_OUTBOUND_STREAM
                           : LP2P_TRACE_ON_CLOSED_OUTBOUND_STREAM,
                     &p->id, (const uint8_t *)proto, strlen(proto));
}

int lp2p_router_add_peer(lp2p_router *r, const lp2p_peer_id *id,
                         const lp2p_peer_info *info, lp2p_tstamp now) {
  if (lp2p_gs_peer_find(r, id)) {
    return LP2P_ERR_STATE;
  }
  if (r->peers.count >= r->s.limits.max_peers) {
    return LP2P_ERR_TOO_LARGE;
  }
  gs_peer *p = lp2p_calloc(r->mem, 1, sizeof(*p));
  if (!p) {
    return LP2P_ERR_NOMEM;
  }
  p->id = *id;
  p->serial = r->next_serial++;
  p->proto = info->proto;
  p->outbound = info->outbound;
  p->direct = info->direct || lp2p_map_get(&r->direct, id->bytes, id->len);
  memcpy(p->ip, info->ip, sizeof(p->ip));
  p->user = info->user;
  lp2p_gs_queue_init(r, &p->q);
  p->q.budget = info->budget;
  if (lp2p_map_put(&r->peers, p->id.bytes, p->id.len, p) != 0) {
    lp2p_free(r->mem, p);
    return LP2P_ERR_NOMEM;
  }
  if (lp2p_u64map_put(&r->serials, p->serial, p) != 0 ||
      lp2p_gs_score_attach(r, p, now) != 0) {
    lp2p_u64map_remove(&r->serials, p->serial);
    lp2p_map_remove(&r->peers, p->id.bytes, p->id.len);
    lp2p_free(r->mem, p);
    return LP2P_ERR_NOMEM;
  }
  r->nrelay_all += lp2p_gs_peer_relays_all(p);
  trace_stream(r, p, true, now);
  if (lp2p_gs_ext_peer_added(r, p) != 0) {
    lp2p_router_remove_peer(r, id, now);
    return LP2P_ERR_NOMEM;
  }
  /* tell it what we are subscribed to */
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&r->topics, &it)) != NULL) {
    gs_topic *t = e->value;
    if (t->joined && lp2p_gs_queue_sub(r, p, true, t) != 0) {
      lp2p_router_remove_peer(r, id, now);
      return LP2P_ERR_NOMEM;
    }
  }
  return 0;
}

int lp2p_router_remove_peer(lp2p_router *r, const lp2p_peer_id *id,
                            lp2p_tstamp now) {
  gs_peer *p = lp2p_map_remove(&r->peers, id->bytes, id->len);
  if (!p) {
    return LP2P_ERR_NOT_FOUND;
  }
  if (r->last_peer == p) {
    r->last_peer = NULL;
  }
  lp2p_gs_ready_unlink(r, p);
  trace_stream(r, p, false, now);
  lp2p_gs_partial_peer_gone(r, p);
  while (p->ntopics) {
    gs_topic *t = p->topics[p->ntopics - 1];
    lp2p_gs_mesh_forget(r, t, p);
    lp2p_gs_unsubscribe_peer(r, p, t);
    lp2p_gs_topic_maybe_free(r, t);
  }
  lp2p_gs_score_detach(r, p, now);
  lp2p_u64map_remove(&r->serials, p->serial);
  r->nrelay_all -= lp2p_gs_peer_relays_all(p);
  free_peer(r, p);
  return 0;
}

int lp2p_router_add_direct(lp2p_router *r, const lp2p_peer_id *id) {
  if (lp2p_map_get(&r->direct, id->bytes, id->len)) {
    return 0;
  }
  lp2p_peer_id *copy = lp2p_malloc(r->mem, sizeof(*copy));
  if (!copy) {
    return LP2P_ERR_NOMEM;
  }
  *copy = *id;
  if (lp2p_map_put(&r->direct, copy->bytes, copy->len, copy) != 0) {
    lp2p_free(r->mem, copy);
    return LP2P_ERR_NOMEM;
  }
  gs_peer *p = lp2p_gs_peer_find(r, id);
  if (p) {
    r->nrelay_all -= lp2p_gs_peer_relays_all(p);
    p->direct = true;
    r->nrelay_all += lp2p_gs_peer_relays_all(p);
  }
  return 0;
}

/* ---- receiving --------------------------------------------------------------
 */

static void handle_subscriptions(lp2p_router *r, gs_peer *p, lp2p_tstamp now) {
  for (size_t i = 0; i < r->rpc.subs.len; i++) {
    const lp2p_rpc_sub *s = &r->rpc.subs.items[i];
    if (s->subscribe) {
      gs_topic *t = lp2p_gs_topic_get(r, s->topic.data, s->topic.len, false);
      if (!t) {
        r->st.subscriptions_dropped++;
      } else if (lp2p_gs_subscribe_peer(r, p, t) != 0) {
        r->rpc_lost = true;
        lp2p_gs_topic_maybe_free(r, t);
      } else if (lp2p_gs_peer_subscribed(p, t) &&
                 lp2p_gs_partial_subscribed(r, p, t, s) != 0) {
        r->rpc_lost = true;
      }
      continue;
    }
    gs_topic *t = lp2p_gs_topic_find(r, s->topic.data, s->topic.len);
    if (t && lp2p_gs_peer_subscribed(p, t)) {
      lp2p_gs_mesh_remove(r, t, p, now);
      lp2p_gs_unsubscribe_peer(r, p, t);
      lp2p_gs_topic_maybe_free(r, t);
    }
  }
}

int lp2p_router_recv_rpc(lp2p_router *r, const lp2p_peer_id *id,
                         const uint8_t *rpc, size_t len, lp2p_tstamp now) {
  gs_peer *p = lp2p_gs_peer_find(r, id);
  return p ? lp2p_router_recv_rpc_from(r, p, rpc, len, now)
           : LP2P_ERR_NOT_FOUND;
}

lp2p_router_peer *lp2p_router_peer_handle(lp2p_router *r,
                                          const lp2p_peer_id *peer) {
  return lp2p_gs_peer_find(r, peer);
}

void lp2p_router_peer_set_user(gs_peer *p, void *user) {
  p->user = user;
}

int lp2p_router_recv_rpc_from(lp2p_router *r, gs_peer *p, const uint8_t *rpc,
                              size_t len, lp2p_tstamp now) {
  r->st.rpcs_received++;
  /* as go's AcceptFrom: a direct peer's RPCs are always accepted */
  if (!p->direct && lp2p_gs_score(r, p) < r->score.p.thresholds.graylist) {
    r->st.rpcs_graylisted++; /* not even decoded */
    return 0;
  }
  int rv = lp2p_rpc_decode(&r->rpc, rpc, len, &r->rpc_limits);
  if (rv == LP2P_ERR_NOMEM) {
    return rv;
  }
  if (rv != 0) {
    r->st.rpcs_malformed++;
    if (rv != LP2P_ERR_TOO_LARGE) {
      /* as nim-libp2p does for undecodable RPCs; one over a size limit is
       * well formed, only too large for us */
      lp2p_gs_score_penalty(r, p, 0.1);
    }
    return 0;
  }
  r->st.rpc_entries_truncated += r->rpc.truncated;
  r->rpc_lost = false;
  if (r->trace) {
    lp2p_gs_trace_clock(r, now);
    lp2p_gs_trace_rpc(r, LP2P_TRACE_RECV_RPC, &p->id, &r->rpc);
  }
  lp2p_gs_ext_recv(r, p);
  handle_subscriptions(r, p, now);
  lp2p_gs_handle_messages(r, p, now);
  lp2p_gs_handle_control(r, p, now);
  lp2p_gs_partial_recv(r, p);
  /* as go: a subscription grafts nothing; the next heartbeat fills the mesh */
  return r->rpc_lost ? LP2P_ERR_NOMEM : 0;
}

ptrdiff_t lp2p_router_pull(lp2p_router *r, const lp2p_peer_id *id,
                           const uint8_t **out, lp2p_tstamp now) {
  lp2p_gs_trace_clock(r, now);
  gs_peer *p = lp2p_gs_peer_find(r, id);
  if (!p) {
    return LP2P_ERR_NOT_FOUND;
  }
  return lp2p_gs_queue_pull(r, p, out);
}

/* ---- topics
 * ------------------------------------------------------------------ */

static int check_topic(const lp2p_router *r, size_t len) {
  return len == 0 || len > r->s.limits.max_topic_len ? LP2P_ERR_INVALID_ARG : 0;
}

/* Tells every peer we (un)subscribed. With `reserve`, first makes room in
 * every queue so that nothing changes when memory runs out. */
static int announce(lp2p_router *r, gs_topic *t, bool subscribe, bool reserve) {
  size_t it = 0;
  lp2p_map_entry *e;
  while (reserve && (e = lp2p_map_next(&r->peers, &it)) != NULL) {
    if (lp2p_gs_queue_reserve_sub(e->value, t) != 0) {
      return LP2P_ERR_NOMEM;
    }
  }
  it = 0;
  while ((e = lp2p_map_next(&r->peers, &it)) != NULL) {
    lp2p_gs_queue_sub(r, e->value, subscribe, t);
  }
  return 0;
}

int lp2p_router_join(lp2p_router *r, const uint8_t *topic, size_t len,
                     lp2p_tstamp now) {
  int rv = check_topic(r, len);
  if (rv != 0) {
    return rv;
  }
  gs_topic *t = lp2p_gs_topic_get(r, topic, len, true);
  if (!t) {
    return LP2P_ERR_NOMEM;
  }
  if (t->joined) {
    return 0;
  }
  if (announce(r, t, true, true) != 0) {
    lp2p_gs_topic_maybe_free(r, t);
    return LP2P_ERR_NOMEM;
  }
  t->joined = true;
  lp2p_gs_trace_clock(r, now);
  lp2p_gs_trace_topic(r, LP2P_TRACE_JOIN, topic, len); /* before grafts */
  /* the fanout peers become the first mesh candidates (unless we are
   * backing off them or they score below zero, as go's Join drops them),
   * then the mesh is filled up right away rather than at the next
   * heartbeat */
  for (size_t i = 0; i < t->fanout.len; i++) {
    gs_peer *p = t->fanout.items[i];
    if (lp2p_gs_backoff_active(t, &p->id, now) || lp2p_gs_score(r, p) < 0) {
      continue;
    }
    if (lp2p_gs_mesh_add(r, t, p, now) == 0) {
      lp2p_gs_queue_graft(r, p, t);
    }
  }
  lp2p_gs_peers_free(r, &t->fanout);
  t->fanout_expiry = LP2P_TSTAMP_NEVER;
  lp2p_gs_rebalance(r, t, now, false);
  return 0;
}

int lp2p_router_leave(lp2p_router *r, const uint8_t *topic, size_t len,
                      lp2p_tstamp now) {
  gs_topic *t = lp2p_gs_topic_find(r, topic, len);
  if (!t || !t->joined) {
    return 0;
  }
  lp2p_gs_trace_clock(r, now);
  lp2p_gs_trace_topic(r, LP2P_TRACE_LEAVE, topic, len); /* before prunes */
  while (t->mesh.len) {
    gs_peer *p = t->mesh.items[t->mesh.len - 1];
    lp2p_gs_mesh_remove(r, t, p, now);
    lp2p_gs_send_prune(r, p, t, r->s.params.unsubscribe_backoff, true, now);
  }
  t->joined = false;
  lp2p_gs_partial_left(t);
  /* best effort: a peer we could not tell stops getting our messages */
  announce(r, t, false, false);
  lp2p_gs_topic_maybe_free(r, t);
  return 0;
}

int lp2p_router_set_topic_params(lp2p_router *r, const uint8_t *topic,
                                 size_t len, const lp2p_mesh_params *mp) {
  lp2p_router_params p = r->s.params;
  p.mesh = *mp;
  int rv = check_topic(r, len);
  if (rv == 0) {
    rv = lp2p_router_params_validate(&p, NULL);
  }
  if (rv != 0) {
    return rv;
  }
  gs_topic *t = lp2p_gs_topic_get(r, topic, len, true);
  if (!t) {
    return LP2P_ERR_NOMEM;
  }
  t->params = *mp;
  t->has_params = true;
  return 0;
}

/* ---- publishing
 * ---------------------------------------------------------------- */

/* The peers our own message goes to, as go-libp2p-pubsub chooses them:
 * with flood publishing, every direct peer and every subscriber at or
 * above the publish threshold; else direct peers, floodsub peers at or
 * above it, and the mesh (or the fanout when not joined). */
static int publish_targets(lp2p_router *r, gs_topic *t, gs_peers *to,
                           lp2p_tstamp now) {
  const lp2p_mesh_params *mp = lp2p_gs_topic_params(r, t);
  bool flood = r->s.params.flood_publish;
  for (size_t i = 0; i < t->peers.len; i++) {
    gs_peer *p = t->peers.items[i];
    bool scored = lp2p_gs_score(r, p) >= r->score.p.thresholds.publish;
    bool floodsub = !lp2p_gs_peer_is_mesh(p->proto);
    if ((p->direct || (scored && (flood || floodsub)) ||
         (!flood && t->joined && lp2p_gs_peers_has(&t->mesh, p))) &&
        lp2p_gs_peers_add(r, to, p) != 0) {
      return LP2P_ERR_NOMEM;
    }
  }
  if (t->joined || flood) {
    return 0;
  }
  /* not joined: the fanout, kept for fanout_ttl after each publish; as
   * go, chosen when there is none (the heartbeat tops it up) */
  if (t->fanout.len == 0) {
    lp2p_gs_fanout_fill(r, t);
  }
  for (size_t i = 0; i < t->fanout.len && (int)i < mp->d; i++) {
    if (lp2p_gs_peers_add(r, to, t->fanout.items[i]) != 0) {
      return LP2P_ERR_NOMEM;
    }
  }
  t->fanout_expiry = now + r->s.params.fanout_ttl;
  return 0;
}

/* Leaves out the peers that asked for parts of this topic's messages:
 * as go, they get no full message. */
static void drop_part_requesters(const gs_topic *t, gs_peers *to) {
  size_t kept = 0;
  for (size_t i = 0; i < to->len; i++) {
    if (!lp2p_gs_partial_wants_parts(t, to->items[i])) {
      to->items[kept++] = to->items[i];
    }
  }
  to->len = kept;
}

/* The targets, each with room for `slots` more messages. */
static int publish_targets_ready(lp2p_router *r, gs_topic *t, gs_peers *to,
                                 size_t slots, lp2p_tstamp now) {
  int rv = publish_targets(r, t, to, now);
  drop_part_requesters(t, to);
  for (size_t i = 0; rv == 0 && i < to->len; i++) {
    rv = lp2p_gs_queue_reserve_msgs(r, to->items[i], slots);
  }
  return rv;
}

/* As go: our message is published, then delivered (to us, from us),
 * joined or not. */
static void trace_ours(lp2p_router *r, const gs_msg *m, lp2p_trace_type type) {
  if (r->trace) {
    lp2p_bytes id = {lp2p_gs_msg_id(m), m->id_len};
    lp2p_gs_trace_msg(r, type, &id, &m->f.topic, &r->self, NULL);
  }
}

int lp2p_gs_publish_prepare(lp2p_router *r, const uint8_t *topic,
                            size_t topic_len, const uint8_t *data, size_t len,
                            size_t slots, gs_publication *p, lp2p_tstamp now) {
  memset(p, 0, sizeof(*p));
  int rv = check_topic(r, topic_len);
  if (rv != 0) {
    return rv;
  }
  p->m = lp2p_gs_msg_build(r, topic, topic_len, data, len, &rv);
  if (!p->m) {
    return rv;
  }
  p->t = lp2p_gs_topic_get(r, topic, topic_len, true);
  rv = !p->t                              ? LP2P_ERR_NOMEM
       : lp2p_gs_seen_find(r, p->m->hash) ? LP2P_ERR_STATE
                                          : 0;
  if (rv == 0) {
    rv = publish_targets_ready(r, p->t, &p->to, slots, now);
  }
  if (rv != 0) {
    lp2p_gs_peers_free(r, &p->to);
    lp2p_gs_msg_unref(r, p->m);
    p->m = NULL;
  }
  return rv;
}

void lp2p_gs_publish_announce(lp2p_router *r, const gs_publication *p) {
  /* as go, which traces a publication and then the drops of full queues */
  if (p->to.len > 0) {
    trace_ours(r, p->m, LP2P_TRACE_PUBLISH_MESSAGE);
  }
}

void lp2p_gs_publish_queue(lp2p_router *r, gs_publication *p) {
  lp2p_gs_publish_announce(r, p);
  for (size_t i = 0; i < p->to.len; i++) {
    p->queued += lp2p_gs_queue_msg(r, p->to.items[i], p->m) == 0;
  }
}

/* A publication no target took: undone, as if never made. */
static int publish_undo(lp2p_router *r, gs_publication *p) {
  r->st.publish_not_sent++;
  lp2p_gs_peers_free(r, &p->to);
  lp2p_gs_msg_unref(r, p->m);
  p->m = NULL;
  return LP2P_ERR_NOT_SENT;
}

int lp2p_gs_publish_finish(lp2p_router *r, gs_publication *p, uint8_t *id,
                           size_t *id_len, lp2p_tstamp now) {
  gs_msg *m = p->m;
  /* queued before it is seen: a publication no peer takes (none to send
   * to, or every queue full) fails whole and the application may publish
   * it again, unlike go's silent drop (go#217) */
  if (p->queued == 0) {
    return publish_undo(r, p);
  }
  /* out of memory from here on costs copies, not consistency: a copy
   * coming back is not known as a duplicate (no seen entry) or the
   * mcache misses it (IWANT answers) */
  gs_seen *e = lp2p_gs_seen_add(r, m->hash, now);
  if (e) {
    e->status = GS_VALID; /* ours: copies coming back count as duplicates */
    e->validated = now;
  }
  if (id && id_len) {
    memcpy(id, lp2p_gs_msg_id(m), m->id_len);
    *id_len = m->id_len;
  }
  lp2p_gs_mcache_put(r, m);
  r->st.msgs_published++;
  trace_ours(r, m, LP2P_TRACE_DELIVER_MESSAGE);
  if (p->t->joined && r->cb.deliver) {
    lp2p_message view;
    lp2p_gs_msg_view(m, NULL, &view);
    r->cb.deliver(r, &view, r->user);
  }
  lp2p_gs_peers_free(r, &p->to);
  lp2p_gs_msg_unref(r, m);
  p->m = NULL;
  return p->queued;
}

int lp2p_router_publish(lp2p_router *r, const uint8_t *topic, size_t topic_len,
                        const uint8_t *data, size_t len, uint8_t *id,
                        size_t *id_len, lp2p_tstamp now) {
  gs_publication p;
  lp2p_gs_trace_clock(r, now);
  int rv = lp2p_gs_publish_prepare(r, topic, topic_len, data, len, 1, &p, now);
  if (rv == 0) {
    lp2p_gs_publish_queue(r, &p);
    rv = lp2p_gs_publish_finish(r, &p, id, id_len, now);
  }
  if (p.t) {
    lp2p_gs_topic_maybe_free(r, p.t);
  }
  return rv;
}

int lp2p_router_report_validation(lp2p_router *r, const uint8_t *id,
                                  size_t id_len, lp2p_validation result,
                                  lp2p_tstamp now) {
  gs_seen *e = lp2p_gs_seen_find(r, lp2p_gs_id_hash(r, id, id_len));
  if (!e || !e->pending || result == LP2P_VALIDATION_PENDING) {
    return LP2P_ERR_NOT_FOUND;
  }
  lp2p_gs_trace_clock(r, now);
  gs_msg *m = e->pending;
  e->pending = NULL;
  lp2p_gs_validation_settled(r, m);
  lp2p_gs_validation_done(r, m, e, &e->pending_from, result, now);
  lp2p_gs_msg_unref(r, m);
  return 0;
}

/* ---- time
 * -------------------------------------------------------------------- */

lp2p_tstamp lp2p_router_expiry(const lp2p_router *r) {
  lp2p_tstamp decay = lp2p_gs_score_expiry(r);
  return decay < r->next_heartbeat ? decay : r->next_heartbeat;
}

int lp2p_router_handle_expiry(lp2p_router *r, lp2p_tstamp now) {
  lp2p_gs_trace_clock(r, now);
  if (now < r->next_heartbeat) {
    if (now >= lp2p_gs_score_expiry(r)) {
      lp2p_gs_score_heartbeat(r, now); /* a decay between two heartbeats */
    }
    return 0;
  }
  lp2p_gs_heartbeat(r, now);
  r->next_heartbeat += r->s.params.heartbeat_interval;
  if (r->next_heartbeat <= now) {
    /* the host fell behind: skip the missed beats rather than replay */
    r->next_heartbeat = now + r->s.params.heartbeat_interval;
  }
  return 0;
}

/* ---- statistics
 * -------------------------------------------------------------- */

int lp2p_router_peer_counters_get(const lp2p_router *r,
                                  const lp2p_peer_id *peer,
                                  lp2p_router_peer_counters *out) {
  const gs_peer *p = lp2p_map_get(&r->peers, peer->bytes, peer->len);
  if (!p) {
    return LP2P_ERR_NOT_FOUND;
  }
  out->idontwant_sent = p->idontwant_ids_sent;
  out->idontwant_received = p->idontwant_ids_received;
  out->idontwant_saved = p->idontwant_saved;
  return 0;
}

/* Sorts the joined topics by the size of their mesh (see the fields). */
static void mesh_health(const lp2p_router *r, lp2p_router_stats *st) {
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&r->topics, &it)) != NULL) {
    const gs_topic *t = e->value;
    if (!t->joined) {
      continue;
    }
    const lp2p_mesh_params *mp = lp2p_gs_topic_params(r, t);
    size_t n = t->mesh.len;
    st->topics_mesh_empty += n == 0;
    st->topics_mesh_low += n > 0 && n < (size_t)mp->d_lo;
    st->topics_mesh_healthy +=
        n > 0 && n >= (size_t)mp->d_lo && n <= (size_t)mp->d_hi;
    st->topics_mesh_high += n > (size_t)mp->d_hi;
    st->topics_mesh_under_dout +=
        lp2p_gs_peers_outbound(&t->mesh) < (size_t)mp->d_out;
  }
}

void lp2p_router_get_stats(const lp2p_router *r, lp2p_router_stats *st) {
  size_t it = 0;
  lp2p_map_entry *e;
  *st = r->st;
  st->peers = r->peers.count;
  st->topics = r->topics.count;
  st->mcache_messages = r->mcache.len;
  st->seen_entries = r->seen.len;
  st->pending_validations = r->npending;
  st->queued_bytes = 0;
  st->peers_congested = 0;
  st->topics_mesh_empty = st->topics_mesh_low = st->topics_mesh_healthy = 0;
  st->topics_mesh_high = st->topics_mesh_under_dout = 0;
  mesh_health(r, st);
  st->mcache_gossip_messages = lp2p_gs_mcache_gossip_len(r);
  st->backoff_entries = r->nbackoff;
  st->partial_groups = lp2p_gs_partial_groups(r);
  while ((e = lp2p_map_next(&r->peers, &it)) != NULL) {
    const gs_queue *q = &((gs_peer *)e->value)->q;
    size_t bytes = lp2p_gs_queue_bytes(q);
    st->queued_bytes += bytes;
    st->peers_congested += q->len > r->s.limits.queue_max_messages / 2 ||
                           bytes > r->s.limits.queue_max_bytes / 2;
  }
}

int lp2p_router_topic_stats(const lp2p_router *r, const uint8_t *topic,
                            size_t len, lp2p_topic_stats *st) {
  gs_topic *t = lp2p_gs_topic_find(r, topic, len);
  if (!t) {
    return LP2P_ERR_NOT_FOUND;
  }
  st->joined = t->joined;
  st->peers = t->peers.len;
  st->mesh = t->mesh.len;
  st->fanout = t->fanout.len;
  st->pending_validations = t->npending;
  st->validation_dropped_full = t->val_dropped_full;
  st->validation_dropped_pending = t->val_dropped_pending;
  st->validation_dropped_rate = t->val_dropped_rate;
  return 0;
}

size_t lp2p_router_mesh_peers(const lp2p_router *r, const uint8_t *topic,
                              size_t len, lp2p_peer_id *out, size_t cap) {
  gs_topic *t = lp2p_gs_topic_find(r, topic, len);
  if (!t) {
    return 0;
  }
  for (size_t i = 0; i < t->mesh.len && i < cap; i++) {
    out[i] = t->mesh.items[i]->id;
  }
  return t->mesh.len;
}
