/* The node's address book (addrbook.h): a flat array of peers, searched
 * linearly (at most 1,024, looked up once per PX entry and written once per
 * identify or dial), each with a few fixed-size addresses. */
#include "host/addrbook.h"

#include <string.h>

#include "base/mem.h"
#include "lp2p/multiformats.h"

typedef enum ip_scope {
  SCOPE_UNSPECIFIED,
  SCOPE_LOOPBACK,
  SCOPE_PRIVATE,
  SCOPE_PUBLIC
} ip_scope;

/* A multiaddr the host dials: its ip and port (tcp or udp) components,
 * whether it is QUIC v1, the length of the /ip/A/tcp/P or
 * /ip/A/udp/P/quic-v1 part and the /p2p/ peer if any. */
typedef struct dialable {
  lp2p_ma_component ip, port;
  bool quic;
  size_t host_len;
  bool has_peer;
  lp2p_peer_id peer;
} dialable;

/* The transport after the ip component: /tcp/P, or /udp/P/quic-v1. */
static int parse_transport(const uint8_t *ma, size_t len, size_t *off,
                           dialable *d) {
  lp2p_ma_component quic;
  if (lp2p_multiaddr_next(ma, len, off, &d->port, NULL) != 1) {
    return LP2P_ERR_UNSUPPORTED;
  }
  if (d->port.code == LP2P_MA_TCP) {
    return 0;
  }
  d->quic = true;
  return d->port.code == LP2P_MA_UDP &&
                 lp2p_multiaddr_next(ma, len, off, &quic, NULL) == 1 &&
                 quic.code == LP2P_MA_QUIC_V1
             ? 0
             : LP2P_ERR_UNSUPPORTED;
}

static int parse(const uint8_t *ma, size_t len, dialable *d) {
  size_t off = 0;
  lp2p_ma_component p2p;
  memset(d, 0, sizeof(*d));
  if (lp2p_multiaddr_next(ma, len, &off, &d->ip, NULL) != 1 ||
      (d->ip.code != LP2P_MA_IP4 && d->ip.code != LP2P_MA_IP6) ||
      parse_transport(ma, len, &off, d) != 0) {
    return LP2P_ERR_UNSUPPORTED;
  }
  d->host_len = off;
  int rv = lp2p_multiaddr_next(ma, len, &off, &p2p, NULL);
  if (rv == 1 && p2p.code == LP2P_MA_P2P &&
      lp2p_peer_id_from_bytes(p2p.value, p2p.value_len, &d->peer) == 0) {
    d->has_peer = true;
    rv = lp2p_multiaddr_next(ma, len, &off, &p2p, NULL);
  }
  return rv == 0 && d->host_len <= LP2P_ADDRBOOK_ADDR_MAX
             ? 0
             : LP2P_ERR_UNSUPPORTED;
}

bool lp2p__addrbook_is_quic(const uint8_t *ma, size_t len) {
  dialable d;
  return parse(ma, len, &d) == 0 && d.quic;
}

static ip_scope ip4_scope(const uint8_t *a) {
  if (a[0] == 0) {
    return SCOPE_UNSPECIFIED;
  }
  if (a[0] == 127) {
    return SCOPE_LOOPBACK;
  }
  /* RFC 1918, CGNAT 100.64/10, link-local 169.254/16 (go's manet) */
  if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
      (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64) ||
      (a[0] == 169 && a[1] == 254)) {
    return SCOPE_PRIVATE;
  }
  return SCOPE_PUBLIC;
}

static ip_scope ip6_scope(const uint8_t *a) {
  static const uint8_t zero[15] = {0};
  static const uint8_t v4mapped[12] = {[10] = 0xff, [11] = 0xff};
  if (memcmp(a, zero, 15) == 0) {
    return a[15] == 1 ? SCOPE_LOOPBACK : SCOPE_UNSPECIFIED;
  }
  if (memcmp(a, v4mapped, 12) == 0) {
    return ip4_scope(a + 12);
  }
  /* unique local fc00::/7, link-local fe80::/10 */
  if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)) {
    return SCOPE_PRIVATE;
  }
  return SCOPE_PUBLIC;
}

