/* Many QUIC connections behind one UDP socket (net/quic_endpoint.h), as
 * ngtcp2's example server routes them. Pinned to ngtcp2 0.12 like
 * net/quic.c.
 *
 * Bounds: at most max_connections connections, each with at most
 * MAX_CIDS ids in the routing table; max_queued replies. Nothing that
 * runs per datagram scans the connections: _expiry is the top of a heap
 * of their deadlines, _pull takes from a queue of the connections with
 * something to send, and a connection is found from its lp2p__quic in a
 * table (with 2,000 connections, scans per datagram took the listener's
 * CPU and delayed answers past the peers' stream negotiation deadlines).
 * Only a client's first Initial from a non-loopback source (the per-address
 * handshake count) and an unknown short header probing for a stateless
 * reset (rate limited) look at every connection. */
#include "net/quic_endpoint.h"

#include <stddef.h>
#include <string.h>

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "base/heap.h"
#include "base/map.h"
#include "base/mem.h"
#include "base/u64map.h"
#include "crypto/tlslib.h"

/* ngtcp2 keeps at most 8 ids per connection; one more for a server's
 * client-chosen first id, one spare. */
#define MAX_CIDS 10u
/* A Version Negotiation echoes ids of up to 255 bytes each. */
#define REPLY_MAX 600u
/* RFC 9000 14.1: a client's first datagram is at least 1200 bytes; only
 * such datagrams get a Version Negotiation (6.1). */
#define MIN_INITIAL_DATAGRAM 1200u
#define SECRET_LEN 32u
#define MAX_SECRET_LEN 64u
/* RFC 9000 20.1 */
#define CONNECTION_REFUSED 0x2u
#define INVALID_TOKEN 0xbu
/* A stateless reset is 1 byte, at least 4 more unpredictable ones and
 * the 16-byte token (RFC 9000 10.3), and smaller than what it answers. */
#define MIN_RESET_LEN                                                          \
  (NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN)
/* Above 43 bytes a reset need not mirror the packet's length (10.3). */
#define RESET_MIRROR_MAX 43u
/* Connections with one peer address that an unknown short header is
 * offered to, as a possible stateless reset. */
#define RESET_PROBES 4u
#define RESET_RAND_MAX                                                         \
  (NGTCP2_MAX_CIDLEN + 22u - NGTCP2_STATELESS_RESET_TOKENLEN)

typedef struct econn {
  lp2p__quic *q;
  void *user;
  lp2p__quic_cid cids[MAX_CIDS];
  bool mapped[MAX_CIDS]; /* this id routes here (not another's) */
  size_t ncids;
  bool inbound;
  bool established;
  bool ended;
  /* In the endpoint's send queue: something happened to it, so it may have
   * datagrams to send (_pull asks only these, in turn). */
  bool active;
  struct econn *send_prev, *send_next;
  lp2p_heap_item timer; /* keyed by its next deadline, in ep->timers */
  size_t slot;          /* its index in ep->conns */
  lp2p_tstamp release_at;
  /* Our CONNECTION_CLOSE, repeated to late packets (RFC 9000 10.2.1). */
  uint8_t *close;
  size_t close_len;
  uint32_t closing_recv; /* packets that came while closing */
  bool resend;           /* the close goes out at the next _pull */
  /* A tombstone (q NULL): an inbound connection that ended before its
   * handshake did, freed at once; what is left routes its ids to
   * nothing for its closing period. Its peer: */
  lp2p__quic_addr peer;
  uint32_t peer_len;
} econn;

typedef struct reply {
  uint8_t data[REPLY_MAX];
  size_t len;
  lp2p__quic_addr to;
  uint32_t to_len;
} reply;

struct lp2p__quic_endpoint {
  const lp2p_mem *mem;
  lp2p__quic_endpoint_settings set;
  lp2p__quic_endpoint_callbacks cb;
  void *user;
  lp2p_privkey identity;
  /* Every connection presents it (as go-libp2p's transport makes its
   * certificate once): a connection costs no key generation. */
  lp2p_tls_cert *cert;
  lp2p__quic_addr local;
  uint32_t local_len;
  uint8_t secret[MAX_SECRET_LEN];
  econn **conns; /* max_connections live ones, max_handshakes tombstones */
  size_t nconns;
  size_t ntombs;
  econn *send_head, *send_tail; /* the active ones, in turn */
  lp2p_heap timers;             /* every connection, by its next deadline */
  lp2p_u64map by_quic;          /* quic_key(q) -> its econn */
  size_t handshakes;
  lp2p_map cids; /* id bytes -> econn (keys live in econn.cids) */
  reply *replies;
  size_t rhead, rcount;
  uint32_t reset_tokens;
  lp2p_tstamp reset_refilled;
  lp2p__quic_endpoint_stats stats;
};

