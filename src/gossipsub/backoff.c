/* PRUNE backoff: every rule of it lives here.
 *
 * - Defaults: PruneBackoff 60 s, UnsubscribeBackoff 10 s (the backoff of
 *   the PRUNEs that leaving a topic sends), GraftFloodThreshold 10 s, as
 *   go; both backoffs at least 1 s, as they travel in seconds.
 * - Store: per topic, peer id -> end of its backoff, never shortened;
 *   all topics' entries together bounded by limits.max_backoffs (past it
 *   a new one is dropped and counted); entries outlive the peer's
 *   subscription and connection, so that they hold when it comes back;
 *   expired entries are purged at each heartbeat.
 * - Query: the heartbeat, a join and PX never graft a backed-off peer.
 * - A PRUNE we send records our backoff for the peer and advertises it
 *   in seconds (not to meshsub 1.0 peers).
 * - A PRUNE we receive: its backoff plus one heartbeat of slack, clamped
 *   to a day (as nim), or ours when it has none; as go, it counts even
 *   when the peer was not in our mesh.
 * - A GRAFT we receive while backing the peer off (two heartbeats of
 *   slack at its end) costs a P7 penalty, a second one within
 *   GraftFloodThreshold of the PRUNE, and is answered with a PRUNE that
 *   refreshes the backoff (as go's handleGraft). */

#include "backoff.h"
#include "base/err.h"
#include "base/mem.h"
#include "peer.h"
#include "router.h"
#include "score.h"
#include "topic.h"

/* PRUNE backoffs are clamped to a day, as nim-libp2p does. */
#define MAX_BACKOFF_S (24 * 60 * 60)

void lp2p_gs_backoff_params_default(lp2p_router_params *p) {
  p->prune_backoff = 60 * LP2P_SECONDS;
  p->unsubscribe_backoff = 10 * LP2P_SECONDS;
  p->graft_flood_threshold = 10 * LP2P_SECONDS;
}

int lp2p_gs_backoff_params_validate(const lp2p_router_params *p,
                                    lp2p_errdetail *err) {
  LP2P_REQUIRE(p->prune_backoff >= LP2P_SECONDS,
               "PruneBackoff must be at least 1 s (it travels in seconds)");
  LP2P_REQUIRE(p->unsubscribe_backoff >= LP2P_SECONDS,
               "UnsubscribeBackoff must be at least 1 s");
  return 0;
}

/* Slack added to a backoff a peer asks for, and tolerated on GRAFTs that
 * come right at the end of ours: one heartbeat. */
static lp2p_tstamp backoff_slack(const lp2p_router *r) {
  return r->s.params.heartbeat_interval;
}

static gs_backoff *backoff_find(const gs_topic *t, const lp2p_peer_id *id) {
  return lp2p_map_get(&t->backoff, id->bytes, id->len);
}

lp2p_tstamp lp2p_gs_backoff_until(const gs_topic *t, const lp2p_peer_id *id) {
  gs_backoff *b = backoff_find(t, id);
  return b ? b->until : 0;
}

bool lp2p_gs_backoff_active(const gs_topic *t, const lp2p_peer_id *id,
                            lp2p_tstamp now) {
  return lp2p_gs_backoff_until(t, id) > now;
}

int lp2p_gs_backoff_add(lp2p_router *r, gs_topic *t, const lp2p_peer_id *id,
                        lp2p_tstamp until) {
  gs_backoff *b = backoff_find(t, id);
  if (b) {
    if (until > b->until) {
      b->until = until;
    }
    return 0;
  }
  if (r->nbackoff >= r->s.limits.max_backoffs) {
    /* peers that come and go under new ids must not grow the table */
    r->st.backoffs_dropped++;
    return 0;
  }
  if (!t->backoff_seeded) {
    lp2p_map_init(&t->backoff, r->mem, r->s.rand_fn, r->s.rand_user);
    t->backoff_seeded = true;
  }
  b = lp2p_malloc(r->mem, sizeof(*b));
  if (!b) {
    return LP2P_ERR_NOMEM;
  }
  b->until = until;
  b->peer = *id;
  if (lp2p_map_put(&t->backoff, b->peer.bytes, b->peer.len, b) != 0) {
    lp2p_free(r->mem, b);
    return LP2P_ERR_NOMEM;
  }
  r->nbackoff++;
  return 0;
}

typedef struct expiry {
  lp2p_router *r;
  lp2p_tstamp now;
} expiry;

static bool backoff_ended(void *value, void *arg) {
  gs_backoff *b = value;
  expiry *x = arg;
  if (b->until > x->now) {
    return false;
  }
  lp2p_free(x->r->mem, b);
  x->r->nbackoff--;
  return true;
}

void lp2p_gs_backoff_expire(lp2p_router *r, gs_topic *t, lp2p_tstamp now) {
  expiry x = {r, now};
  lp2p_map_remove_if(&t->backoff, backoff_ended, &x);
}

void lp2p_gs_backoff_free(lp2p_router *r, gs_topic *t) {
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&t->backoff, &it)) != NULL) {
    lp2p_free(r->mem, e->value);
  }
  r->nbackoff -= t->backoff.count;
  lp2p_map_free(&t->backoff);
}

int lp2p_gs_backoff_prune_sent(lp2p_router *r, gs_peer *p, gs_topic *t,
                               lp2p_tstamp backoff, lp2p_tstamp now,
                               uint64_t *seconds) {
  *seconds = 0;
  int rv = lp2p_gs_backoff_add(r, t, &p->id, now + backoff);
  if (rv == 0 && p->proto >= LP2P_MESHSUB_11) {
    *seconds = backoff / LP2P_SECONDS; /* meshsub 1.0 knows no backoff */
  }
  return rv;
}

void lp2p_gs_backoff_prune_received(lp2p_router *r, gs_peer *p, gs_topic *t,
                                    const lp2p_rpc_prune *pr, lp2p_tstamp now) {
  /* obey the peer's backoff plus slack, at most a day; without one, use
   * ours so that we do not graft it again at the next heartbeat */
  lp2p_tstamp backoff = r->s.params.prune_backoff;
  if (pr->backoff) {
    uint64_t s = pr->backoff < MAX_BACKOFF_S ? pr->backoff : MAX_BACKOFF_S;
    backoff = s * LP2P_SECONDS + backoff_slack(r);
  }
  lp2p_gs_backoff_add(r, t, &p->id, now + backoff);
}

/* GRAFTs within two heartbeats of the end of the backoff are tolerated. */
bool lp2p_gs_backoff_grafts_early(const lp2p_router *r, const gs_peer *p,
                                  const gs_topic *t, lp2p_tstamp now) {
  return lp2p_gs_backoff_until(t, &p->id) > now + 2 * backoff_slack(r);
}

void lp2p_gs_backoff_penalise_graft(lp2p_router *r, gs_peer *p,
                                    const gs_topic *t, lp2p_tstamp now) {
  /* harder when it comes within GraftFloodThreshold of the PRUNE: its
   * backoff then ends later than a PRUNE now would make it */
  lp2p_tstamp until = lp2p_gs_backoff_until(t, &p->id);
  lp2p_gs_score_penalty(r, p, 1);
  if (until + r->s.params.graft_flood_threshold >
      now + r->s.params.prune_backoff) {
    lp2p_gs_score_penalty(r, p, 1);
  }
}