static ip_scope scope_of(const dialable *d) {
  if (d->ip.code == LP2P_MA_IP4) {
    return d->ip.value_len == 4 ? ip4_scope(d->ip.value) : SCOPE_UNSPECIFIED;
  }
  return d->ip.value_len == 16 ? ip6_scope(d->ip.value) : SCOPE_UNSPECIFIED;
}

bool lp2p__addrbook_reachable(const uint8_t *remote, size_t remote_len,
                              const uint8_t *ma, size_t len) {
  dialable r, a;
  if (parse(ma, len, &a) != 0) {
    return false;
  }
  ip_scope to = scope_of(&a);
  if (parse(remote, remote_len, &r) != 0) {
    return to != SCOPE_UNSPECIFIED; /* as go: no filter for other remotes */
  }
  switch (scope_of(&r)) {
  case SCOPE_PRIVATE:
    return to == SCOPE_PRIVATE || to == SCOPE_PUBLIC;
  case SCOPE_PUBLIC:
    return to == SCOPE_PUBLIC;
  default:
    return to != SCOPE_UNSPECIFIED;
  }
}

void lp2p__addrbook_init(lp2p__addrbook *b, size_t max_peers, lp2p_tstamp ttl,
                         const lp2p_mem *mem) {
  memset(b, 0, sizeof(*b));
  b->max_peers = max_peers;
  b->ttl = ttl;
  b->mem = mem;
}

void lp2p__addrbook_free(lp2p__addrbook *b) {
  lp2p_free(b->mem, b->peers);
  b->peers = NULL;
  b->npeers = b->cap = 0;
}

static lp2p__addrbook_peer *find(lp2p__addrbook *b, const lp2p_peer_id *id) {
  for (size_t i = 0; i < b->npeers; i++) {
    if (lp2p_peer_id_equal(&b->peers[i].id, id)) {
      return &b->peers[i];
    }
  }
  return NULL;
}

static void remove_peer(lp2p__addrbook *b, lp2p__addrbook_peer *p) {
  *p = b->peers[--b->npeers];
}

/* Drops the expired addresses of `p`; false when none is left. */
static bool prune_expired(lp2p__addrbook *b, lp2p__addrbook_peer *p,
                          lp2p_tstamp now) {
  size_t kept = 0;
  for (size_t i = 0; i < p->naddrs; i++) {
    if (p->addrs[i].expires > now) {
      p->addrs[kept++] = p->addrs[i];
    } else {
      b->st.addrs_expired++;
    }
  }
  p->naddrs = kept;
  return kept > 0;
}

/* Room for one more peer: the first expired peer goes, else the least
 * recently used one (counted). */
static void make_room(lp2p__addrbook *b, lp2p_tstamp now) {
  lp2p__addrbook_peer *lru = &b->peers[0];
  for (size_t i = 0; i < b->npeers; i++) {
    if (!prune_expired(b, &b->peers[i], now)) {
      remove_peer(b, &b->peers[i]);
      return;
    }
    if (b->peers[i].used < lru->used) {
      lru = &b->peers[i];
    }
  }
  b->st.peers_evicted++;
  remove_peer(b, lru);
}

static lp2p__addrbook_peer *
find_or_insert(lp2p__addrbook *b, const lp2p_peer_id *id, lp2p_tstamp now) {
  lp2p__addrbook_peer *p = find(b, id);
  if (p) {
    return p;
  }
  if (b->npeers == b->max_peers) {
    make_room(b, now);
  } else if (b->npeers == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 16;
    cap = cap < b->max_peers ? cap : b->max_peers;
    void *grown = lp2p_reallocarray(b->mem, b->peers, cap, sizeof(*b->peers));
    if (!grown) {
      return NULL;
    }
    b->peers = grown;
    b->cap = cap;
  }
  p = &b->peers[b->npeers++];
  memset(p, 0, sizeof(*p));
  p->id = *id;
  return p;
}