/* ---- addresses ----------------------------------------------------------- */

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b) {
  if (a->sa_family != b->sa_family) {
    return false;
  }
  if (a->sa_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port &&
           x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return x->sin6_port == y->sin6_port &&
         memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* ---- the routing table --------------------------------------------------- */

static void unmap_cids(lp2p__quic_endpoint *ep, econn *c) {
  for (size_t i = 0; i < c->ncids; i++) {
    if (c->mapped[i]) {
      (void)lp2p_map_remove(&ep->cids, c->cids[i].data, c->cids[i].len);
      c->mapped[i] = false;
    }
  }
  c->ncids = 0;
}

/* Routes c->cids; on failure none of them (the next sync tries again). */
static int map_cids(lp2p__quic_endpoint *ep, econn *c) {
  for (size_t i = 0; i < c->ncids; i++) {
    lp2p__quic_cid *id = &c->cids[i];
    if (id->len == 0) {
      continue; /* not written: more ids than lp2p__quic_cids lists */
    }
    econn *owner = lp2p_map_get(&ep->cids, id->data, id->len);
    if (owner && owner != c) {
      ep->stats.cid_collision++; /* first come keeps it */
      continue;
    }
    if (lp2p_map_put(&ep->cids, id->data, id->len, c) != 0) {
      unmap_cids(ep, c);
      return LP2P_ERR_NOMEM;
    }
    c->mapped[i] = true;
  }
  return 0;
}

/* Routes exactly the ids the connection has now: every id it issued or
 * the peer retired since the last call is added or removed. */
static int sync_cids(lp2p__quic_endpoint *ep, econn *c) {
  lp2p__quic_cid ids[MAX_CIDS];
  memset(ids, 0, sizeof(ids));
  size_t all = lp2p__quic_cids(c->q, ids, MAX_CIDS);
  size_t n = all < MAX_CIDS ? all : MAX_CIDS;
  if (n == c->ncids && memcmp(ids, c->cids, n * sizeof(ids[0])) == 0) {
    return 0;
  }
  ep->stats.cid_overflow += all - n; /* counted when the ids change */
  unmap_cids(ep, c);
  memcpy(c->cids, ids, n * sizeof(ids[0]));
  c->ncids = n;
  return map_cids(ep, c);
}

static econn *lookup(const lp2p__quic_endpoint *ep, const uint8_t *cid,
                     size_t len) {
  return len > 0 ? lp2p_map_get(&ep->cids, cid, len) : NULL;
}

/* ---- connections --------------------------------------------------------- */

/* Pointers are aligned and close together: multiplied by an odd
 * constant (a bijection, never 0 for a non-NULL q) they spread over the
 * table as u64map wants its keys. */
static uint64_t quic_key(const lp2p__quic *q) {
  return (uint64_t)(uintptr_t)q * 0x9e3779b97f4a7c15u;
}

/* Puts `c` in the queue _pull serves, at its end, unless it is there. */
static void want_send(lp2p__quic_endpoint *ep, econn *c) {
  if (c->active) {
    return;
  }
  c->active = true;
  c->send_next = NULL;
  c->send_prev = ep->send_tail;
  if (ep->send_tail) {
    ep->send_tail->send_next = c;
  } else {
    ep->send_head = c;
  }
  ep->send_tail = c;
}

static void sent_all(lp2p__quic_endpoint *ep, econn *c) {
  if (!c->active) {
    return;
  }
  c->active = false;
  if (c->send_prev) {
    c->send_prev->send_next = c->send_next;
  } else {
    ep->send_head = c->send_next;
  }
  if (c->send_next) {
    c->send_next->send_prev = c->send_prev;
  } else {
    ep->send_tail = c->send_prev;
  }
  c->send_prev = c->send_next = NULL;
}

/* Re-keys `c` in the timer heap after a call on it: its deadline is its
 * release once ended, else its connection's. */
static void retime(lp2p__quic_endpoint *ep, econn *c) {
  lp2p_tstamp t = c->ended ? c->release_at
                  : c->q   ? lp2p__quic_expiry(c->q)
                           : LP2P_TSTAMP_NEVER;
  lp2p_heap_update(&ep->timers, &c->timer, t);
}

/* Takes in what the last call on `c` changed: its ids, the handshake
 * count, and its end (its ids stay routed, to nothing, for three PTOs:
 * RFC 9000 10.2). */
static int take_in(lp2p__quic_endpoint *ep, econn *c, lp2p_tstamp now) {
  if (c->ended) {
    return 0;
  }
  want_send(ep, c); /* the call may have left datagrams to send */
  if (!c->established && lp2p__quic_is_established(c->q)) {
    c->established = true;
    ep->handshakes -= c->inbound ? 1 : 0;
  }
  if (lp2p__quic_is_ended(c->q)) {
    c->ended = true;
    ep->handshakes -= c->inbound && !c->established ? 1 : 0;
    c->release_at = now + 3 * lp2p__quic_pto(c->q);
    return 0;
  }
  return sync_cids(ep, c);
}

static int after_call(lp2p__quic_endpoint *ep, econn *c, lp2p_tstamp now) {
  int rv = take_in(ep, c, now);
  retime(ep, c);
  return rv;
}

/* Takes `c` out of the endpoint's tables (ids aside). */
static void forget(lp2p__quic_endpoint *ep, econn *c) {
  sent_all(ep, c);
  if (lp2p_heap_contains(&c->timer)) {
    lp2p_heap_remove(&ep->timers, &c->timer);
  }
  if (c->q) {
    (void)lp2p_u64map_remove(&ep->by_quic, quic_key(c->q));
  }
  ep->conns[c->slot] = ep->conns[--ep->nconns];
  ep->conns[c->slot]->slot = c->slot;
}

static void release(lp2p__quic_endpoint *ep, econn *c) {
  unmap_cids(ep, c);
  forget(ep, c);
  if (!c->ended && c->inbound && !c->established) {
    ep->handshakes--;
  }
  if (!c->q) {
    ep->ntombs--; /* `released` ran when it became one */
  } else if (ep->cb.released) {
    ep->cb.released(ep, c->q, c->user, ep->user);
  }
  lp2p__quic_del(c->q);
  lp2p_free(ep->mem, c->close);
  lp2p_free(ep->mem, c);
}

/* Keeps our CONNECTION_CLOSE to repeat it (none if memory is short: late
 * packets are then only dropped). */
static void keep_close(lp2p__quic_endpoint *ep, econn *c, const uint8_t *pkt,
                       size_t len) {
  if (c->close || len == 0) {
    return;
  }
  c->close = lp2p_malloc(ep->mem, len);
  if (c->close) {
    memcpy(c->close, pkt, len);
    c->close_len = len;
  }
}

/* An inbound connection that ended before its handshake completed costs
 * a peer one Initial: its state (TLS, ngtcp2, some 145 KiB) goes at once
 * and only its ids and CONNECTION_CLOSE stay for the closing period,
 * without counting against max_connections. */
static void entomb(lp2p__quic_endpoint *ep, econn *c, lp2p_tstamp now) {
  if (ep->ntombs >= ep->set.max_handshakes) {
    ep->stats.tomb_overflow++;
    c->release_at = now; /* released whole at the next _handle_expiry */
    retime(ep, c);
    return;
  }
  const uint8_t *out;
  ssize_t n = lp2p__quic_pull(c->q, &out, now); /* the close, if any */
  sent_all(ep, c);
  if (n > 0) {
    keep_close(ep, c, out, (size_t)n);
    c->resend = c->close != NULL; /* sent by the next _pull */
    if (c->resend) {
      want_send(ep, c);
    }
  }
  uint32_t alen;
  const struct sockaddr *peer = lp2p__quic_peer_addr(c->q, &alen);
  (void)lp2p__quic_addr_copy(&c->peer, &c->peer_len, peer, alen);
  if (ep->cb.released) {
    ep->cb.released(ep, c->q, c->user, ep->user);
  }
  (void)lp2p_u64map_remove(&ep->by_quic, quic_key(c->q));
  lp2p__quic_del(c->q);
  c->q = NULL;
  c->user = NULL;
  ep->ntombs++;
  ep->stats.tombstones++;
}

static void entomb_if_never_established(lp2p__quic_endpoint *ep, econn *c,
                                        lp2p_tstamp now) {
  if (c->q && c->ended && c->inbound && !c->established) {
    entomb(ep, c, now);
  }
}

/* Connections held, tombstones aside. */
static size_t live_conns(const lp2p__quic_endpoint *ep) {
  return ep->nconns - ep->ntombs;
}

static econn *conn_alloc(lp2p__quic_endpoint *ep, void *user, bool inbound) {
  econn *c = lp2p_calloc(ep->mem, 1, sizeof(*c));
  if (c) {
    c->user = user;
    c->inbound = inbound;
    lp2p_heap_item_init(&c->timer);
  }
  return c;
}

/* Holds `c` (its lp2p__quic made) and routes its ids; on failure frees
 * it without callbacks. */
static int conn_add(lp2p__quic_endpoint *ep, econn *c, lp2p_tstamp now) {
  c->slot = ep->nconns;
  ep->conns[ep->nconns++] = c;
  ep->handshakes += c->inbound ? 1 : 0;
  int rv = lp2p_heap_push(&ep->timers, &c->timer);
  if (rv == 0) {
    rv = lp2p_u64map_put(&ep->by_quic, quic_key(c->q), c);
  }
  if (rv == 0 && after_call(ep, c, now) == 0) {
    return 0;
  }
  /* only a table's failure: a new connection is still handshaking */
  unmap_cids(ep, c);
  forget(ep, c);
  ep->handshakes -= c->inbound && !c->ended ? 1 : 0;
  lp2p__quic_del(c->q);
  lp2p_free(ep->mem, c);
  return LP2P_ERR_NOMEM;
}

int lp2p__quic_endpoint_connect(lp2p__quic_endpoint *ep,
                                const struct sockaddr *remote,
                                uint32_t remote_len, const lp2p_peer_id *peer,
                                void *conn_user, lp2p_tstamp now,
                                lp2p__quic **out) {
  *out = NULL;
  if (live_conns(ep) >= ep->set.max_connections) {
    return LP2P_ERR_TOO_LARGE;
  }
  econn *c = conn_alloc(ep, conn_user, false);
  if (!c) {
    return LP2P_ERR_NOMEM;
  }
  lp2p__quic_settings s = ep->set.conn;
  s.remote_peer_id = peer;
  int rv = lp2p__quic_client_new(&c->q, &s, &ep->identity, &ep->local.sa,
                                 ep->local_len, remote, remote_len,
                                 &ep->cb.conn, ep->mem, conn_user, now);
  if (rv != 0) {
    lp2p_free(ep->mem, c);
    return rv;
  }
  lp2p__quic *q = c->q;
  rv = conn_add(ep, c, now);
  *out = rv == 0 ? q : NULL;
  return rv;
}

/* ---- replies without a connection --------------------------------------- */

static reply *reply_slot(lp2p__quic_endpoint *ep, const struct sockaddr *to,
                         uint32_t to_len) {
  if (ep->rcount == ep->set.max_queued) {
    ep->stats.queue_full++;
    return NULL;
  }
  reply *r = &ep->replies[(ep->rhead + ep->rcount) % ep->set.max_queued];
  (void)lp2p__quic_addr_copy(&r->to, &r->to_len, to,
                             to_len); /* checked by _recv */
  r->len = 0;
  return r;
}

static void reply_commit(lp2p__quic_endpoint *ep, reply *r, ngtcp2_ssize n) {
  if (n > 0) {
    r->len = (size_t)n;
    ep->rcount++;
  }
}

static void send_version_negotiation(lp2p__quic_endpoint *ep,
                                     const ngtcp2_version_cid *vc, size_t len,
                                     const struct sockaddr *from,
                                     uint32_t from_len) {
  if (len < MIN_INITIAL_DATAGRAM) {
    ep->stats.vn_too_small++;
    return;
  }
  reply *r = reply_slot(ep, from, from_len);
  if (!r) {
    return;
  }
  static const uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  uint8_t unused;
  ep->set.conn.rand_fn(&unused, 1, ep->set.conn.rand_user);
  /* the client's source id is our destination and the other way round */
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(
      r->data, sizeof(r->data), unused, vc->scid, vc->scidlen, vc->dcid,
      vc->dcidlen, versions, 1);
  ep->stats.version_negotiations += n > 0 ? 1 : 0;
  reply_commit(ep, r, n);
}

/* A token bucket: resets_per_second, bursts of as many. */
static bool reset_allowed(lp2p__quic_endpoint *ep, lp2p_tstamp now) {
  uint32_t rate = ep->set.resets_per_second;
  lp2p_tstamp elapsed = now > ep->reset_refilled ? now - ep->reset_refilled : 0;
  if (elapsed >= LP2P_SECONDS) {
    ep->reset_tokens = rate;
    ep->reset_refilled = now;
  } else {
    lp2p_tstamp add = elapsed * rate / LP2P_SECONDS;
    if (add > 0) {
      ep->reset_tokens =
          (uint32_t)(ep->reset_tokens + add > rate ? rate
                                                   : ep->reset_tokens + add);
      ep->reset_refilled += add * LP2P_SECONDS / rate;
    }
  }
  if (ep->reset_tokens == 0) {
    return false;
  }
  ep->reset_tokens--;
  return true;
}

/* RFC 9000 10.3: smaller than the packet it answers (by one byte up to
 * 43 bytes, as ngtcp2's example server), never for a packet too short
 * to be answered that way (the caller rate limits it). */
static void send_stateless_reset(lp2p__quic_endpoint *ep, size_t len,
                                 const uint8_t *dcid, size_t dcidlen,
                                 const struct sockaddr *from,
                                 uint32_t from_len) {
  if (len <= MIN_RESET_LEN) {
    ep->stats.reset_too_small++;
    return;
  }
  ngtcp2_cid cid;
  ngtcp2_cid_init(&cid, dcid, dcidlen);
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
  if (ngtcp2_crypto_generate_stateless_reset_token(
          token, ep->secret, ep->set.reset_secret_len, &cid) != 0) {
    return;
  }
  reply *r = reply_slot(ep, from, from_len);
  if (!r) {
    return;
  }
  size_t randlen = len <= RESET_MIRROR_MAX
                       ? len - 1 - NGTCP2_STATELESS_RESET_TOKENLEN
                       : RESET_RAND_MAX;
  uint8_t rnd[RESET_RAND_MAX];
  ep->set.conn.rand_fn(rnd, randlen, ep->set.conn.rand_user);
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(r->data, sizeof(r->data),
                                                    token, rnd, randlen);
  ep->stats.stateless_resets += n > 0 ? 1 : 0;
  reply_commit(ep, r, n);
}

/* Refuses a client's Initial with `code`, keeping no state. */
static void refuse(lp2p__quic_endpoint *ep, const ngtcp2_pkt_hd *hd,
                   uint64_t code, const struct sockaddr *from,
                   uint32_t from_len) {
  reply *r = reply_slot(ep, from, from_len);
  if (r) {
    reply_commit(ep, r,
                 ngtcp2_crypto_write_connection_close(
                     r->data, sizeof(r->data), hd->version, &hd->scid,
                     &hd->dcid, code, NULL, 0));
  }
}

/* A Retry whose token binds the client's address and first id (with the
 * endpoint's secret, as ngtcp2's example server). */
static void send_retry(lp2p__quic_endpoint *ep, const ngtcp2_pkt_hd *hd,
                       const struct sockaddr *from, uint32_t from_len,
                       lp2p_tstamp now) {
  ngtcp2_cid scid = {.datalen = LP2P__QUIC_CID_LEN};
  ep->set.conn.rand_fn(scid.data, scid.datalen, ep->set.conn.rand_user);
  uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
  ngtcp2_ssize tlen = ngtcp2_crypto_generate_retry_token(
      token, ep->secret, ep->set.reset_secret_len, hd->version, from, from_len,
      &scid, &hd->dcid, now);
  reply *r = tlen > 0 ? reply_slot(ep, from, from_len) : NULL;
  if (r) {
    ngtcp2_ssize n = ngtcp2_crypto_write_retry(r->data, sizeof(r->data),
                                               hd->version, &hd->scid, &scid,
                                               &hd->dcid, token, (size_t)tlen);
    ep->stats.retries += n > 0 ? 1 : 0;
    reply_commit(ep, r, n);
  }
}

/* With a Retry wanted: 1 when the Initial carries a good Retry token
 * (`*odcid` is then the client's first id), 0 when a Retry went out,
 * -1 when it was refused. */
static int check_retry(lp2p__quic_endpoint *ep, const ngtcp2_pkt_hd *hd,
                       const struct sockaddr *from, uint32_t from_len,
                       lp2p_tstamp now, lp2p__quic_cid *odcid) {
  if (hd->token.len == 0 ||
      hd->token.base[0] != NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
    send_retry(ep, hd, from, from_len, now);
    return 0;
  }
  ngtcp2_cid id;
  if (ngtcp2_crypto_verify_retry_token(&id, hd->token.base, hd->token.len,
                                       ep->secret, ep->set.reset_secret_len,
                                       hd->version, from, from_len, &hd->dcid,
                                       ep->set.retry_token_timeout, now) != 0) {
    ep->stats.bad_retry_token++;
    refuse(ep, hd, INVALID_TOKEN, from, from_len);
    return -1;
  }
  odcid->len = (uint8_t)id.datalen;
  memcpy(odcid->data, id.data, id.datalen);
  return 1;
}

/* ---- datagrams in -------------------------------------------------------- */

/* A stateless reset carries no id of ours (its "destination id" is
 * random), so an unknown short header from an address we have
 * connections with is offered to them, at most RESET_PROBES, and ngtcp2
 * checks it against the reset tokens the peer gave; as quic-go's shared
 * socket checks unknown packets against its peers' reset tokens. Returns
 * whether one of them took it as its reset (and ended). */
static bool peer_reset(lp2p__quic_endpoint *ep, const uint8_t *pkt, size_t len,
                       const struct sockaddr *from, uint32_t from_len,
                       lp2p_tstamp now) {
  if (len < MIN_RESET_LEN) {
    return false;
  }
  size_t probes = 0;
  for (size_t i = 0; i < ep->nconns && probes < RESET_PROBES; i++) {
    econn *c = ep->conns[i];
    uint32_t alen;
    if (c->ended || !same_addr(lp2p__quic_peer_addr(c->q, &alen), from)) {
      continue;
    }
    probes++;
    (void)lp2p__quic_recv(c->q, pkt, len, from, from_len, now);
    (void)after_call(ep, c, now);
    if (c->ended) {
      ep->stats.resets_received++;
      return true;
    }
  }
  return false;
}

/* Which limit, if any, refuses one more inbound connection. */
static uint64_t *over_limit(lp2p__quic_endpoint *ep) {
  if (live_conns(ep) + ep->set.reserved_outbound >= ep->set.max_connections) {
    return &ep->stats.refused_conns;
  }
  if (ep->handshakes >= ep->set.max_handshakes) {
    return &ep->stats.refused_handshakes;
  }
  return NULL;
}

/* The same IPv4 address, or the same IPv6 /64 (one host's usual share),
 * ports aside. */
static bool same_source(const struct sockaddr *a, const struct sockaddr *b) {
  if (a->sa_family != b->sa_family) {
    return false;
  }
  if (a->sa_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return memcmp(&x->sin6_addr, &y->sin6_addr, 8) == 0;
}

static size_t handshakes_from(const lp2p__quic_endpoint *ep,
                              const struct sockaddr *from) {
  size_t n = 0;
  for (size_t i = 0; i < ep->nconns; i++) {
    const econn *c = ep->conns[i];
    uint32_t alen;
    n += c->q && c->inbound && !c->established && !c->ended &&
         same_source(lp2p__quic_peer_addr(c->q, &alen), from);
  }
  return n;
}

static bool is_loopback(const struct sockaddr *sa) {
  static const uint8_t v6_loopback[16] = {[15] = 1};
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *v4 = (const void *)sa;
    return ((const uint8_t *)&v4->sin_addr)[0] == 127;
  }
  const struct sockaddr_in6 *v6 = (const void *)sa;
  return memcmp(&v6->sin6_addr, v6_loopback, 16) == 0;
}

static bool over_addr_cap(const lp2p__quic_endpoint *ep,
                          const struct sockaddr *from) {
  if (!ep->set.limit_loopback && is_loopback(from)) {
    return false;
  }
  return handshakes_from(ep, from) >= ep->set.max_handshakes_per_addr;
}

/* A Retry first: always with require_retry, else once half the
 * handshake slots are taken (as quic-go validates addresses when its
 * handshake queue fills), and whenever the client brings a token (it
 * expects its Retry's ids in our transport parameters). */
static bool wants_retry(const lp2p__quic_endpoint *ep,
                        const ngtcp2_pkt_hd *hd) {
  return ep->set.require_retry ||
         ep->handshakes >= (ep->set.max_handshakes + 1) / 2 ||
         (hd->token.len > 0 &&
          hd->token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY);
}

static int accept_initial(lp2p__quic_endpoint *ep, const uint8_t *pkt,
                          size_t len, const struct sockaddr *from,
                          uint32_t from_len, lp2p_tstamp now) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, pkt, len) != 0) {
    ep->stats.unknown_long++;
    return 0;
  }
  uint64_t *refused = over_limit(ep);
  if (refused) {
    (*refused)++;
    refuse(ep, &hd, CONNECTION_REFUSED, from, from_len);
    return 0;
  }
  if (over_addr_cap(ep, from)) {
    ep->stats.refused_per_addr++; /* no reply: the source may be spoofed */
    return 0;
  }
  lp2p__quic_settings cs = ep->set.conn;
  lp2p__quic_cid odcid;
  if (wants_retry(ep, &hd)) {
    int rv = check_retry(ep, &hd, from, from_len, now, &odcid);
    if (rv <= 0) {
      return 0;
    }
    cs.retry_original_dcid = &odcid;
  }
  void *user = NULL;
  if (ep->cb.incoming &&
      ep->cb.incoming(ep, from, from_len, &user, ep->user) != 0) {
    ep->stats.refused_by_host++;
    refuse(ep, &hd, CONNECTION_REFUSED, from, from_len);
    return 0;
  }
  econn *c = conn_alloc(ep, user, true);
  int rv = c ? lp2p__quic_server_new(&c->q, &cs, &ep->identity, &ep->local.sa,
                                     ep->local_len, from, from_len, pkt, len,
                                     &ep->cb.conn, ep->mem, user, now)
             : LP2P_ERR_NOMEM;
  if (rv != 0) {
    lp2p_free(ep->mem, c);
  } else {
    rv = conn_add(ep, c, now);
  }
  if (rv != 0) {
    ep->stats.accept_failed++;
    if (ep->cb.released) { /* the host's user state goes */
      ep->cb.released(ep, NULL, user, ep->user);
    }
    return rv == LP2P_ERR_NOMEM ? rv : 0;
  }
  ep->stats.accepted++;
  if (ep->cb.accepted) {
    ep->cb.accepted(ep, c->q, user, ep->user);
  }
  return 0;
}

