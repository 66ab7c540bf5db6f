/* Protocol and scoring rules where lp2p follows go-libp2p-pubsub: peer
 * exchange, direct peers, mesh-delivery credit, IWANT promises, the
 * order of control messages, self-origin messages, GRAFTs without a
 * subscription and IP colocation. Test names say the rule. */
#include "testutil_router.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1
#define S LP2P_SECONDS
#define MS LP2P_MILLISECONDS

static void near(double got, double want) {
  if (got < want - 1e-9 || got > want + 1e-9) {
    fail_msg("got %.9f, want %.9f", got, want);
  }
}

/* Scoring as th_score_settings, with `tp` for TOPIC when not NULL. */
static void scored(th_router *t, lp2p_router_settings *s,
                   const lp2p_topic_score_params *tp, lp2p_validation v) {
  lp2p_errdetail err;
  th_router_new_validating(t, s, v);
  if (tp && lp2p_router_set_topic_score_params(t->r, T, tp, &err) != 0) {
    fail_msg("topic params: %s", err.msg);
  }
}

static void score_settings(lp2p_router_settings *s) {
  th_settings(s, 1);
  th_score_settings(s);
}

static lp2p_topic_score_params topic_params(void) {
  lp2p_topic_score_params tp = {0};
  tp.topic_weight = 1;
  tp.invalid_message_deliveries_weight = -1;
  tp.invalid_message_deliveries_decay = 0.5;
  tp.mesh_message_deliveries_weight = -1;
  tp.mesh_message_deliveries_decay = 0.5;
  tp.mesh_message_deliveries_cap = 100;
  tp.mesh_message_deliveries_threshold = 4;
  tp.mesh_message_deliveries_window = 10 * MS;
  tp.mesh_message_deliveries_activation = 2 * S;
  tp.mesh_failure_penalty_weight = -1;
  tp.mesh_failure_penalty_decay = 0.5;
  return tp;
}

static void subscribe(th_router *t, const lp2p_peer_id *id, bool on,
                      lp2p_tstamp now) {
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, on);
  th_rpc_send(t, id, &m, now);
}

/* Adds peers seeds base.. subscribed to TOPIC. */
static void add_subscribed(th_router *t, uint8_t base, size_t n,
                           lp2p_peer_id *ids) {
  for (size_t i = 0; i < n; i++) {
    th_add_peer(t, (uint8_t)(base + i), LP2P_MESHSUB_12, false, &ids[i]);
    subscribe(t, &ids[i], true, TH_T0);
  }
}

static bool in_mesh(th_router *t, const lp2p_peer_id *id) {
  gs_topic *tp = lp2p_gs_topic_find(t->r, T);
  return tp && lp2p_gs_peers_has(&tp->mesh, lp2p_gs_peer_find(t->r, id));
}

static lp2p_peer_topic_score topic_score(th_router *t, const lp2p_peer_id *id) {
  lp2p_peer_topic_score ts;
  assert_int_equal(lp2p_router_peer_topic_score(t->r, id, T, &ts), 0);
  return ts;
}

static double behaviour_of(th_router *t, const lp2p_peer_id *id) {
  lp2p_peer_score_info in;
  assert_int_equal(lp2p_router_peer_score_info(t->r, id, &in), 0);
  return in.behaviour_penalty;
}

/* A message of `author` (seed) with `seqno`, sent by `from`. */
static void send_msg(th_router *t, const lp2p_peer_id *from, uint8_t author,
                     uint64_t seqno, lp2p_tstamp now) {
  lp2p_privkey k;
  lp2p_peer_id aid;
  th_rpc m;
  th_identity(author, &k, &aid);
  th_rpc_init(&m);
  th_rpc_msg(&m, &k, TOPIC, (const uint8_t *)"payload", 7, seqno);
  th_rpc_send(t, from, &m, now);
}

/* ---- peer exchange */

