/* Score parameter validation, with go-libp2p-pubsub's rules: weights of
 * penalties are negative, of rewards positive, decays in (0, 1), caps
 * positive, and thresholds ordered. Each error names its field. */
#include <math.h>

#include "base/err.h"
#include "score.h"

static bool is_finite(double x) {
  return isfinite(x);
}

static bool decay_ok(double d) {
  return is_finite(d) && d > 0 && d < 1;
}

static int thresholds_validate(const lp2p_score_thresholds *t,
                               lp2p_errdetail *err) {
  LP2P_REQUIRE(is_finite(t->gossip) && t->gossip <= 0,
               "GossipThreshold must be <= 0");
  LP2P_REQUIRE(is_finite(t->publish) && t->publish <= t->gossip,
               "PublishThreshold must be <= GossipThreshold");
  LP2P_REQUIRE(is_finite(t->graylist) && t->graylist <= t->publish,
               "GraylistThreshold must be <= PublishThreshold");
  LP2P_REQUIRE(is_finite(t->accept_px) && t->accept_px >= 0,
               "AcceptPXThreshold must be >= 0");
  LP2P_REQUIRE(is_finite(t->opportunistic_graft) && t->opportunistic_graft >= 0,
               "OpportunisticGraftThreshold must be >= 0");
  return 0;
}

int lp2p_score_params_validate(const lp2p_score_params *p,
                               lp2p_errdetail *err) {
  LP2P_REQUIRE(is_finite(p->topic_score_cap) && p->topic_score_cap >= 0,
               "TopicScoreCap must be >= 0 (0 for no cap)");
  LP2P_REQUIRE(is_finite(p->app_specific_weight),
               "AppSpecificWeight is not a number");
  LP2P_REQUIRE(is_finite(p->ip_colocation_factor_weight) &&
                   p->ip_colocation_factor_weight <= 0,
               "IPColocationFactorWeight must be <= 0");
  LP2P_REQUIRE(p->ip_colocation_factor_weight == 0 ||
                   p->ip_colocation_factor_threshold >= 1,
               "IPColocationFactorThreshold must be at least 1");
  LP2P_REQUIRE(p->ip_colocation_whitelist_len <= LP2P_SCORE_MAX_WHITELIST,
               "IPColocationFactorWhitelist has more than %d entries",
               LP2P_SCORE_MAX_WHITELIST);
  for (size_t i = 0; i < p->ip_colocation_whitelist_len; i++) {
    LP2P_REQUIRE(p->ip_colocation_whitelist[i].prefix_len <= 128,
                 "IPColocationFactorWhitelist prefix over 128 bits");
  }
  LP2P_REQUIRE(is_finite(p->behaviour_penalty_weight) &&
                   p->behaviour_penalty_weight <= 0,
               "BehaviourPenaltyWeight must be <= 0");
  LP2P_REQUIRE(p->behaviour_penalty_weight == 0 ||
                   decay_ok(p->behaviour_penalty_decay),
               "BehaviourPenaltyDecay must be between 0 and 1");
  LP2P_REQUIRE(is_finite(p->behaviour_penalty_threshold) &&
                   p->behaviour_penalty_threshold >= 0,
               "BehaviourPenaltyThreshold must be >= 0");
  LP2P_REQUIRE(p->decay_interval >= LP2P_SECONDS,
               "DecayInterval must be at least 1 s");
  LP2P_REQUIRE(decay_ok(p->decay_to_zero),
               "DecayToZero must be between 0 and 1");
  return thresholds_validate(&p->thresholds, err);
}

static int p1_validate(const lp2p_topic_score_params *p, lp2p_errdetail *err) {
  LP2P_REQUIRE(is_finite(p->time_in_mesh_weight) && p->time_in_mesh_weight >= 0,
               "TimeInMeshWeight must be >= 0");
  LP2P_REQUIRE(p->time_in_mesh_weight == 0 || p->time_in_mesh_quantum > 0,
               "TimeInMeshQuantum must be positive");
  LP2P_REQUIRE(p->time_in_mesh_weight == 0 ||
                   (is_finite(p->time_in_mesh_cap) && p->time_in_mesh_cap > 0),
               "TimeInMeshCap must be positive");
  LP2P_REQUIRE(is_finite(p->first_message_deliveries_weight) &&
                   p->first_message_deliveries_weight >= 0,
               "FirstMessageDeliveriesWeight must be >= 0");
  LP2P_REQUIRE(p->first_message_deliveries_weight == 0 ||
                   decay_ok(p->first_message_deliveries_decay),
               "FirstMessageDeliveriesDecay must be between 0 and 1");
  LP2P_REQUIRE(p->first_message_deliveries_weight == 0 ||
                   (is_finite(p->first_message_deliveries_cap) &&
                    p->first_message_deliveries_cap > 0),
               "FirstMessageDeliveriesCap must be positive");
  return 0;
}

static int p3_validate(const lp2p_topic_score_params *p, lp2p_errdetail *err) {
  LP2P_REQUIRE(is_finite(p->mesh_message_deliveries_weight) &&
                   p->mesh_message_deliveries_weight <= 0,
               "MeshMessageDeliveriesWeight must be <= 0");
  if (p->mesh_message_deliveries_weight != 0) {
    LP2P_REQUIRE(decay_ok(p->mesh_message_deliveries_decay),
                 "MeshMessageDeliveriesDecay must be between 0 and 1");
    LP2P_REQUIRE(is_finite(p->mesh_message_deliveries_cap) &&
                     p->mesh_message_deliveries_cap > 0,
                 "MeshMessageDeliveriesCap must be positive");
    LP2P_REQUIRE(is_finite(p->mesh_message_deliveries_threshold) &&
                     p->mesh_message_deliveries_threshold > 0,
                 "MeshMessageDeliveriesThreshold must be positive");
    LP2P_REQUIRE(p->mesh_message_deliveries_activation >= LP2P_SECONDS,
                 "MeshMessageDeliveriesActivation must be at least 1 s");
  }
  LP2P_REQUIRE(is_finite(p->mesh_failure_penalty_weight) &&
                   p->mesh_failure_penalty_weight <= 0,
               "MeshFailurePenaltyWeight must be <= 0");
  LP2P_REQUIRE(p->mesh_failure_penalty_weight == 0 ||
                   decay_ok(p->mesh_failure_penalty_decay),
               "MeshFailurePenaltyDecay must be between 0 and 1");
  LP2P_REQUIRE(is_finite(p->invalid_message_deliveries_weight) &&
                   p->invalid_message_deliveries_weight <= 0,
               "InvalidMessageDeliveriesWeight must be <= 0");
  LP2P_REQUIRE(decay_ok(p->invalid_message_deliveries_decay),
               "InvalidMessageDeliveriesDecay must be between 0 and 1");
  return 0;
}

int lp2p_topic_score_params_validate(const lp2p_topic_score_params *p,
                                     lp2p_errdetail *err) {
  LP2P_REQUIRE(is_finite(p->topic_weight) && p->topic_weight >= 0,
               "TopicWeight must be >= 0");
  int rv = p1_validate(p, err);
  return rv != 0 ? rv : p3_validate(p, err);
}