/* RFC 9000 10.2.1: a packet for a closing connection gets our
 * CONNECTION_CLOSE again, on the 1st, 2nd, 4th, 8th... such packet (as
 * ngtcp2's example server), so that a peer that lost it learns the end
 * and a flood draws few answers. */
static void closing_packet(lp2p__quic_endpoint *ep, econn *c) {
  ep->stats.closing++;
  c->closing_recv++;
  if (c->close && (c->closing_recv & (c->closing_recv - 1)) == 0) {
    c->resend = true;
    want_send(ep, c);
    ep->stats.closes_repeated++;
  }
}

static int route(lp2p__quic_endpoint *ep, econn *c, const uint8_t *pkt,
                 size_t len, const struct sockaddr *from, uint32_t from_len,
                 lp2p_tstamp now) {
  if (c->ended) {
    closing_packet(ep, c);
    return 0;
  }
  ep->stats.routed++;
  (void)lp2p__quic_recv(c->q, pkt, len, from, from_len, now); /* closed told */
  int rv = after_call(ep, c, now);
  entomb_if_never_established(ep, c, now);
  return rv;
}

int lp2p__quic_endpoint_recv(lp2p__quic_endpoint *ep, const uint8_t *pkt,
                             size_t len, const struct sockaddr *from,
                             uint32_t from_len, lp2p_tstamp now) {
  lp2p__quic_addr check;
  uint32_t check_len;
  if (lp2p__quic_addr_copy(&check, &check_len, from, from_len) != 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  if (len == 0) { /* UDP allows it; ngtcp2 asserts against it */
    ep->stats.malformed++;
    return 0;
  }
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, pkt, len, LP2P__QUIC_CID_LEN);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    send_version_negotiation(ep, &vc, len, from, from_len);
    return 0;
  }
  if (rv != 0) {
    ep->stats.malformed++;
    return 0;
  }
  econn *c = lookup(ep, vc.dcid, vc.dcidlen);
  if (c) {
    return route(ep, c, pkt, len, from, from_len, now);
  }
  if ((pkt[0] & 0x80) == 0) {
    /* one token buys both the probes (a scan) and our reset */
    if (!reset_allowed(ep, now)) {
      ep->stats.reset_rate_limited++;
      return 0;
    }
    if (peer_reset(ep, pkt, len, from, from_len, now)) {
      return 0;
    }
    send_stateless_reset(ep, len, vc.dcid, vc.dcidlen, from, from_len);
    return 0;
  }
  if (vc.version == 0) { /* a Version Negotiation for nobody */
    ep->stats.unknown_long++;
    return 0;
  }
  if (vc.version != NGTCP2_PROTO_VER_V1) { /* one ngtcp2 knows, we do not */
    send_version_negotiation(ep, &vc, len, from, from_len);
    return 0;
  }
  return accept_initial(ep, pkt, len, from, from_len, now);
}

