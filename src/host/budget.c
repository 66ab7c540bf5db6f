/* The host's memory budgets (lp2p/budget.h): one scope for the host, one
 * per peer shared by the peer's connections, one per connection given to
 * its session, whose muxer puts a scope per stream under it. The connection's
 * write queue is charged to its scope too: a peer that stops reading must
 * not make us queue without bound. */
#include "host/internal.h"

#include "base/mem.h"

/* The most one session pull adds to a write queue: 64 KiB of muxer frames
 * (FEED_BATCH in session.c) and a frame more, plus Noise's framing. */
#define PULL_RESERVE (80u * 1024u)

/* Room again in a scope that refused or held a writer: every connection
 * under it pumps (deferred), so that writers held for room another
 * connection gave back are woken now, not at their connection's next
 * send (up to a keepalive later). `peer` NULL: the host's scope, all. */
static void wake_writers(lp2p_host *h, const host_peer_budget *peer) {
  for (lp2p_conn *c = h->conns; c; c = c->next) {
    if (c->peer_budget && (!peer || c->peer_budget == peer)) {
      lp2p__conn_touch(c);
    }
  }
}

static void host_room(lp2p_budget *b, void *user) {
  (void)b;
  wake_writers(user, NULL);
}

static void peer_room(lp2p_budget *b, void *user) {
  /* the scope is the first member of its host_peer_budget */
  wake_writers(user, (const host_peer_budget *)(void *)b);
}

void lp2p__host_budget_init(lp2p_host *h) {
  host_budgets *b = &h->budgets;
  lp2p_budget_init(&b->scope, NULL, h->settings.max_memory);
  b->scope.on_room = host_room;
  b->scope.on_room_user = h;
  lp2p_map_init(&b->peers, h->mem, lp2p_host_rand, NULL);
}

void lp2p__host_budget_free(lp2p_host *h) {
  /* every connection has left its peer's scope by now */
  lp2p_map_free(&h->budgets.peers);
}

static host_peer_budget *peer_scope(lp2p_host *h, const lp2p_peer_id *id) {
  host_budgets *b = &h->budgets;
  host_peer_budget *p = lp2p_map_get(&b->peers, id->bytes, id->len);
  if (p) {
    return p;
  }
  p = lp2p_calloc(h->mem, 1, sizeof(*p));
  if (!p) {
    return NULL;
  }
  lp2p_budget_init(&p->scope, &b->scope, h->settings.max_peer_memory);
  p->scope.on_room = peer_room;
  p->scope.on_room_user = h;
  p->id = *id;
  if (lp2p_map_put(&b->peers, p->id.bytes, p->id.len, p) != 0) {
    lp2p_free(h->mem, p);
    return NULL;
  }
  return p;
}

int lp2p__conn_budget_attach(lp2p_conn *c) {
  lp2p_host *h = c->host;
  host_peer_budget *p = peer_scope(h, &c->peer_id);
  if (!p) {
    return LP2P_ERR_NOMEM;
  }
  p->refs++;
  c->peer_budget = p;
  lp2p_budget_init(&c->budget, &p->scope, h->settings.max_conn_memory);
  return 0;
}

/* Adds what the connection's scope and session refused to `st`. */
static void add_refusals(const lp2p_conn *c, lp2p_host_budget_stats *st) {
  st->refused_conn += c->budget.refused;
  st->streams_reset += c->streams_reset_budget;
  if (!c->session) {
    return;
  }
  lp2p_session_stats ss;
  lp2p_session_stats_get(c->session, &ss);
  st->streams_reset += ss.streams_reset_budget;
  st->stream_writes_held += ss.writes_held_budget;
}

void lp2p__conn_budget_count(lp2p_conn *c) {
  /* the counts outlive the connection */
  if (c->peer_budget) {
    add_refusals(c, &c->host->budgets.closed);
  }
}

void lp2p__conn_budget_detach(lp2p_conn *c) {
  host_peer_budget *p = c->peer_budget;
  if (!p) {
    return;
  }
  lp2p__conn_budget_settle(c, 0);
  c->peer_budget = NULL;
  if (--p->refs == 0) {
    lp2p_host *h = c->host;
    h->budgets.closed.refused_peer += p->scope.refused;
    lp2p_map_remove(&h->budgets.peers, p->id.bytes, p->id.len);
    lp2p_free(h->mem, p);
  }
}

bool lp2p__conn_budget_writes(lp2p_conn *c, size_t queued) {
  if (!c->peer_budget || queued == 0) {
    return true;
  }
  size_t want = queued + PULL_RESERVE;
  if (want <= c->write_charge) {
    return true;
  }
  if (lp2p_budget_reserve(&c->budget, want - c->write_charge) != 0) {
    c->host->budgets.closed.writes_held++;
    return false;
  }
  c->write_charge = want;
  return true;
}

void lp2p__conn_budget_settle(lp2p_conn *c, size_t queued) {
  if (c->write_charge > queued) {
    lp2p_budget_release(&c->budget, c->write_charge - queued);
    c->write_charge = queued;
  }
}

lp2p_budget *lp2p_host_budget(lp2p_host *h) {
  return &h->budgets.scope;
}

lp2p_budget *lp2p_conn_peer_budget(const lp2p_conn *c) {
  return c->peer_budget ? &c->peer_budget->scope : NULL;
}

void lp2p_host_budget_stats_get(const lp2p_host *h,
                                lp2p_host_budget_stats *st) {
  const host_budgets *b = &h->budgets;
  *st = b->closed;
  st->used = b->scope.used;
  st->limit = b->scope.limit;
  st->refused = b->scope.refused_below;
  st->refused_host = b->scope.refused;
  st->peer_limit = h->settings.max_peer_memory;
  size_t it = 0;
  for (lp2p_map_entry *e; (e = lp2p_map_next(&b->peers, &it));) {
    const host_peer_budget *p = e->value;
    st->refused_peer += p->scope.refused;
    if (p->scope.used > st->peer_used_max) {
      st->peer_used_max = p->scope.used;
    }
  }
  for (const lp2p_conn *c = h->conns; c; c = c->next) {
    if (c->peer_budget) {
      add_refusals(c, st);
    }
  }
}