static void px_is_off_by_default(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[3];
  th_settings(&s, 1);
  assert_false(s.params.do_px);
  th_router_new(&t, &s);
  add_subscribed(&t, 10, 3, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  assert_int_equal(lp2p_router_leave(t.r, T, TH_T0), 0);
  for (int i = 0; i < 3; i++) {
    th_out o;
    th_drain(&t, &ids[i], &o, TH_T0);
    assert_int_equal(o.prunes, 1);
    assert_int_equal(o.px, 0);
  }
  th_router_del(&t);
}

static void no_px_to_a_peer_with_a_negative_score(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[3];
  score_settings(&s);
  s.params.do_px = true;
  scored(&t, &s, NULL, (lp2p_validation)-1);
  add_subscribed(&t, 10, 3, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  for (int i = 0; i < 3; i++) {
    assert_true(in_mesh(&t, &ids[i]));
  }
  /* still in the mesh (above the gossip threshold) when we leave */
  th_set_app_score(&t, &ids[0], -1);
  assert_int_equal(lp2p_router_leave(t.r, T, TH_T0), 0);
  th_out o;
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.prunes, 1);
  assert_int_equal(o.px, 0);
  th_drain(&t, &ids[1], &o, TH_T0);
  assert_int_equal(o.prunes, 1);
  assert_true(o.px >= 1); /* the others still get it */
  th_router_del(&t);
}

static void graft_rpc_naming_a_topic_we_left_earns_no_px(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[14];
  th_settings(&s, 1);
  s.params.do_px = true;
  th_router_new(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 10, 14, ids);
  for (int i = 0; i < 12; i++) { /* the mesh fills to Dhi */
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_graft(&m, TOPIC);
    th_rpc_send(&t, &ids[i], &m, TH_T0);
  }
  th_drain_all(&t, TH_T0);
  /* as go: a GRAFT into the full mesh is pruned with PX, unless the
   * same RPC also grafts a topic we did not join */
  for (int i = 12; i < 14; i++) {
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_graft(&m, TOPIC);
    if (i == 13) {
      th_rpc_graft(&m, "elsewhere");
    }
    th_rpc_send(&t, &ids[i], &m, TH_T0);
    th_out o;
    th_drain(&t, &ids[i], &o, TH_T0);
    assert_int_equal(o.prunes, 1);
    if (i == 12) {
      assert_true(o.px >= 1);
    } else {
      assert_int_equal(o.px, 0);
    }
  }
  th_router_del(&t);
}

/* ---- direct peers */

static void direct_peer_below_graylist_is_heard_and_kept(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_privkey k;
  lp2p_peer_id id;
  score_settings(&s);
  scored(&t, &s, NULL, (lp2p_validation)-1);
  th_identity(50, &k, &id);
  assert_int_equal(lp2p_router_add_direct(t.r, &id), 0);
  lp2p_peer_info info = {LP2P_MESHSUB_12, true, false, {0}, NULL, NULL};
  assert_int_equal(lp2p_router_add_peer(t.r, &id, &info, TH_T0), 0);
  th_set_app_score(&t, &id, -100); /* far below graylist (-30) */
  subscribe(&t, &id, true, TH_T0);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.rpcs_graylisted, 0);
  lp2p_topic_stats ts;
  assert_int_equal(lp2p_router_topic_stats(t.r, T, &ts), 0);
  assert_int_equal(ts.peers, 1);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 3 * S);
  assert_int_equal(t.disconnects, 0);
  th_router_del(&t);
}

/* ---- mesh delivery credit (P3) */

static void p3_replayed_copy_earns_no_credit_after_many_senders(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_topic_score_params tp = topic_params();
  lp2p_peer_id mesh[1], others[17];
  score_settings(&s);
  scored(&t, &s, &tp, (lp2p_validation)-1);
  add_subscribed(&t, 10, 1, mesh);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_true(in_mesh(&t, &mesh[0]));
  add_subscribed(&t, 20, 17, others);
  lp2p_tstamp now = TH_T0 + S;
  /* the first copy, then 16 more: the inline list of senders is full */
  for (int i = 0; i < 17; i++) {
    send_msg(&t, &others[i], 77, 1, now);
  }
  send_msg(&t, &mesh[0], 77, 1, now);
  near(topic_score(&t, &mesh[0]).mesh_message_deliveries, 1);
  /* replays within the window earn nothing more */
  for (int i = 0; i < 5; i++) {
    send_msg(&t, &mesh[0], 77, 1, now + MS);
  }
  near(topic_score(&t, &mesh[0]).mesh_message_deliveries, 1);
  th_router_del(&t);
}

static void unsubscribing_mesh_peer_loses_its_slot_and_gets_p3b(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_topic_score_params tp = topic_params();
  lp2p_peer_id ids[1];
  score_settings(&s);
  scored(&t, &s, &tp, (lp2p_validation)-1);
  add_subscribed(&t, 10, 1, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 3 * S); /* active, nothing delivered */
  assert_true(in_mesh(&t, &ids[0]));
  subscribe(&t, &ids[0], false, now);
  assert_false(in_mesh(&t, &ids[0]));
  lp2p_peer_topic_score ts = topic_score(&t, &ids[0]);
  assert_false(ts.in_mesh);
  near(ts.mesh_failure_penalty, 16); /* the deficit 4, squared */
  th_router_del(&t);
}

/* ---- IWANT promises */

/* Has `from` advertise the message of author 77, `seqno`, and checks
 * that we asked for it. */
