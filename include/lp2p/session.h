/*
 * lp2p: one libp2p connection as one sans-IO object (docs/session.md).
 *
 * A session owns the whole upgrade of a byte stream (a TCP connection):
 * multistream-select of the security protocol, /noise (the Noise XX
 * handshake with the libp2p payload) or /tls/1.0.0 (libp2p TLS, lp2p/tls.h:
 * TLS 1.3 through GnuTLS, certificates both ways), the stream muxer (agreed
 * in Noise's early data or TLS's ALPN when both sides listed muxers, else
 * with multistream-select), and then the muxer, with multistream-select on
 * each stream. Streams' bytes go UP in the
 * stream_data callback; the consumer gives flow-control credit back with
 * lp2p_session_stream_consume (as ngtcp2's extend_max_stream_offset), and
 * a yamux window grows only by what was consumed.
 *
 * Same shape as every engine of lp2p/net.h: bytes from the socket go in
 * with _recv, bytes for the socket come out of _pull (call it until it
 * returns 0 after every _recv, _handle_expiry and stream operation; the
 * bytes stay valid until the next call on the session), and _expiry /
 * _handle_expiry drive every timer (handshake deadline, stream
 * negotiation deadlines, yamux keepalive). Nothing here reads a clock, a
 * socket or a random source.
 *
 * Callbacks run only inside _recv, _pull and _handle_expiry. A callback
 * may call the stream functions and lp2p_session_open_stream, never
 * _recv, _pull, _handle_expiry or _del.
 */
#ifndef LP2P_SESSION_H
#define LP2P_SESSION_H

#include <stdbool.h>
#include <sys/types.h>

#include "lp2p/budget.h"
#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/multiformats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One libp2p connection, sans-IO: its upgrade, muxer and streams. */
typedef struct lp2p_session lp2p_session;
struct sockaddr; /* <sys/socket.h>'s, for QUIC's datagrams */

/* Most muxers offered; most security protocols offered. */
#define LP2P_SESSION_MAX_MUXERS 2
#define LP2P_SESSION_MAX_SECURITY 2
#define LP2P_SESSION_DEFAULT_TIMEOUT (10 * LP2P_SECONDS)

/* How a session upgrades and what it accepts; lp2p_session_settings_default
 * fills it. */
typedef struct lp2p_session_settings {
  /* The peer a dialer means to reach (checked by Noise or TLS), or NULL. */
  const lp2p_peer_id *remote_peer_id;
  /* Security protocols, LP2P_NOISE_PROTOCOL_ID and/or LP2P_TLS_PROTOCOL_ID:
   * a dialer proposes them in this order, a listener accepts those listed
   * (at most LP2P_SESSION_MAX_SECURITY). Default: Noise, then TLS. */
  const char *const *security;
  size_t nsecurity;
  /* The wall-clock time, seconds since the Unix epoch: TLS certificates
   * are made valid around it and the peer's checked against it. Required
   * (> 0) when TLS is listed. */
  int64_t unix_time;
  /* Muxers in order of preference, LP2P_YAMUX_PROTOCOL_ID and/or
   * LP2P_MPLEX_PROTOCOL_ID (at most LP2P_SESSION_MAX_MUXERS). */
  const char *const *muxers;
  size_t nmuxers;
  /* Offer the muxers as Noise early data or in TLS's ALPN before "libp2p"
   * (as go-libp2p does). */
  bool early_muxer;
  /* Protocols inbound streams may negotiate; copied. See also the accept
   * callback. */
  const char *const *protocols;
  size_t nprotocols;
  /* The whole upgrade (to the muxer's start) must end within this, and
   * each stream's protocol negotiation within negotiate_timeout;
   * LP2P_TSTAMP_NEVER = no limit. */
  lp2p_tstamp handshake_timeout;
  lp2p_tstamp negotiate_timeout;
  uint32_t max_streams; /* open streams, each direction */
  /* yamux: ping every keepalive_interval and fail the session when a ping
   * is not answered within ping_timeout (0 = never). QUIC: a PING after
   * keepalive_interval without a packet (ngtcp2's keep-alive; at most
   * half the idle timeout, as go's 15 s under 30 s), and idle_timeout,
   * not ping_timeout, ends a silent connection. */
  lp2p_tstamp keepalive_interval;
  lp2p_tstamp ping_timeout;
  /* QUIC only: the connection ends (LP2P_ERR_TIMEOUT) after this long
   * without a packet (its max_idle_timeout; the smaller of both sides'
   * applies). Must be > 0 for QUIC. */
  lp2p_tstamp idle_timeout;
  /* Bytes delivered and not yet consumed are reserved in `budget` (a
   * stream whose bytes do not fit is reset). mplex has no flow control:
   * they are also bounded per stream and per session (a stream past
   * either is reset, as go-mplex does with slow readers). */
  size_t max_stream_unconsumed;
  size_t max_session_unconsumed;
  /* The connection's memory scope (lp2p/budget.h), or NULL; handed to the
   * muxer. Must outlive the session. */
  lp2p_budget *budget;
  /* Draws Noise's X25519 keys and TLS's certificate key: must be a
   * CSPRNG. (GnuTLS draws TLS's own nonces and key shares itself, and
   * allocates with the C library.) */
  lp2p_rand_fn rand_fn;
  void *rand_user;
} lp2p_session_settings;

