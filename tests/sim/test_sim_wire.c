/* The byte-level simulator (lp2p sim --wire): whole sessions (Noise,
 * yamux, meshsub framing) between simulated nodes deliver every message,
 * deterministically. One ctest per test (argv[1] filters). */
#include "lp2p/sim.h"
#include "testutil.h"

static lp2p_sim_config wire_config(size_t nodes, size_t messages) {
  lp2p_sim_config c;
  lp2p_sim_config_default(&c);
  c.nodes = nodes;
  c.messages = messages;
  c.wire = true;
  return c;
}

/* Every link (each node dials degree / 2 others) is two sessions, both
 * upgraded, none failed. */
static void assert_sessions_healthy(const lp2p_sim_config *c,
                                    const lp2p_sim_result *r) {
  assert_int_equal(r->sessions_established, c->nodes * c->degree);
  assert_int_equal(r->wire_failures, 0);
}

static void wire_run_delivers_everything_deterministically(void **state) {
  (void)state;
  lp2p_sim_config c = wire_config(50, 20);
  lp2p_sim_result a, b, rpc_level;
  assert_int_equal(lp2p_sim_run(&c, &a), 0);
  assert_true(a.delivery_ratio == 1.0);
  assert_sessions_healthy(&c, &a);
  assert_int_equal(lp2p_sim_run(&c, &b), 0);
  assert_memory_equal(&a, &b, sizeof(a));
  /* the same network at the RPC level: sessions cost bytes (headers,
   * handshakes, tags), not hops */
  c.wire = false;
  assert_int_equal(lp2p_sim_run(&c, &rpc_level), 0);
  assert_memory_not_equal(a.trace_hash, rpc_level.trace_hash, 32);
  assert_int_equal(rpc_level.sessions_established, 0);
  assert_true(a.bytes_sent > rpc_level.bytes_sent);
  assert_true(a.latency_p50_ms <= 1.1 * rpc_level.latency_p50_ms);
}

static void wire_run_depends_on_the_seed(void **state) {
  (void)state;
  lp2p_sim_config c = wire_config(40, 5);
  lp2p_sim_result a, b;
  assert_int_equal(lp2p_sim_run(&c, &a), 0);
  c.seed = 2;
  assert_int_equal(lp2p_sim_run(&c, &b), 0);
  assert_true(a.delivery_ratio == 1.0 && b.delivery_ratio == 1.0);
  assert_memory_not_equal(a.trace_hash, b.trace_hash, 32);
}

/* A lost chunk of a session is resent, as TCP would: late, never lost,
 * so the sessions survive and every message arrives. */
static void lost_bytes_arrive_late_and_sessions_survive(void **state) {
  (void)state;
  lp2p_sim_config c = wire_config(40, 10);
  lp2p_sim_result r;
  c.loss = 0.05;
  c.model = LP2P_SIM_INTEROP; /* regions, and 50 Mbit/s uplinks */
  assert_int_equal(lp2p_sim_run(&c, &r), 0);
  assert_true(r.rpcs_lost > 0);
  assert_true(r.delivery_ratio == 1.0);
  assert_sessions_healthy(&c, &r);
}

/* A message over yamux's 256 KiB window waits for the receiver's window
 * update (stream_writable) half way: it arrives whole, later than at
 * the RPC level, and the sessions stay healthy. */
static void messages_larger_than_a_yamux_window_arrive(void **state) {
  (void)state;
  lp2p_sim_config c = wire_config(40, 6);
  lp2p_sim_result wire, rpc_level;
  c.size = 300 * 1000;
  c.model = LP2P_SIM_INTEROP;
  c.interval = 500 * LP2P_MILLISECONDS;
  assert_int_equal(lp2p_sim_run(&c, &wire), 0);
  assert_true(wire.delivery_ratio == 1.0);
  assert_sessions_healthy(&c, &wire);
  c.wire = false;
  assert_int_equal(lp2p_sim_run(&c, &rpc_level), 0);
  print_message("300 KB messages: p50 %.0f ms over sessions, %.0f ms as RPCs\n",
                wire.latency_p50_ms, rpc_level.latency_p50_ms);
  assert_true(wire.latency_p50_ms > rpc_level.latency_p50_ms);
}

static void wire_runs_refuse_attackers(void **state) {
  (void)state;
  lp2p_sim_config c = wire_config(40, 5);
  lp2p_sim_result r;
  c.attackers = 4;
  c.attack = LP2P_ATTACK_DROP;
  assert_int_equal(lp2p_sim_run(&c, &r), LP2P_ERR_INVALID_ARG);
}

/* Issue 11's target: 200 nodes x 100 messages, delivery 1.0, twice the
 * same trace. */
static void two_hundred_nodes_hundred_messages(void **state) {
  (void)state;
  lp2p_sim_config c = wire_config(200, 100);
  lp2p_sim_result a, b;
  assert_int_equal(lp2p_sim_run(&c, &a), 0);
  assert_true(a.delivery_ratio == 1.0);
  assert_sessions_healthy(&c, &a);
  assert_int_equal(lp2p_sim_run(&c, &b), 0);
  assert_memory_equal(a.trace_hash, b.trace_hash, 32);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(wire_run_delivers_everything_deterministically),
      cmocka_unit_test(wire_run_depends_on_the_seed),
      cmocka_unit_test(lost_bytes_arrive_late_and_sessions_survive),
      cmocka_unit_test(messages_larger_than_a_yamux_window_arrive),
      cmocka_unit_test(wire_runs_refuse_attackers),
      cmocka_unit_test(two_hundred_nodes_hundred_messages),
  };
  if (argc > 1) {
    cmocka_set_test_filter(argv[1]);
  }
  return cmocka_run_group_tests(tests, NULL, NULL);
}
