#include "testutil_router.h"
#include "net/pubsub_stream.h"

#include "pb/wire.h"

static void on_deliver(lp2p_router *r, const lp2p_message *msg, void *user) {
  th_router *t = user;
  (void)r;
  t->delivered++;
  t->last_len = msg->data.len < sizeof(t->last_data) ? msg->data.len
                                                     : sizeof(t->last_data);
  memcpy(t->last_data, msg->data.data, t->last_len);
  t->last_own = msg->received_from == NULL;
}

static lp2p_validation on_validate(lp2p_router *r, const lp2p_message *msg,
                                   void *user) {
  th_router *t = user;
  (void)r;
  (void)msg;
  t->validated++;
  return t->verdict;
}

static void on_connect(lp2p_router *r, const lp2p_peer_id *peer,
                       const uint8_t *rec, size_t len, void *user) {
  th_router *t = user;
  (void)r;
  (void)rec;
  t->connects++;
  t->last_connect = *peer;
  t->last_connect_record_len = len;
}

static double on_app_score(lp2p_router *r, const lp2p_peer_id *peer,
                           void *user) {
  th_router *t = user;
  (void)r;
  for (size_t i = 0; i < t->napp; i++) {
    if (lp2p_peer_id_equal(&t->app_peer[i], peer)) {
      return t->app_value[i];
    }
  }
  return 0;
}

static void on_disconnect(lp2p_router *r, const lp2p_peer_id *peer,
                          void *peer_user, void *user) {
  th_router *t = user;
  (void)r;
  (void)peer;
  (void)peer_user;
  t->disconnects++;
}

void th_set_app_score(th_router *t, const lp2p_peer_id *peer, double v) {
  size_t i = 0;
  while (i < t->napp && !lp2p_peer_id_equal(&t->app_peer[i], peer)) {
    i++;
  }
  if (i == t->napp) {
    assert_true(t->napp < 32);
    t->app_peer[t->napp++] = *peer;
  }
  t->app_value[i] = v;
  /* the router samples P5 when it recomputes a score: make it */
  gs_peer *p = t->r ? lp2p_gs_peer_find(t->r, peer) : NULL;
  if (p) {
    p->sp->dirty = true;
  }
}

void th_score_settings(lp2p_router_settings *s) {
  lp2p_score_params *p = &s->score;
  s->scoring = true;
  memset(p, 0, sizeof(*p));
  p->app_specific_weight = 1;
  p->decay_interval = LP2P_SECONDS;
  p->decay_to_zero = 0.01;
  p->retain_score = 10 * LP2P_SECONDS;
  p->thresholds.gossip = -10;
  p->thresholds.publish = -20;
  p->thresholds.graylist = -30;
  p->thresholds.accept_px = 5;
  p->thresholds.opportunistic_graft = 3;
}

static void on_event(lp2p_router *r, const lp2p_router_event *ev, void *user) {
  th_router *t = user;
  (void)r;
  t->events[ev->type]++;
}

void th_identity(uint8_t seed, lp2p_privkey *key, lp2p_peer_id *id) {
  uint8_t s[32] = {seed, 0x5a};
  lp2p_pubkey pub;
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, s, key), 0);
  assert_int_equal(lp2p_privkey_public(key, &pub), 0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, id), 0);
}

void th_settings(lp2p_router_settings *s, uint8_t seed) {
  lp2p_peer_id id;
  lp2p_router_settings_default(s);
  th_identity(seed, &s->key, &id);
  s->rand_fn = test_rand;
  s->first_seqno = 1;
}

/* The application's signature check: counts and defers to the real one
 * unless told to refuse. */
static int on_verify(lp2p_router *r, const lp2p_pubkey *author,
                     const uint8_t *data, size_t len, const uint8_t *sig,
                     size_t sig_len, void *user) {
  th_router *t = user;
  (void)r;
  t->verifies++;
  return t->verify_refuses
             ? LP2P_ERR_BAD_SIGNATURE
             : lp2p_pubkey_verify(author, data, len, sig, sig_len);
}