/* What a session reports to its user; every callback is optional. */
typedef struct lp2p_session_callbacks {
  /* Noise or TLS authenticated the remote, before the muxer starts: the place
   * to gate the peer (go-libp2p's InterceptSecured). Non-zero refuses it: the
   * session fails with that error (LP2P_ERR_PROTOCOL if positive), and
   * neither `established` nor any stream follows. */
  int (*authenticated)(lp2p_session *s, const lp2p_peer_id *remote,
                       const lp2p_pubkey *key, void *user);
  /* The upgrade completed: the remote is authenticated and `muxer` was
   * agreed (`early`: in Noise's early data or TLS's ALPN). Streams may be
   * opened from here on. */
  void (*established)(lp2p_session *s, const lp2p_peer_id *remote,
                      const char *muxer, bool early, void *user);
  /* The session failed (err < 0, with an English explanation); nothing
   * more comes in or goes out but what _pull still has (a GoAway). */
  void (*closed)(lp2p_session *s, int err, const char *msg, void *user);
  /* Optional: whether an inbound proposal not in settings.protocols is
   * supported (non-zero = yes); `proto` is not NUL-terminated. */
  int (*accept)(lp2p_session *s, const char *proto, size_t len, void *user);
  /* A stream agreed on `proto`. Outbound: `*stream_user` holds what
   * lp2p_session_open_stream was given; inbound: NULL. Either may be
   * replaced. */
  void (*stream_opened)(lp2p_session *s, uint64_t id, const char *proto,
                        bool inbound, void **stream_user, void *user);
  /* Bytes of an open stream, valid during the call only. They count
   * against the stream's receive window until given back with
   * lp2p_session_stream_consume. */
  void (*stream_data)(lp2p_session *s, uint64_t id, void *stream_user,
                      const uint8_t *data, size_t len, void *user);
  /* The peer half-closed the stream: no more data. */
  void (*stream_end)(lp2p_session *s, uint64_t id, void *stream_user,
                     void *user);
  /* A write that accepted less than it was given can now accept more. */
  void (*stream_writable)(lp2p_session *s, uint64_t id, void *stream_user,
                          void *user);
  /* Every stream the application learned of (opened by it, or announced
   * by stream_opened) ends with exactly one of these two, unless the
   * application reset it itself; the id is unknown afterwards.
   * stream_closed: both sides closed and all data was delivered.
   * stream_reset: `err` is LP2P_ERR_PROTOCOL (the peer reset it),
   * LP2P_ERR_UNSUPPORTED (the peer supports none of the protocols
   * proposed, or gave up negotiating), LP2P_ERR_TIMEOUT (negotiation
   * timed out), LP2P_ERR_TOO_LARGE (data past a bound or the budget),
   * LP2P_ERR_NOMEM, or the error that failed the session. */
  void (*stream_closed)(lp2p_session *s, uint64_t id, void *stream_user,
                        void *user);
  void (*stream_reset)(lp2p_session *s, uint64_t id, void *stream_user, int err,
                       void *user);
  /* A keepalive ping (or lp2p_session_ping) was answered after `rtt`. */
  void (*pong)(lp2p_session *s, lp2p_tstamp rtt, void *user);
} lp2p_session_callbacks;

