/* Peer scoring: each component with hand-computed values, decay, caps,
 * activation, DecayToZero, colocation, retention, and every threshold
 * gate. */
#include "testutil_router.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1
#define S LP2P_SECONDS
#define MS LP2P_MILLISECONDS

static lp2p_topic_score_params quiet_topic(void) {
  /* every weight 0; the decays that must be valid anyway */
  lp2p_topic_score_params p = {0};
  p.topic_weight = 1;
  p.invalid_message_deliveries_decay = 0.5;
  return p;
}

static void scored_router(th_router *t, const lp2p_topic_score_params *tp,
                          void (*tweak)(lp2p_router_settings *)) {
  lp2p_router_settings s;
  lp2p_errdetail err;
  th_settings(&s, 1);
  th_score_settings(&s);
  if (tweak) {
    tweak(&s);
  }
  th_router_new(t, &s);
  if (tp) {
    int rv = lp2p_router_set_topic_score_params(t->r, T, tp, &err);
    if (rv != 0) {
      fail_msg("topic params: %s", err.msg);
    }
  }
}

/* Adds peers seeds 10.. subscribed to TOPIC, then joins: all in mesh up
 * to D. */
static void mesh_of(th_router *t, size_t n, lp2p_peer_id *ids) {
  for (size_t i = 0; i < n; i++) {
    th_rpc m;
    th_add_peer(t, (uint8_t)(10 + i), LP2P_MESHSUB_12, true, &ids[i]);
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_send(t, &ids[i], &m, TH_T0);
  }
  assert_int_equal(lp2p_router_join(t->r, T, TH_T0), 0);
  th_drain_all(t, TH_T0);
}

static double score_of(th_router *t, const lp2p_peer_id *id) {
  return lp2p_router_peer_score(t->r, id);
}

static lp2p_peer_score_info info_of(th_router *t, const lp2p_peer_id *id) {
  lp2p_peer_score_info in;
  assert_int_equal(lp2p_router_peer_score_info(t->r, id, &in), 0);
  return in;
}

static void near(double got, double want) {
  if (got < want - 1e-9 || got > want + 1e-9) {
    fail_msg("score %.9f, want %.9f", got, want);
  }
}

/* Sends a message signed by `author` (seed) with `seqno` from `from`. */
static void deliver(th_router *t, const lp2p_peer_id *from, uint8_t author,
                    uint64_t seqno, lp2p_tstamp now) {
  lp2p_privkey k;
  lp2p_peer_id aid;
  th_rpc m;
  th_identity(author, &k, &aid);
  th_rpc_init(&m);
  th_rpc_msg(&m, &k, TOPIC, (const uint8_t *)"payload", 7, seqno);
  th_rpc_send(t, from, &m, now);
}

static void p1_time_in_mesh_counts_quanta_up_to_the_cap(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  lp2p_topic_score_params tp = quiet_topic();
  tp.time_in_mesh_weight = 1;
  tp.time_in_mesh_quantum = S;
  tp.time_in_mesh_cap = 3.5;
  scored_router(&t, &tp, NULL);
  mesh_of(&t, 1, ids);
  lp2p_tstamp now = TH_T0;
  near(score_of(&t, &ids[0]), 0);
  /* mesh time advances at each decay (every second) */
  th_run(&t, &now, TH_T0 + 1 * S);
  near(score_of(&t, &ids[0]), 1);
  th_run(&t, &now, TH_T0 + 2500 * MS);
  near(score_of(&t, &ids[0]), 2);
  th_run(&t, &now, TH_T0 + 5 * S);
  near(score_of(&t, &ids[0]), 3.5);
  near(info_of(&t, &ids[0]).p1, 3.5);
  th_router_del(&t);
}

static void p2_first_deliveries_decay_and_cap(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  lp2p_topic_score_params tp = quiet_topic();
  tp.first_message_deliveries_weight = 2;
  tp.first_message_deliveries_decay = 0.5;
  tp.first_message_deliveries_cap = 5;
  scored_router(&t, &tp, NULL);
  mesh_of(&t, 1, ids);
  for (uint64_t k = 1; k <= 3; k++) {
    deliver(&t, &ids[0], 77, k, TH_T0);
  }
  near(score_of(&t, &ids[0]), 6);
  /* a copy from the same peer counts nothing */
  deliver(&t, &ids[0], 77, 1, TH_T0);
  near(score_of(&t, &ids[0]), 6);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 1 * S);
  near(score_of(&t, &ids[0]), 3);
  th_run(&t, &now, TH_T0 + 2 * S);
  near(score_of(&t, &ids[0]), 1.5);
  for (uint64_t k = 10; k < 20; k++) {
    deliver(&t, &ids[0], 77, k, now);
  }
  near(score_of(&t, &ids[0]), 10); /* capped at 5 deliveries */
  th_router_del(&t);
}

