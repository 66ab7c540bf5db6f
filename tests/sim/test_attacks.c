/* The attacks of the GossipSub v1.1 evaluation (Vyzovitis et al., arXiv
 * 2007.02754) at a reduced size: 400 sybils against 100 honest nodes
 * (4:1), degree 20, 100 unsigned messages at 5 a second.
 *
 *   test_attacks real [NAME]      the attacks are real: without scoring
 *                                 they hurt honest delivery or latency,
 *                                 and the measures show what they do
 *   test_attacks defended [NAME]  the target: with scoring,
 *                                 delivery >= 99%, p99 within 2x of the
 *                                 no-attack run, no worse than without
 *                                 scoring; without attackers, scoring
 *                                 costs no latency (within 10%)
 *
 * The graft_wave_after_backoff_* tests run 450 messages (90 s), past the
 * sybils' second wave of GRAFTs, and check both sides in either mode.
 * NAME runs one test (cmocka's filter). Each run is printed, scoring on
 * beside scoring off. */
#include <stdio.h>
#include <string.h>

#include "lp2p/sim.h"
#include "testutil.h"

static bool defended_mode;

static lp2p_sim_config reduced(void) {
  lp2p_sim_config c;
  lp2p_sim_config_default(&c);
  c.nodes = 100;
  c.degree = 20;
  c.messages = 100;
  c.interval = 200 * LP2P_MILLISECONDS;
  c.sign = false; /* the invalid attackers' signatures are refused anyway */
  return c;
}

static void run(lp2p_sim_config *c, bool scoring, lp2p_sim_result *r) {
  c->scoring = scoring;
  assert_int_equal(lp2p_sim_run(c, r), 0);
}

static void print_run(const char *what, const lp2p_sim_result *r) {
  print_message("%-24s delivery %.4f p50 %6.0f p99 %6.0f ms | attackers "
                "hold <= %5.1f%% of mesh slots at score %8.2f, mean score "
                "%9.2f, recovery %5.1f s | target %.3f p99 %.0f ms\n",
                what, r->delivery_ratio, r->latency_p50_ms, r->latency_p99_ms,
                100 * r->attacker_mesh_fraction_max,
                r->attacker_mesh_score_mean, r->attacker_score_mean,
                r->recovery_s, r->target_delivery_ratio,
                r->target_latency_p99_ms);
}

/* The no-attack run the attacks are measured against. */
static void baseline(bool scoring, lp2p_sim_result *r) {
  lp2p_sim_config c = reduced();
  run(&c, scoring, r);
  print_run(scoring ? "no attack, scoring on" : "no attack, scoring off", r);
}

/* Degraded: delivery under 99%, or p99 over twice the no-attack run's
 * (or, for an eclipse, the same at the target). Or, since honest nodes
 * keep their honest links and Dout outbound (honest) mesh peers even
 * without scoring, the milder harm of the evaluation's topology: the
 * sybils hold over 40% of honest mesh slots and the median latency
 * rises. */
static bool degraded(const lp2p_sim_config *c, const lp2p_sim_result *r,
                     const lp2p_sim_result *base) {
  if (c->eclipse && (r->target_delivery_ratio < 0.99 ||
                     r->target_latency_p99_ms > 2 * base->latency_p99_ms)) {
    return true;
  }
  return r->delivery_ratio < 0.99 ||
         r->latency_p99_ms > 2 * base->latency_p99_ms ||
         (r->attacker_mesh_fraction_max > 0.4 &&
          r->latency_p50_ms > base->latency_p50_ms);
}

/* The target for one scenario with scoring on. */
static void assert_defended(const lp2p_sim_config *c, const lp2p_sim_result *on,
                            const lp2p_sim_result *off,
                            const lp2p_sim_result *base) {
  assert_true(on->delivery_ratio >= 0.99);
  assert_true(on->latency_p99_ms <= 2 * base->latency_p99_ms);
  assert_true(on->delivery_ratio >= off->delivery_ratio);
  assert_true(on->latency_p99_ms <= off->latency_p99_ms);
  if (c->eclipse) {
    assert_true(on->target_delivery_ratio >= 0.99);
    assert_true(on->target_latency_p99_ms <= 2 * base->latency_p99_ms);
    assert_true(on->target_delivery_ratio >= off->target_delivery_ratio);
  }
}