/* The slot for `host` in `p`: its own, a free one, or the one that
 * expires soonest (counted). */
static lp2p__addrbook_addr *slot_for(lp2p__addrbook *b, lp2p__addrbook_peer *p,
                                     const uint8_t *host, size_t len) {
  lp2p__addrbook_addr *soonest = &p->addrs[0];
  for (size_t i = 0; i < p->naddrs; i++) {
    if (p->addrs[i].len == len && memcmp(p->addrs[i].bytes, host, len) == 0) {
      return &p->addrs[i];
    }
    if (p->addrs[i].expires < soonest->expires) {
      soonest = &p->addrs[i];
    }
  }
  if (p->naddrs < LP2P_ADDRBOOK_MAX_ADDRS) {
    return &p->addrs[p->naddrs++];
  }
  b->st.addrs_replaced++;
  return soonest;
}

int lp2p__addrbook_add(lp2p__addrbook *b, const lp2p_peer_id *id,
                       const uint8_t *ma, size_t len, lp2p_tstamp now) {
  dialable d;
  if (b->max_peers == 0 || parse(ma, len, &d) != 0 ||
      scope_of(&d) == SCOPE_UNSPECIFIED || d.port.value_len != 2 ||
      (d.port.value[0] | d.port.value[1]) == 0 ||
      (d.has_peer && !lp2p_peer_id_equal(&d.peer, id))) {
    b->st.addrs_rejected++;
    return LP2P_ERR_UNSUPPORTED;
  }
  lp2p__addrbook_peer *p = find_or_insert(b, id, now);
  if (!p) {
    return LP2P_ERR_NOMEM;
  }
  lp2p__addrbook_addr *a = slot_for(b, p, ma, d.host_len);
  a->len = (uint8_t)d.host_len;
  memcpy(a->bytes, ma, d.host_len);
  a->expires = now + b->ttl;
  p->used = now;
  return 0;
}

const lp2p__addrbook_addr *lp2p__addrbook_lookup(lp2p__addrbook *b,
                                                 const lp2p_peer_id *id,
                                                 lp2p_tstamp now,
                                                 size_t *naddrs) {
  lp2p__addrbook_peer *p = find(b, id);
  *naddrs = 0;
  if (!p) {
    return NULL;
  }
  if (!prune_expired(b, p, now)) {
    remove_peer(b, p);
    return NULL;
  }
  p->used = now;
  *naddrs = p->naddrs;
  return p->addrs;
}

/* ---- dial ranking --------------------------------------------------------
 */

int lp2p__dial_plan_add(lp2p__dial_addr *a, size_t *n, const lp2p_peer_id *id,
                        const uint8_t *ma, size_t len) {
  dialable d;
  if (parse(ma, len, &d) != 0 || scope_of(&d) == SCOPE_UNSPECIFIED ||
      d.port.value_len != 2 || (d.port.value[0] | d.port.value[1]) == 0 ||
      (d.has_peer && !lp2p_peer_id_equal(&d.peer, id))) {
    return LP2P_ERR_UNSUPPORTED;
  }
  for (size_t i = 0; i < *n; i++) {
    if (a[i].len == d.host_len && memcmp(a[i].bytes, ma, d.host_len) == 0) {
      return LP2P_ERR_UNSUPPORTED; /* as go: each address dialled once */
    }
  }
  if (*n >= LP2P_DIAL_PLAN_MAX) {
    return LP2P_ERR_TOO_LARGE;
  }
  lp2p__dial_addr *e = &a[(*n)++];
  memset(e, 0, sizeof(*e));
  e->len = (uint8_t)d.host_len;
  memcpy(e->bytes, ma, d.host_len);
  return 0;
}

typedef struct rank_entry {
  lp2p__dial_addr addr;
  uint32_t score; /* as go's: TCP after QUIC, IPv4 after IPv6, then port */
  bool quic, ip6, private_;
} rank_entry;