static void p2_decays_to_zero(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  lp2p_topic_score_params tp = quiet_topic();
  tp.first_message_deliveries_weight = 1;
  tp.first_message_deliveries_decay = 0.5;
  tp.first_message_deliveries_cap = 5;
  scored_router(&t, &tp, NULL);
  t.r->score.p.decay_to_zero = 0.2;
  mesh_of(&t, 1, ids);
  deliver(&t, &ids[0], 77, 1, TH_T0);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 2 * S);
  near(score_of(&t, &ids[0]), 0.25);
  th_run(&t, &now, TH_T0 + 3 * S); /* 0.125 is below 0.2: snaps to 0 */
  near(score_of(&t, &ids[0]), 0);
  lp2p_peer_topic_score ts;
  assert_int_equal(lp2p_router_peer_topic_score(t.r, &ids[0], T, &ts), 0);
  near(ts.first_message_deliveries, 0);
  th_router_del(&t);
}

static lp2p_topic_score_params p3_topic(void) {
  lp2p_topic_score_params tp = quiet_topic();
  tp.mesh_message_deliveries_weight = -1;
  tp.mesh_message_deliveries_decay = 0.5;
  tp.mesh_message_deliveries_cap = 10;
  tp.mesh_message_deliveries_threshold = 4;
  tp.mesh_message_deliveries_window = 10 * MS;
  tp.mesh_message_deliveries_activation = 2 * S;
  tp.mesh_failure_penalty_weight = -1;
  tp.mesh_failure_penalty_decay = 0.5;
  return tp;
}

static void p3_mesh_deliveries_deficit_after_activation(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[2];
  lp2p_topic_score_params tp = p3_topic();
  scored_router(&t, &tp, NULL);
  mesh_of(&t, 2, ids);
  deliver(&t, &ids[0], 77, 1, TH_T0 + 500 * MS);
  /* a copy 5 ms after validation is within the window, 20 ms is not */
  deliver(&t, &ids[1], 77, 1, TH_T0 + 505 * MS);
  deliver(&t, &ids[1], 77, 2, TH_T0 + 510 * MS); /* first from ids[1] */
  deliver(&t, &ids[0], 77, 2, TH_T0 + 530 * MS);
  lp2p_peer_topic_score ts;
  lp2p_router_peer_topic_score(t.r, &ids[0], T, &ts);
  near(ts.mesh_message_deliveries, 1);
  lp2p_router_peer_topic_score(t.r, &ids[1], T, &ts);
  near(ts.mesh_message_deliveries, 2);
  /* not active before MeshMessageDeliveriesActivation (2 s in mesh) */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 2 * S);
  near(score_of(&t, &ids[0]), 0);
  /* at 3 s it is: 1 -> 0.5 -> 0.25 -> 0.125, deficit 3.875 */
  th_run(&t, &now, TH_T0 + 3 * S);
  near(score_of(&t, &ids[0]), -(3.875 * 3.875));
  near(info_of(&t, &ids[0]).p3, -(3.875 * 3.875));
  near(score_of(&t, &ids[1]), -(3.75 * 3.75));
  th_router_del(&t);
}

static void p3b_mesh_failure_penalty_sticks_after_prune(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  lp2p_topic_score_params tp = p3_topic();
  scored_router(&t, &tp, NULL);
  mesh_of(&t, 1, ids);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 3 * S); /* active, no delivery: deficit 4 */
  near(score_of(&t, &ids[0]), -16);
  /* the peer prunes us: P3 stops, P3b keeps the deficit squared */
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_prune(&m, TOPIC, 60, NULL, 0);
  th_rpc_send(&t, &ids[0], &m, now);
  near(score_of(&t, &ids[0]), -16);
  near(info_of(&t, &ids[0]).p3b, -16);
  near(info_of(&t, &ids[0]).p3, 0);
  th_run(&t, &now, TH_T0 + 4 * S);
  near(score_of(&t, &ids[0]), -8);
  th_router_del(&t);
}

