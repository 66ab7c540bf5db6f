/* Score parameters derived from the expected traffic, by the formulas
 * Ethereum consensus clients use (see gossipsub.h for each one). */
#include <math.h>
#include <string.h>

#include "base/err.h"
#include "score.h"

/* What every formula needs: the inputs, the decay interval in seconds and
 * the positive score a peer can reach over all topics. */
typedef struct derive_ctx {
  const lp2p_score_traffic *t;
  double interval_s; /* the decay interval */
  double max_positive;
} derive_ctx;

static double seconds(lp2p_tstamp t) {
  return (double)t / (double)LP2P_SECONDS;
}

static lp2p_tstamp epochs(const lp2p_score_traffic *t, int n) {
  return t->slot * (lp2p_tstamp)t->slots_per_epoch * (lp2p_tstamp)n;
}

/* The factor that takes a counter to DecayToZero in `time`. */
static double decay_over(const derive_ctx *c, lp2p_tstamp time) {
  return pow(c->t->decay_to_zero, c->interval_s / seconds(time));
}

/* Where a counter fed `rate` a decay interval settles under `decay`. */
static double settles_at(double decay, double rate) {
  return rate / (1 - decay);
}

/* That counter just after a decay: the lowest it gets. */
static double low_point(double decay, double rate) {
  return settles_at(decay, rate) * decay;
}

void lp2p_score_traffic_default(lp2p_score_traffic *t) {
  memset(t, 0, sizeof(*t));
  t->slot = 12 * LP2P_SECONDS;
  t->slots_per_epoch = 32;
  t->heartbeat = 700 * LP2P_MILLISECONDS;
  t->mesh_d = 8;
  t->max_in_mesh = 10;
  t->max_first_deliveries = 40;
  t->time_in_mesh_cap_time = 3600 * LP2P_SECONDS;
  t->invalid_decay_time = epochs(t, 50);
  t->behaviour_decay_time = epochs(t, 10);
  t->behaviour_penalty_threshold = 6;
  t->behaviour_penalties_per_epoch = 10;
  t->ip_colocation_threshold = 8;
  t->decay_to_zero = 0.01;
  t->prune_backoff = 60 * LP2P_SECONDS;
  t->mesh_failure_backoffs = 10;
  t->thresholds = (lp2p_score_thresholds){.gossip = -4000,
                                          .publish = -8000,
                                          .graylist = -16000,
                                          .accept_px = 100,
                                          .opportunistic_graft = 5};
}

void lp2p_score_topic_traffic_default(lp2p_score_topic_traffic *tt,
                                      const lp2p_score_traffic *t,
                                      double msgs_per_s) {
  memset(tt, 0, sizeof(*tt));
  tt->msgs_per_s = msgs_per_s;
  tt->weight = 0.5;
  tt->first_deliveries_decay_time = epochs(t, 20);
  tt->mesh_deliveries = true;
  tt->mesh_deliveries_decay_time = epochs(t, 5);
  tt->mesh_deliveries_dampening = 50;
  tt->mesh_deliveries_cap_factor = 3;
  tt->mesh_deliveries_activation = epochs(t, 1);
  tt->mesh_deliveries_window = 2 * LP2P_SECONDS;
}

static int traffic_check(const lp2p_score_traffic *t, lp2p_errdetail *err) {
  LP2P_REQUIRE(t->slot > 0 && t->slots_per_epoch > 0, "slot must be positive");
  LP2P_REQUIRE(t->heartbeat > 0, "heartbeat must be positive");
  LP2P_REQUIRE(t->mesh_d > 0, "mesh_d must be positive");
  LP2P_REQUIRE(isfinite(t->max_in_mesh) && t->max_in_mesh >= 0 &&
                   isfinite(t->max_first_deliveries) &&
                   t->max_first_deliveries >= 0,
               "max_in_mesh and max_first_deliveries must be >= 0");
  LP2P_REQUIRE(t->time_in_mesh_cap_time >= t->slot,
               "time_in_mesh_cap_time must be at least a slot");
  LP2P_REQUIRE(t->invalid_decay_time > 0 && t->behaviour_decay_time > 0,
               "decay times must be positive");
  LP2P_REQUIRE(t->decay_to_zero > 0 && t->decay_to_zero < 1,
               "decay_to_zero must be between 0 and 1");
  LP2P_REQUIRE(isfinite(t->behaviour_penalty_threshold) &&
                   t->behaviour_penalty_threshold >= 0,
               "behaviour_penalty_threshold must be >= 0");
  LP2P_REQUIRE(t->prune_backoff > 0, "prune_backoff must be positive");
  LP2P_REQUIRE(t->mesh_failure_backoffs >= 0 &&
                   t->mesh_failure_backoffs <= 1000,
               "mesh_failure_backoffs must be between 0 and 1000");
  LP2P_REQUIRE(t->ip_colocation_threshold >= 1,
               "ip_colocation_threshold must be at least 1");
  return 0;
}

