/* One QUIC v1 connection (RFC 9000) as libp2p speaks it (libp2p/specs
 * quic/README.md), sans-IO over ngtcp2 0.12 and ngtcp2_crypto_gnutls
 * (docs/session.md, "QUIC"): datagrams and time in, datagrams and one
 * deadline out. TLS 1.3 with the libp2p certificate both ways (client
 * certificate required, ALPN "libp2p" required both ways: a peer that
 * offers or selects none is closed with no_application_protocol); every QUIC
 * bidirectional stream is a libp2p stream whose protocol is agreed with
 * multistream-select; no security or muxer negotiation. Same contract as
 * lp2p_session: stream bytes go up in stream_data and the window grows only by
 * what lp2p__quic_stream_consume gives back.
 *
 * Callbacks run only inside _recv, _pull and _handle_expiry (never in
 * the _new functions: the caller has no connection yet); they may call the
 * stream functions and _open_stream, never _recv, _pull, _handle_expiry or
 * _del. */
#ifndef LP2P_NET_QUIC_H
#define LP2P_NET_QUIC_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lp2p/budget.h"
#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/tls.h"

typedef struct lp2p__quic lp2p__quic;

/* How a connection behaves; lp2p__quic_settings_default fills it. */
typedef struct lp2p__quic_settings {
  /* The peer a client means to reach (checked in its certificate). */
  const lp2p_peer_id *remote_peer_id;
  /* Wall-clock seconds since the Unix epoch: certificates are made valid
   * around it and the peer's checked against it. Required (> 0). */
  int64_t unix_time;
  /* Protocols inbound streams may negotiate (not copied: must outlive the
   * connection). */
  const char *const *protocols;
  size_t nprotocols;
  /* The connection closes silently after this long without a packet
   * (QUIC's max_idle_timeout; the smaller of both sides' applies). */
  lp2p_tstamp idle_timeout;
  /* The handshake must complete within this. */
  lp2p_tstamp handshake_timeout;
  /* Bidirectional streams the peer may have open at once. */
  uint32_t max_streams;
  /* Receive windows: per stream, and for the whole connection. */
  uint32_t stream_window;
  uint64_t conn_window;
  /* Bytes a stream holds written and not yet acknowledged. */
  size_t max_send_buffer;
  /* The connection's memory scope (lp2p/budget.h), or NULL: bytes
   * delivered and not yet consumed are reserved in it (a stream whose
   * bytes do not fit is reset, stream_reset with LP2P_ERR_TOO_LARGE, and
   * counted). Send chunks (our writes until the peer acknowledges them)
   * are not: max_send_buffer bounds them per stream, as go-libp2p charges
   * only QUIC's receive windows; charged, they held the room the peer's
   * echo of 64 x 1 MiB needed within our windows, and its streams were
   * reset. ngtcp2's own state and GnuTLS's are not charged either. Not copied: must outlive the connection, or be
   * taken away first (lp2p__quic_set_budget). */
  lp2p_budget *budget;
  /* Each stream's multistream-select must end within this (from its
   * opening); a stream past it is reset (stream_reset with
   * LP2P_ERR_TIMEOUT if the application knows it) and counted.
   * LP2P_TSTAMP_NEVER: no limit. */
  lp2p_tstamp negotiate_timeout;
  /* Peer-opened streams negotiating at once; one more is reset at once
   * and counted (a peer cannot make us hold many negotiations). */
  size_t max_negotiating;
  /* ngtcp2's keep-alive: a PING after this long without a packet, so
   * that the idle timeout does not fire on a quiet, live connection
   * (0 = off, the default). */
  lp2p_tstamp keep_alive;
  /* Draws the certificate key, connection ids, stateless reset tokens
   * and everything else ngtcp2 asks for: must be a CSPRNG. */
  lp2p_rand_fn rand_fn;
  void *rand_user;
  /* When set, every stateless reset token this side issues is derived
   * from this secret and its connection id (RFC 9000 10.3.2), so that an
   * endpoint that lost the connection can still end it; NULL: drawn from
   * rand_fn. Not copied: must outlive the connection. */
  const uint8_t *reset_secret;
  size_t reset_secret_len;
  /* A server after a Retry (RFC 9000 8.1.2): the Destination Connection
   * ID of the client's very first Initial, from the token it returned
   * (the Initial's own is then the Retry's Source Connection ID). NULL:
   * no Retry. */
  const struct lp2p__quic_cid *retry_original_dcid;
  /* The certificate this side presents, made for the identity (not
   * copied: must outlive the connection); NULL: one is made for this
   * connection (a P-256 key and two signatures: most of a refused
   * connection's CPU). */
  const lp2p_tls_cert *cert;
  /* Tests only: offer (client) or select (server) no ALPN at all and do
   * not require one, as a broken peer would; the other side must refuse
   * the connection. */
  bool test_no_alpn;
} lp2p__quic_settings;