/* Runs `scenario` with `attack`, scoring on and off; in real mode
 * asserts scoring off is degraded when `hurts`, in defended mode the
 * target. The results are left in *on and *off. */
static void scenario(const char *name, lp2p_sim_attack attack, bool hurts,
                     lp2p_sim_result *on, lp2p_sim_result *off) {
  lp2p_sim_config c = reduced();
  lp2p_sim_result base_off, base_on;
  char what[64];
  c.attackers = 4 * c.nodes;
  c.attack = attack;
  assert_int_equal(lp2p_sim_scenario(&c, name), 0);
  baseline(false, &base_off);
  run(&c, false, off);
  snprintf(what, sizeof(what), "%s, scoring off", name);
  print_run(what, off);
  run(&c, true, on);
  snprintf(what, sizeof(what), "%s, scoring on", name);
  print_run(what, on);
  /* no scores without scoring */
  assert_true(off->attacker_score_mean == 0 &&
              off->attacker_mesh_score_mean == 0);
  if (defended_mode) {
    baseline(true, &base_on);
    assert_defended(&c, on, off, &base_off);
  } else if (hurts) {
    assert_true(degraded(&c, off, &base_off));
  }
}

static void sybil_droppers_cold_boot(void **state) {
  lp2p_sim_result on, off;
  (void)state;
  scenario("cold-boot", LP2P_ATTACK_DROP, true, &on, &off);
  /* without scoring, sybils that outnumber honest nodes take close to
   * half the mesh slots (Dout keeps honest outbound peers in); with
   * scoring, P3 pushes them out */
  assert_true(off.attacker_mesh_fraction_max > 0.4);
  assert_true(on.attacker_mesh_fraction_max < 0.1);
}

static void sybil_droppers_answering_iwant(void **state) {
  lp2p_sim_result on, off;
  (void)state;
  scenario("cold-boot", LP2P_ATTACK_DROP_SERVE, true, &on, &off);
  /* gossip still gets everything through them, late */
  assert_true(off.delivery_ratio >= 0.99);
}

static void ihave_withholding(void **state) {
  lp2p_sim_result on, off;
  (void)state;
  scenario("cold-boot", LP2P_ATTACK_IHAVE_WITHHOLD, true, &on, &off);
}

static void sybil_droppers_join_warm_network(void **state) {
  lp2p_sim_result on, off;
  (void)state;
  scenario("warm", LP2P_ATTACK_DROP, true, &on, &off);
  /* honest nodes dialled only each other: attackers get fewer slots
   * than in a cold boot */
  assert_true(off.attacker_mesh_fraction_max > 0);
  assert_true(off.attacker_mesh_fraction_max < 0.9);
}

static void covert_flash(void **state) {
  lp2p_sim_result on, off;
  (void)state;
  scenario("covert-flash", LP2P_ATTACK_DROP, true, &on, &off);
  /* behaving, they hold slots with good scores; without scoring they
   * keep them after the flash */
  assert_true(on.buckets[0].attacker_mesh_fraction > 0.25);
  assert_true(on.buckets[0].attacker_mesh_score > 0);
  assert_true(off.buckets[off.nbuckets - 1].attacker_mesh_fraction > 0.4);
}

static void eclipse_of_one_target(void **state) {
  lp2p_sim_result on, off;
  (void)state;
  scenario("eclipse", LP2P_ATTACK_DROP, true, &on, &off);
  /* every sybil is at the target: scoring takes their slots there back,
   * and with them the target's latency */
  assert_true(off.target_latency_p99_ms > on.target_latency_p99_ms);
}

static void ip_colocation(void **state) {
  lp2p_sim_result on, off;
  (void)state;
  scenario("ip-colocation", LP2P_ATTACK_DROP, true, &on, &off);
  /* a hundred attackers an address: P6 pushes them far below zero */
  assert_true(on.attacker_score_mean < -100);
}