static void p4_invalid_messages_squared_and_decayed(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  lp2p_topic_score_params tp = quiet_topic();
  tp.invalid_message_deliveries_weight = -1;
  scored_router(&t, &tp, NULL);
  mesh_of(&t, 1, ids);
  /* two messages that fail the signing policy (unsigned) */
  for (int i = 0; i < 2; i++) {
    lp2p_rpc_msg f = {0};
    f.data = (lp2p_bytes){(const uint8_t *)"x", 1};
    f.topic = (lp2p_bytes){(const uint8_t *)TOPIC, 1};
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_raw_msg(&m, &f);
    th_rpc_send(&t, &ids[0], &m, TH_T0);
  }
  near(score_of(&t, &ids[0]), -4);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 1 * S);
  near(score_of(&t, &ids[0]), -1);
  th_run(&t, &now, TH_T0 + 2 * S);
  near(score_of(&t, &ids[0]), -0.25);
  th_router_del(&t);
}

static void p4_validator_reject_penalises_sender_and_copiers(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[2];
  th_settings(&s, 1);
  th_score_settings(&s);
  th_router_new_validating(&t, &s, LP2P_VALIDATION_PENDING);
  lp2p_topic_score_params tp = quiet_topic();
  tp.invalid_message_deliveries_weight = -1;
  assert_int_equal(lp2p_router_set_topic_score_params(t.r, T, &tp, NULL), 0);
  mesh_of(&t, 2, ids);
  deliver(&t, &ids[0], 77, 1, TH_T0);
  deliver(&t, &ids[1], 77, 1, TH_T0); /* a copy while validating */
  uint8_t id[64];
  lp2p_privkey k;
  lp2p_peer_id aid;
  th_identity(77, &k, &aid);
  size_t id_len = th_msg_id(&k, 1, id);
  assert_int_equal(lp2p_router_report_validation(t.r, id, id_len,
                                                 LP2P_VALIDATION_REJECT, TH_T0),
                   0);
  near(score_of(&t, &ids[0]), -1);
  near(score_of(&t, &ids[1]), -1);
  /* a copy after the verdict is invalid too; a second copy counts once */
  lp2p_peer_id late;
  th_add_peer(&t, 30, LP2P_MESHSUB_12, false, &late);
  deliver(&t, &late, 77, 1, TH_T0);
  deliver(&t, &late, 77, 1, TH_T0);
  near(score_of(&t, &late), -1);
  th_router_del(&t);
}

static void p5_application_score_is_weighted(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  scored_router(&t, NULL, NULL);
  t.r->score.p.app_specific_weight = 2.5;
  mesh_of(&t, 1, ids);
  th_set_app_score(&t, &ids[0], -3);
  near(score_of(&t, &ids[0]), -7.5);
  near(info_of(&t, &ids[0]).p5, -7.5);
  th_router_del(&t);
}

static void colocation(lp2p_router_settings *s) {
  s->score.ip_colocation_factor_weight = -1;
  s->score.ip_colocation_factor_threshold = 1;
  /* ::ffff:10.0.0.0/104 is exempt */
  lp2p_ip_net *w = &s->score.ip_colocation_whitelist[0];
  memset(w->addr, 0, 16);
  w->addr[10] = w->addr[11] = 0xff;
  w->addr[12] = 10;
  w->prefix_len = 104;
  s->score.ip_colocation_whitelist_len = 1;
}

static void add_at(th_router *t, uint8_t seed, const uint8_t ip4[4],
                   lp2p_peer_id *id) {
  lp2p_privkey k;
  lp2p_peer_info info = {LP2P_MESHSUB_12, false, false, {0}, NULL, NULL};
  info.ip[10] = info.ip[11] = 0xff;
  memcpy(info.ip + 12, ip4, 4);
  th_identity(seed, &k, id);
  assert_int_equal(lp2p_router_add_peer(t->r, id, &info, TH_T0), 0);
}