/* The length of the connection ids this side issues: what short-header
 * packets to it carry. */
#define LP2P__QUIC_CID_LEN 18u
/* A connection id (QUIC v1: at most 20 bytes). */
typedef struct lp2p__quic_cid {
  uint8_t len;
  uint8_t data[20];
} lp2p__quic_cid;

/* An IPv4 or IPv6 address, as a connection and the endpoint keep one. */
typedef union lp2p__quic_addr {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
} lp2p__quic_addr;

/* Copies a sockaddr_in or sockaddr_in6 of exactly its size (anything
 * else: LP2P_ERR_INVALID_ARG). Returns 0 or that. */
int lp2p__quic_addr_copy(lp2p__quic_addr *a, uint32_t *alen,
                         const struct sockaddr *sa, uint32_t len);

/* What a connection reports; every callback is optional. */
typedef struct lp2p__quic_callbacks {
  /* The handshake completed and the peer's certificate was verified. */
  void (*established)(lp2p__quic *q, const lp2p_peer_id *remote, void *user);
  /* The connection ended: err < 0 with an English explanation. The
   * peer's close, even a clean one, is LP2P_ERR_PROTOCOL ("the peer
   * closed the connection", with its code if it gave one); our own
   * lp2p__quic_close runs no closed. */
  void (*closed)(lp2p__quic *q, int err, const char *msg, void *user);
  int (*accept)(lp2p__quic *q, const char *proto, size_t len, void *user);
  /* As lp2p_session's callbacks of the same names. */
  void (*stream_opened)(lp2p__quic *q, uint64_t id, const char *proto,
                        bool inbound, void **stream_user, void *user);
  void (*stream_data)(lp2p__quic *q, uint64_t id, void *stream_user,
                      const uint8_t *data, size_t len, void *user);
  void (*stream_end)(lp2p__quic *q, uint64_t id, void *stream_user, void *user);
  /* Also runs once when the peer stopped reading (STOP_SENDING): the
   * stream's unsent bytes are dropped and its writes return
   * LP2P_ERR_STATE from then on; reading goes on. */
  void (*stream_writable)(lp2p__quic *q, uint64_t id, void *stream_user,
                          void *user);
  void (*stream_closed)(lp2p__quic *q, uint64_t id, void *stream_user,
                        void *user);
  void (*stream_reset)(lp2p__quic *q, uint64_t id, void *stream_user, int err,
                       void *user);
} lp2p__quic_callbacks;

/* What a connection counted (drops of what a peer made it do). */
typedef struct lp2p__quic_stats {
  uint64_t negotiate_timeouts;   /* streams reset at negotiate_timeout */
  uint64_t negotiate_refused;    /* peer streams past max_negotiating */
  uint64_t streams_reset_budget; /* their delivered bytes did not fit */
  /* 1-RTT CRYPTO bytes (a peer's NewSessionTicket: we never resume)
   * dropped after the TLS session was freed */
  uint64_t crypto_dropped;
  /* UDP payload bytes of the datagrams _recv took (the server's first
   * too) and _pull gave out (our CONNECTION_CLOSE too; not what the
   * endpoint repeats for a closed connection) */
  uint64_t bytes_in, bytes_out;
} lp2p__quic_stats;