static void on_partial(lp2p_router *r, const lp2p_partial_rpc *pm, void *user) {
  th_router *t = user;
  (void)r;
  t->partials++;
  t->partial_parts += pm->parts.data != NULL;
  t->partial_metadata += pm->metadata.data != NULL;
  t->last_group_len = pm->group.len < 64 ? pm->group.len : 64;
  memcpy(t->last_group, pm->group.data, t->last_group_len);
  t->last_parts_len = pm->parts.len;
}

static void on_partial_gossip(lp2p_router *r, lp2p_bytes topic,
                              lp2p_bytes group, const lp2p_peer_id *peers,
                              size_t npeers, void *user) {
  th_router *t = user;
  (void)r;
  (void)topic;
  (void)group;
  t->gossip_calls++;
  t->gossip_peers += npeers;
  t->last_gossip_peer = peers[0];
}

static void router_new(th_router *t, const lp2p_router_settings *s,
                       lp2p_validation verdict, bool verify_hook,
                       th_trace_fn trace) {
  lp2p_router_callbacks cb = {0};
  lp2p_router_settings copy = *s;
  lp2p_pubkey pub;
  memset(t, 0, sizeof(*t));
  t->validator = verdict != (lp2p_validation)-1;
  t->verdict = verdict;
  t->rand_ctr = 42;
  copy.rand_user = &t->rand_ctr;
  cb.deliver = on_deliver;
  cb.connect = on_connect;
  cb.event = on_event;
  cb.app_score = on_app_score;
  cb.disconnect = on_disconnect;
  cb.partial = on_partial;
  cb.partial_gossip = on_partial_gossip;
  if (t->validator) {
    cb.validate = on_validate;
  }
  if (verify_hook) {
    cb.verify = on_verify;
  }
  cb.trace = trace;
  lp2p_errdetail err;
  int rv = lp2p_router_new(&t->r, &copy, &cb, NULL, t, TH_T0, &err);
  if (rv != 0) {
    fail_msg("router_new: %s", err.msg);
  }
  lp2p_privkey_public(&s->key, &pub);
  lp2p_peer_id_from_pubkey(&pub, &t->id);
}

void th_router_new_validating(th_router *t, const lp2p_router_settings *s,
                              lp2p_validation verdict) {
  router_new(t, s, verdict, false, NULL);
}

void th_router_new(th_router *t, const lp2p_router_settings *s) {
  router_new(t, s, (lp2p_validation)-1, false, NULL);
}

void th_router_new_verifying(th_router *t, const lp2p_router_settings *s) {
  router_new(t, s, (lp2p_validation)-1, true, NULL);
}

void th_router_new_traced(th_router *t, const lp2p_router_settings *s,
                          lp2p_validation verdict, bool verify_hook,
                          th_trace_fn trace) {
  router_new(t, s, verdict, verify_hook, trace);
}

void th_router_del(th_router *t) {
  lp2p_router_del(t->r);
  t->r = NULL;
}

void th_add_peer(th_router *t, uint8_t seed, lp2p_pubsub_proto proto,
                 bool outbound, lp2p_peer_id *id) {
  lp2p_privkey key;
  lp2p_peer_info info = {proto, outbound, false, {0}, NULL, NULL};
  th_identity(seed, &key, id);
  assert_int_equal(lp2p_router_add_peer(t->r, id, &info, TH_T0), 0);
}

void th_rpc_init(th_rpc *m) {
  lp2p_buf_init(&m->body, NULL);
  lp2p_buf_init(&m->ctl, NULL);
}

void th_rpc_sub(th_rpc *m, const char *topic, bool subscribe) {
  assert_int_equal(lp2p_rpc_put_sub(&m->body, subscribe, (const uint8_t *)topic,
                                    strlen(topic)),
                   0);
}

void th_rpc_graft(th_rpc *m, const char *topic) {
  assert_int_equal(
      lp2p_ctl_put_graft(&m->ctl, (const uint8_t *)topic, strlen(topic)), 0);
}

