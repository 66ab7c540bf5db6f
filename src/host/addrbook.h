/* The node's address book: where to dial peers we are not connected to,
 * for PX entries that name a peer without a signed peer record (rust-libp2p
 * sends none). As go, whose PX connect dials only what its peerstore
 * knows: addresses learnt from identify and from connections we made.
 * Bounded three ways: addresses per peer, peers (least recently used
 * evicted) and a TTL per address; what the bounds drop is counted. */
#ifndef LP2P_HOST_ADDRBOOK_H
#define LP2P_HOST_ADDRBOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lp2p/common.h"
#include "lp2p/multiformats.h"

#define LP2P_ADDRBOOK_MAX_PEERS 1024
#define LP2P_ADDRBOOK_MAX_ADDRS 8
/* as go's peerstore.AddressTTL */
#define LP2P_ADDRBOOK_TTL (3600 * LP2P_SECONDS)
/* /ip6/A/udp/P/quic-v1, the longest multiaddr the host dials (kept
 * without /p2p/): 17 + 4 + 2 bytes */
#define LP2P_ADDRBOOK_ADDR_MAX 23

typedef struct lp2p__addrbook_addr {
  lp2p_tstamp expires;
  uint8_t len;
  uint8_t bytes[LP2P_ADDRBOOK_ADDR_MAX];
} lp2p__addrbook_addr;

typedef struct lp2p__addrbook_peer {
  lp2p_peer_id id;
  lp2p_tstamp used; /* last added to or looked up: the LRU order */
  size_t naddrs;
  lp2p__addrbook_addr addrs[LP2P_ADDRBOOK_MAX_ADDRS];
} lp2p__addrbook_peer;

typedef struct lp2p__addrbook_stats {
  uint64_t peers_evicted;  /* least recently used, for a new peer */
  uint64_t addrs_replaced; /* a peer's soonest to expire, for a new one */
  uint64_t addrs_rejected; /* not ip4|ip6/tcp|udp/quic-v1, unspecified,
                            * port 0, or
                            * naming another peer */
  uint64_t addrs_expired;
} lp2p__addrbook_stats;

typedef struct lp2p__addrbook {
  lp2p__addrbook_peer *peers; /* grown on demand up to max_peers */
  size_t npeers, cap, max_peers;
  lp2p_tstamp ttl;
  const lp2p_mem *mem;
  lp2p__addrbook_stats st;
} lp2p__addrbook;

/* An empty book of at most `max_peers` peers whose addresses live `ttl`.
 */
void lp2p__addrbook_init(lp2p__addrbook *b, size_t max_peers, lp2p_tstamp ttl,
                         const lp2p_mem *mem);
void lp2p__addrbook_free(lp2p__addrbook *b);

/* Records (or refreshes) `ma`, a binary /ip4|ip6/A/tcp/P or
 * /ip4|ip6/A/udp/P/quic-v1 multiaddr with an optional /p2p/ that must be
 * `id`, for `id`. Returns 0,
 * LP2P_ERR_UNSUPPORTED (not an address the host dials: counted) or
 * LP2P_ERR_NOMEM. */
int lp2p__addrbook_add(lp2p__addrbook *b, const lp2p_peer_id *id,
                       const uint8_t *ma, size_t len, lp2p_tstamp now);

/* The unexpired addresses of `id` (dropping the rest), or NULL with
 * *naddrs 0. The view lasts until the next add. */
const lp2p__addrbook_addr *lp2p__addrbook_lookup(lp2p__addrbook *b,
                                                 const lp2p_peer_id *id,
                                                 lp2p_tstamp now,
                                                 size_t *naddrs);

/* Whether `ma` is a QUIC v1 address (/ip4|ip6/A/udp/P/quic-v1): dialled
 * before a peer's TCP ones, as go's swarm ranks dials (dial_ranker.go:
 * QUIC first, TCP only after a delay). */
bool lp2p__addrbook_is_quic(const uint8_t *ma, size_t len);

/* ---- dial ranking: when each of a peer's addresses is dialled ---------- */

/* Addresses of one peer dialled for one connect; more are not kept. */
#define LP2P_DIAL_PLAN_MAX 16
/* As go's dial ranker (swarm/dial_ranker.go): the pause before the next
 * QUIC address, and before the first TCP one after the last QUIC one,
 * for private (loopback included, as go's manet) and public addresses. */
#define LP2P_DIAL_PRIVATE_DELAY (30 * LP2P_MILLISECONDS)
#define LP2P_DIAL_PUBLIC_DELAY (250 * LP2P_MILLISECONDS)

/* One address of a dial plan, dialled `delay` after the plan starts. */
typedef struct lp2p__dial_addr {
  lp2p_tstamp delay;
  uint8_t len;
  uint8_t bytes[LP2P_ADDRBOOK_ADDR_MAX]; /* without /p2p/ */
} lp2p__dial_addr;

/* Appends `ma` (with an optional /p2p/ that must be `id`) to the plan `a`
 * of `*n` addresses. Returns 0, LP2P_ERR_UNSUPPORTED (not an address the
 * host dials, or a duplicate) or LP2P_ERR_TOO_LARGE (LP2P_DIAL_PLAN_MAX
 * addresses already). */
int lp2p__dial_plan_add(lp2p__dial_addr *a, size_t *n, const lp2p_peer_id *id,
                        const uint8_t *ma, size_t len);

/* Orders the plan and sets each delay as go's DefaultDialRanker: private
 * and public addresses are two groups dialled side by side; in a group
 * QUIC before TCP, IPv6 before IPv4, low ports first; the first address
 * at once, the first IPv4 one of a transport after one delay when the
 * group's first is IPv6 (happy eyeballs), the rest after two (one without
 * happy eyeballs); TCP starts one delay after the last QUIC dial. */
void lp2p__dial_plan_rank(lp2p__dial_addr *a, size_t n);

/* Whether a listen address `ma` a peer reported through identify is
 * worth keeping, given the address `remote` we reach it at. As go's
 * identify (filterAddrs): from a loopback peer every address; from a
 * private one all but loopback; from a public one public ones only. */
bool lp2p__addrbook_reachable(const uint8_t *remote, size_t remote_len,
                              const uint8_t *ma, size_t len);

#endif
