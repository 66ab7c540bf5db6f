/* The simulator's network properties: delivery, mesh degrees, IDONTWANT
 * savings, recovery from loss, and determinism. */
#include <math.h>

#include "lp2p/sim.h"
#include "testutil.h"

static lp2p_sim_config config(size_t nodes, size_t messages, size_t size) {
  lp2p_sim_config c;
  lp2p_sim_config_default(&c);
  c.nodes = nodes;
  c.messages = messages;
  c.size = size;
  return c;
}

static void thousand_nodes_deliver_everything(void **state) {
  (void)state;
  lp2p_sim_config c = config(1000, 100, 1024);
  lp2p_sim_result r;
  c.sign = false; /* signatures are checked by the smaller run below */
  assert_int_equal(lp2p_sim_run(&c, &r), 0);
  assert_true(r.delivery_ratio == 1.0);
  assert_int_equal(r.delivered, 100 * 999);
  assert_true(r.mesh_min >= (size_t)c.params.mesh.d_lo);
  assert_true(r.mesh_max <= (size_t)c.params.mesh.d_hi);
  /* latency: at least one 50 ms hop, and no more than a few */
  assert_true(r.latency_p50_ms >= 50 && r.latency_p50_ms <= 300);
  assert_true(r.duplicates_per_message > 1 && r.duplicates_per_message < 12);
}

static void signed_network_delivers_everything(void **state) {
  (void)state;
  lp2p_sim_config c = config(200, 50, 256);
  lp2p_sim_result r;
  assert_int_equal(lp2p_sim_run(&c, &r), 0);
  assert_true(r.delivery_ratio == 1.0);
  assert_true(r.mesh_min >= 5 && r.mesh_max <= 12);
}

static void idontwant_saves_duplicates_of_large_messages(void **state) {
  (void)state;
  lp2p_sim_config c = config(1000, 10, 100 * 1024);
  lp2p_sim_result on, off;
  c.sign = false;
  c.model = LP2P_SIM_INTEROP;
  c.interval = 2 * LP2P_SECONDS;
  assert_int_equal(lp2p_sim_run(&c, &on), 0);
  c.idontwant = false;
  assert_int_equal(lp2p_sim_run(&c, &off), 0);
  assert_true(on.delivery_ratio == 1.0 && off.delivery_ratio == 1.0);
  print_message("duplicates per message: IDONTWANT on %.3f, off %.3f\n",
                on.duplicates_per_message, off.duplicates_per_message);
  assert_true(on.duplicates_per_message < off.duplicates_per_message);
  assert_true(on.bytes_per_delivered_byte < off.bytes_per_delivered_byte);
}

static void gossip_recovers_lost_rpcs(void **state) {
  (void)state;
  lp2p_sim_config c = config(300, 50, 512);
  lp2p_sim_result r;
  c.sign = false;
  c.loss = 0.02;
  assert_int_equal(lp2p_sim_run(&c, &r), 0);
  assert_true(r.rpcs_lost > 0);
  /* lost copies come back through IHAVE/IWANT */
  print_message("with 2%% loss: delivery %.5f\n", r.delivery_ratio);
  assert_true(r.delivery_ratio >= 0.999);
}

static void same_seed_same_run(void **state) {
  (void)state;
  lp2p_sim_config c = config(300, 30, 700);
  lp2p_sim_result a, b, other;
  c.model = LP2P_SIM_INTEROP;
  assert_int_equal(lp2p_sim_run(&c, &a), 0);
  assert_int_equal(lp2p_sim_run(&c, &b), 0);
  assert_memory_equal(&a, &b, sizeof(a));
  c.seed = 2;
  assert_int_equal(lp2p_sim_run(&c, &other), 0);
  assert_memory_not_equal(a.trace_hash, other.trace_hash, sizeof(a.trace_hash));
}

/* The histogram has one count per honest node and message, and its mean
 * is duplicates_per_message (the routers' own duplicate counts): signed,
 * where a publisher rejects its message coming back, and unsigned, where
 * those copies are duplicates. */
static void duplicates_histogram_counts_each_node_and_message(void **state) {
  (void)state;
  for (int sign = 0; sign < 2; sign++) {
    lp2p_sim_config c = config(150, 20, 256);
    lp2p_sim_result r;
    c.sign = sign;
    assert_int_equal(lp2p_sim_run(&c, &r), 0);
    uint64_t pairs = 0, dups = 0;
    for (uint64_t i = 0; i < LP2P_SIM_DUP_BINS; i++) {
      pairs += r.duplicates_histogram[i];
      dups += i * r.duplicates_histogram[i];
    }
    assert_int_equal(pairs, 150 * 20);
    assert_int_equal(r.duplicates_histogram[LP2P_SIM_DUP_BINS - 1], 0);
    assert_true(dups > 0);
    assert_true(fabs((double)dups / (double)pairs - r.duplicates_per_message) <
                1e-9);
  }
}

/* The CDF's points are the run's percentiles, fastest to slowest. */
static void latency_cdf_runs_through_the_percentiles(void **state) {
  (void)state;
  lp2p_sim_config c = config(150, 20, 256);
  lp2p_sim_result r;
  c.sign = false;
  c.model = LP2P_SIM_INTEROP;
  assert_int_equal(lp2p_sim_run(&c, &r), 0);
  for (size_t i = 1; i < LP2P_SIM_CDF_POINTS; i++) {
    assert_true(r.latency_cdf_ms[i - 1] <= r.latency_cdf_ms[i]);
  }
  assert_true(r.latency_cdf_ms[0] > 0);
  assert_true(r.latency_cdf_ms[0] < r.latency_cdf_ms[100]);
  assert_true(r.latency_cdf_ms[50] == r.latency_p50_ms);
  assert_true(r.latency_cdf_ms[90] == r.latency_p90_ms);
  assert_true(r.latency_cdf_ms[99] == r.latency_p99_ms);
  assert_true(r.latency_cdf_ms[100] == r.latency_max_ms);
}