static void invalid_signatures(void **state) {
  lp2p_sim_result on, off;
  (void)state;
  scenario("cold-boot", LP2P_ATTACK_INVALID, false, &on, &off);
  assert_true(on.attacker_score_mean < 0);
}

static void ihave_spam(void **state) {
  lp2p_sim_result on, off;
  (void)state;
  scenario("cold-boot", LP2P_ATTACK_IHAVE_SPAM, true, &on, &off);
  assert_true(on.attacker_score_mean < 0);
}

static void graft_spam(void **state) {
  lp2p_sim_result on, off;
  (void)state;
  scenario("cold-boot", LP2P_ATTACK_GRAFT_SPAM, false, &on, &off);
  assert_true(on.attacker_score_mean < 0);
}

/* ---- the wave of GRAFTs one PruneBackoff on --------------------------- */

/* A run past the sybils' second wave: at their first GRAFTs, honest
 * meshes take them up to Dhi and refuse the rest with a PRUNE backoff
 * of 1 min (as go's handleGraft); when it ends the refused ones GRAFT
 * again, all at once. 450 messages at 5 a second: 90 s of publishing. */
static lp2p_sim_config long_run(void) {
  lp2p_sim_config c = reduced();
  c.messages = 450;
  return c;
}

/* The bucket with the highest p99. */
static const lp2p_sim_bucket *worst_bucket(const lp2p_sim_result *r) {
  const lp2p_sim_bucket *w = &r->buckets[0];
  for (size_t i = 1; i < r->nbuckets; i++) {
    if (r->buckets[i].latency_p99_ms > w->latency_p99_ms) {
      w = &r->buckets[i];
    }
  }
  return w;
}

static double worst_bucket_delivery(const lp2p_sim_result *r) {
  double d = 1;
  for (size_t i = 0; i < r->nbuckets; i++) {
    d = r->buckets[i].delivery_ratio < d ? r->buckets[i].delivery_ratio : d;
  }
  return d;
}

static void print_worst(const char *what, const lp2p_sim_config *c,
                        const lp2p_sim_result *r) {
  const lp2p_sim_bucket *w = worst_bucket(r);
  print_message("%-24s worst 10 s: p99 %5.0f ms (from %3.0f s, attackers "
                "hold %4.1f%% of mesh slots at its end); lowest delivery "
                "%.4f",
                what, w->latency_p99_ms, (double)w->start / 1e9,
                100 * w->attacker_mesh_fraction, worst_bucket_delivery(r));
  if (c->eclipse) {
    print_message("; target %.3f, p99 %.0f ms", r->target_delivery_ratio,
                  r->target_latency_p99_ms);
  }
  print_message("\n");
}

/* Without scoring the wave takes two thirds of honest mesh slots, the
 * heartbeat prunes honest peers at random to make room (D of Dhi kept,
 * Dout outbound among them), and for the next 10 s honest p99 is over
 * twice the no-attack run's (4-20x at seeds 1-3; delivery there fell to
 * 94.6-99.9%, too spread to assert). With scoring, the honest peers'
 * scores keep Dscore of them, P3 prunes the wave's sybils once active,
 * and p99 stays within twice the no-attack run's in every bucket. */
static void graft_wave(const char *name, lp2p_sim_attack attack) {
  lp2p_sim_config c = long_run();
  lp2p_sim_result base, off, on;
  char what[64];
  run(&c, false, &base);
  print_worst("no attack, scoring off", &c, &base);
  c.attackers = 4 * c.nodes;
  c.attack = attack;
  assert_int_equal(lp2p_sim_scenario(&c, name), 0);
  run(&c, false, &off);
  snprintf(what, sizeof(what), "%s, scoring off", name);
  print_worst(what, &c, &off);
  run(&c, true, &on);
  snprintf(what, sizeof(what), "%s, scoring on", name);
  print_worst(what, &c, &on);
  const lp2p_sim_bucket *w = worst_bucket(&off);
  assert_true(w->latency_p99_ms > 2 * base.latency_p99_ms);
  /* it is the wave: the worst 10 s end after the backoff has run out */
  assert_true(w->start + off.bucket_len > c.params.prune_backoff);
  assert_true(worst_bucket(&on)->latency_p99_ms <= 2 * base.latency_p99_ms);
  assert_true(worst_bucket(&on)->latency_p99_ms < w->latency_p99_ms);
  assert_true(worst_bucket_delivery(&on) >= 0.99);
}

