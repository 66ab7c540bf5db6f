/* Partial messages in the simulator (lp2p_sim_config.partial): every
 * group completes everywhere, for fewer bytes per delivered byte than
 * full messages of the same size on the same seed, deterministically;
 * and a run without it is the run it always was. */
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

/* The partial run of `c` and its full-message baseline. */
static void run_both(lp2p_sim_config c, lp2p_sim_result *full,
                     lp2p_sim_result *partial) {
  c.partial = false;
  assert_int_equal(lp2p_sim_run(&c, full), 0);
  c.partial = true;
  assert_int_equal(lp2p_sim_run(&c, partial), 0);
  print_message("bytes per delivered byte: full %.3f, partial %.3f; p50 "
                "%.0f / %.0f ms, p99 %.0f / %.0f ms; duplicate parts %llu\n",
                full->bytes_per_delivered_byte,
                partial->bytes_per_delivered_byte, full->latency_p50_ms,
                partial->latency_p50_ms, full->latency_p99_ms,
                partial->latency_p99_ms,
                (unsigned long long)partial->partial.parts_duplicate);
}

/* The brief's scenario: 100 nodes, 20 messages of 8 parts of 128 bytes
 * dealt across 2 publishers. Every node completes every group (the
 * publishers too: each lacks the other's parts), each part arrives once,
 * and the bytes on the wire per delivered byte are below the full
 * messages' (where every node gets copies from several mesh peers). */
static void
partial_groups_complete_for_fewer_bytes_than_full_messages(void **state) {
  (void)state;
  lp2p_sim_config c = config(100, 20, 1024);
  lp2p_sim_result full, partial;
  run_both(c, &full, &partial);
  assert_true(full.delivery_ratio == 1.0);
  assert_int_equal(partial.expected, 20 * 100);
  assert_int_equal(partial.delivered, 20 * 100);
  assert_true(partial.delivery_ratio == 1.0);
  /* each node lacked the whole group but a publisher half of it */
  assert_int_equal(partial.partial.delivered_bytes, 20 * (98 * 1024 + 2 * 512));
  assert_int_equal(partial.partial.parts_new, 20 * (98 * 8 + 2 * 4));
  assert_int_equal(partial.partial.invalid, 0);
  assert_true(partial.partial.parts_duplicate <=
              partial.partial.parts_new / 100);
  assert_true(partial.bytes_per_delivered_byte > 1.0);
  assert_true(partial.bytes_per_delivered_byte < full.bytes_per_delivered_byte);
  /* asking costs round trips: slower than pushing full messages */
  assert_true(partial.latency_p50_ms > full.latency_p50_ms);
}

/* Large parts on the gossipsub-interop network, where full messages save
 * duplicates with IDONTWANT: partial messages still send fewer bytes. */
static void
partial_saves_bytes_against_idontwant_on_large_messages(void **state) {
  (void)state;
  lp2p_sim_config c = config(200, 10, 64 * 1024);
  lp2p_sim_result full, partial;
  c.sign = false;
  c.model = LP2P_SIM_INTEROP;
  c.interval = LP2P_SECONDS;
  c.publishers = 4;
  run_both(c, &full, &partial);
  assert_true(full.delivery_ratio == 1.0 && partial.delivery_ratio == 1.0);
  assert_true(partial.bytes_per_delivered_byte < 1.1);
  assert_true(partial.bytes_per_delivered_byte < full.bytes_per_delivered_byte);
}

/* One publisher holds the whole group: the others complete it. */
static void single_publisher_holds_the_whole_group(void **state) {
  (void)state;
  lp2p_sim_config c = config(60, 10, 512);
  lp2p_sim_result r;
  c.partial = true;
  c.parts = 4;
  c.publishers = 1;
  assert_int_equal(lp2p_sim_run(&c, &r), 0);
  assert_int_equal(r.expected, 10 * 59);
  assert_int_equal(r.delivered, 10 * 59);
  assert_int_equal(r.partial.delivered_bytes, 10 * 59 * 512);
}

/* Lost RPCs (requests, parts or offers): a node whose requests went
 * unanswered asks its mesh again at a heartbeat, until every group
 * completes everywhere. */