static void impossible_configurations_are_refused(void **state) {
  (void)state;
  lp2p_sim_config c = config(10, 1, 100);
  lp2p_sim_result r;
  c.degree = 10; /* a node cannot have 10 peers among 9 others */
  assert_int_equal(lp2p_sim_run(&c, &r), LP2P_ERR_INVALID_ARG);
  c = config(10, 1, 7); /* messages carry an 8-byte index */
  assert_int_equal(lp2p_sim_run(&c, &r), LP2P_ERR_INVALID_ARG);
  c = config(1, 1, 100);
  assert_int_equal(lp2p_sim_run(&c, &r), LP2P_ERR_INVALID_ARG);
  c = config(10, 1, 100);
  c.degree = 4;
  c.loss = 1.0;
  assert_int_equal(lp2p_sim_run(&c, &r), LP2P_ERR_INVALID_ARG);
  c = config(10, 1, 100);
  c.batch = LP2P_SIM_MAX_BATCH + 1;
  assert_int_equal(lp2p_sim_run(&c, &r), LP2P_ERR_INVALID_ARG);
  c.batch = 4;
  c.copies = 10; /* there are 9 others */
  assert_int_equal(lp2p_sim_run(&c, &r), LP2P_ERR_INVALID_ARG);
}

/* A publisher whose uplink is the bottleneck sends a batch so that every
 * message reaches k nodes sooner rarest first than in go's fixed round
 * robin, and both sooner than one publish after another (which sends
 * each message to all its peers before the next): same seed, same
 * network, same groups. */
static void batch_rarest_first_spreads_sooner_than_round_robin(void **state) {
  (void)state;
  static const lp2p_sim_batch_order orders[3] = {LP2P_SIM_BATCH_RAREST_FIRST,
                                                 LP2P_SIM_BATCH_ROUND_ROBIN,
                                                 LP2P_SIM_BATCH_ONE_BY_ONE};
  lp2p_sim_result r[3];
  for (int i = 0; i < 3; i++) {
    lp2p_sim_config c = config(150, 64, 64 * 1024);
    c.sign = false;
    c.batch = 16;
    c.batch_order = orders[i];
    c.uplink_bps = 50 * 1000 * 1000;
    c.interval = 3 * LP2P_SECONDS;
    assert_int_equal(lp2p_sim_run(&c, &r[i]), 0);
    assert_true(r[i].delivery_ratio == 1.0);
    assert_int_equal(r[i].batches_short, 0);
  }
  print_message("to 8 copies, mean: rarest first %.1f ms, round robin %.1f ms, "
                "one by one %.1f ms\n",
                r[0].batch_to_copies_ms_mean, r[1].batch_to_copies_ms_mean,
                r[2].batch_to_copies_ms_mean);
  assert_true(r[0].batch_to_copies_ms_mean < r[1].batch_to_copies_ms_mean);
  assert_true(r[0].batch_to_copies_ms_max < r[1].batch_to_copies_ms_max);
  assert_true(r[1].batch_to_copies_ms_mean < r[2].batch_to_copies_ms_mean);
}

/* Without attackers scoring must cost nothing: parameters derived from
 * the rate never penalise honest mesh peers, so latency with scoring is
 * that without, at 1, 2 and 10 messages a second (parameters fixed for
 * 10 a second once pruned honest peers at 1 and 2, and messages went by
 * gossip: p99 3.3-3.8 s against 0.2 s). */
static void scoring_costs_no_latency_at_the_expected_rate(void **state) {
  (void)state;
  static const lp2p_tstamp intervals_ms[] = {1000, 500, 100};
  for (size_t i = 0; i < 3; i++) {
    lp2p_sim_config c = config(200, 60, 1024);
    lp2p_sim_result on, off;
    c.sign = false;
    c.seed = 3;
    c.interval = intervals_ms[i] * LP2P_MILLISECONDS;
    c.scoring = true;
    assert_int_equal(lp2p_sim_run(&c, &on), 0);
    c.scoring = false;
    assert_int_equal(lp2p_sim_run(&c, &off), 0);
    print_message("every %4llu ms: p99 %.0f ms with scoring, %.0f without\n",
                  (unsigned long long)intervals_ms[i], on.latency_p99_ms,
                  off.latency_p99_ms);
    assert_true(on.delivery_ratio == 1.0);
    assert_true(on.latency_p90_ms <= 1.1 * off.latency_p90_ms);
    assert_true(on.latency_p99_ms <= 1.1 * off.latency_p99_ms);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(thousand_nodes_deliver_everything),
      cmocka_unit_test(signed_network_delivers_everything),
      cmocka_unit_test(idontwant_saves_duplicates_of_large_messages),
      cmocka_unit_test(gossip_recovers_lost_rpcs),
      cmocka_unit_test(same_seed_same_run),
      cmocka_unit_test(scoring_costs_no_latency_at_the_expected_rate),
      cmocka_unit_test(impossible_configurations_are_refused),
      cmocka_unit_test(batch_rarest_first_spreads_sooner_than_round_robin),
      cmocka_unit_test(duplicates_histogram_counts_each_node_and_message),
      cmocka_unit_test(latency_cdf_runs_through_the_percentiles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
