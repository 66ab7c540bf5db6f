/* Network models of the simulator: where a node is, how fast its uplink
 * is, and the one-way latency between two places. */
#ifndef LP2P_SIM_MODEL_H
#define LP2P_SIM_MODEL_H

#include "base/pcg.h"
#include "lp2p/sim.h"

/* Draws a node's region and uplink for the configured model. */
void lp2p_sim_model_place(const lp2p_sim_config *c, lp2p_pcg *rng,
                          uint8_t *region, uint64_t *uplink_bps);
/* One-way latency from region `a` to region `b`. */
lp2p_tstamp lp2p_sim_model_latency(const lp2p_sim_config *c, uint8_t a,
                                   uint8_t b);

/* `c`, with its score parameters derived from its traffic when it scores
 * with score_from_traffic. Returns 0 or LP2P_ERR_INVALID_ARG. */
int lp2p_sim_config_scored(const lp2p_sim_config *c, lp2p_sim_config *out);

#endif