void th_rpc_prune(th_rpc *m, const char *topic, uint64_t backoff,
                  const lp2p_rpc_px *px, size_t npx) {
  assert_int_equal(lp2p_ctl_put_prune(&m->ctl, (const uint8_t *)topic,
                                      strlen(topic), backoff, px, npx),
                   0);
}

void th_rpc_ihave(th_rpc *m, const char *topic, const lp2p_bytes *ids,
                  size_t n) {
  assert_int_equal(lp2p_ctl_put_ihave(&m->ctl, (const uint8_t *)topic,
                                      strlen(topic), ids, n),
                   0);
}

void th_rpc_ids(th_rpc *m, uint32_t field, const lp2p_bytes *ids, size_t n) {
  assert_int_equal(lp2p_ctl_put_ids(&m->ctl, field, ids, n), 0);
}

void th_rpc_raw_msg(th_rpc *m, const lp2p_rpc_msg *f) {
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  assert_int_equal(lp2p_rpc_put_message_body(&b, f), 0);
  assert_int_equal(lp2p_rpc_put_publish(&m->body, b.data, b.len), 0);
  lp2p_buf_free(&b);
}

/* Signs as the pubsub spec says, independently of lp2p's message.c. */
void th_rpc_msg(th_rpc *m, const lp2p_privkey *author, const char *topic,
                const uint8_t *data, size_t len, uint64_t seqno) {
  lp2p_pubkey pub;
  lp2p_peer_id id;
  uint8_t sq[8], sig[LP2P_SIG_MAX];
  size_t sig_len;
  static const uint8_t empty[1];
  lp2p_privkey_public(author, &pub);
  lp2p_peer_id_from_pubkey(&pub, &id);
  for (int i = 0; i < 8; i++) {
    sq[i] = (uint8_t)(seqno >> (56 - 8 * i));
  }
  lp2p_rpc_msg f = {0};
  f.from = (lp2p_bytes){id.bytes, id.len};
  f.data = (lp2p_bytes){len ? data : empty, len};
  f.seqno = (lp2p_bytes){sq, 8};
  f.topic = (lp2p_bytes){(const uint8_t *)topic, strlen(topic)};
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  lp2p_buf_append_str(&b, "libp2p-pubsub:");
  assert_int_equal(lp2p_rpc_put_message_body(&b, &f), 0);
  assert_int_equal(lp2p_privkey_sign(author, b.data, b.len, sig, &sig_len), 0);
  lp2p_buf_free(&b);
  f.signature = (lp2p_bytes){sig, sig_len};
  th_rpc_raw_msg(m, &f);
}

size_t th_msg_id(const lp2p_privkey *author, uint64_t seqno, uint8_t *out) {
  lp2p_pubkey pub;
  lp2p_peer_id id;
  lp2p_privkey_public(author, &pub);
  lp2p_peer_id_from_pubkey(&pub, &id);
  memcpy(out, id.bytes, id.len);
  for (int i = 0; i < 8; i++) {
    out[id.len + (size_t)i] = (uint8_t)(seqno >> (56 - 8 * i));
  }
  return id.len + 8u;
}

void th_rpc_send(th_router *t, const lp2p_peer_id *from, th_rpc *m,
                 lp2p_tstamp now) {
  if (m->ctl.len) {
    assert_int_equal(lp2p_rpc_put_control(&m->body, m->ctl.data, m->ctl.len),
                     0);
  }
  assert_int_equal(
      lp2p_router_recv_rpc(t->r, from, m->body.data, m->body.len, now), 0);
  lp2p_buf_free(&m->body);
  lp2p_buf_free(&m->ctl);
}

void th_rpc_frame(th_rpc *m, lp2p_buf *out) {
  if (m->ctl.len) {
    assert_int_equal(lp2p_rpc_put_control(&m->body, m->ctl.data, m->ctl.len),
                     0);
  }
  assert_int_equal(lp2p__pubsub_frame(out, m->body.data, m->body.len), 0);
  lp2p_buf_free(&m->body);
  lp2p_buf_free(&m->ctl);
}

const uint8_t *th_unframe(const uint8_t *framed, size_t n, size_t *len) {
  const uint8_t *rpc = NULL;
  assert_int_equal(lp2p__pubsub_unframe(framed, n, &rpc, len), 0);
  return rpc;
}

