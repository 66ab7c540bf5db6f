/* The uniform model, and the network model of libp2p/test-plans'
 * gossipsub-interop (network_graph.py): eight regions weighted by where
 * Ethereum nodes run, a one-way latency matrix between them, and two node
 * types, 20% "supernodes" at 1 Gbit/s and 80% "fullnodes" at 50 Mbit/s. */
#include <math.h>
#include <string.h>

#include "sim/model.h"

enum {
  AUSTRALIA,
  EUROPE,
  EAST_ASIA,
  WEST_ASIA,
  NA_EAST,
  NA_WEST,
  SOUTH_AFRICA,
  SOUTH_AMERICA,
  NREGIONS
};

static const uint32_t region_weight[NREGIONS] = {290,  5599, 1059, 161,
                                                 2894, 1240, 47,   36};

/* milliseconds, [from][to] */
static const uint8_t latency_ms[NREGIONS][NREGIONS] = {
    /*            AU   EU   EA   WA   NAE  NAW  SAF  SAM */
    [AUSTRALIA] = {2, 165, 110, 180, 150, 110, 220, 190},
    [EUROPE] = {165, 2, 125, 60, 70, 110, 95, 140},
    [EAST_ASIA] = {110, 125, 4, 110, 140, 100, 175, 175},
    [WEST_ASIA] = {180, 60, 110, 5, 110, 150, 110, 145},
    [NA_EAST] = {150, 70, 140, 110, 2, 60, 130, 100},
    [NA_WEST] = {110, 110, 100, 150, 60, 2, 160, 100},
    [SOUTH_AFRICA] = {220, 95, 175, 110, 130, 160, 7, 190},
    [SOUTH_AMERICA] = {190, 140, 175, 145, 100, 100, 195, 7},
};

#define SUPERNODE_BPS (1024ull * 1000 * 1000)
#define FULLNODE_BPS (50ull * 1000 * 1000)

static uint8_t weighted_region(lp2p_pcg *rng) {
  uint32_t total = 0;
  for (int i = 0; i < NREGIONS; i++) {
    total += region_weight[i];
  }
  uint32_t x = lp2p_pcg_below(rng, total);
  for (uint8_t i = 0; i < NREGIONS; i++) {
    if (x < region_weight[i]) {
      return i;
    }
    x -= region_weight[i];
  }
  return EUROPE;
}

void lp2p_sim_model_place(const lp2p_sim_config *c, lp2p_pcg *rng,
                          uint8_t *region, uint64_t *uplink_bps) {
  if (c->model == LP2P_SIM_INTEROP) {
    *region = weighted_region(rng);
    *uplink_bps = lp2p_pcg_below(rng, 100) < 20 ? SUPERNODE_BPS : FULLNODE_BPS;
    return;
  }
  *region = 0;
  *uplink_bps = c->uplink_bps;
}

lp2p_tstamp lp2p_sim_model_latency(const lp2p_sim_config *c, uint8_t a,
                                   uint8_t b) {
  if (c->model == LP2P_SIM_INTEROP) {
    return (lp2p_tstamp)latency_ms[a][b] * LP2P_MILLISECONDS;
  }
  return c->latency;
}

void lp2p_sim_config_default(lp2p_sim_config *c) {
  *c = (lp2p_sim_config){0};
  c->nodes = 100;
  c->degree = 20;
  c->messages = 100;
  c->size = 1024;
  c->seed = 1;
  c->sign = true;
  c->idontwant = true;
  c->model = LP2P_SIM_UNIFORM;
  c->latency = 50 * LP2P_MILLISECONDS;
  c->uplink_bps = 1000ull * 1000 * 1000;
  c->warmup = 3 * LP2P_SECONDS;
  c->interval = 100 * LP2P_MILLISECONDS;
  c->drain = 5 * LP2P_SECONDS;
  lp2p_router_params_default(&c->params);
  c->attack_interval = 200 * LP2P_MILLISECONDS;
  lp2p_sim_score_params_default(&c->score, &c->topic_score);
}

/* Counter decay per interval that takes a value to DecayToZero in `n`
 * intervals, and the value a counter fed `rate` per interval converges
 * to under `decay`: the two formulas Ethereum clients derive their
 * parameters from. */
static double decay_in(double n, double to_zero) {
  return pow(to_zero, 1.0 / n);
}

static double converges(double decay, double rate) {
  return rate / (1 - decay);
}

void lp2p_sim_score_params_default(lp2p_score_params *p,
                                   lp2p_topic_score_params *tp) {
  /* one slot is one second here, an epoch 4 slots; the simulated topic
   * carries about 10 messages a slot, meshes have D = 6..8 peers */
  const double slot = 1, epoch = 4, rate = 10, mesh_n = 8;
  const double max_in_mesh = 10, max_first = 40, topic_weight = 0.5;
  const double max_positive = (max_in_mesh + max_first) * topic_weight;
  memset(p, 0, sizeof(*p));
  memset(tp, 0, sizeof(*tp));
  p->decay_interval = LP2P_SECONDS;
  p->decay_to_zero = 0.01;
  p->retain_score = (lp2p_tstamp)(100 * epoch) * LP2P_SECONDS;
  p->topic_score_cap = max_positive * 0.5;
  p->app_specific_weight = 1;
  p->ip_colocation_factor_weight = -p->topic_score_cap;
  p->ip_colocation_factor_threshold = 8;
  p->behaviour_penalty_threshold = 6;
  p->behaviour_penalty_decay = decay_in(10 * epoch / slot, 0.01);
  double target = converges(p->behaviour_penalty_decay, 10 / epoch) -
                  p->behaviour_penalty_threshold;
  p->thresholds.gossip = -4000;
  p->thresholds.publish = -8000;
  p->thresholds.graylist = -16000;
  p->thresholds.accept_px = 100;
  p->thresholds.opportunistic_graft = 5;
  p->behaviour_penalty_weight = p->thresholds.gossip / (target * target);

  tp->topic_weight = topic_weight;
  tp->time_in_mesh_quantum = LP2P_SECONDS;
  tp->time_in_mesh_cap = 3600 / 12; /* an hour of 12-second slots */
  tp->time_in_mesh_weight = max_in_mesh / tp->time_in_mesh_cap;
  tp->first_message_deliveries_decay = decay_in(20 * epoch, 0.01);
  tp->first_message_deliveries_cap =
      converges(tp->first_message_deliveries_decay, 2 * rate / mesh_n);
  tp->first_message_deliveries_weight =
      max_first / tp->first_message_deliveries_cap;
  tp->mesh_message_deliveries_decay = decay_in(5 * epoch, 0.01);
  tp->mesh_message_deliveries_cap =
      converges(tp->mesh_message_deliveries_decay, rate);
  tp->mesh_message_deliveries_threshold = tp->mesh_message_deliveries_cap / 10;
  tp->mesh_message_deliveries_weight =
      -max_positive / (topic_weight * tp->mesh_message_deliveries_threshold *
                       tp->mesh_message_deliveries_threshold);
  tp->mesh_message_deliveries_window = 2 * LP2P_SECONDS;
  tp->mesh_message_deliveries_activation = (lp2p_tstamp)epoch * LP2P_SECONDS;
  tp->mesh_failure_penalty_weight = tp->mesh_message_deliveries_weight;
  tp->mesh_failure_penalty_decay = tp->mesh_message_deliveries_decay;
  tp->invalid_message_deliveries_weight = -max_positive / topic_weight;
  tp->invalid_message_deliveries_decay = decay_in(50 * epoch, 0.01);
}