static void graft_wave_after_backoff_cold_boot(void **state) {
  (void)state;
  graft_wave("cold-boot", LP2P_ATTACK_DROP);
}

static void graft_wave_after_backoff_ihave_withholding(void **state) {
  (void)state;
  graft_wave("cold-boot", LP2P_ATTACK_IHAVE_WITHHOLD);
}

static void graft_wave_after_backoff_covert_flash(void **state) {
  (void)state;
  graft_wave("covert-flash", LP2P_ATTACK_DROP);
}

static void graft_wave_after_backoff_eclipse(void **state) {
  (void)state;
  graft_wave("eclipse", LP2P_ATTACK_DROP);
}

/* Attackers draw from the run's seed like everything else: the same
 * scenario twice is the same run, measures included. */
static void attack_runs_are_deterministic(void **state) {
  lp2p_sim_config c = reduced();
  lp2p_sim_result a, b;
  (void)state;
  c.nodes = 50;
  c.attackers = 200;
  c.messages = 50;
  c.attack = LP2P_ATTACK_DROP_SERVE;
  assert_int_equal(lp2p_sim_scenario(&c, "covert-flash"), 0);
  run(&c, true, &a);
  run(&c, true, &b);
  assert_memory_equal(&a, &b, sizeof(a));
}

/* Defended mode only: without attackers, scoring on and off give the
 * same latency within 10% at 1, 2 and 10 messages a second. */
static void scoring_costs_no_latency_without_attackers(void **state) {
  static const unsigned interval_ms[] = {1000, 500, 100};
  (void)state;
  if (!defended_mode) {
    skip();
  }
  for (size_t i = 0; i < 3; i++) {
    lp2p_sim_config c = reduced();
    lp2p_sim_result on, off;
    c.messages = 60;
    c.interval = interval_ms[i] * LP2P_MILLISECONDS;
    run(&c, true, &on);
    run(&c, false, &off);
    print_message("%u ms apart: p50 %.0f / %.0f ms, p99 %.0f / %.0f ms "
                  "(scoring on / off)\n",
                  interval_ms[i], on.latency_p50_ms, off.latency_p50_ms,
                  on.latency_p99_ms, off.latency_p99_ms);
    assert_true(on.latency_p50_ms <= 1.1 * off.latency_p50_ms);
    assert_true(on.latency_p99_ms <= 1.1 * off.latency_p99_ms);
  }
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sybil_droppers_cold_boot),
      cmocka_unit_test(sybil_droppers_answering_iwant),
      cmocka_unit_test(ihave_withholding),
      cmocka_unit_test(sybil_droppers_join_warm_network),
      cmocka_unit_test(covert_flash),
      cmocka_unit_test(eclipse_of_one_target),
      cmocka_unit_test(ip_colocation),
      cmocka_unit_test(invalid_signatures),
      cmocka_unit_test(ihave_spam),
      cmocka_unit_test(graft_spam),
      cmocka_unit_test(graft_wave_after_backoff_cold_boot),
      cmocka_unit_test(graft_wave_after_backoff_ihave_withholding),
      cmocka_unit_test(graft_wave_after_backoff_covert_flash),
      cmocka_unit_test(graft_wave_after_backoff_eclipse),
      cmocka_unit_test(attack_runs_are_deterministic),
      cmocka_unit_test(scoring_costs_no_latency_without_attackers),
  };
  defended_mode = argc > 1 && strcmp(argv[1], "defended") == 0;
  if (argc > 2) {
    cmocka_set_test_filter(argv[2]);
  }
  return cmocka_run_group_tests(tests, NULL, NULL);
}
