/* Peer scoring (gossipsub v1.1): per-peer records that outlive a
 * connection for RetainScore, per-topic counters for the topics that have
 * score parameters, IP colocation counts, IWANT promises, and the score
 * itself, cached and recomputed when a counter changes. Go-libp2p-pubsub's
 * score.go and nim-libp2p's scoring.nim are the references. */
#ifndef LP2P_GOSSIPSUB_SCORE_H
#define LP2P_GOSSIPSUB_SCORE_H

#include "base/map.h"
#include "base/u64map.h"
#include "lp2p/gossipsub.h"

/* Score parameters of one topic, keyed by name in the router. */
typedef struct gs_tscore {
  lp2p_topic_score_params p;
  size_t name_len;
  uint8_t name[];
} gs_tscore;

/* One peer's counters in one scored topic. */
typedef struct gs_tstats {
  const gs_tscore *ts;
  bool in_mesh, active;
  lp2p_tstamp graft_time, mesh_time;
  double first, mesh, failure, invalid;
} gs_tstats;

/* A peer's score record: kept from connection to connection. */
typedef struct gs_speer {
  lp2p_peer_id id;
  bool connected;
  bool dirty;         /* the cached score must be recomputed */
  bool told_to_leave; /* disconnect already asked for */
  lp2p_tstamp expire; /* when a retained record goes */
  double behaviour;   /* P7's counter */
  bool has_ip;
  uint8_t ip[16];
  gs_tstats *topics;
  uint32_t ntopics, cap_topics;
  double score;
} gs_speer;

/* An IWANT we sent: the peer promised the message by its IHAVE. */
typedef struct gs_promise {
  struct gs_promise *next;
  lp2p_peer_id peer;
  lp2p_tstamp expire;
} gs_promise;

typedef struct gs_scoring {
  bool on;
  lp2p_score_params p;
  lp2p_map peers;       /* peer id -> gs_speer */
  lp2p_map topics;      /* topic name -> gs_tscore */
  lp2p_map ips;         /* 16-byte address -> gs_ipcount */
  lp2p_u64map promises; /* message id hash -> gs_promise list */
  size_t npromises;
  lp2p_tstamp next_decay;
} gs_scoring;

#endif