/* ---- datagrams out and time ---------------------------------------------- */

/* One datagram of `c`'s: a repeated close, or what its lp2p__quic has. */
static ssize_t pull_conn(lp2p__quic_endpoint *ep, econn *c, const uint8_t **out,
                         const struct sockaddr **to, uint32_t *to_len,
                         lp2p_tstamp now) {
  if (c->resend) {
    c->resend = false;
    *out = c->close;
    *to = c->q ? lp2p__quic_peer_addr(c->q, to_len) : &c->peer.sa;
    *to_len = c->q ? *to_len : c->peer_len;
    return (ssize_t)c->close_len;
  }
  if (!c->q) {
    return 0;
  }
  bool was_ended = c->ended;
  ssize_t n = lp2p__quic_pull(c->q, out, now);
  (void)after_call(ep, c, now); /* an id table failure: next call */
  if (n > 0 && was_ended) {
    keep_close(ep, c, *out, (size_t)n); /* its CONNECTION_CLOSE */
  }
  *to = lp2p__quic_peer_addr(c->q, to_len);
  return n;
}

ssize_t lp2p__quic_endpoint_pull(lp2p__quic_endpoint *ep, const uint8_t **out,
                                 const struct sockaddr **to, uint32_t *to_len,
                                 lp2p_tstamp now) {
  if (ep->rcount > 0) {
    reply *r = &ep->replies[ep->rhead];
    ep->rhead = (ep->rhead + 1) % ep->set.max_queued;
    ep->rcount--;
    *out = r->data;
    *to = &r->to.sa;
    *to_len = r->to_len;
    return (ssize_t)r->len;
  }
  econn *c;
  while ((c = ep->send_head) != NULL) {
    ssize_t n = pull_conn(ep, c, out, to, to_len, now);
    sent_all(ep, c);
    if (n > 0) {
      want_send(ep, c); /* the next datagram is another's turn */
      return n;
    }
  }
  return 0;
}

