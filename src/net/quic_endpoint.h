/* Many QUIC connections behind one UDP socket, sans-IO (docs/session.md,
 * "QUIC endpoint"): the part between a socket and its lp2p__quic
 * connections, as ngtcp2's example server does it. Datagrams go in with
 * their source address and are routed by Destination Connection ID; a
 * client's Initial for an unknown id opens a server connection (within
 * limits); an unsupported version gets Version Negotiation; a short
 * header for an unknown id gets a stateless reset. Datagrams come out
 * with their destination, round robin across connections. Connections
 * the host dials go through it too, so that they share the socket (as
 * go's quic-go transport reuses its listening socket).
 *
 * The endpoint owns its connections: the host gets their lp2p__quic
 * pointers and calls the stream functions of net/quic.h on them; never
 * their _recv, _pull, _handle_expiry, _close or _del (the endpoint's
 * _close closes one). _pull asks only connections something happened
 * to: after writing to a connection outside its own callbacks, the host
 * calls _wake on it.
 * Every connection's callbacks are the endpoint's `conn` callbacks with
 * that connection's own user pointer. */
#ifndef LP2P_NET_QUIC_ENDPOINT_H
#define LP2P_NET_QUIC_ENDPOINT_H

#include "net/quic.h"

typedef struct lp2p__quic_endpoint lp2p__quic_endpoint;

typedef struct lp2p__quic_endpoint_settings {
  /* Every connection's settings (remote_peer_id is set per dial;
   * reset_secret and cert are the endpoint's). rand_fn and unix_time are
   * required. */
  lp2p__quic_settings conn;
  /* Stateless reset tokens are derived from it (keep it across restarts
   * so that peers of a lost connection learn at once that it is gone).
   * NULL: 32 bytes drawn from rand_fn. Copied. */
  const uint8_t *reset_secret;
  size_t reset_secret_len;
  /* Connections at once, inbound and outbound (over: refused). An
   * inbound one is refused when fewer than `reserved_outbound` are left,
   * so that inbound peers cannot make our own dials fail (as the host's
   * TCP limits). Must be under max_connections. */
  size_t max_connections;
  size_t reserved_outbound;
  /* Inbound connections still handshaking (over: refused). From half of
   * it on, a client's first Initial gets a Retry (as quic-go validates
   * addresses under load): spoofed sources then hold no slot. */
  size_t max_handshakes;
  /* Inbound handshakes from one IPv4 address or IPv6 /64 (over: the
   * Initial is dropped and counted). Loopback sources (127/8, ::1) only
   * when `limit_loopback` (the host's setting: its TCP per-IP limit
   * spares loopback too, as go's defaults). */
  size_t max_handshakes_per_addr;
  bool limit_loopback;
  /* Version Negotiation, stateless resets and refusals waiting for
   * _pull (over: dropped). */
  size_t max_queued;
  /* Stateless resets sent per second at most, and in one burst. */
  uint32_t resets_per_second;
  /* Answer every client's first Initial with a Retry (RFC 9000 8.1.2):
   * its second Initial proves it owns its address before any state is
   * kept. Costs a round trip; without it, only under load (above). */
  bool require_retry;
  /* How long a Retry token stays good. */
  lp2p_tstamp retry_token_timeout;
} lp2p__quic_endpoint_settings;

typedef struct lp2p__quic_endpoint_callbacks {
  /* Every connection's callbacks; `user` is the connection's. */
  lp2p__quic_callbacks conn;
  /* A client's valid Initial from `remote`: return 0 to accept it (with
   * `*conn_user` its connection's user pointer), anything else to refuse
   * it (CONNECTION_REFUSED). Absent: accepted with a NULL user. */
  int (*incoming)(lp2p__quic_endpoint *ep, const struct sockaddr *remote,
                  uint32_t remote_len, void **conn_user, void *user);
  /* The connection `incoming` accepted was made: `q` is its (not called
   * when it could not be made: `released` with a NULL `q` then). */
  void (*accepted)(lp2p__quic_endpoint *ep, lp2p__quic *q, void *conn_user,
                   void *user);
  /* The connection ended (its `closed` callback ran, or the host closed
   * it) and its ids are no longer reserved: `q` is freed right after.
   * An inbound connection whose handshake never completed is released
   * as soon as it ends (a tombstone keeps its ids).
   * Also, with a NULL `q`, for an accepted connection that could not be
   * made (its `conn_user` goes). */
  void (*released)(lp2p__quic_endpoint *ep, lp2p__quic *q, void *conn_user,
                   void *user);
} lp2p__quic_endpoint_callbacks;

/* What the endpoint did with datagrams it could not simply route. */
typedef struct lp2p__quic_endpoint_stats {
  uint64_t routed;          /* datagrams handed to a connection */
  uint64_t accepted;        /* inbound connections opened */
  uint64_t malformed;       /* no decodable QUIC header */
  uint64_t unknown_long;    /* long header, unknown id, not an Initial */
  uint64_t closing;         /* for a connection that has ended */
  uint64_t closes_repeated; /* CONNECTION_CLOSEs sent again for them */
  /* inbound connections that ended handshaking, freed at once */
  uint64_t tombstones;
  uint64_t tomb_overflow;      /* max_handshakes tombstones: held whole */
  uint64_t refused_conns;      /* over max_connections */
  uint64_t refused_handshakes; /* over max_handshakes */
  uint64_t refused_per_addr;   /* over max_handshakes_per_addr: dropped */
  uint64_t refused_by_host;    /* `incoming` said no */
  uint64_t accept_failed;      /* the server connection could not be made */
  uint64_t version_negotiations;
  uint64_t vn_too_small; /* unknown version under 1200 bytes */
  uint64_t stateless_resets;
  uint64_t reset_too_small; /* too short to answer (RFC 9000 10.3) */
  uint64_t reset_rate_limited;
  uint64_t resets_received; /* a peer's stateless reset ended one */
  uint64_t retries;         /* Retry packets sent */
  /* forged, expired or from another address */
  uint64_t bad_retry_token;
  uint64_t queue_full;    /* a reply dropped: max_queued */
  uint64_t cid_overflow;  /* ids of a connection beyond what we keep */
  uint64_t cid_collision; /* an id already routed elsewhere */
} lp2p__quic_endpoint_stats;