static int topic_check(const lp2p_score_topic_traffic *tt, size_t i,
                       lp2p_errdetail *err) {
  LP2P_REQUIRE(isfinite(tt->msgs_per_s) && tt->msgs_per_s > 0,
               "topic %zu: msgs_per_s must be positive", i);
  LP2P_REQUIRE(isfinite(tt->weight) && tt->weight > 0,
               "topic %zu: weight must be positive", i);
  LP2P_REQUIRE(tt->mesh_d >= 0, "topic %zu: mesh_d must be >= 0", i);
  LP2P_REQUIRE(tt->first_deliveries_decay_time > 0,
               "topic %zu: first_deliveries_decay_time must be positive", i);
  if (tt->mesh_deliveries) {
    LP2P_REQUIRE(tt->mesh_deliveries_decay_time > 0 &&
                     tt->mesh_deliveries_window > 0,
                 "topic %zu: mesh deliveries decay time and window must be "
                 "positive",
                 i);
    LP2P_REQUIRE(isfinite(tt->mesh_deliveries_dampening) &&
                     tt->mesh_deliveries_dampening >= 1 &&
                     isfinite(tt->mesh_deliveries_cap_factor) &&
                     tt->mesh_deliveries_cap_factor >= 1,
                 "topic %zu: mesh deliveries dampening and cap factor must be "
                 ">= 1",
                 i);
  }
  return 0;
}

static int peer_derive(const derive_ctx *c, lp2p_score_params *p,
                       lp2p_errdetail *err) {
  const lp2p_score_traffic *t = c->t;
  memset(p, 0, sizeof(*p));
  p->decay_interval = (lp2p_tstamp)(c->interval_s * (double)LP2P_SECONDS);
  p->decay_to_zero = t->decay_to_zero;
  p->retain_score = epochs(t, 100);
  p->app_specific_weight = 1;
  p->topic_score_cap = c->max_positive * 0.5;
  p->ip_colocation_factor_weight = -p->topic_score_cap;
  p->ip_colocation_factor_threshold = t->ip_colocation_threshold;
  p->behaviour_penalty_threshold = t->behaviour_penalty_threshold;
  p->behaviour_penalty_decay = decay_over(c, t->behaviour_decay_time);
  double per_interval = t->behaviour_penalties_per_epoch / t->slots_per_epoch *
                        c->interval_s / seconds(t->slot);
  double above = settles_at(p->behaviour_penalty_decay, per_interval) -
                 p->behaviour_penalty_threshold;
  LP2P_REQUIRE(isfinite(above) && above > 0,
               "behaviour_penalties_per_epoch never pass "
               "behaviour_penalty_threshold");
  p->behaviour_penalty_weight = t->thresholds.gossip / (above * above);
  p->thresholds = t->thresholds;
  return 0;
}

/* The slowest decay P3b needs: a counter at `start` (the deficit^2 of a
 * silent peer) stays above DecayToZero for mesh_failure_backoffs prune
 * backoffs, so that the peer's score is still negative when its backoff
 * ends and its GRAFT is refused (go refuses GRAFTs from negative peers).
 * Two were too few: sybils pruned in one wave of GRAFTs came back in
 * every other wave, and at 4:1 they held 21% of honest mesh slots over
 * a 12 min simulation (9% with 10). A start at or below DecayToZero
 * snaps to 0 at once: no decay helps. */
static double outlasting_backoff(const derive_ctx *c, double start) {
  if (start <= c->t->decay_to_zero || c->t->mesh_failure_backoffs == 0) {
    return 0;
  }
  double intervals = c->t->mesh_failure_backoffs *
                     seconds(c->t->prune_backoff) / c->interval_s;
  return pow(c->t->decay_to_zero / start, 1 / intervals);
}