/* 30 s idle, 10 s handshake, 256 streams, 256 KiB per stream and 4 MiB
 * per connection, 1 MiB send buffer per stream, 10 s to negotiate a
 * stream, 16 peer streams negotiating; no rand_fn, no unix_time. */
void lp2p__quic_settings_default(lp2p__quic_settings *s);

/* A client connection from `local` to `remote` (sockaddr_in or _in6);
 * its Initial is ready for _pull. Returns 0, LP2P_ERR_INVALID_ARG,
 * LP2P_ERR_UNSUPPORTED (an identity that cannot sign, or GnuTLS or ngtcp2
 * cannot be loaded: lp2p__tlslib_error), LP2P_ERR_NOMEM or
 * LP2P_ERR_CRYPTO. */
int lp2p__quic_client_new(lp2p__quic **out, const lp2p__quic_settings *s,
                          const lp2p_privkey *identity,
                          const struct sockaddr *local, uint32_t local_len,
                          const struct sockaddr *remote, uint32_t remote_len,
                          const lp2p__quic_callbacks *cb, const lp2p_mem *mem,
                          void *user, lp2p_tstamp now);
/* A server connection for the client's first datagram `pkt`, which it
 * reads without callbacks. Returns 0, LP2P_ERR_MALFORMED (not a QUIC v1
 * Initial a server accepts), the error that ended the connection at once
 * (the Initial was refused: nothing is sent back), or _client_new's
 * errors. */
int lp2p__quic_server_new(lp2p__quic **out, const lp2p__quic_settings *s,
                          const lp2p_privkey *identity,
                          const struct sockaddr *local, uint32_t local_len,
                          const struct sockaddr *remote, uint32_t remote_len,
                          const uint8_t *pkt, size_t len,
                          const lp2p__quic_callbacks *cb, const lp2p_mem *mem,
                          void *user, lp2p_tstamp now);
/* Frees it and its streams without callbacks; NULL: no-op. */
void lp2p__quic_del(lp2p__quic *q);

/* Feeds one datagram from `remote`. Returns 0, or the error that ended
 * the connection (closed has run); LP2P_ERR_STATE once it has ended. */
int lp2p__quic_recv(lp2p__quic *q, const uint8_t *pkt, size_t len,
                    const struct sockaddr *remote, uint32_t remote_len,
                    lp2p_tstamp now);
/* One datagram to send (0: none now); valid until the next call. Call
 * it until 0 after every other call. */
ssize_t lp2p__quic_pull(lp2p__quic *q, const uint8_t **out, lp2p_tstamp now);
/* The next deadline (retransmission, ACK, idle, handshake, a stream's
 * negotiation), or
 * LP2P_TSTAMP_NEVER once the connection ended. */
lp2p_tstamp lp2p__quic_expiry(const lp2p__quic *q);
/* Runs what is due. Returns 0 or the error that ended the connection
 * (LP2P_ERR_TIMEOUT: idle or handshake timeout). */
int lp2p__quic_handle_expiry(lp2p__quic *q, lp2p_tstamp now);
void lp2p__quic_stats_get(const lp2p__quic *q, lp2p__quic_stats *out);
/* Closes cleanly: CONNECTION_CLOSE (no error) is the next _pull. */
int lp2p__quic_close(lp2p__quic *q, lp2p_tstamp now);

bool lp2p__quic_is_established(const lp2p__quic *q);
/* The certificate it presents. */
const lp2p_tls_cert *lp2p__quic_cert(const lp2p__quic *q);
/* The verified peer (NULL before the handshake). */
const lp2p_peer_id *lp2p__quic_remote(const lp2p__quic *q);
/* 0 while healthy, else the error that ended it; `*msg` explains. */
int lp2p__quic_error(const lp2p__quic *q, const char **msg);
/* The verified peer's public key (NULL before the handshake). */
const lp2p_pubkey *lp2p__quic_remote_key(const lp2p__quic *q);
/* ngtcp2's smoothed round trip (0 before the handshake). */
lp2p_tstamp lp2p__quic_rtt(const lp2p__quic *q);
/* Streams not yet ended, negotiating ones included. */
size_t lp2p__quic_num_streams(const lp2p__quic *q);