/* Noise then TLS (set unix_time), yamux then mplex, early data on, 10 s
 * for the upgrade and for each
 * stream negotiation, 1000 streams each way, keepalive every 30 s with a
 * 10 s timeout, a 30 s QUIC idle timeout, 4 MiB unconsumed per mplex stream and
 * 32 MiB per session, no budget, no protocols, no rand_fn (set one). */
LP2P_API void lp2p_session_settings_default(lp2p_session_settings *s);

/* Creates a session on a new connection; an initiator (the dialer) has
 * its first bytes ready for _pull at once. `identity` is used only here.
 * `cb` and `mem` may be NULL. Returns 0, LP2P_ERR_NOMEM,
 * LP2P_ERR_INVALID_ARG (no rand_fn, no muxer or an unknown one, no
 * security protocol or an unknown one, TLS without unix_time, an invalid
 * protocol id, a zero limit) or LP2P_ERR_UNSUPPORTED (an identity that
 * cannot sign). The secure channel starts once its protocol is agreed;
 * its setup errors fail the session then. */
LP2P_API int lp2p_session_new(lp2p_session **out,
                              const lp2p_session_settings *settings,
                              const lp2p_privkey *identity, bool initiator,
                              const lp2p_session_callbacks *cb,
                              const lp2p_mem *mem, void *user, lp2p_tstamp now);
/* Creates a QUIC v1 session (libp2p/specs quic/README.md) dialing from
 * `local` to `remote` (sockaddr_in or sockaddr_in6, as bound and dialed):
 * its Initial is ready for _pull at once. QUIC brings TLS 1.3 with the
 * libp2p certificate and its own streams, so `security`, `muxers`,
 * `early_muxer`, `ping_timeout` and the mplex bounds do not apply;
 * `unix_time` is required (certificates), `remote_peer_id` is checked in
 * the server's certificate, `max_streams` is the streams the peer may
 * open, `max_stream_unconsumed` and `max_session_unconsumed` are the
 * stream's and the connection's receive windows (capped at 4 GiB per
 * stream), `handshake_timeout` and `idle_timeout` are QUIC's. Streams
 * agree their protocol with multistream-select within
 * `negotiate_timeout` (a stream past it is reset), and at most 16
 * streams the peer opened negotiate at once (more are reset); `budget`
 * holds the bytes delivered and not consumed (a stream whose bytes do not
 * fit is reset), as over TCP; the written bytes QUIC keeps until they are
 * acknowledged are bounded per stream, not charged (as go), nor are
 * ngtcp2's and GnuTLS's own state. Returns 0,
 * LP2P_ERR_NOMEM, LP2P_ERR_INVALID_ARG (no rand_fn, no unix_time, a zero
 * limit or idle_timeout, an invalid protocol id or address),
 * LP2P_ERR_UNSUPPORTED (an identity that cannot sign) or LP2P_ERR_CRYPTO
 * (GnuTLS or ngtcp2 refused the setup). */
LP2P_API int lp2p_session_new_quic_client(
    lp2p_session **out, const lp2p_session_settings *settings,
    const lp2p_privkey *identity, const struct sockaddr *local,
    uint32_t local_len, const struct sockaddr *remote, uint32_t remote_len,
    const lp2p_session_callbacks *cb, const lp2p_mem *mem, void *user,
    lp2p_tstamp now);
/* Creates the server side of a QUIC session for a client's first
 * datagram `pkt` (received on `local` from `remote`), which it reads;
 * settings as for the client (remote_peer_id is ignored: any
 * authenticated peer is accepted, see the authenticated callback).
 * Returns 0, LP2P_ERR_MALFORMED (not a QUIC v1 Initial a server
 * accepts: drop it), the error that ended the connection while reading
 * it (no callback runs), or the client constructor's errors. */