static void p6_ip_colocation_beyond_the_threshold(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a[3], w[3], solo;
  const uint8_t shared[4] = {1, 2, 3, 4}, ok[4] = {10, 9, 9, 9},
                other[4] = {5, 6, 7, 8};
  scored_router(&t, NULL, colocation);
  for (int i = 0; i < 3; i++) {
    add_at(&t, (uint8_t)(10 + i), shared, &a[i]);
    add_at(&t, (uint8_t)(20 + i), ok, &w[i]);
  }
  add_at(&t, 30, other, &solo);
  /* 3 peers at one address, threshold 1: surplus 2, squared */
  near(score_of(&t, &a[0]), -4);
  near(info_of(&t, &a[2]).p6, -4);
  assert_int_equal(info_of(&t, &a[1]).ip_peers, 3);
  near(score_of(&t, &w[0]), 0); /* whitelisted */
  near(score_of(&t, &solo), 0);
  /* one leaves: its (negative) record is retained and still counts, as
   * in go-libp2p-pubsub, so that sybils cannot cycle out of P6; once
   * RetainScore has passed, the surplus is 1 */
  lp2p_router_remove_peer(t.r, &a[2], TH_T0);
  near(score_of(&t, &a[0]), -4);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 11 * S);
  near(score_of(&t, &a[0]), -1);
  th_router_del(&t);
}

static void behaviour(lp2p_router_settings *s) {
  s->score.behaviour_penalty_weight = -1;
  s->score.behaviour_penalty_threshold = 1;
  s->score.behaviour_penalty_decay = 0.5;
}

static void p7_broken_iwant_promises_are_behaviour_penalties(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  uint8_t store[3][8] = {{1}, {2}, {3}};
  lp2p_bytes have[3] = {{store[0], 8}, {store[1], 8}, {store[2], 8}};
  scored_router(&t, NULL, behaviour);
  mesh_of(&t, 1, ids);
  lp2p_tstamp now = TH_T0;
  /* three IHAVEs, answered by IWANT, never delivered: three broken
   * promises once IWantFollowupTime (3 s) has passed */
  for (int i = 0; i < 3; i++) {
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_ihave(&m, TOPIC, &have[i], 1);
    th_rpc_send(&t, &ids[0], &m, now);
  }
  th_run(&t, &now, TH_T0 + 2 * S);
  near(info_of(&t, &ids[0]).behaviour_penalty, 0);
  th_run(&t, &now, TH_T0 + 3100 * MS);
  near(info_of(&t, &ids[0]).behaviour_penalty, 3);
  near(score_of(&t, &ids[0]), -4); /* (3 - 1)^2 */
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.broken_promises, 3);
  /* a promise kept costs nothing */
  lp2p_privkey k;
  lp2p_peer_id aid;
  uint8_t id[64];
  th_identity(77, &k, &aid);
  lp2p_bytes kept = {id, th_msg_id(&k, 5, id)};
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_ihave(&m, TOPIC, &kept, 1);
  th_rpc_send(&t, &ids[0], &m, now);
  deliver(&t, &ids[0], 77, 5, now + 100 * MS);
  double before = info_of(&t, &ids[0]).behaviour_penalty;
  th_run(&t, &now, now + 4 * S);
  assert_true(info_of(&t, &ids[0]).behaviour_penalty < before);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.broken_promises, 3);
  th_router_del(&t);
}

static void topic_score_cap_bounds_the_topic_part(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  lp2p_topic_score_params tp = quiet_topic();
  tp.first_message_deliveries_weight = 10;
  tp.first_message_deliveries_decay = 0.5;
  tp.first_message_deliveries_cap = 5;
  scored_router(&t, &tp, NULL);
  t.r->score.p.topic_score_cap = 15;
  mesh_of(&t, 1, ids);
  for (uint64_t k = 1; k <= 3; k++) {
    deliver(&t, &ids[0], 77, k, TH_T0);
  }
  near(info_of(&t, &ids[0]).p2, 30);
  near(score_of(&t, &ids[0]), 15);
  /* P5 is outside the cap */
  th_set_app_score(&t, &ids[0], 2);
  near(score_of(&t, &ids[0]), 17);
  th_router_del(&t);
}