/* 1024 connections (32 of them for our dials), 128 handshakes (8 per
 * address, loopback included), 64 queued replies, 64 resets per second, Retry
 * from 64 handshakes on (tokens good for 10 s); `conn` as
 * lp2p__quic_settings_default. */
void lp2p__quic_endpoint_settings_default(lp2p__quic_endpoint_settings *s);

/* An endpoint bound to `local` (sockaddr_in or _in6) with `identity`
 * (copied), and its certificate. Returns 0, LP2P_ERR_INVALID_ARG,
 * LP2P_ERR_NOMEM, or lp2p_tls_cert_new's errors. */
int lp2p__quic_endpoint_new(lp2p__quic_endpoint **out,
                            const lp2p__quic_endpoint_settings *s,
                            const lp2p_privkey *identity,
                            const struct sockaddr *local, uint32_t local_len,
                            const lp2p__quic_endpoint_callbacks *cb,
                            const lp2p_mem *mem, void *user);
/* Frees it and every connection, without callbacks; NULL: no-op. */
void lp2p__quic_endpoint_del(lp2p__quic_endpoint *ep);

/* Dials `remote`, expecting `peer` (not copied: it must outlive the
 * connection; NULL: any peer); its Initial is ready for _pull.
 * Returns 0 with `*out`, LP2P_ERR_TOO_LARGE (max_connections: inbound
 * ones leave reserved_outbound of them to dials), or
 * lp2p__quic_client_new's errors. */
int lp2p__quic_endpoint_connect(lp2p__quic_endpoint *ep,
                                const struct sockaddr *remote,
                                uint32_t remote_len, const lp2p_peer_id *peer,
                                void *conn_user, lp2p_tstamp now,
                                lp2p__quic **out);

/* One datagram from `from`. Returns 0 (whatever became of it: see the
 * stats), LP2P_ERR_INVALID_ARG (a bad address) or LP2P_ERR_NOMEM. */
int lp2p__quic_endpoint_recv(lp2p__quic_endpoint *ep, const uint8_t *pkt,
                             size_t len, const struct sockaddr *from,
                             uint32_t from_len, lp2p_tstamp now);
/* The next datagram to send and where to (0: none now); valid until the
 * next call. Call it until 0 after every other call. */
ssize_t lp2p__quic_endpoint_pull(lp2p__quic_endpoint *ep, const uint8_t **out,
                                 const struct sockaddr **to, uint32_t *to_len,
                                 lp2p_tstamp now);
/* The earliest deadline of all connections (a scan: O(connections)). */
lp2p_tstamp lp2p__quic_endpoint_expiry(const lp2p__quic_endpoint *ep);
/* Runs what is due; releases connections whose closing period is over.
 * Returns 0. */
int lp2p__quic_endpoint_handle_expiry(lp2p__quic_endpoint *ep, lp2p_tstamp now);

/* `q` has something to send (the host wrote to it outside its
 * callbacks). O(connections). Returns 0 or LP2P_ERR_NOT_FOUND. */
int lp2p__quic_endpoint_wake(lp2p__quic_endpoint *ep, lp2p__quic *q);
/* Closes `q` cleanly (CONNECTION_CLOSE is pulled next); it is released
 * three PTOs later. Returns 0, LP2P_ERR_NOT_FOUND (not held, or already
 * ended) or LP2P_ERR_NOMEM. */
int lp2p__quic_endpoint_close(lp2p__quic_endpoint *ep, lp2p__quic *q,
                              lp2p_tstamp now);

/* The owner of `q`'s user pointer goes: `q` is closed cleanly unless it
 * has ended, and its callbacks and `released` get a NULL user from now
 * on. Returns 0 or LP2P_ERR_NOT_FOUND. */
int lp2p__quic_endpoint_detach(lp2p__quic_endpoint *ep, lp2p__quic *q,
                               lp2p_tstamp now);

/* Wall-clock seconds that connections made from now on check their
 * peers' certificates at (lp2p__quic_settings.unix_time): a long-running
 * host moves it. Ours is made once, in _new, valid from an hour before
 * the time then for 100 years (as go-libp2p's). */
void lp2p__quic_endpoint_set_unix_time(lp2p__quic_endpoint *ep,
                                       int64_t unix_time);

/* The connection a datagram to `cid` goes to, or NULL. */
lp2p__quic *lp2p__quic_endpoint_find(const lp2p__quic_endpoint *ep,
                                     const uint8_t *cid, size_t len);
/* Connections held, ended ones in their closing period included (not
 * the tombstones of inbound ones that never completed a handshake). */
size_t lp2p__quic_endpoint_count(const lp2p__quic_endpoint *ep);
const lp2p__quic_endpoint_stats *
lp2p__quic_endpoint_stats_get(const lp2p__quic_endpoint *ep);

#endif