lp2p_tstamp lp2p__quic_endpoint_expiry(const lp2p__quic_endpoint *ep) {
  const lp2p_heap_item *top = lp2p_heap_top(&ep->timers);
  return top ? top->key : LP2P_TSTAMP_NEVER;
}

static econn *of_timer(lp2p_heap_item *it) {
  return (econn *)(void *)((char *)it - offsetof(econn, timer));
}

/* A deadline still due after it was handled (a timer the connection did
 * not clear) waits for the next call: one call handles each connection
 * once, whatever its timers do. */
static void retime_after_expiry(lp2p__quic_endpoint *ep, econn *c,
                                lp2p_tstamp now) {
  if (c->timer.key <= now && lp2p_heap_contains(&c->timer)) {
    lp2p_heap_update(&ep->timers, &c->timer, now + 1);
  }
}

int lp2p__quic_endpoint_handle_expiry(lp2p__quic_endpoint *ep,
                                      lp2p_tstamp now) {
  lp2p_heap_item *top;
  while ((top = lp2p_heap_top(&ep->timers)) != NULL && top->key <= now) {
    econn *c = of_timer(top);
    if (c->ended) {
      if (c->release_at <= now) {
        release(ep, c);
      } else {
        retime(ep, c);
      }
      continue;
    }
    (void)lp2p__quic_handle_expiry(c->q, now);
    (void)after_call(ep, c, now);
    entomb_if_never_established(ep, c, now); /* a handshake timeout */
    retime_after_expiry(ep, c, now);
  }
  return 0;
}

