/* The uniform model, and the network model of libp2p/test-plans'
 * gossipsub-interop (network_graph.py): eight regions weighted by where
 * Ethereum nodes run, a one-way latency matrix between them, and two node
 * types, 20% "supernodes" at 1 Gbit/s and 80% "fullnodes" at 50 Mbit/s. */
#include <math.h>
#include <string.h>

#include "base/err.h"
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
  c->score_from_traffic = true;
  c->copies = 8;
  c->parts = 8;
  c->publishers = 2;
}

/* The simulator's topic as Ethereum clients would score it, on the
 * simulator's time scale: a slot is one second (Ethereum's 12 s slot
 * shrunk twelvefold, so P1 is capped after 300 slots as there) and an
 * epoch 4 slots, so that activation and decay happen within a run of
 * seconds; the topic carries one message every `interval`, meshes have the
 * router's D. */
int lp2p_sim_score_params(const lp2p_sim_config *c, lp2p_score_params *p,
                          lp2p_topic_score_params *tp, lp2p_errdetail *err) {
  lp2p_score_traffic t;
  lp2p_score_topic_traffic topic;
  if (c->interval == 0) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                              "the interval between messages is 0");
  }
  lp2p_score_traffic_default(&t);
  t.slot = LP2P_SECONDS;
  t.slots_per_epoch = 4;
  t.heartbeat = c->params.heartbeat_interval;
  t.mesh_d = c->params.mesh.d;
  t.prune_backoff = c->params.prune_backoff;
  t.time_in_mesh_cap_time = 300 * t.slot;
  t.invalid_decay_time = 50 * 4 * t.slot;
  t.behaviour_decay_time = 10 * 4 * t.slot;
  lp2p_score_topic_traffic_default(&topic, &t,
                                   (double)LP2P_SECONDS / (double)c->interval);
  return lp2p_score_params_derive(&t, &topic, 1, p, tp, err);
}

void lp2p_sim_score_params_default(lp2p_score_params *p,
                                   lp2p_topic_score_params *tp) {
  lp2p_sim_config c;
  lp2p_sim_config_default(&c);
  /* cannot fail: the default interval and D are positive */
  (void)lp2p_sim_score_params(&c, p, tp, NULL);
}

int lp2p_sim_config_scored(const lp2p_sim_config *c, lp2p_sim_config *out) {
  *out = *c;
  if (!c->scoring || !c->score_from_traffic) {
    return 0;
  }
  return lp2p_sim_score_params(c, &out->score, &out->topic_score, NULL);
}
