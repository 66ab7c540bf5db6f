/* Score parameters derived from the traffic: against the numbers Ethereum
 * clients publish for mainnet, and on a router at the expected rate, where
 * honest mesh peers must never be penalised and silent ones must. */
#include <math.h>
#include <string.h>

#include "lp2p/sim.h"
#include "testutil_router.h"

#define TOPIC "t"
#define S LP2P_SECONDS
#define MS LP2P_MILLISECONDS

static void close_to(double got, double want, const char *what) {
  if (fabs(got - want) > 1e-9 * fmax(1, fabs(want))) {
    fail_msg("%s: %.17g, want %.17g", what, got, want);
  }
}

/* Ethereum mainnet's topics as Lighthouse scores them: beacon blocks (one
 * a 12 s slot), aggregates (199.21875 a slot, the rate behind the
 * published numbers), 64 attestation subnets sharing a weight of 1, and
 * exits and slashings at 0.05. Their weights add up to 2.15. */
enum { BLOCK, AGGREGATE, NTOPICS = 2 + 64 + 3 };

static void mainnet(lp2p_score_traffic *t, lp2p_score_topic_traffic *tt) {
  lp2p_score_traffic_default(t);
  lp2p_tstamp epoch = 32 * t->slot;
  lp2p_score_topic_traffic_default(&tt[BLOCK], t, 1.0 / 12);
  lp2p_score_topic_traffic_default(&tt[AGGREGATE], t, 199.21875 / 12);
  tt[AGGREGATE].first_deliveries_decay_time = epoch;
  tt[AGGREGATE].mesh_deliveries_decay_time = 2 * epoch;
  tt[AGGREGATE].mesh_deliveries_cap_factor = 4;
  for (size_t i = 2; i < NTOPICS; i++) {
    lp2p_score_topic_traffic_default(&tt[i], t, 1.0 / 12);
    tt[i].weight = i < 2 + 64 ? 1.0 / 64 : 0.05;
    tt[i].mesh_deliveries = false;
  }
}

/* Nimbus ships Lighthouse's generated numbers for these two topics
 * (beacon_chain/networking/eth2_network.nim, "inspired by lighthouse
 * research": blacktemplar's generate-scoring-params.py). */
static void beacon_block_topic_matches_lighthouse_numbers(void **state) {
  (void)state;
  lp2p_score_traffic t;
  lp2p_score_topic_traffic tt[NTOPICS];
  lp2p_score_params p;
  lp2p_topic_score_params out[NTOPICS];
  lp2p_errdetail err;
  mainnet(&t, tt);
  assert_int_equal(lp2p_score_params_derive(&t, tt, NTOPICS, &p, out, &err), 0);
  const lp2p_topic_score_params *b = &out[BLOCK];
  close_to(b->topic_weight, 0.5, "TopicWeight");
  close_to(b->time_in_mesh_weight, 0.03333333333333333, "TimeInMeshWeight");
  assert_true(b->time_in_mesh_quantum == 12 * S);
  close_to(b->time_in_mesh_cap, 300, "TimeInMeshCap");
  close_to(b->first_message_deliveries_weight, 1.1471603557060206,
           "FirstMessageDeliveriesWeight");
  close_to(b->first_message_deliveries_decay, 0.9928302477768374,
           "FirstMessageDeliveriesDecay");
  close_to(b->first_message_deliveries_cap, 34.86870846001471,
           "FirstMessageDeliveriesCap");
  close_to(b->mesh_message_deliveries_weight, -458.31054878249114,
           "MeshMessageDeliveriesWeight");
  close_to(b->mesh_message_deliveries_decay, 0.9716279515771061,
           "MeshMessageDeliveriesDecay");
  close_to(b->mesh_message_deliveries_threshold, 0.6849191409056553,
           "MeshMessageDeliveriesThreshold");
  close_to(b->mesh_message_deliveries_cap, 2.054757422716966,
           "MeshMessageDeliveriesCap");
  assert_true(b->mesh_message_deliveries_activation == 384 * S);
  assert_true(b->mesh_message_deliveries_window == 2 * S);
  close_to(b->mesh_failure_penalty_weight, -458.31054878249114,
           "MeshFailurePenaltyWeight");
  close_to(b->mesh_failure_penalty_decay, 0.9716279515771061,
           "MeshFailurePenaltyDecay");
  close_to(b->invalid_message_deliveries_weight, -214.99999999999994,
           "InvalidMessageDeliveriesWeight");
  close_to(b->invalid_message_deliveries_decay, 0.9971259067705325,
           "InvalidMessageDeliveriesDecay");
}