static void advertise(th_router *t, const lp2p_peer_id *from, uint64_t seqno,
                      lp2p_tstamp now) {
  lp2p_privkey k;
  lp2p_peer_id aid;
  uint8_t id[64];
  th_identity(77, &k, &aid);
  lp2p_bytes have = {id, th_msg_id(&k, seqno, id)};
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_ihave(&m, TOPIC, &have, 1);
  th_rpc_send(t, from, &m, now);
  th_out o;
  th_drain(t, from, &o, now);
  assert_int_equal(o.iwant_ids, 1);
}

static void iwant_promise_is_kept_when_validation_starts(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  score_settings(&s);
  scored(&t, &s, NULL, LP2P_VALIDATION_PENDING);
  add_subscribed(&t, 10, 1, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  advertise(&t, &ids[0], 5, TH_T0);
  send_msg(&t, &ids[0], 77, 5, TH_T0 + 100 * MS);
  assert_int_equal(t.validated, 1);
  /* the validator takes longer than IWantFollowupTime (3 s) */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 5 * S);
  near(behaviour_of(&t, &ids[0]), 0);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.broken_promises, 0);
  assert_int_equal(st.pending_validations, 1);
  th_router_del(&t);
}

static void iwant_promise_is_kept_when_validation_queue_is_full(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  score_settings(&s);
  s.limits.max_pending_validations = 1;
  scored(&t, &s, NULL, LP2P_VALIDATION_PENDING);
  add_subscribed(&t, 10, 1, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  send_msg(&t, &ids[0], 77, 1, TH_T0); /* fills the queue */
  advertise(&t, &ids[0], 5, TH_T0);
  send_msg(&t, &ids[0], 77, 5, TH_T0 + 100 * MS);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.validation_overflow, 1);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 5 * S);
  near(behaviour_of(&t, &ids[0]), 0);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.broken_promises, 0);
  th_router_del(&t);
}

/* ---- control order */

static void graft_and_prune_in_one_rpc_prune_last_no_penalty(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[2];
  th_settings(&s, 1);
  th_router_new(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 10, 2, ids);
  th_drain_all(&t, TH_T0);
  /* one peer in the mesh, one out of it: both send GRAFT then PRUNE */
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_prune(&m, TOPIC, 0, NULL, 0);
  th_rpc_send(&t, &ids[1], &m, TH_T0);
  assert_false(in_mesh(&t, &ids[1]));
  lp2p_tstamp later = TH_T0 + 100 * S; /* past every backoff */
  for (int i = 0; i < 2; i++) {
    th_rpc_init(&m);
    th_rpc_graft(&m, TOPIC);
    th_rpc_prune(&m, TOPIC, 30, NULL, 0);
    th_rpc_send(&t, &ids[i], &m, later);
    assert_false(in_mesh(&t, &ids[i]));
    near(behaviour_of(&t, &ids[i]), 0);
    th_out o;
    th_drain(&t, &ids[i], &o, later);
    assert_int_equal(o.prunes, 0); /* nothing to refuse */
    /* the PRUNE's backoff (30 s + one heartbeat of slack) holds */
    assert_int_equal(lp2p_gs_backoff_until(lp2p_gs_topic_find(t.r, T), &ids[i]),
                     later + 31 * S);
  }
  th_router_del(&t);
}

/* ---- self-origin messages */

static void message_claiming_our_id_is_rejected_and_charged(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_topic_score_params tp = topic_params();
  lp2p_privkey self;
  lp2p_peer_id self_id, ids[2];
  score_settings(&s);
  scored(&t, &s, &tp, (lp2p_validation)-1);
  th_identity(1, &self, &self_id); /* the router's identity */
  add_subscribed(&t, 10, 2, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  /* one we published (seqno 1, in the seen cache) sent back to us, and
   * one we never published */
  assert_true(lp2p_router_publish(t.r, T, (const uint8_t *)"payload", 7, NULL,
                                  NULL, TH_T0) >= 0);
  size_t delivered = t.delivered; /* our own, delivered to us */
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_msg(&m, &self, TOPIC, (const uint8_t *)"payload", 7, 1);
  th_rpc_send(&t, &ids[0], &m, TH_T0 + MS);
  th_rpc_init(&m);
  th_rpc_msg(&m, &self, TOPIC, (const uint8_t *)"forged", 6, 99);
  th_rpc_send(&t, &ids[1], &m, TH_T0 + MS);
  assert_int_equal(t.delivered, delivered);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.msgs_rejected, 2);
  near(topic_score(&t, &ids[0]).invalid_message_deliveries, 1);
  near(topic_score(&t, &ids[1]).invalid_message_deliveries, 1);
  near(topic_score(&t, &ids[0]).mesh_message_deliveries, 0);
  th_router_del(&t);
}

/* ---- GRAFT without a subscription */