/* The connection ids that route datagrams to this connection: those it
 * issued that the peer has not retired and, on a server, the client's
 * first Destination Connection ID (its Initials may still carry it).
 * Writes at most `max` into `out`; returns how many there are. */
size_t lp2p__quic_cids(const lp2p__quic *q, lp2p__quic_cid *out, size_t max);
/* Where its datagrams go: the current path's remote address. */
const struct sockaddr *lp2p__quic_peer_addr(const lp2p__quic *q, uint32_t *len);
/* The probe timeout: a closed connection's ids stay reserved for three of
 * them (RFC 9000 10.2). */
lp2p_tstamp lp2p__quic_pto(const lp2p__quic *q);
/* True once it has ended (closed, timed out, refused, or reset). */
bool lp2p__quic_is_ended(const lp2p__quic *q);
/* The time of the last call that took one: what a call without a clock
 * of its own (a close from the application) uses. */
lp2p_tstamp lp2p__quic_now(const lp2p__quic *q);
/* Changes the budget (settings.budget): what the streams reserved in the
 * old one is given back to it now, and only what they reserve from now
 * on goes to the new one (set it before the first stream; NULL when the
 * owner of the old one goes before the connection). */
void lp2p__quic_set_budget(lp2p__quic *q, lp2p_budget *budget);
/* Changes the user pointer the callbacks get (NULL: the owner went; the
 * callbacks must then expect NULL). */
void lp2p__quic_set_user(lp2p__quic *q, void *user);

/* Opens a stream proposing `protocols` (copied by multistream-select). Returns
 * 0 with `*id`, LP2P_ERR_STATE (not established), LP2P_ERR_TOO_LARGE (the
 * peer's stream limit), LP2P_ERR_INVALID_ARG or LP2P_ERR_NOMEM. */
int lp2p__quic_open_stream(lp2p__quic *q, const char *const *protocols,
                           size_t n, void *stream_user, uint64_t *id);
/* Queues bytes; returns how many were taken (less when the send buffer
 * is full: stream_writable follows), LP2P_ERR_NOT_FOUND, LP2P_ERR_STATE
 * (negotiating, closed for writing, or the peer stopped reading) or
 * LP2P_ERR_NOMEM. */
ssize_t lp2p__quic_stream_write(lp2p__quic *q, uint64_t id, const uint8_t *data,
                                size_t len);
/* Bytes _stream_write would take now (0 for an unknown, negotiating or
 * closed stream; when 0 for a full send buffer, stream_writable follows). */
size_t lp2p__quic_stream_writable(lp2p__quic *q, uint64_t id);
/* The protocol an open stream agreed, else NULL. */
const char *lp2p__quic_stream_protocol(lp2p__quic *q, uint64_t id);
/* Gives back `n` bytes stream_data delivered: the stream's and the
 * connection's windows grow by them. A stream that ended (closed, reset,
 * either side) gave its bytes back to the connection then: consuming
 * them afterwards returns LP2P_ERR_NOT_FOUND and is harmless. Returns 0
 * or LP2P_ERR_NOT_FOUND. */
int lp2p__quic_stream_consume(lp2p__quic *q, uint64_t id, size_t n);
/* FIN after what was written. Returns 0, LP2P_ERR_NOT_FOUND. */
int lp2p__quic_stream_close(lp2p__quic *q, uint64_t id);
/* STOP_SENDING (go's CloseRead): the peer's writes fail; what it had
 * sent is dropped. Writing and the stream's callbacks go on. Returns 0
 * or LP2P_ERR_NOT_FOUND. */
int lp2p__quic_stream_stop_reading(lp2p__quic *q, uint64_t id);
/* RESET_STREAM and STOP_SENDING now; no callback names it afterwards. */
int lp2p__quic_stream_reset(lp2p__quic *q, uint64_t id);

#endif