static void aggregate_topic_matches_lighthouse_numbers(void **state) {
  (void)state;
  lp2p_score_traffic t;
  lp2p_score_topic_traffic tt[NTOPICS];
  lp2p_score_params p;
  lp2p_topic_score_params out[NTOPICS];
  mainnet(&t, tt);
  assert_int_equal(lp2p_score_params_derive(&t, tt, NTOPICS, &p, out, NULL), 0);
  const lp2p_topic_score_params *a = &out[AGGREGATE];
  close_to(a->first_message_deliveries_weight, 0.10764904539552399,
           "FirstMessageDeliveriesWeight");
  close_to(a->first_message_deliveries_decay, 0.8659643233600653,
           "FirstMessageDeliveriesDecay");
  close_to(a->first_message_deliveries_cap, 371.5778421725158,
           "FirstMessageDeliveriesCap");
  close_to(a->mesh_message_deliveries_weight, -0.07538533073670682,
           "MeshMessageDeliveriesWeight");
  close_to(a->mesh_message_deliveries_decay, 0.930572040929699,
           "MeshMessageDeliveriesDecay");
  close_to(a->mesh_message_deliveries_threshold, 53.404248450179836,
           "MeshMessageDeliveriesThreshold");
  close_to(a->mesh_message_deliveries_cap, 213.61699380071934,
           "MeshMessageDeliveriesCap");
  assert_true(a->mesh_message_deliveries_activation == 384 * S);
  /* a topic without mesh delivery scoring has none of P3 or P3b */
  assert_true(out[NTOPICS - 1].mesh_message_deliveries_weight == 0);
  assert_true(out[NTOPICS - 1].mesh_failure_penalty_weight == 0);
}

/* Lighthouse's peer parameters (gossipsub_scoring_parameters.rs); Prysm
 * hard-codes -15.92 for the behaviour penalty weight from the same
 * formula. */
static void peer_params_match_lighthouse(void **state) {
  (void)state;
  lp2p_score_traffic t;
  lp2p_score_topic_traffic tt[NTOPICS];
  lp2p_score_params p;
  lp2p_topic_score_params out[NTOPICS];
  mainnet(&t, tt);
  assert_int_equal(lp2p_score_params_derive(&t, tt, NTOPICS, &p, out, NULL), 0);
  close_to(p.topic_score_cap, 53.75, "TopicScoreCap");
  close_to(p.ip_colocation_factor_weight, -53.75, "IPColocationFactorWeight");
  assert_int_equal(p.ip_colocation_factor_threshold, 8);
  close_to(p.behaviour_penalty_decay, 0.9857119009006162,
           "BehaviourPenaltyDecay");
  close_to(p.behaviour_penalty_weight, -15.879335171059182,
           "BehaviourPenaltyWeight");
  assert_true(fabs(p.behaviour_penalty_weight - -15.92) < 0.05);
  close_to(p.behaviour_penalty_threshold, 6, "BehaviourPenaltyThreshold");
  assert_true(p.decay_interval == 12 * S);
  close_to(p.decay_to_zero, 0.01, "DecayToZero");
  assert_true(p.retain_score == 100 * 32 * 12 * S);
  close_to(p.thresholds.gossip, -4000, "GossipThreshold");
  close_to(p.thresholds.graylist, -16000, "GraylistThreshold");
}

static void bad_inputs_are_refused_naming_them(void **state) {
  (void)state;
  lp2p_score_traffic t;
  lp2p_score_topic_traffic tt;
  lp2p_score_params p;
  lp2p_topic_score_params out;
  lp2p_errdetail err;
  lp2p_score_traffic_default(&t);
  lp2p_score_topic_traffic_default(&tt, &t, 0);
  assert_int_equal(lp2p_score_params_derive(&t, &tt, 1, &p, &out, &err),
                   LP2P_ERR_INVALID_ARG);
  assert_non_null(strstr(err.msg, "msgs_per_s"));
  /* one message an hour in 12 s slots: a mesh counter never holds it */
  lp2p_score_topic_traffic_default(&tt, &t, 1.0 / 3600);
  assert_int_equal(lp2p_score_params_derive(&t, &tt, 1, &p, &out, &err),
                   LP2P_ERR_INVALID_ARG);
  assert_non_null(strstr(err.msg, "too quiet"));
  tt.mesh_deliveries = false;
  assert_int_equal(lp2p_score_params_derive(&t, &tt, 1, &p, &out, &err), 0);
  t.mesh_d = 0;
  assert_int_equal(lp2p_score_params_derive(&t, &tt, 1, &p, &out, &err),
                   LP2P_ERR_INVALID_ARG);
  assert_non_null(strstr(err.msg, "mesh_d"));
}