static void negative_scores_are_retained_after_reconnect(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[2];
  lp2p_topic_score_params tp = quiet_topic();
  tp.invalid_message_deliveries_weight = -1;
  tp.first_message_deliveries_weight = 1;
  tp.first_message_deliveries_decay = 0.5;
  tp.first_message_deliveries_cap = 10;
  scored_router(&t, &tp, NULL);
  mesh_of(&t, 2, ids);
  lp2p_rpc_msg f = {0};
  f.data = (lp2p_bytes){(const uint8_t *)"x", 1};
  f.topic = (lp2p_bytes){(const uint8_t *)TOPIC, 1};
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_raw_msg(&m, &f);
  th_rpc_send(&t, &ids[0], &m, TH_T0); /* -1 */
  deliver(&t, &ids[1], 77, 1, TH_T0);  /* +1 */
  near(score_of(&t, &ids[0]), -1);
  near(score_of(&t, &ids[1]), 1);
  lp2p_router_remove_peer(t.r, &ids[0], TH_T0);
  lp2p_router_remove_peer(t.r, &ids[1], TH_T0);
  /* the negative one is kept (and does not decay while gone) */
  lp2p_peer_score_info in = info_of(&t, &ids[0]);
  assert_false(in.connected);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 5 * S);
  near(score_of(&t, &ids[0]), -1);
  near(score_of(&t, &ids[1]), 0); /* positive: forgotten */
  lp2p_peer_info info = {LP2P_MESHSUB_12, false, false, {0}, NULL, NULL};
  assert_int_equal(lp2p_router_add_peer(t.r, &ids[0], &info, now), 0);
  near(score_of(&t, &ids[0]), -1);
  assert_true(info_of(&t, &ids[0]).connected);
  /* nor by coming back from another address (found by fuzz_router) */
  lp2p_router_remove_peer(t.r, &ids[0], now);
  lp2p_peer_info moved = {LP2P_MESHSUB_12, false, false, {0}, NULL, NULL};
  moved.ip[15] = 9;
  assert_int_equal(lp2p_router_add_peer(t.r, &ids[0], &moved, now), 0);
  near(score_of(&t, &ids[0]), -1);
  assert_int_equal(info_of(&t, &ids[0]).ip_peers, 1);
  /* gone again, and back after RetainScore (10 s): a clean slate */
  lp2p_router_remove_peer(t.r, &ids[0], now);
  th_run(&t, &now, now + 11 * S);
  lp2p_peer_score_info gone;
  assert_int_equal(lp2p_router_peer_score_info(t.r, &ids[0], &gone),
                   LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_router_add_peer(t.r, &ids[0], &info, now), 0);
  near(score_of(&t, &ids[0]), 0);
  th_router_del(&t);
}

static void graylisted_rpcs_are_ignored_and_peer_dropped(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  scored_router(&t, NULL, NULL);
  th_add_peer(&t, 10, LP2P_MESHSUB_12, false, &ids[0]);
  th_set_app_score(&t, &ids[0], -31);
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.rpcs_graylisted, 1);
  lp2p_topic_stats ts;
  assert_int_equal(lp2p_router_topic_stats(t.r, T, &ts), LP2P_ERR_NOT_FOUND);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 2 * S);
  assert_int_equal(t.disconnects, 1); /* asked once, not every beat */
  /* just above the threshold, it is heard again */
  th_set_app_score(&t, &ids[0], -30);
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  th_rpc_send(&t, &ids[0], &m, now);
  assert_int_equal(lp2p_router_topic_stats(t.r, T, &ts), 0);
  th_router_del(&t);
}

static void below_gossip_threshold_no_ihave_iwant(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id low, ok;
  uint8_t idb[8] = {9};
  lp2p_bytes id = {idb, 8};
  th_out o;
  th_settings(&s, 1);
  th_score_settings(&s);
  s.params.flood_publish = false;
  th_router_new(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_add_peer(&t, 10, LP2P_MESHSUB_12, false, &low);
  th_add_peer(&t, 11, LP2P_MESHSUB_12, false, &ok);
  th_set_app_score(&t, &low, -11);
  th_set_app_score(&t, &ok, -9);
  lp2p_peer_id who[2] = {low, ok};
  for (int i = 0; i < 2; i++) {
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_ihave(&m, TOPIC, &id, 1);
    th_rpc_send(&t, &who[i], &m, TH_T0);
  }
  th_drain(&t, &low, &o, TH_T0);
  assert_int_equal(o.iwant_ids, 0);
  th_drain(&t, &ok, &o, TH_T0);
  assert_int_equal(o.iwant_ids, 1);
  th_router_del(&t);
}

static void flood(lp2p_router_settings *s) {
  s->params.flood_publish = true;
}

static void below_publish_threshold_no_flood_publish(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[3];
  scored_router(&t, NULL, flood);
  for (int i = 0; i < 3; i++) {
    th_rpc m;
    th_add_peer(&t, (uint8_t)(10 + i), LP2P_MESHSUB_12, false, &ids[i]);
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_send(&t, &ids[i], &m, TH_T0);
  }
  th_set_app_score(&t, &ids[0], -21);
  th_set_app_score(&t, &ids[1], -20);
  /* not joined, flood publish: every subscriber at or above -20 */
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"x", 1, NULL, NULL, TH_T0),
      2);
  th_router_del(&t);
}