/* ---- life ---------------------------------------------------------------- */

void lp2p__quic_endpoint_settings_default(lp2p__quic_endpoint_settings *s) {
  memset(s, 0, sizeof(*s));
  lp2p__quic_settings_default(&s->conn);
  s->max_connections = 1024;
  s->reserved_outbound = 32;
  s->max_handshakes = 128;
  s->max_handshakes_per_addr = 8;
  s->limit_loopback = true;
  s->max_queued = 64;
  s->resets_per_second = 64;
  s->retry_token_timeout = 10 * LP2P_SECONDS;
}

static int check_settings(const lp2p__quic_endpoint_settings *s) {
  if (!s->conn.rand_fn || s->conn.unix_time <= 0 || s->max_connections == 0 ||
      s->reserved_outbound >= s->max_connections ||
      s->max_handshakes_per_addr == 0 || s->max_queued == 0 ||
      s->resets_per_second == 0 ||
      (s->reset_secret &&
       (s->reset_secret_len == 0 || s->reset_secret_len > MAX_SECRET_LEN))) {
    return LP2P_ERR_INVALID_ARG;
  }
  return 0;
}

static void set_secret(lp2p__quic_endpoint *ep,
                       const lp2p__quic_endpoint_settings *s) {
  if (s->reset_secret) {
    memcpy(ep->secret, s->reset_secret, s->reset_secret_len);
  } else {
    s->conn.rand_fn(ep->secret, SECRET_LEN, s->conn.rand_user);
    ep->set.reset_secret_len = SECRET_LEN;
  }
  ep->set.reset_secret = ep->secret;
  ep->set.conn.reset_secret = ep->secret;
  ep->set.conn.reset_secret_len = ep->set.reset_secret_len;
}