/* ---- on a router, at the simulator's time scale ---- */

#define D 6

static void sim_scale(double rate, lp2p_score_params *p,
                      lp2p_topic_score_params *tp) {
  lp2p_score_traffic t;
  lp2p_score_topic_traffic tt;
  lp2p_errdetail err;
  lp2p_score_traffic_default(&t);
  t.slot = S;
  t.slots_per_epoch = 4;
  t.heartbeat = S;
  t.mesh_d = D;
  lp2p_score_topic_traffic_default(&tt, &t, rate);
  if (lp2p_score_params_derive(&t, &tt, 1, p, tp, &err) != 0) {
    fail_msg("derive: %s", err.msg);
  }
}

static bool in_mesh(th_router *t, const lp2p_peer_id *id) {
  lp2p_peer_id mesh[4 * D];
  size_t m =
      lp2p_router_mesh_peers(t->r, (const uint8_t *)TOPIC, 1, mesh, 4 * D);
  for (size_t i = 0; i < m && i < 4 * D; i++) {
    if (lp2p_peer_id_equal(&mesh[i], id)) {
      return true;
    }
  }
  return false;
}

/* A mesh of D peers at `rate` messages a second for a minute: peers 1..D-1
 * take turns delivering each message first (no copies: the fewest an
 * honest mesh peer delivers), peer 0 never delivers. The honest ones
 * must never carry a P3 deficit; the silent one must fall below 0 once
 * its deliveries are checked, and be pruned. The clock then runs to the
 * end of the PRUNE's backoff `backoffs` times over. */
