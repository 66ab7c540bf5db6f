/* Router parameters and settings: go-libp2p-pubsub's defaults and the
 * consistency rules its validate() applies, plus lp2p's bounds. */
#include "backoff.h"
#include "base/err.h"

const char *const lp2p_pubsub_protocol_ids[LP2P_PUBSUB_NPROTOCOLS] = {
    "/meshsub/1.3.0", "/meshsub/1.2.0", "/meshsub/1.1.0", "/meshsub/1.0.0",
    "/floodsub/1.0.0"};

void lp2p_router_params_default(lp2p_router_params *p) {
  p->mesh.d = 6;
  p->mesh.d_lo = 5;
  p->mesh.d_hi = 12;
  p->mesh.d_score = 4;
  p->mesh.d_out = 2;
  p->mesh.d_lazy = 6;
  p->history_length = 5;
  p->history_gossip = 3;
  p->gossip_factor = 0.25;
  p->gossip_retransmission = 3;
  p->heartbeat_initial_delay = 100 * LP2P_MILLISECONDS;
  p->heartbeat_interval = LP2P_SECONDS;
  p->fanout_ttl = 60 * LP2P_SECONDS;
  p->prune_peers = 16;
  p->direct_connect_ticks = 300;
  p->opportunistic_graft_ticks = 60;
  p->opportunistic_graft_peers = 2;
  lp2p_gs_backoff_params_default(p);
  p->max_ihave_length = 5000;
  p->max_ihave_messages = 10;
  p->max_idontwant_messages = 1000;
  p->max_idontwant_length = 10;
  p->idontwant_message_ttl = 3;
  p->idontwant_message_threshold = 1024;
  p->iwant_followup_time = 3 * LP2P_SECONDS;
  p->seen_ttl = 120 * LP2P_SECONDS;
  p->flood_publish = false; /* go-libp2p-pubsub v0.19.0 no longer floods */
  p->do_px = false;         /* as go and nim: peer exchange only when asked */
}

static int mesh_validate(const lp2p_mesh_params *m, lp2p_errdetail *err) {
  if (m->d < 0 || m->d_lo < 0 || m->d_lo > m->d || m->d > m->d_hi) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                              "mesh degrees must satisfy 0 <= Dlo <= D <= Dhi"
                              " (Dlo %d, D %d, Dhi %d)",
                              m->d_lo, m->d, m->d_hi);
  }
  if (m->d_out < 0 || m->d_out >= m->d_lo || m->d_out > m->d / 2) {
    if (!(m->d_out == 0 && m->d_lo == 0)) {
      return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                                "Dout %d must be below Dlo %d and at most "
                                "D/2",
                                m->d_out, m->d_lo);
    }
  }
  if (m->d_score < 0 || m->d_score > m->d_hi) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                              "Dscore %d must be between 0 and Dhi %d",
                              m->d_score, m->d_hi);
  }
  if (m->d_lazy < 0 || m->d_hi > 10000) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                              "Dlazy must be >= 0 and Dhi at most 10000");
  }
  return 0;
}

int lp2p_router_params_validate(const lp2p_router_params *p,
                                lp2p_errdetail *err) {
  int rv = mesh_validate(&p->mesh, err);
  if (rv != 0) {
    return rv;
  }
  LP2P_REQUIRE(p->history_length >= 1 && p->history_length <= 1000,
               "HistoryLength must be between 1 and 1000");
  LP2P_REQUIRE(p->history_gossip >= 0 && p->history_gossip <= p->history_length,
               "HistoryGossip must be between 0 and HistoryLength");
  LP2P_REQUIRE(p->gossip_factor >= 0 && p->gossip_factor <= 1,
               "GossipFactor must be between 0 and 1");
  LP2P_REQUIRE(p->gossip_retransmission >= 0,
               "GossipRetransmission must be >= 0");
  LP2P_REQUIRE(p->heartbeat_interval >= LP2P_MILLISECONDS,
               "HeartbeatInterval must be at least 1 ms");
  rv = lp2p_gs_backoff_params_validate(p, err);
  if (rv != 0) {
    return rv;
  }
  LP2P_REQUIRE(p->prune_peers >= 0 && p->prune_peers <= 1000,
               "PrunePeers must be between 0 and 1000");
  LP2P_REQUIRE(p->direct_connect_ticks >= 1, "DirectConnectTicks must be >= 1");
  LP2P_REQUIRE(p->opportunistic_graft_ticks >= 1,
               "OpportunisticGraftTicks must be >= 1");
  LP2P_REQUIRE(p->opportunistic_graft_peers >= 0,
               "OpportunisticGraftPeers must be >= 0");
  LP2P_REQUIRE(p->max_ihave_length >= 1, "MaxIHaveLength must be >= 1");
  LP2P_REQUIRE(p->max_ihave_messages >= 1, "MaxIHaveMessages must be >= 1");
  LP2P_REQUIRE(p->max_idontwant_messages >= 0,
               "MaxIDontWantMessages must be >= 0");
  LP2P_REQUIRE(p->max_idontwant_length >= 1 &&
                   p->max_idontwant_length <= 100000,
               "MaxIDontWantLength must be between 1 and 100000");
  LP2P_REQUIRE(p->idontwant_message_ttl >= 1 &&
                   p->idontwant_message_ttl <= 1000,
               "IDontWantMessageTTL must be between 1 and 1000 heartbeats");
  LP2P_REQUIRE(p->seen_ttl >= p->heartbeat_interval,
               "SeenMessagesTTL must be at least one heartbeat");
  return 0;
}

void lp2p_router_settings_default(lp2p_router_settings *s) {
  lp2p_router_limits *l = &s->limits;
  *s = (lp2p_router_settings){0};
  lp2p_router_params_default(&s->params);
  s->sign_policy = LP2P_STRICT_SIGN;
  s->msg_id = LP2P_MSG_ID_FROM_SEQNO;
  l->max_rpc_size = 1 << 20;
  l->max_message_size = 1 << 20;
  l->max_subscriptions = 1000;
  l->max_messages = 1000;
  l->max_control = 2000;
  l->max_ids = 10000;
  l->max_px = 1000;
  l->max_topic_len = 1024;
  l->max_id_len = 256;
  l->max_peers = 10000;
  l->max_topics_per_peer = 500;
  l->max_topics = 10000;
  l->max_seen = 1 << 20;
  l->max_pending_validations = 8192;
  l->queue_max_messages = 4096;
  l->max_batch = 1024;
  /* 16 MiB, with control (1 MiB) and gossip (2 MiB) beside the host's
   * 40 MiB peer budget: one peer that stops reading costs a node at most
   * ~59 MiB (64 MiB was the whole per-peer share by itself). As go, a
   * stalled peer's queue is bounded, not the publisher: go keeps 32 RPCs
   * of up to 1 MiB per peer and drops the rest. */
  l->queue_max_bytes = 16 << 20;
  l->queue_max_control_bytes = 1 << 20;
  l->queue_max_gossip_bytes = 2 << 20;
  l->queue_max_idontwant = 1000;
  l->max_invalid_iwants = 20;
  l->max_backoffs = 1 << 16;
  l->max_partial_groups_per_topic = 255; /* as go */
  l->max_partial_groups_per_peer = 8;    /* as go */
  l->max_partial_metadata = 4096;
  s->extensions.partial_group_ttl = 3; /* as go's minGroupTTL */
}
