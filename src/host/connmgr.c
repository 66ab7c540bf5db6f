/* The connection manager: limits checked when an inbound connection is
 * accepted (total with slots kept for our own dials, inbound, handshakes
 * in progress, per IP), and trimming between low and high water after
 * go-libp2p's BasicConnMgr. The application says how much a peer is worth
 * (lp2p_host_callbacks.peer_value); the host knows nothing of pubsub. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "host/internal.h"

void lp2p__connmgr_init(lp2p_host *h) {
  uv_timer_init(h->loop, &h->trim_timer);
  h->trim_timer.data = h;
  h->open_handles++;
}

static void on_trim_timer_closed(uv_handle_t *handle) {
  lp2p_host *h = handle->data;
  h->open_handles--;
  lp2p__host_maybe_done(h);
}

void lp2p__connmgr_close(lp2p_host *h) {
  uv_close((uv_handle_t *)&h->trim_timer, on_trim_timer_closed);
}

/* ---- admission ---------------------------------------------------------- */

/* The per-IP key of a peer address: IPv4 whole, IPv6 its /64 (one
 * customer's allocation). Loopback gets no key unless it is limited. */
static void set_ip_key(lp2p_conn *c) {
  static const uint8_t v6_loopback[16] = {[15] = 1};
  struct sockaddr_storage sa;
  c->ip_key_len = 0;
  if (lp2p__conn_peer_sockaddr(c, &sa) != 0) {
    return;
  }
  bool limit_loopback = c->host->settings.limit_loopback;
  if (sa.ss_family == AF_INET) {
    const uint8_t *a =
        (const uint8_t *)&((const struct sockaddr_in *)&sa)->sin_addr;
    if (a[0] == 127 && !limit_loopback) {
      return;
    }
    c->ip_key[0] = 4;
    memcpy(c->ip_key + 1, a, 4);
    c->ip_key_len = 5;
  } else if (sa.ss_family == AF_INET6) {
    const uint8_t *a = ((const struct sockaddr_in6 *)&sa)->sin6_addr.s6_addr;
    if (memcmp(a, v6_loopback, 16) == 0 && !limit_loopback) {
      return;
    }
    c->ip_key[0] = 6;
    memcpy(c->ip_key + 1, a, 8);
    c->ip_key_len = 9;
  }
}

static size_t conns_from_ip(const lp2p_conn *c) {
  size_t n = 0;
  for (const lp2p_conn *o = c->host->conns; o; o = o->next) {
    n += o->ip_key_len == c->ip_key_len &&
         memcmp(o->ip_key, c->ip_key, c->ip_key_len) == 0;
  }
  return n; /* c included */
}

static bool refuse(lp2p_conn *c, uint64_t *counter, const char *what,
                   uint32_t limit) {
  (*counter)++;
  lp2p__conn_fail(c, LP2P_DISCONNECT_LIMIT, LP2P_ERR_TOO_LARGE,
                  "inbound connection refused: %s (%u)", what, limit);
  return false;
}

/* The oldest inbound upgrade in progress, when it has run for
 * HOST_HANDSHAKE_EVICT_AGE: an honest one takes milliseconds. */
static lp2p_conn *stalled_handshake(lp2p_host *h) {
  lp2p_conn *oldest = NULL;
  for (lp2p_conn *o = h->conns; o; o = o->next) {
    if (o->counted_handshake && o->state != CONN_CLOSING &&
        (!oldest || o->deadline < oldest->deadline)) {
      oldest = o;
    }
  }
  lp2p_tstamp started =
      oldest ? oldest->deadline - h->settings.handshake_timeout : 0;
  return oldest && lp2p_host_now() >= started + HOST_HANDSHAKE_EVICT_AGE
             ? oldest
             : NULL;
}

/* Handshakes at their limit: a stalled one makes room for the newcomer,
 * so that sockets that never finish cannot lock peers out for a whole
 * handshake timeout; otherwise the newcomer is refused. */
static bool handshake_slot(lp2p_conn *c) {
  lp2p_host *h = c->host;
  if (h->nhandshakes < h->settings.max_handshakes) {
    return true;
  }
  lp2p_conn *victim = stalled_handshake(h);
  if (!victim) {
    return false;
  }
  h->stats.handshakes_evicted++;
  lp2p__conn_fail(victim, LP2P_DISCONNECT_LIMIT, LP2P_ERR_TOO_LARGE,
                  "inbound connection closed: upgrade stalled while %u others "
                  "waited",
                  h->settings.max_handshakes);
  lp2p__connmgr_handshake_over(victim);
  return true;
}

bool lp2p__connmgr_admit(lp2p_conn *c) {
  lp2p_host *h = c->host;
  const lp2p_host_settings *s = &h->settings;
  set_ip_key(c);
  /* c itself is counted in every total below */
  if (h->nconns > s->max_connections - s->reserved_outbound) {
    return refuse(c, &h->stats.refused_total, "connection limit",
                  s->max_connections - s->reserved_outbound);
  }
  if (h->ninbound > s->max_inbound) {
    return refuse(c, &h->stats.refused_inbound, "inbound limit",
                  s->max_inbound);
  }
  if (!handshake_slot(c)) {
    return refuse(c, &h->stats.refused_handshakes, "handshakes in progress",
                  s->max_handshakes);
  }
  if (c->ip_key_len > 0 && conns_from_ip(c) > s->max_conns_per_ip) {
    return refuse(c, &h->stats.refused_per_ip, "connections from this IP",
                  s->max_conns_per_ip);
  }
  c->counted_handshake = true;
  h->nhandshakes++;
  return true;
}