static void negative_peers_are_pruned_and_not_grafted(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[6];
  th_out o;
  scored_router(&t, NULL, NULL);
  mesh_of(&t, 6, ids);
  gs_topic *tp = lp2p_gs_topic_find(t.r, T);
  gs_peer *bad = tp->mesh.items[0];
  lp2p_peer_id bad_id = bad->id;
  th_set_app_score(&t, &bad_id, -1);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 100 * MS);
  assert_false(lp2p_gs_peers_has(&tp->mesh, bad));
  th_drain(&t, &bad_id, &o, now);
  assert_int_equal(o.prunes, 1);
  /* its GRAFT is answered with PRUNE */
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_graft(&m, TOPIC);
  th_rpc_send(&t, &bad_id, &m, now + 70 * S);
  assert_false(lp2p_gs_peers_has(&tp->mesh, bad));
  th_drain(&t, &bad_id, &o, now);
  assert_int_equal(o.prunes, 1);
  /* and no heartbeat grafts it back while negative */
  th_run(&t, &now, now + 80 * S);
  assert_false(lp2p_gs_peers_has(&tp->mesh, bad));
  th_router_del(&t);
}

static void px_only_from_peers_above_accept_px(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[2], offered;
  lp2p_privkey ok;
  lp2p_buf rec;
  scored_router(&t, NULL, NULL);
  mesh_of(&t, 2, ids);
  th_identity(120, &ok, &offered);
  lp2p_peer_record pr = {0};
  pr.peer_id = offered;
  lp2p_buf_init(&rec, NULL);
  assert_int_equal(lp2p_peer_record_seal(&ok, &pr, &rec), 0);
  lp2p_rpc_px px = {{offered.bytes, offered.len}, {rec.data, rec.len}};
  th_set_app_score(&t, &ids[0], 4.9);
  th_set_app_score(&t, &ids[1], 5);
  for (int i = 0; i < 2; i++) {
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_prune(&m, TOPIC, 60, &px, 1);
    th_rpc_send(&t, &ids[i], &m, TH_T0);
  }
  assert_int_equal(t.connects, 1);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.px_ignored, 1);
  lp2p_buf_free(&rec);
  th_router_del(&t);
}

static void opportunistic_graft_when_median_is_low(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[10];
  scored_router(&t, NULL, NULL);
  mesh_of(&t, 10, ids);
  gs_topic *tp = lp2p_gs_topic_find(t.r, T);
  assert_int_equal(tp->mesh.len, 6);
  /* mesh peers at 1 (median below the threshold 3), the others at 5 */
  for (int i = 0; i < 10; i++) {
    bool in = lp2p_gs_peers_has(&tp->mesh, lp2p_gs_peer_find(t.r, &ids[i]));
    th_set_app_score(&t, &ids[i], in ? 1 : 5);
  }
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 59 * S);
  assert_int_equal(tp->mesh.len, 6);
  th_run(&t, &now, TH_T0 + 61 * S);  /* the 60th heartbeat */
  assert_int_equal(tp->mesh.len, 8); /* OpportunisticGraftPeers = 2 */
  for (size_t i = 0; i < tp->mesh.len; i++) {
    assert_true(lp2p_gs_score(t.r, tp->mesh.items[i]) >= 1);
  }
  th_router_del(&t);
}