static void graft_without_subscription_is_handled_as_go(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id id;
  th_settings(&s, 1);
  th_router_new(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_add_peer(&t, 20, LP2P_MESHSUB_12, false, &id);
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_graft(&m, TOPIC);
  th_rpc_send(&t, &id, &m, TH_T0);
  assert_true(in_mesh(&t, &id));
  lp2p_topic_stats ts;
  assert_int_equal(lp2p_router_topic_stats(t.r, T, &ts), 0);
  assert_int_equal(ts.peers, 1); /* the GRAFT stands for its subscription */
  th_out o;
  th_drain(&t, &id, &o, TH_T0);
  assert_int_equal(o.prunes, 0);
  /* a later unsubscribe takes it out of the mesh */
  subscribe(&t, &id, false, TH_T0);
  assert_false(in_mesh(&t, &id));
  th_router_del(&t);
}

/* ---- IP colocation (P6) */

static void colocation(lp2p_router_settings *s) {
  score_settings(s);
  s->score.ip_colocation_factor_weight = -1;
  s->score.ip_colocation_factor_threshold = 1;
}

static void add_at(th_router *t, uint8_t seed, const uint8_t ip[16],
                   lp2p_peer_id *id) {
  lp2p_privkey k;
  lp2p_peer_info info = {LP2P_MESHSUB_12, false, false, {0}, NULL, NULL};
  memcpy(info.ip, ip, 16);
  th_identity(seed, &k, id);
  assert_int_equal(lp2p_router_add_peer(t->r, id, &info, TH_T0), 0);
}

static lp2p_peer_score_info info_of(th_router *t, const lp2p_peer_id *id) {
  lp2p_peer_score_info in;
  assert_int_equal(lp2p_router_peer_score_info(t->r, id, &in), 0);
  return in;
}

static void p6_counts_ipv6_by_address_and_by_64(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id a, b, c, d;
  /* 2001:db8:0:1::1 twice, 2001:db8:0:1::2, and 2001:db8:0:2::1 */
  uint8_t a1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, [15] = 1};
  uint8_t a2[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, [15] = 2};
  uint8_t other[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2, [15] = 1};
  colocation(&s);
  scored(&t, &s, NULL, (lp2p_validation)-1);
  add_at(&t, 10, a1, &a);
  add_at(&t, 11, a2, &b);
  add_at(&t, 13, other, &d);
  /* the /64 holds 2 peers: surplus 1 for each, no address shared */
  near(info_of(&t, &a).p6, -1);
  near(info_of(&t, &b).p6, -1);
  near(info_of(&t, &d).p6, 0);
  add_at(&t, 12, a1, &c);
  /* the address holds 2 (surplus 1), the /64 holds 3 (surplus 2) */
  near(info_of(&t, &a).p6, -(1 + 4));
  near(info_of(&t, &c).p6, -(1 + 4));
  assert_int_equal(info_of(&t, &c).ip_peers, 2);
  near(info_of(&t, &b).p6, -4);
  th_router_del(&t);
}

static void p6_does_not_count_loopback(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[4];
  uint8_t v4[16] = {[10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1};
  uint8_t v6[16] = {[15] = 1};
  colocation(&s);
  scored(&t, &s, NULL, (lp2p_validation)-1);
  add_at(&t, 10, v4, &ids[0]);
  add_at(&t, 11, v4, &ids[1]);
  add_at(&t, 12, v6, &ids[2]);
  add_at(&t, 13, v6, &ids[3]);
  for (int i = 0; i < 4; i++) {
    near(info_of(&t, &ids[i]).p6, 0);
    assert_int_equal(info_of(&t, &ids[i]).ip_peers, 0);
  }
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(px_is_off_by_default),
      cmocka_unit_test(no_px_to_a_peer_with_a_negative_score),
      cmocka_unit_test(graft_rpc_naming_a_topic_we_left_earns_no_px),
      cmocka_unit_test(direct_peer_below_graylist_is_heard_and_kept),
      cmocka_unit_test(p3_replayed_copy_earns_no_credit_after_many_senders),
      cmocka_unit_test(unsubscribing_mesh_peer_loses_its_slot_and_gets_p3b),
      cmocka_unit_test(iwant_promise_is_kept_when_validation_starts),
      cmocka_unit_test(iwant_promise_is_kept_when_validation_queue_is_full),
      cmocka_unit_test(graft_and_prune_in_one_rpc_prune_last_no_penalty),
      cmocka_unit_test(message_claiming_our_id_is_rejected_and_charged),
      cmocka_unit_test(graft_without_subscription_is_handled_as_go),
      cmocka_unit_test(p6_counts_ipv6_by_address_and_by_64),
      cmocka_unit_test(p6_does_not_count_loopback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