bool lp2p__connmgr_may_dial(lp2p_host *h) {
  if (h->npending_dials >= h->settings.max_pending_dials ||
      h->nconns >= h->settings.max_connections) {
    h->stats.dials_refused++;
    return false;
  }
  return true;
}

void lp2p__connmgr_handshake_over(lp2p_conn *c) {
  if (c->counted_handshake) {
    c->counted_handshake = false;
    c->host->nhandshakes--;
  }
}

void lp2p__connmgr_conn_gone(lp2p_conn *c) {
  lp2p__connmgr_handshake_over(c);
  if (!c->outbound) {
    c->host->ninbound--;
  }
}

/* ---- trimming ----------------------------------------------------------- */

typedef struct trim_candidate {
  lp2p_conn *conn;
  int32_t value;
  bool idle; /* no streams */
  lp2p_tstamp ready_at;
} trim_candidate;

/* Lowest value first; then idle before busy; then newest first (the
 * peers we have known longest are kept, as an attacker's are new). */
static int compare_candidates(const void *pa, const void *pb) {
  const trim_candidate *a = pa, *b = pb;
  if (a->value != b->value) {
    return a->value < b->value ? -1 : 1;
  }
  if (a->idle != b->idle) {
    return a->idle ? -1 : 1;
  }
  if (a->ready_at != b->ready_at) {
    return a->ready_at > b->ready_at ? -1 : 1;
  }
  return 0;
}

static int32_t peer_value(lp2p_host *h, const lp2p_conn *c) {
  return h->cb.peer_value ? h->cb.peer_value(h, &c->peer_id, h->user) : 0;
}

/* Fills `out` with the connections that may be trimmed now; `*grace_end`
 * becomes the earliest time one still in its grace period leaves it. */
static size_t collect(lp2p_host *h, trim_candidate *out, size_t cap,
                      lp2p_tstamp now, lp2p_tstamp *grace_end) {
  size_t n = 0;
  *grace_end = LP2P_TSTAMP_NEVER;
  for (lp2p_conn *c = h->conns; c && n < cap; c = c->next) {
    if (c->state != CONN_READY || !c->registered) {
      continue; /* closing ones were counted out by open_upgraded */
    }
    lp2p_tstamp until = c->ready_at + h->settings.conns_grace;
    int32_t value = peer_value(h, c);
    if (value == LP2P_PEER_PROTECTED) {
      continue;
    }
    if (now < until) {
      *grace_end = until < *grace_end ? until : *grace_end;
      continue;
    }
    out[n++] = (trim_candidate){
        c, value, lp2p_session_num_streams(c->session) == 0, c->ready_at};
  }
  return n;
}

static void on_trim_timer(uv_timer_t *t);

/* After a trim that had no memory for its candidates. */
#define CONNMGR_TRIM_RETRY (100 * LP2P_MILLISECONDS)

static void arm_trim(lp2p_host *h, lp2p_tstamp at, lp2p_tstamp now) {
  uint64_t ms =
      at > now ? (at - now + LP2P_MILLISECONDS - 1) / LP2P_MILLISECONDS : 0;
  if (!uv_is_closing((uv_handle_t *)&h->trim_timer)) {
    uv_timer_start(&h->trim_timer, on_trim_timer, ms, 0);
  }
}

/* Upgraded connections not already closing (a closed one leaves the
 * peer table only when its connection is next pumped). */
static size_t open_upgraded(const lp2p_host *h) {
  size_t n = 0;
  for (const lp2p_conn *c = h->conns; c; c = c->next) {
    n += c->registered && c->state == CONN_READY;
  }
  return n;
}

static void trim(lp2p_host *h) {
  uint32_t high = h->settings.conns_high_water;
  size_t open = open_upgraded(h);
  if (h->closing || high == 0 || open <= high) {
    return;
  }
  size_t excess = open - h->settings.conns_low_water;
  trim_candidate *cand = lp2p_reallocarray(h->mem, NULL, open, sizeof(*cand));
  lp2p_tstamp now = lp2p_host_now(), grace_end;
  if (!cand) {
    /* soon again, not only at the next connection, which may not come */
    arm_trim(h, now + CONNMGR_TRIM_RETRY, now);
    return;
  }
  size_t n = collect(h, cand, open, now, &grace_end);
  qsort(cand, n, sizeof(*cand), compare_candidates);
  size_t closed = 0;
  for (; closed < n && closed < excess; closed++) {
    h->stats.trimmed++;
    lp2p__conn_fail(cand[closed].conn, LP2P_DISCONNECT_TRIMMED, 0,
                    "trimmed: %zu connections, high water %u", open, high);
  }
  lp2p_free(h->mem, cand);
  /* still above high water: again when the next grace period ends */
  if (open - closed > high && grace_end != LP2P_TSTAMP_NEVER) {
    arm_trim(h, grace_end, now);
  }
}

static void on_trim_timer(uv_timer_t *t) {
  trim(t->data);
}

void lp2p__connmgr_conn_ready(lp2p_conn *c) {
  lp2p_host *h = c->host;
  lp2p__connmgr_handshake_over(c);
  c->ready_at = lp2p_host_now();
  uint32_t high = h->settings.conns_high_water;
  if (high != 0 && h->nready > high) {
    arm_trim(h, 0, 0); /* from the loop, not inside this connection */
  }
}

/* ---- statistics --------------------------------------------------------- */

void lp2p_host_get_stats(const lp2p_host *h, lp2p_host_stats *st) {
  *st = h->stats;
  st->conns = h->nconns;
  st->conns_inbound = h->ninbound;
  st->handshakes = h->nhandshakes;
  st->conns_upgraded = h->nready;
  for (const lp2p_conn *c = h->conns; c; c = c->next) {
    lp2p__conn_services_count(c, st);
  }
}