/* P3 and P3b. `rate` is messages a decay interval. */
static int mesh_derive(const derive_ctx *c, const lp2p_score_topic_traffic *tt,
                       size_t i, double rate, int d,
                       lp2p_topic_score_params *tp, lp2p_errdetail *err) {
  const lp2p_score_traffic *t = c->t;
  double decay = decay_over(c, tt->mesh_deliveries_decay_time);
  double threshold = low_point(decay, rate / tt->mesh_deliveries_dampening);
  /* below DecayToZero a counter snaps to 0: honest peers would look silent */
  LP2P_REQUIRE(threshold > t->decay_to_zero,
               "topic %zu: too quiet to score mesh deliveries (threshold %g)",
               i, threshold);
  tp->mesh_message_deliveries_decay = decay;
  tp->mesh_message_deliveries_threshold = threshold;
  tp->mesh_message_deliveries_cap =
      fmax(tt->mesh_deliveries_cap_factor * threshold, 2);
  tp->mesh_message_deliveries_weight =
      -c->max_positive / (tt->weight * threshold * threshold);
  tp->mesh_message_deliveries_window = tt->mesh_deliveries_window;
  /* each mesh peer has had about 3 messages to deliver before it can be
   * found wanting, and a new mesh has had 3 heartbeats to settle */
  double busy_s = fmax(3.0 * d / tt->msgs_per_s, 3 * seconds(t->heartbeat));
  double act_s = fmax(seconds(tt->mesh_deliveries_activation), busy_s);
  tp->mesh_message_deliveries_activation =
      (lp2p_tstamp)ceil(act_s * (double)LP2P_SECONDS);
  if (tp->mesh_message_deliveries_activation < LP2P_SECONDS) {
    tp->mesh_message_deliveries_activation = LP2P_SECONDS;
  }
  tp->mesh_failure_penalty_weight = tp->mesh_message_deliveries_weight;
  tp->mesh_failure_penalty_decay =
      fmax(decay, outlasting_backoff(c, threshold * threshold));
  return 0;
}

static int topic_derive(const derive_ctx *c, const lp2p_score_topic_traffic *tt,
                        size_t i, lp2p_topic_score_params *tp,
                        lp2p_errdetail *err) {
  const lp2p_score_traffic *t = c->t;
  int d = tt->mesh_d ? tt->mesh_d : t->mesh_d;
  double rate = tt->msgs_per_s * c->interval_s;
  memset(tp, 0, sizeof(*tp));
  tp->topic_weight = tt->weight;
  tp->time_in_mesh_quantum = t->slot;
  tp->time_in_mesh_cap = seconds(t->time_in_mesh_cap_time) / seconds(t->slot);
  tp->time_in_mesh_weight = t->max_in_mesh / tp->time_in_mesh_cap;
  tp->first_message_deliveries_decay =
      decay_over(c, tt->first_deliveries_decay_time);
  tp->first_message_deliveries_cap =
      settles_at(tp->first_message_deliveries_decay, 2 * rate / d);
  tp->first_message_deliveries_weight =
      t->max_first_deliveries / tp->first_message_deliveries_cap;
  tp->invalid_message_deliveries_weight = -c->max_positive / tt->weight;
  tp->invalid_message_deliveries_decay = decay_over(c, t->invalid_decay_time);
  if (!tt->mesh_deliveries) {
    return 0;
  }
  return mesh_derive(c, tt, i, rate, d, tp, err);
}

int lp2p_score_params_derive(const lp2p_score_traffic *t,
                             const lp2p_score_topic_traffic *topics,
                             size_t ntopics, lp2p_score_params *peer,
                             lp2p_topic_score_params *topic_out,
                             lp2p_errdetail *err) {
  int rv = traffic_check(t, err);
  derive_ctx c = {t, fmax(seconds(t->slot), 1), 0};
  double weights = 0;
  for (size_t i = 0; rv == 0 && i < ntopics; i++) {
    rv = topic_check(&topics[i], i, err);
    weights += topics[i].weight;
  }
  if (rv != 0) {
    return rv;
  }
  c.max_positive = (t->max_in_mesh + t->max_first_deliveries) * weights;
  rv = peer_derive(&c, peer, err);
  for (size_t i = 0; rv == 0 && i < ntopics; i++) {
    rv = topic_derive(&c, &topics[i], i, &topic_out[i], err);
  }
  if (rv == 0) {
    rv = lp2p_score_params_validate(peer, err);
  }
  for (size_t i = 0; rv == 0 && i < ntopics; i++) {
    rv = lp2p_topic_score_params_validate(&topic_out[i], err);
  }
  return rv;
}
