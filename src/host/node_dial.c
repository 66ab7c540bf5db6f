/* The node's dials of peers named in PX (a signed peer record, or the
 * address book by id), as go's swarm dials a peer (dial_worker.go): the
 * addresses ranked with a delay each (lp2p__dial_plan_rank), an address
 * dialled once its delay has passed while the dials before it have not
 * connected, the next batch at once when every dial in flight failed,
 * the first connection kept and the other dials cancelled. */
#include <string.h>

#include "base/mem.h"
#include "host/node_internal.h"

/* Dials in flight to one peer: more wait for one of them to fail. The
 * host's max_pending_dials bounds them all. */
#define PX_DIAL_MAX_INFLIGHT 4

struct px_dial {
  lp2p_node *n;
  px_dial *prev, *next; /* n->px_dials */
  lp2p_peer_id peer;
  lp2p_tstamp start;
  size_t inflight;
  size_t next_addr; /* addrs before it were dialled */
  size_t naddrs;
  lp2p__dial_addr addrs[LP2P_DIAL_PLAN_MAX]; /* ranked */
};

static px_dial *px_dial_new(lp2p_node *n, const lp2p_peer_id *peer) {
  px_dial *d = lp2p_calloc(n->mem, 1, sizeof(*d));
  if (d) {
    d->n = n;
    d->peer = *peer;
  }
  return d;
}

static void px_dial_add(px_dial *d, const uint8_t *ma, size_t len) {
  if (lp2p__dial_plan_add(d->addrs, &d->naddrs, &d->peer, ma, len) ==
      LP2P_ERR_TOO_LARGE) {
    d->n->stats.px_addrs_dropped++;
  }
}

static void px_dial_free(px_dial *d) {
  lp2p_node *n = d->n;
  if (d->prev) {
    d->prev->next = d->next;
  } else if (n->px_dials == d) {
    n->px_dials = d->next;
  }
  if (d->next) {
    d->next->prev = d->prev;
  }
  lp2p_free(n->mem, d);
}

static void on_px_dialed(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                         void *user);

/* Dials `d->peer` at `addr` (a multiaddr without /p2p/). Returns whether
 * the dial started. */
static bool dial_at(px_dial *d, const lp2p__dial_addr *addr) {
  lp2p_node *n = d->n;
  uint8_t
      ma[LP2P_ADDRBOOK_ADDR_MAX + 2 * LP2P_UVARINT_MAX_LEN + LP2P_PEER_ID_MAX];
  size_t len = addr->len;
  memcpy(ma, addr->bytes, len);
  len += (size_t)lp2p_uvarint_encode(LP2P_MA_P2P, ma + len, sizeof(ma) - len);
  len += (size_t)lp2p_uvarint_encode(d->peer.len, ma + len, sizeof(ma) - len);
  memcpy(ma + len, d->peer.bytes, d->peer.len);
  len += d->peer.len;
  int rv = lp2p_host_dial(n->host, ma, len, on_px_dialed, d, NULL);
  n->stats.dials += rv == 0;
  d->inflight += rv == 0;
  return rv == 0;
}

/* Dials every address whose turn has come: the next batch (addresses of
 * one delay) once its delay passed, or at once when no dial is in flight
 * (as go: a failed batch does not wait for the next one's delay). */
static void px_dial_advance(px_dial *d, lp2p_tstamp now) {
  while (d->next_addr < d->naddrs && d->inflight < PX_DIAL_MAX_INFLIGHT) {
    lp2p_tstamp batch = d->addrs[d->next_addr].delay;
    if (d->inflight > 0 && d->start + batch > now) {
      return; /* the timer dials it */
    }
    while (d->next_addr < d->naddrs && d->addrs[d->next_addr].delay == batch &&
           d->inflight < PX_DIAL_MAX_INFLIGHT) {
      (void)dial_at(d, &d->addrs[d->next_addr++]);
    }
  }
}

/* When `d` dials next, or UINT64_MAX when it only waits for its dials. */
static lp2p_tstamp px_dial_due(const px_dial *d) {
  if (d->next_addr >= d->naddrs || d->inflight >= PX_DIAL_MAX_INFLIGHT) {
    return UINT64_MAX;
  }
  return d->start + d->addrs[d->next_addr].delay;
}

static void on_dial_timer(uv_timer_t *t);