int lp2p__quic_endpoint_new(lp2p__quic_endpoint **out,
                            const lp2p__quic_endpoint_settings *s,
                            const lp2p_privkey *identity,
                            const struct sockaddr *local, uint32_t local_len,
                            const lp2p__quic_endpoint_callbacks *cb,
                            const lp2p_mem *mem, void *user) {
  *out = NULL;
  if (!identity || check_settings(s) != 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  lp2p__quic_endpoint *ep = lp2p_calloc(mem, 1, sizeof(*ep));
  if (!ep) {
    return LP2P_ERR_NOMEM;
  }
  ep->mem = mem;
  ep->set = *s;
  if (cb) {
    ep->cb = *cb;
  }
  ep->user = user;
  ep->identity = *identity;
  ep->reset_tokens = s->resets_per_second;
  set_secret(ep, s);
  lp2p_map_init(&ep->cids, mem, s->conn.rand_fn, s->conn.rand_user);
  lp2p_heap_init(&ep->timers, mem);
  lp2p_u64map_init(&ep->by_quic, mem);
  int rv = lp2p__quic_addr_copy(&ep->local, &ep->local_len, local, local_len);
  if (rv == 0) {
    rv = lp2p_tls_cert_new(&ep->cert, identity, s->conn.unix_time,
                           s->conn.rand_fn, s->conn.rand_user);
    ep->set.conn.cert = ep->cert;
  }
  ep->conns = lp2p_calloc(mem, s->max_connections + s->max_handshakes,
                          sizeof(*ep->conns));
  ep->replies = lp2p_calloc(mem, s->max_queued, sizeof(*ep->replies));
  if (rv == 0 && (!ep->conns || !ep->replies)) {
    rv = LP2P_ERR_NOMEM;
  }
  if (rv != 0) {
    lp2p__quic_endpoint_del(ep);
    return rv;
  }
  *out = ep;
  return 0;
}

void lp2p__quic_endpoint_del(lp2p__quic_endpoint *ep) {
  if (!ep) {
    return;
  }
  lp2p_heap_free(&ep->timers); /* it writes into its items: first */
  for (size_t i = 0; i < ep->nconns; i++) {
    lp2p__quic_del(ep->conns[i]->q);
    lp2p_free(ep->mem, ep->conns[i]->close);
    lp2p_free(ep->mem, ep->conns[i]);
  }
  lp2p_map_free(&ep->cids);
  lp2p_u64map_free(&ep->by_quic);
  lp2p_free(ep->mem, ep->conns);
  lp2p_free(ep->mem, ep->replies);
  lp2p_tls_cert_del(ep->cert);
  lp2p_privkey_wipe(&ep->identity);
  memset(ep->secret, 0, sizeof(ep->secret));
  lp2p_free(ep->mem, ep);
}

/* ---- the host's calls on a connection ------------------------------------ */

static econn *find_conn(const lp2p__quic_endpoint *ep, const lp2p__quic *q) {
  return q ? lp2p_u64map_get(&ep->by_quic, quic_key(q)) : NULL;
}

int lp2p__quic_endpoint_wake(lp2p__quic_endpoint *ep, lp2p__quic *q) {
  econn *c = find_conn(ep, q);
  if (!c) {
    return LP2P_ERR_NOT_FOUND;
  }
  want_send(ep, c);
  retime(ep, c); /* a stream call may move its deadline */
  return 0;
}

int lp2p__quic_endpoint_close(lp2p__quic_endpoint *ep, lp2p__quic *q,
                              lp2p_tstamp now) {
  econn *c = find_conn(ep, q);
  if (!c || c->ended) {
    return LP2P_ERR_NOT_FOUND;
  }
  (void)lp2p__quic_close(q, now);
  return after_call(ep, c, now);
}

int lp2p__quic_endpoint_detach(lp2p__quic_endpoint *ep, lp2p__quic *q,
                               lp2p_tstamp now) {
  econn *c = find_conn(ep, q);
  if (!c) {
    return LP2P_ERR_NOT_FOUND;
  }
  c->user = NULL;
  lp2p__quic_set_user(q, NULL);
  if (!c->ended) {
    (void)lp2p__quic_close(q, now);
    (void)after_call(ep, c, now);
  }
  return 0;
}

void lp2p__quic_endpoint_set_unix_time(lp2p__quic_endpoint *ep,
                                       int64_t unix_time) {
  ep->set.conn.unix_time = unix_time;
}

/* ---- queries ------------------------------------------------------------- */

lp2p__quic *lp2p__quic_endpoint_find(const lp2p__quic_endpoint *ep,
                                     const uint8_t *cid, size_t len) {
  const econn *c = lookup(ep, cid, len);
  return c ? c->q : NULL;
}

size_t lp2p__quic_endpoint_count(const lp2p__quic_endpoint *ep) {
  return live_conns(ep);
}

const lp2p__quic_endpoint_stats *
lp2p__quic_endpoint_stats_get(const lp2p__quic_endpoint *ep) {
  return &ep->stats;
}