static size_t control_len(const lp2p_rpc *r) {
  return r->ihave.len + r->iwant.len + r->graft.len + r->prune.len +
         r->idontwant.len;
}

static void count_rpc(th_out *o, const uint8_t *in, size_t len) {
  lp2p_rpc rpc;
  lp2p_rpc_limits lim = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX,
                         SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
  lp2p_rpc_init(&rpc, NULL);
  assert_int_equal(lp2p_rpc_decode(&rpc, in, len, &lim), 0);
  for (size_t i = 0; i < rpc.subs.len; i++) {
    *(rpc.subs.items[i].subscribe ? &o->subs : &o->unsubs) += 1;
    o->sub_requests += rpc.subs.items[i].requests_partial;
    o->sub_supports += rpc.subs.items[i].supports_partial;
  }
  if (rpc.has_partial) {
    o->partials++;
    o->partial_parts += rpc.partial.message.data != NULL;
    o->partial_metadata += rpc.partial.metadata.data != NULL;
  }
  o->msgs += rpc.msgs.len;
  o->grafts += rpc.graft.len;
  o->prunes += rpc.prune.len;
  for (size_t i = 0; i < rpc.prune.len; i++) {
    o->px += rpc.prune.items[i].npx;
    o->prune_backoff = rpc.prune.items[i].backoff;
  }
  o->ihaves += rpc.ihave.len;
  for (size_t i = 0; i < rpc.ihave.len; i++) {
    o->ihave_ids += rpc.ihave.items[i].count;
  }
  o->iwants += rpc.iwant.len;
  for (size_t i = 0; i < rpc.iwant.len; i++) {
    for (size_t j = 0; j < rpc.iwant.items[i].count; j++) {
      const lp2p_bytes *id = &rpc.ids.items[rpc.iwant.items[i].first + j];
      if (o->iwant_ids < 64 && id->len <= 64) {
        uint8_t *slot = o->id_store + 64 * o->iwant_ids;
        memcpy(slot, id->data, id->len);
        o->last_iwant_ids[o->iwant_ids] = (lp2p_bytes){slot, id->len};
      }
      o->iwant_ids++;
    }
  }
  for (size_t i = 0; i < rpc.idontwant.len; i++) {
    o->idontwant_ids += rpc.idontwant.items[i].count;
  }
  if (rpc.has_extensions) {
    o->ext_rpcs++;
    o->ext_in_first |= o->rpcs == 1;
    o->ext = rpc.ext;
  }
  if (rpc.test_extension) {
    o->test_exts++;
    o->test_ext_alone += rpc.subs.len + rpc.msgs.len == 0 &&
                         !rpc.has_extensions && control_len(&rpc) == 0;
  }
  lp2p_rpc_free(&rpc);
}

void th_drain(th_router *t, const lp2p_peer_id *peer, th_out *o,
              lp2p_tstamp now) {
  const uint8_t *out;
  ptrdiff_t n;
  memset(o, 0, sizeof(*o));
  while ((n = lp2p_router_pull(t->r, peer, &out, now)) > 0) {
    size_t len;
    const uint8_t *rpc = th_unframe(out, (size_t)n, &len);
    o->rpcs++;
    o->bytes += (size_t)n;
    if (len > o->max_rpc) {
      o->max_rpc = len;
    }
    count_rpc(o, rpc, len);
  }
  assert_true(n == 0);
}

void th_drain_all(th_router *t, lp2p_tstamp now) {
  size_t it = 0;
  lp2p_map_entry *e;
  th_out o;
  while ((e = lp2p_map_next(&t->r->peers, &it)) != NULL) {
    th_drain(t, &((gs_peer *)e->value)->id, &o, now);
  }
}

void th_run(th_router *t, lp2p_tstamp *now, lp2p_tstamp until) {
  while (lp2p_router_expiry(t->r) <= until) {
    *now = lp2p_router_expiry(t->r);
    assert_int_equal(lp2p_router_handle_expiry(t->r, *now), 0);
  }
  *now = until;
}