/* Arms the node's dial timer for the soonest due dial. */
static void arm_dial_timer(lp2p_node *n) {
  lp2p_tstamp due = UINT64_MAX, now = lp2p_host_now();
  for (px_dial *d = n->px_dials; d; d = d->next) {
    lp2p_tstamp t = px_dial_due(d);
    due = t < due ? t : due;
  }
  if (due == UINT64_MAX || n->closing) {
    uv_timer_stop(&n->dial_timer);
    return;
  }
  uint64_t ms =
      due > now ? (due - now + LP2P_MILLISECONDS - 1) / LP2P_MILLISECONDS : 0;
  uv_timer_start(&n->dial_timer, on_dial_timer, ms, 0);
}

/* The peer is connected (by one of our dials, or it dialled us): the
 * other dials are cancelled, as go cancels them once one connects. */
static void px_dial_done(px_dial *d) {
  d->n->stats.dials_cancelled +=
      lp2p_host_dial_cancel(d->n->host, on_px_dialed, d);
  px_dial_free(d);
}

/* Moves `d` on: done when the peer is connected or nothing is left to
 * wait for, else the dials whose turn has come. */
static void px_dial_step(px_dial *d, lp2p_tstamp now) {
  lp2p_node *n = d->n;
  if (n->closing || lp2p_host_conn(n->host, &d->peer)) {
    px_dial_done(d);
    return;
  }
  px_dial_advance(d, now);
  if (d->inflight == 0) {
    px_dial_free(d); /* every address failed */
  }
}

static void on_dial_timer(uv_timer_t *t) {
  lp2p_node *n = t->data;
  lp2p_tstamp now = lp2p_host_now();
  px_dial *next;
  for (px_dial *d = n->px_dials; d; d = next) {
    next = d->next;
    if (px_dial_due(d) <= now) {
      px_dial_step(d, now);
    }
  }
  arm_dial_timer(n);
}

static void on_px_dialed(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                         void *user) {
  (void)h;
  (void)c;
  (void)msg;
  px_dial *d = user;
  lp2p_node *n = d->n;
  d->inflight--;
  n->stats.dials_failed += err != 0;
  px_dial_step(d, lp2p_host_now());
  arm_dial_timer(n);
}

/* Ranks and starts `d` (freed when no dial started). Returns whether one
 * started. */
static bool px_dial_start(px_dial *d) {
  lp2p_node *n = d->n;
  lp2p__dial_plan_rank(d->addrs, d->naddrs);
  d->start = lp2p_host_now();
  px_dial_advance(d, d->start);
  if (d->inflight == 0) {
    px_dial_free(d);
    return false;
  }
  d->next = n->px_dials;
  if (n->px_dials) {
    n->px_dials->prev = d;
  }
  n->px_dials = d;
  arm_dial_timer(n);
  return true;
}

/* Whether a PX dial of `peer` is under way: a second PX entry naming it
 * joins that one, as go's swarm runs one dial worker a peer. */
static bool dialling(const lp2p_node *n, const lp2p_peer_id *peer) {
  for (const px_dial *d = n->px_dials; d; d = d->next) {
    if (lp2p_peer_id_equal(&d->peer, peer)) {
      return true;
    }
  }
  return false;
}

void lp2p__node_dial_record(lp2p_node *n, const lp2p_peer_id *peer,
                            const uint8_t *record, size_t len) {
  lp2p_peer_record rec;
  lp2p_envelope env;
  if (dialling(n, peer) ||
      lp2p_peer_record_open(record, len, &rec, &env) != 0 ||
      !lp2p_peer_id_equal(&rec.peer_id, peer)) {
    return;
  }
  px_dial *d = px_dial_new(n, peer);
  if (!d) {
    return;
  }
  for (size_t i = 0; i < rec.naddrs; i++) {
    px_dial_add(d, rec.addrs[i].bytes, rec.addrs[i].len);
  }
  (void)px_dial_start(d);
}

bool lp2p__node_dial_from_book(lp2p_node *n, const lp2p_peer_id *peer) {
  if (dialling(n, peer)) {
    return true;
  }
  size_t naddrs;
  const lp2p__addrbook_addr *a =
      lp2p__addrbook_lookup(&n->addrbook, peer, lp2p_host_now(), &naddrs);
  px_dial *d = naddrs > 0 ? px_dial_new(n, peer) : NULL;
  if (!d) {
    return false;
  }
  for (size_t i = 0; i < naddrs; i++) {
    px_dial_add(d, a[i].bytes, a[i].len);
  }
  return px_dial_start(d);
}

void lp2p__node_dials_close(lp2p_node *n) {
  while (n->px_dials) {
    px_dial_done(n->px_dials);
  }
  uv_close((uv_handle_t *)&n->dial_timer, NULL);
}