static void run_mesh_at_rate(double rate, int backoffs) {
  lp2p_router_settings s;
  lp2p_topic_score_params tp;
  lp2p_errdetail err;
  th_router t;
  lp2p_peer_id ids[D];
  th_settings(&s, 1);
  s.scoring = true;
  sim_scale(rate, &s.score, &tp);
  th_router_new(&t, &s);
  assert_int_equal(lp2p_router_set_topic_score_params(
                       t.r, (const uint8_t *)TOPIC, 1, &tp, &err),
                   0);
  for (size_t i = 0; i < D; i++) {
    th_rpc m;
    th_add_peer(&t, (uint8_t)(10 + i), LP2P_MESHSUB_12, true, &ids[i]);
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_send(&t, &ids[i], &m, TH_T0);
  }
  assert_int_equal(lp2p_router_join(t.r, (const uint8_t *)TOPIC, 1, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  lp2p_privkey author;
  lp2p_peer_id author_id;
  th_identity(99, &author, &author_id);
  lp2p_tstamp now = TH_T0, gap = (lp2p_tstamp)(1e9 / rate), left = 0;
  size_t n = (size_t)(60 * rate);
  for (size_t k = 0; k < n; k++) {
    th_run(&t, &now, TH_T0 + 100 * MS + k * gap);
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"payload", 7, k + 1);
    th_rpc_send(&t, &ids[1 + k % (D - 1)], &m, now);
    th_drain_all(&t, now);
    for (size_t i = 1; i < D; i++) {
      lp2p_peer_score_info in;
      assert_int_equal(lp2p_router_peer_score_info(t.r, &ids[i], &in), 0);
      if (in.p3 < 0 || in.score < 0) {
        fail_msg("%.0f/s: honest peer %zu at %.1f s: p3 %g, score %g", rate, i,
                 (double)(now - TH_T0) / 1e9, in.p3, in.score);
      }
    }
    if (!left && !in_mesh(&t, &ids[0])) {
      left = now;
      /* P3b keeps the deficit it left with: the whole positive score */
      assert_true(lp2p_router_peer_score(t.r, &ids[0]) <=
                  -s.score.topic_score_cap);
    }
  }
  /* pruned at the first heartbeat after activation */
  assert_true(left != 0);
  assert_true(left <=
              TH_T0 + tp.mesh_message_deliveries_activation + gap + 2 * S);
  /* P3b outlasts the backoffs: whenever the silent peer may GRAFT
   * again, its score is still negative and the GRAFT is refused (and we
   * never graft it ourselves) */
  for (lp2p_tstamp end = left + (lp2p_tstamp)backoffs * s.params.prune_backoff;
       backoffs && now < end + 2 * S;) {
    th_run(&t, &now, now + S);
    if (lp2p_router_peer_score(t.r, &ids[0]) >= 0 || in_mesh(&t, &ids[0])) {
      fail_msg("%.0f/s: the silent peer is back at %.0f s", rate,
               (double)(now - left) / 1e9);
    }
  }
  th_router_del(&t);
}

static void
honest_mesh_peers_unpenalised_silent_ones_pruned_at_1_per_s(void **state) {
  (void)state;
  run_mesh_at_rate(1, 0);
}

static void
honest_mesh_peers_unpenalised_silent_ones_pruned_at_2_per_s(void **state) {
  (void)state;
  run_mesh_at_rate(2, 0);
}

static void
honest_mesh_peers_unpenalised_silent_ones_pruned_at_10_per_s(void **state) {
  (void)state;
  run_mesh_at_rate(10, 0);
}

/* A mesh peer pruned for delivering nothing must not come back with a
 * clean score when its backoff ends (sybils rotating through meshes):
 * at the simulator's 4 s epochs P3's decay alone would forget it in
 * 20 s, a third of the 1 min backoff. */
static void
silent_mesh_peer_stays_negative_past_its_prune_backoff(void **state) {
  (void)state;
  run_mesh_at_rate(2, 1);
  run_mesh_at_rate(10, 1);
}

/* Nor after nine more: sybils refused or pruned in one wave of GRAFTs
 * come back in the next, every backoff, and those P3b forgot after two
 * backoffs took their slots again in every other wave (at 4:1, 21% of
 * honest mesh slots over 12 simulated minutes, 9% when they stay out
 * for 10 backoffs). */
static void silent_mesh_peer_stays_negative_for_ten_backoffs(void **state) {
  (void)state;
  run_mesh_at_rate(2, 9);
}

/* The simulator scores its topic for one message every --interval-ms: at
 * a fifth of the rate the P3 threshold is a fifth, and activation waits
 * until each mesh peer has had about 3 messages to deliver. */
static void sim_params_follow_the_interval(void **state) {
  (void)state;
  lp2p_sim_config c;
  lp2p_score_params p;
  lp2p_topic_score_params fast, slow;
  lp2p_sim_config_default(&c);
  assert_int_equal(lp2p_sim_score_params(&c, &p, &fast, NULL), 0);
  c.interval = 500 * MS;
  assert_int_equal(lp2p_sim_score_params(&c, &p, &slow, NULL), 0);
  close_to(slow.mesh_message_deliveries_threshold,
           fast.mesh_message_deliveries_threshold / 5, "threshold at 2/s");
  assert_true(fast.mesh_message_deliveries_activation == 4 * S); /* epoch */
  assert_true(slow.mesh_message_deliveries_activation == 9 * S); /* 3 D/2 */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(beacon_block_topic_matches_lighthouse_numbers),
      cmocka_unit_test(aggregate_topic_matches_lighthouse_numbers),
      cmocka_unit_test(peer_params_match_lighthouse),
      cmocka_unit_test(bad_inputs_are_refused_naming_them),
      cmocka_unit_test(sim_params_follow_the_interval),
      cmocka_unit_test(
          honest_mesh_peers_unpenalised_silent_ones_pruned_at_1_per_s),
      cmocka_unit_test(
          honest_mesh_peers_unpenalised_silent_ones_pruned_at_2_per_s),
      cmocka_unit_test(
          honest_mesh_peers_unpenalised_silent_ones_pruned_at_10_per_s),
      cmocka_unit_test(silent_mesh_peer_stays_negative_past_its_prune_backoff),
      cmocka_unit_test(silent_mesh_peer_stays_negative_for_ten_backoffs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