static void
lost_parts_are_asked_again_until_every_group_completes(void **state) {
  (void)state;
  lp2p_sim_config c = config(200, 20, 1024);
  lp2p_sim_result r;
  c.partial = true;
  c.loss = 0.02;
  c.drain = 20 * LP2P_SECONDS;
  assert_int_equal(lp2p_sim_run(&c, &r), 0);
  assert_true(r.rpcs_lost > 0);
  assert_int_equal(r.delivered, r.expected);
}

static void partial_runs_are_deterministic(void **state) {
  (void)state;
  lp2p_sim_config c = config(150, 15, 2048);
  lp2p_sim_result a, b, other;
  c.partial = true;
  c.model = LP2P_SIM_INTEROP;
  c.parts = 16;
  c.publishers = 3;
  assert_int_equal(lp2p_sim_run(&c, &a), 0);
  assert_int_equal(lp2p_sim_run(&c, &b), 0);
  assert_memory_equal(&a, &b, sizeof(a));
  c.seed = 2;
  assert_int_equal(lp2p_sim_run(&c, &other), 0);
  assert_memory_not_equal(a.trace_hash, other.trace_hash, sizeof(a.trace_hash));
}

/* Without `partial`, its knobs change nothing: the run is event for
 * event the full-message run, and reports no partial measures. */
static void partial_off_leaves_the_run_as_it_was(void **state) {
  (void)state;
  lp2p_sim_config c = config(100, 20, 1024);
  lp2p_sim_result a, b;
  lp2p_sim_partial_result none = {0};
  assert_int_equal(lp2p_sim_run(&c, &a), 0);
  c.parts = 4;
  c.publishers = 3;
  assert_int_equal(lp2p_sim_run(&c, &b), 0);
  assert_memory_equal(&a, &b, sizeof(a));
  assert_memory_equal(&a.partial, &none, sizeof(none));
  assert_int_equal(a.expected, 20 * 99);
}

static void impossible_partial_runs_are_refused(void **state) {
  (void)state;
  lp2p_sim_result r;
  struct {
    size_t parts, publishers, size, attackers;
    bool wire;
  } bad[] = {
      {0, 1, 1024, 0, false},     /* no parts */
      {65, 1, 65 * 16, 0, false}, /* more parts than a bitmap of 64 */
      {8, 9, 1024, 0, false},     /* more publishers than parts */
      {8, 2, 1001, 0, false},     /* size not a multiple of parts */
      {8, 2, 32, 0, false},       /* parts under 8 bytes */
      {8, 2, 1024, 10, false},    /* attackers */
      {8, 2, 1024, 0, true},      /* --wire */
  };
  lp2p_sim_config ok = config(20, 2, 64 * 16);
  ok.degree = 6;
  ok.partial = true;
  ok.parts = 64; /* each case below is one field off a valid run */
  assert_int_equal(lp2p_sim_run(&ok, &r), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    lp2p_sim_config c = config(20, 2, bad[i].size);
    c.degree = 6;
    c.partial = true;
    c.parts = bad[i].parts;
    c.publishers = bad[i].publishers;
    c.attackers = bad[i].attackers;
    c.attack = bad[i].attackers ? LP2P_ATTACK_DROP : LP2P_ATTACK_NONE;
    c.wire = bad[i].wire;
    assert_int_equal(lp2p_sim_run(&c, &r), LP2P_ERR_INVALID_ARG);
  }
  lp2p_sim_config c = config(3, 2, 1024);
  c.degree = 2;
  c.partial = true;
  c.publishers = 2;
  assert_int_equal(lp2p_sim_run(&c, &r), 0); /* the bounds themselves */
  c.publishers = 3;                          /* as many publishers as nodes */
  assert_int_equal(lp2p_sim_run(&c, &r), LP2P_ERR_INVALID_ARG);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(
          partial_groups_complete_for_fewer_bytes_than_full_messages),
      cmocka_unit_test(partial_saves_bytes_against_idontwant_on_large_messages),
      cmocka_unit_test(single_publisher_holds_the_whole_group),
      cmocka_unit_test(lost_parts_are_asked_again_until_every_group_completes),
      cmocka_unit_test(partial_runs_are_deterministic),
      cmocka_unit_test(partial_off_leaves_the_run_as_it_was),
      cmocka_unit_test(impossible_partial_runs_are_refused),
  };
  if (argc > 1) {
    cmocka_set_test_filter(argv[1]);
  }
  return cmocka_run_group_tests(tests, NULL, NULL);
}