static void rank_entry_of(const lp2p__dial_addr *a, rank_entry *e) {
  dialable d;
  memset(e, 0, sizeof(*e));
  e->addr = *a;
  if (parse(a->bytes, a->len, &d) != 0 || d.port.value_len != 2) {
    e->score = UINT32_MAX; /* not added by lp2p__dial_plan_add: last */
    return;
  }
  ip_scope s = scope_of(&d);
  e->quic = d.quic;
  e->ip6 = d.ip.code == LP2P_MA_IP6;
  e->private_ = s == SCOPE_LOOPBACK || s == SCOPE_PRIVATE;
  uint32_t port = (uint32_t)d.port.value[0] << 8 | d.port.value[1];
  e->score = (e->quic ? 0 : 1u << 20) + (e->ip6 ? 0 : 1u << 18) + port;
}

/* Moves e[from] to e[to] (to < from), shifting those between. */
static void rank_move(rank_entry *e, size_t from, size_t to) {
  rank_entry t = e[from];
  memmove(e + to + 1, e + to, (from - to) * sizeof(*e));
  e[to] = t;
}

/* Happy eyeballs: when the first address of a transport (from `start`)
 * is IPv6, its first IPv4 one moves to second place. */
static bool rank_happy_eyeballs(rank_entry *e, size_t n, size_t start,
                                bool quic) {
  if (start >= n || e[start].quic != quic || !e[start].ip6) {
    return false;
  }
  for (size_t j = start + 1; j < n && e[j].quic == quic; j++) {
    if (!e[j].ip6) {
      rank_move(e, j, start + 1);
      return true;
    }
  }
  return false;
}

/* Ranks one group (private or public) as go's getAddrDelay. */
static void rank_group(rank_entry *e, size_t n, lp2p_tstamp step) {
  for (size_t i = 1; i < n; i++) { /* insertion sort: stable, n <= 16 */
    size_t j = i;
    while (j > 0 && e[j - 1].score > e[i].score) {
      j--;
    }
    if (j < i) {
      rank_move(e, i, j);
    }
  }
  bool eyeballs_quic = rank_happy_eyeballs(e, n, 0, true);
  size_t tcp = 0;
  while (tcp < n && e[tcp].quic) {
    tcp++;
  }
  bool eyeballs_tcp = rank_happy_eyeballs(e, n, tcp, false);
  lp2p_tstamp tcp_first = 0;
  for (size_t i = 0; i < n; i++) {
    size_t first = e[i].quic ? 0 : tcp;
    bool eyeballs = e[i].quic ? eyeballs_quic : eyeballs_tcp;
    lp2p_tstamp d = i == first       ? 0
                    : i == first + 1 ? step
                    : eyeballs       ? 2 * step
                                     : step;
    if (e[i].quic) {
      tcp_first = d + step;
    } else {
      d += tcp_first;
    }
    e[i].addr.delay = d;
  }
}

void lp2p__dial_plan_rank(lp2p__dial_addr *a, size_t n) {
  rank_entry e[LP2P_DIAL_PLAN_MAX];
  n = n < LP2P_DIAL_PLAN_MAX ? n : LP2P_DIAL_PLAN_MAX;
  size_t npriv = 0;
  for (size_t i = 0; i < n; i++) { /* private ones first, as go */
    rank_entry_of(&a[i], &e[i]);
    if (e[i].private_) {
      rank_move(e, i, npriv++);
    }
  }
  rank_group(e, npriv, LP2P_DIAL_PRIVATE_DELAY);
  rank_group(e + npriv, n - npriv, LP2P_DIAL_PUBLIC_DELAY);
  /* the groups are dialled side by side: one order by delay, stable as
   * go's dial queue */
  size_t out = 0;
  while (out < n) {
    size_t min = out;
    for (size_t i = out + 1; i < n; i++) {
      min = e[i].addr.delay < e[min].addr.delay ? i : min;
    }
    rank_move(e, min, out);
    a[out] = e[out].addr;
    out++;
  }
}