LP2P_API int lp2p_session_new_quic_server(
    lp2p_session **out, const lp2p_session_settings *settings,
    const lp2p_privkey *identity, const struct sockaddr *local,
    uint32_t local_len, const struct sockaddr *remote, uint32_t remote_len,
    const uint8_t *pkt, size_t len, const lp2p_session_callbacks *cb,
    const lp2p_mem *mem, void *user, lp2p_tstamp now);
/* Frees the session and every stream, without callbacks. NULL: no-op. */
LP2P_API void lp2p_session_del(lp2p_session *s);

/* Feeds every byte read from the socket (split anywhere). Returns 0, or
 * the error that failed the session (closed has run); LP2P_ERR_STATE on a
 * failed session, and always on a QUIC session (it takes datagrams). */
LP2P_API int lp2p_session_recv(lp2p_session *s, const uint8_t *in, size_t len,
                               lp2p_tstamp now);
/* Feeds one whole datagram of a QUIC session, received from `from`.
 * Returns 0 (a datagram QUIC drops, as undecryptable or stale, too), the
 * error that failed the session (closed has run), LP2P_ERR_INVALID_ARG
 * (an address neither sockaddr_in nor sockaddr_in6), or LP2P_ERR_STATE on
 * a failed or closed session, and always on a TCP session (it takes a
 * byte stream). */
LP2P_API int lp2p_session_recv_datagram(lp2p_session *s, const uint8_t *pkt,
                                        size_t len, const struct sockaddr *from,
                                        uint32_t fromlen, lp2p_tstamp now);
/* Bytes to write to the socket; see the contract at the top. A QUIC
 * session returns one whole datagram per call (send each with its own
 * sendto). */
LP2P_API ssize_t lp2p_session_pull(lp2p_session *s, const uint8_t **out,
                                   lp2p_tstamp now);
/* The earliest deadline, or LP2P_TSTAMP_NEVER. */
LP2P_API lp2p_tstamp lp2p_session_expiry(const lp2p_session *s);
/* Runs what is due. Returns 0, or the error that failed the session
 * (LP2P_ERR_TIMEOUT: the upgrade did not complete in time, or a
 * keepalive ping was not answered). */
LP2P_API int lp2p_session_handle_expiry(lp2p_session *s, lp2p_tstamp now);

/* What kind of session it is, as go-libp2p's ConnectionState.Transport:
 * "tcp" (lp2p_session_new) or "quic-v1" (the QUIC constructors). */
LP2P_API const char *lp2p_session_transport(const lp2p_session *s);
/* Whether the upgrade completed and the session has not failed. */
LP2P_API bool lp2p_session_is_established(const lp2p_session *s);
/* The `now` of the session's current (or last) call to _new, _recv, _pull
 * or _handle_expiry: the time a callback runs at, for consumers that
 * measure or schedule from inside one. */
LP2P_API lp2p_tstamp lp2p_session_now(const lp2p_session *s);
/* The authenticated remote peer (NULL before the handshake). */
LP2P_API const lp2p_peer_id *lp2p_session_remote(const lp2p_session *s);
/* The remote peer's public key (NULL before the handshake). */
LP2P_API const lp2p_pubkey *lp2p_session_remote_key(const lp2p_session *s);
/* The security protocol agreed, LP2P_NOISE_PROTOCOL_ID or
 * LP2P_TLS_PROTOCOL_ID (NULL before); "" for QUIC once established, as
 * go-libp2p's ConnectionState.Security (TLS is part of QUIC). */
LP2P_API const char *lp2p_session_security(const lp2p_session *s);
/* The muxer agreed, LP2P_YAMUX_PROTOCOL_ID or LP2P_MPLEX_PROTOCOL_ID
 * (NULL before); "" for QUIC once established, as go-libp2p's
 * ConnectionState.StreamMultiplexer (QUIC's own streams). The
 * established callback's `muxer` is the same. */