static void params_are_validated_naming_the_field(void **state) {
  (void)state;
  lp2p_router_settings s;
  lp2p_errdetail err;
  th_settings(&s, 1);
  th_score_settings(&s);
  assert_int_equal(lp2p_score_params_validate(&s.score, &err), 0);
  lp2p_score_params p = s.score;
  p.thresholds.gossip = 1;
  assert_int_equal(lp2p_score_params_validate(&p, &err), LP2P_ERR_INVALID_ARG);
  assert_non_null(strstr(err.msg, "GossipThreshold"));
  p = s.score;
  p.thresholds.graylist = -5; /* above publish (-20) */
  lp2p_score_params_validate(&p, &err);
  assert_non_null(strstr(err.msg, "GraylistThreshold"));
  p = s.score;
  p.decay_interval = LP2P_SECONDS - 1;
  lp2p_score_params_validate(&p, &err);
  assert_non_null(strstr(err.msg, "DecayInterval"));
  p = s.score;
  p.ip_colocation_factor_weight = -1;
  lp2p_score_params_validate(&p, &err);
  assert_non_null(strstr(err.msg, "IPColocationFactorThreshold"));
  p = s.score;
  p.behaviour_penalty_weight = -1;
  p.behaviour_penalty_decay = 1;
  lp2p_score_params_validate(&p, &err);
  assert_non_null(strstr(err.msg, "BehaviourPenaltyDecay"));
  lp2p_topic_score_params tp = p3_topic();
  assert_int_equal(lp2p_topic_score_params_validate(&tp, &err), 0);
  tp.mesh_message_deliveries_weight = 1;
  lp2p_topic_score_params_validate(&tp, &err);
  assert_non_null(strstr(err.msg, "MeshMessageDeliveriesWeight"));
  tp = p3_topic();
  tp.mesh_message_deliveries_activation = 0;
  lp2p_topic_score_params_validate(&tp, &err);
  assert_non_null(strstr(err.msg, "MeshMessageDeliveriesActivation"));
  tp = quiet_topic();
  tp.time_in_mesh_weight = 1;
  lp2p_topic_score_params_validate(&tp, &err);
  assert_non_null(strstr(err.msg, "TimeInMeshQuantum"));
  /* a router refuses them too, and scoring off refuses topic params */
  s.score.thresholds.accept_px = -1;
  lp2p_router *r;
  lp2p_router_callbacks cb = {0};
  assert_int_equal(lp2p_router_new(&r, &s, &cb, NULL, NULL, TH_T0, &err),
                   LP2P_ERR_INVALID_ARG);
  assert_non_null(strstr(err.msg, "AcceptPXThreshold"));
  th_router t;
  th_settings(&s, 1);
  th_router_new(&t, &s);
  tp = quiet_topic();
  assert_int_equal(lp2p_router_set_topic_score_params(t.r, T, &tp, &err),
                   LP2P_ERR_STATE);
  th_router_del(&t);
}

static void score_changes_are_counted(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  scored_router(&t, NULL, NULL);
  mesh_of(&t, 1, ids);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  uint64_t before = st.score_changes;
  th_set_app_score(&t, &ids[0], 2);
  score_of(&t, &ids[0]);
  th_set_app_score(&t, &ids[0], 2); /* recomputed, unchanged */
  score_of(&t, &ids[0]);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.score_changes, before + 1);
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(p1_time_in_mesh_counts_quanta_up_to_the_cap),
      cmocka_unit_test(p2_first_deliveries_decay_and_cap),
      cmocka_unit_test(p2_decays_to_zero),
      cmocka_unit_test(p3_mesh_deliveries_deficit_after_activation),
      cmocka_unit_test(p3b_mesh_failure_penalty_sticks_after_prune),
      cmocka_unit_test(p4_invalid_messages_squared_and_decayed),
      cmocka_unit_test(p4_validator_reject_penalises_sender_and_copiers),
      cmocka_unit_test(p5_application_score_is_weighted),
      cmocka_unit_test(p6_ip_colocation_beyond_the_threshold),
      cmocka_unit_test(p7_broken_iwant_promises_are_behaviour_penalties),
      cmocka_unit_test(topic_score_cap_bounds_the_topic_part),
      cmocka_unit_test(negative_scores_are_retained_after_reconnect),
      cmocka_unit_test(graylisted_rpcs_are_ignored_and_peer_dropped),
      cmocka_unit_test(below_gossip_threshold_no_ihave_iwant),
      cmocka_unit_test(below_publish_threshold_no_flood_publish),
      cmocka_unit_test(negative_peers_are_pruned_and_not_grafted),
      cmocka_unit_test(px_only_from_peers_above_accept_px),
      cmocka_unit_test(opportunistic_graft_when_median_is_low),
      cmocka_unit_test(params_are_validated_naming_the_field),
      cmocka_unit_test(score_changes_are_counted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
