/* Attacks on the simulated network: with scoring on, honest nodes still
 * get every message (>= 99%) and give the attackers negative scores; the
 * same runs without scoring are printed beside them to show what scoring
 * changes. 500 honest nodes, 100 attackers, degree 20, 100 messages. */
#include "lp2p/sim.h"
#include "testutil.h"

static const char *const names[] = {"", "invalid", "drop", "ihave-spam",
                                    "graft-spam"};

static void run_attack(lp2p_sim_attack attack) {
  lp2p_sim_config c;
  lp2p_sim_result on, off;
  lp2p_sim_config_default(&c);
  c.nodes = 500;
  c.attackers = 100;
  c.degree = 20;
  c.messages = 100;
  c.attack = attack;
  /* unsigned: each honest message is checked once per node either way;
   * the invalid attackers' messages carry signatures StrictNoSign refuses */
  c.sign = false;
  c.scoring = true;
  assert_int_equal(lp2p_sim_run(&c, &on), 0);
  c.scoring = false;
  assert_int_equal(lp2p_sim_run(&c, &off), 0);
  print_message("%-10s scoring on: delivery %.4f, attacker score %10.2f, "
                "p99 %.0f ms | off: delivery %.4f, p99 %.0f ms\n",
                names[attack], on.delivery_ratio, on.attacker_score_mean,
                on.latency_p99_ms, off.delivery_ratio, off.latency_p99_ms);
  assert_true(on.delivery_ratio >= 0.99);
  assert_true(on.attacker_score_mean < 0);
  assert_true(off.attacker_score_mean == 0); /* no scores without scoring */
}

static void invalid_signatures(void **state) {
  (void)state;
  run_attack(LP2P_ATTACK_INVALID);
}

static void dropping_mesh_members(void **state) {
  (void)state;
  run_attack(LP2P_ATTACK_DROP);
}

static void ihave_spam(void **state) {
  (void)state;
  run_attack(LP2P_ATTACK_IHAVE_SPAM);
}

static void graft_spam(void **state) {
  (void)state;
  run_attack(LP2P_ATTACK_GRAFT_SPAM);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(invalid_signatures),
      cmocka_unit_test(dropping_mesh_members),
      cmocka_unit_test(ihave_spam),
      cmocka_unit_test(graft_spam),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
