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
  double app; /* P5's value the score was last computed with */
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

typedef struct lp2p_router_peer gs_peer;
typedef struct gs_topic gs_topic;

/* ---- hooks (score.c): every hook is safe with scoring off, when the
 * score is always 0 and only the raw counters move */
int lp2p_gs_score_init(lp2p_router *r, lp2p_tstamp now);
void lp2p_gs_score_free(lp2p_router *r);
/* A peer connects: its retained record or a new one. */
int lp2p_gs_score_attach(lp2p_router *r, gs_peer *p, lp2p_tstamp now);
/* A peer leaves: its record is kept for RetainScore unless positive. */
void lp2p_gs_score_detach(lp2p_router *r, gs_peer *p, lp2p_tstamp now);
double lp2p_gs_score(const lp2p_router *r, const gs_peer *p);
void lp2p_gs_score_graft(lp2p_router *r, gs_peer *p, const gs_topic *t,
                         lp2p_tstamp now);
void lp2p_gs_score_prune(lp2p_router *r, gs_peer *p, const gs_topic *t);
/* P2 and P3: `p` delivered a message first. */
void lp2p_gs_score_first(lp2p_router *r, gs_peer *p, const gs_topic *t);
/* P3: a copy from `p` of a message validated at `validated` (0: still
 * being validated). */
void lp2p_gs_score_duplicate(lp2p_router *r, gs_peer *p, const gs_topic *t,
                             lp2p_tstamp validated, lp2p_tstamp now);
/* P4: `p` sent an invalid message on `t` (NULL when the topic is gone). */
void lp2p_gs_score_invalid(lp2p_router *r, gs_peer *p, const gs_topic *t);
/* P7: a behaviour penalty (GRAFT while backing off, broken promise). */
void lp2p_gs_score_penalty(lp2p_router *r, gs_peer *p, double count);
/* Decay when due, broken promises, graylisted peers. */
void lp2p_gs_score_heartbeat(lp2p_router *r, lp2p_tstamp now);
lp2p_tstamp lp2p_gs_score_expiry(const lp2p_router *r);
const gs_tscore *lp2p_gs_tscore_find(const lp2p_router *r, const uint8_t *name,
                                     size_t len);
/* IWANT promises: `p` advertised `ids` we asked for; the message
 * arriving from anyone keeps the promise once it starts validation, or is
 * dropped for a full validation queue or as self-origin (as go; not when
 * its signature fails). */
void lp2p_gs_promise_add(lp2p_router *r, const gs_peer *p,
                         const lp2p_bytes *ids, size_t n, lp2p_tstamp now);
void lp2p_gs_promise_fulfill(lp2p_router *r, uint64_t id_hash);

#endif