LP2P_API const char *lp2p_session_muxer(const lp2p_session *s);
/* 0 while healthy, else the error that failed it; `*msg` (may be NULL)
 * receives the explanation. */
LP2P_API int lp2p_session_error(const lp2p_session *s, const char **msg);
/* Whether the host should read the socket now: false while mplex streams
 * hold half of max_session_unconsumed delivered and not consumed, until
 * they are down to a quarter (mplex has no flow control: the peer's TCP
 * is stalled instead, as go-mplex does by blocking its reader). */
LP2P_API bool lp2p_session_want_input(lp2p_session *s);
/* What a session counted; lp2p_session_stats_get. */
typedef struct lp2p_session_stats {
  lp2p_tstamp rtt; /* yamux's or QUIC's round trip; 0 when unknown */
  /* streams reset for data past a bound or the budget */
  uint64_t streams_reset_budget;
  /* stream writes the budget shortened */
  uint64_t writes_held_budget;
} lp2p_session_stats;

/* Fills `st` as of now. */
LP2P_API void lp2p_session_stats_get(const lp2p_session *s,
                                     lp2p_session_stats *st);
/* Open streams, negotiating ones included. */
LP2P_API size_t lp2p_session_num_streams(const lp2p_session *s);
/* Sends a yamux ping now (pong follows). Returns 0, LP2P_ERR_STATE (not
 * established) or LP2P_ERR_UNSUPPORTED (mplex, and QUIC: ngtcp2 0.12
 * cannot send a PING frame on demand; its keep-alive pings a quiet
 * connection, and /ipfs/ping/1.0.0 works over a stream). */
LP2P_API int lp2p_session_ping(lp2p_session *s);
/* No new streams either way from now on (yamux GoAway; mplex has none):
 * call before closing the connection. Returns 0 or LP2P_ERR_STATE.
 * QUIC has no GoAway: this closes the connection gracefully at once
 * (CONNECTION_CLOSE without error is the next _pull), and its streams
 * end without callbacks, as with _del. */
LP2P_API int lp2p_session_goaway(lp2p_session *s);

/* Opens a stream that proposes `protocols` in order (copied);
 * stream_opened or stream_reset follows. Returns 0 with `*id`,
 * LP2P_ERR_STATE (not established, failed, or the muxer refuses new
 * streams), LP2P_ERR_TOO_LARGE (max_streams open), LP2P_ERR_INVALID_ARG
 * (no protocol, an invalid one) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_session_open_stream(lp2p_session *s,
                                      const char *const *protocols, size_t n,
                                      void *stream_user, uint64_t *id);
/* Queues bytes on an open stream; returns how many were accepted (0 when
 * the peer's window or the send buffer is full: stream_writable follows),
 * or LP2P_ERR_NOT_FOUND, LP2P_ERR_STATE (still negotiating, closed for
 * writing), LP2P_ERR_NOMEM. */
LP2P_API ssize_t lp2p_session_stream_write(lp2p_session *s, uint64_t id,
                                           const uint8_t *data, size_t len);
/* Bytes lp2p_session_stream_write would accept on `id` now (0 for an
 * unknown or still negotiating stream); when 0, stream_writable follows
 * once there is room. */
LP2P_API size_t lp2p_session_stream_writable(lp2p_session *s, uint64_t id);
/* Gives back `n` bytes delivered by stream_data (at most those not given
 * back yet): a yamux window grows by them, an mplex stream's bound and
 * the budget get room. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_session_stream_consume(lp2p_session *s, uint64_t id,
                                         size_t n);
/* Half-closes (FIN after the data written). Returns 0,
 * LP2P_ERR_NOT_FOUND or LP2P_ERR_STATE. */
LP2P_API int lp2p_session_stream_close(lp2p_session *s, uint64_t id);
/* Resets now; no callback names the stream afterwards. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_session_stream_reset(lp2p_session *s, uint64_t id);
/* The negotiated protocol of an open stream, else NULL. */
LP2P_API const char *lp2p_session_stream_protocol(const lp2p_session *s,
                                                  uint64_t id);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_SESSION_H */
