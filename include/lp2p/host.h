/*
 * lp2p: the host, the part of lp2p that touches the operating system.
 * Everything else is sans-IO and takes time and randomness from here.
 *
 * The host runs on a libuv loop the application owns: it listens on and
 * dials TCP multiaddrs, upgrades every connection (multistream-select ->
 * Noise -> multistream-select -> yamux or mplex, or the muxer agreed in
 * Noise's early data), dispatches inbound streams to per-protocol
 * handlers, and answers identify and ping itself.
 *
 * Threading: every function must be called on the loop's thread. Callbacks
 * run from the loop, never from inside the function that caused them,
 * except where a comment says otherwise. A callback may call any host
 * function, including lp2p_conn_close and lp2p_stream_reset on the object
 * it is about.
 *
 * Lifetimes: a connection pointer is valid from the callback that hands it
 * out (connected, a dial's completion, a stream's lp2p_stream_conn) until
 * its disconnected callback returns; a stream pointer until its closed
 * callback returns.
 */
#ifndef LP2P_HOST_H
#define LP2P_HOST_H

#include <stdbool.h>
#include <sys/types.h>

#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/multiformats.h"
#include "lp2p/net.h"
#include "lp2p/noise.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s;

/* An lp2p_rand_fn that reads the operating system's CSPRNG (libsodium's
 * randombytes). `user` is ignored. Suitable for key generation. */
LP2P_API void lp2p_host_rand(uint8_t *dest, size_t len, void *user);

/* The host's monotonic clock (libuv's high-resolution time), in the unit of
 * lp2p_tstamp: what the host passes as `now` to the sans-IO objects. */
LP2P_API lp2p_tstamp lp2p_host_now(void);

/* A host: listens, dials and upgrades connections on one libuv loop. */
typedef struct lp2p_host lp2p_host;
/* An upgraded connection to one peer. */
typedef struct lp2p_conn lp2p_conn;
/* A stream of a connection, negotiated to one protocol. */
typedef struct lp2p_stream lp2p_stream;

/* Which stream multiplexers a host offers and accepts. */
typedef enum lp2p_muxers {
  LP2P_MUXERS_ALL = 0,   /* yamux preferred, mplex accepted */
  LP2P_MUXERS_YAMUX = 1, /* yamux only */
  LP2P_MUXERS_MPLEX = 2, /* mplex only */
} lp2p_muxers;

/* Which security protocols a host offers (a dialer, in this order) and
 * accepts (a listener). */
typedef enum lp2p_security {
  LP2P_SECURITY_ALL = 0,   /* Noise preferred, TLS (/tls/1.0.0) too */
  LP2P_SECURITY_NOISE = 1, /* Noise only */
  LP2P_SECURITY_TLS = 2,   /* TLS only */
} lp2p_security;

/* Everything a host is created with; lp2p_host_settings_default. */
typedef struct lp2p_host_settings {
  /* Our identity, Ed25519 or secp256k1; copied. Required. */
  const lp2p_privkey *key;
  /* Sent in identify; copied. NULL: "lp2p/<version>". */
  const char *agent_version;
  lp2p_muxers muxers;
  lp2p_security security;
  /* ---- the connection manager (go-libp2p: the resource manager's
   * connection limits and the connection gater refuse at accept; the
   * BasicConnMgr trims between low and high water). ---- */
  /* Connections open at once, handshaking ones included, both directions.
   * An inbound one is refused when fewer than `reserved_outbound` slots
   * are left, so that a node full of inbound peers can still dial out;
   * lp2p_host_dial refuses past the whole limit. */
  uint32_t max_connections;
  uint32_t reserved_outbound;
  /* Inbound connections open at once, handshaking ones included. */
  uint32_t max_inbound;
  /* Inbound connections not yet upgraded (TCP accepted, Noise or the
   * muxer still being negotiated), so that sockets that never finish
   * cannot take the established ones' slots. Past it, the oldest one
   * makes room for a new one once it has taken 2 s (an honest upgrade
   * takes milliseconds; go refuses the new one); otherwise the new one
   * is refused. */
  uint32_t max_handshakes;
  /* Inbound connections, handshaking ones included, from one IPv4
   * address or one IPv6 /64. Loopback addresses (127/8, ::1) are not
   * limited unless `limit_loopback`, as go's defaults. */
  uint32_t max_conns_per_ip;
  bool limit_loopback;
  /* Trimming: when more than `conns_high_water` connections are upgraded,
   * the least valuable ones (lp2p_host_callbacks.peer_value, then those
   * without streams, then the newest) are closed with
   * LP2P_DISCONNECT_TRIMMED until `conns_low_water` are left. Protected
   * peers and connections younger than `conns_grace` are never trimmed.
   * conns_high_water 0: never trim. */
  uint32_t conns_low_water;
  uint32_t conns_high_water;
  lp2p_tstamp conns_grace;
  /* Outbound connections not yet upgraded; lp2p_host_dial refuses more. */
  uint32_t max_pending_dials;
  /* Streams per connection and direction; the peer's extra streams are
   * refused (yamux RST, mplex reset). */
  uint32_t max_streams;
  /* TCP connect; the whole upgrade (from the TCP connection to a ready
   * muxer); a stream's protocol negotiation. */
  lp2p_tstamp dial_timeout;
  lp2p_tstamp handshake_timeout;
  lp2p_tstamp negotiate_timeout;
  /* A connection without streams for this long is closed, whether or not
   * it answers keepalive pings; 0 = never. */
  lp2p_tstamp idle_timeout;
  /* Encrypted bytes a connection queues for its socket; past it the
   * muxer's frames wait (and stream writes accept less) until the socket
   * drains. */
  size_t max_write_buffer;
  /* Open an identify stream to every new connection (as go-libp2p and
   * js-libp2p do) and report the answer with `identified`. */
  bool identify;
  /* Memory budgets (lp2p/budget.h) for what peers can make the host
   * buffer: streams' unread and unsent bytes (not their windows: an idle
   * stream costs nothing), connection write queues. A reservation must
   * fit the connection's, its peer's (shared by the peer's connections)
   * and the host's total; what does not fit is refused (the stream whose
   * data does not fit is reset, a write accepts less, a write queue is
   * left to drain), never buffered. Defaults 512 MiB, 40 MiB and
   * 40 MiB (see lp2p/budget.h why); go-libp2p's resource manager:
   * 128 MiB + 1/8 of the RAM, 64 MiB, 32 MiB. */
  uint64_t max_memory;
  uint64_t max_peer_memory;
  uint64_t max_conn_memory;
} lp2p_host_settings;

/* No key, every muxer, Noise and TLS, 64 pending dials, 1024 streams, timeouts
 * 10 s (dial), 15 s (handshake), 10 s (negotiate), 1 MiB write buffer, identify
 * on, and the connection manager's limits:
 *
 *   setting              lp2p    go-libp2p
 *   max_connections      1024    rcmgr system ConnsInbound+Outbound,
 *                                scaled with memory (e.g. 128+ per GiB)
 *   reserved_outbound    32      none (outbound has its own limit)
 *   max_inbound          512     rcmgr system ConnsInbound (scaled)
 *   max_handshakes       64      rcmgr transient scope: 64 conns, 32
 *                                inbound
 *   max_conns_per_ip     8       8 per IPv4 /32 (ConnLimitPerSubnet), 8
 *                                per IPv6 /56; loopback unlimited
 *   conns_low_water      160     BasicConnMgr 160 (go-libp2p defaults.go)
 *   conns_high_water     192     192
 *   conns_grace          60 s    1 min
 *   idle_timeout         120 s   none (trimming only)
 *
 * and the memory budgets: 512 MiB in all, 40 MiB per peer, 40 MiB per
 * connection (go-libp2p's rcmgr scales its system limit with memory:
 * 128 MiB plus about 1 GiB per 8 GiB). */
LP2P_API void lp2p_host_settings_default(lp2p_host_settings *s);

/* Why a connection ended (with a human-readable message beside it). */
typedef enum lp2p_disconnect_reason {
  LP2P_DISCONNECT_LOCAL = 0,     /* lp2p_conn_close or lp2p_host_close */
  LP2P_DISCONNECT_REMOTE = 1,    /* the peer closed the connection */
  LP2P_DISCONNECT_IO = 2,        /* a socket error */
  LP2P_DISCONNECT_PROTOCOL = 3,  /* the peer broke a protocol */
  LP2P_DISCONNECT_TIMEOUT = 4,   /* a handshake or keepalive timed out */
  LP2P_DISCONNECT_IDLE = 5,      /* no streams for idle_timeout */
  LP2P_DISCONNECT_DUPLICATE = 6, /* the peer has 4 connections already */
  LP2P_DISCONNECT_LIMIT = 7,     /* a connection limit: refused at accept */
  LP2P_DISCONNECT_NOMEM = 8,     /* an allocation failed */
  LP2P_DISCONNECT_TRIMMED = 9,   /* closed above conns_high_water */
} lp2p_disconnect_reason;

/* A name for the reason: "local", "remote", "io", ... */
LP2P_API const char *lp2p_disconnect_reason_name(lp2p_disconnect_reason r);

/* All callbacks are optional. */
typedef struct lp2p_host_callbacks {
  /* A connection is upgraded and its peer authenticated (both
   * directions). */
  void (*connected)(lp2p_host *h, lp2p_conn *c, void *user);
  /* The peer answered identify (or pushed an update);
   * lp2p_conn_identify gives the answer. */
  void (*identified)(lp2p_host *h, lp2p_conn *c, void *user);
  /* An upgraded connection ended: called once for every `connected`, after
   * the closed callbacks of its streams. `msg` says what happened in
   * English. */
  void (*disconnected)(lp2p_host *h, lp2p_conn *c, lp2p_disconnect_reason r,
                       const char *msg, void *user);
  /* A connection failed before it was upgraded (inbound or outbound; an
   * outbound one also completes its dial with the error). For logs. */
  void (*handshake_failed)(lp2p_host *h, bool outbound, int err,
                           const char *msg, void *user);
  /* How much the application values `peer`, for trimming: the lowest go
   * first; LP2P_PEER_PROTECTED: never trimmed (go's ConnManager.Protect).
   * NULL: every peer is worth 0. Must not call host functions. */
  int32_t (*peer_value)(lp2p_host *h, const lp2p_peer_id *peer, void *user);
} lp2p_host_callbacks;

/* A peer_value that keeps a peer's connections from being trimmed. */
#define LP2P_PEER_PROTECTED INT32_MAX

/* What the memory budgets hold and refused since the host started. */
typedef struct lp2p_host_budget_stats {
  uint64_t used;               /* bytes reserved now, host-wide */
  uint64_t limit;              /* max_memory */
  uint64_t refused;            /* every reservation refused */
  uint64_t refused_host;       /* ... because the host total was full */
  uint64_t refused_peer;       /* ... because a peer's scope was full */
  uint64_t refused_conn;       /* ... because a connection's was full */
  uint64_t streams_reset;      /* streams reset: received bytes past it */
  uint64_t stream_writes_held; /* stream writes shortened by it */
  uint64_t writes_held;        /* write queues held at their budget */
  uint64_t peer_used_max;      /* the most one peer's scope holds now */
  uint64_t peer_limit;         /* max_peer_memory */
} lp2p_host_budget_stats;

/* Fills `st` as of now. */
LP2P_API void lp2p_host_budget_stats_get(const lp2p_host *h,
                                         lp2p_host_budget_stats *st);

/* Creates a host on `loop`. SIGPIPE is ignored from then on when it had
 * its default disposition (a write to a socket the peer closed must fail,
 * not end the process). Returns 0, LP2P_ERR_INVALID_ARG (no key, a key
 * that cannot sign, a zero limit or timeout, an agent version over 256
 * bytes) or LP2P_ERR_NOMEM. `cb` and `mem` may be NULL. */
LP2P_API int lp2p_host_new(lp2p_host **out, struct uv_loop_s *loop,
                           const lp2p_host_settings *s,
                           const lp2p_host_callbacks *cb, const lp2p_mem *mem,
                           void *user);
/* Stops listening, closes every connection (yamux GoAway, pending bytes
 * flushed for up to a second), fails pending dials, then frees the host
 * once libuv has released its handles and calls `done` (may be NULL). No
 * other function may be called on `h` afterwards. Returns 0 or
 * LP2P_ERR_STATE (already closing). */
LP2P_API int lp2p_host_close(lp2p_host *h, void (*done)(void *user),
                             void *user);

/* Our peer id, from the settings' key. */
LP2P_API const lp2p_peer_id *lp2p_host_peer_id(const lp2p_host *h);
/* The `user` pointer given to lp2p_host_new. */
LP2P_API void *lp2p_host_user(const lp2p_host *h);

/* Listens on a binary multiaddr /ip4|ip6/A/tcp/P, or for QUIC v1
 * /ip4|ip6/A/udp/P/quic-v1 (port 0 picks one). Returns 0,
 * LP2P_ERR_UNSUPPORTED (another transport),
 * LP2P_ERR_MALFORMED, LP2P_ERR_IO (bind or listen failed; `err` says
 * why) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_listen(lp2p_host *h, const uint8_t *ma, size_t len,
                              lp2p_errdetail *err);
/* The addresses the host listens on, TCP ones then QUIC ones, as binary
 * multiaddrs with the bound port, each one ending in /p2p/<our id> when
 * `with_peer_id`; an unspecified address (0.0.0.0, ::) is expanded to the
 * machine's interface addresses. Appends to `out` as uvarint(length) ‖
 * multiaddr entries; returns how many or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_listen_addrs(const lp2p_host *h, bool with_peer_id,
                                    lp2p_buf *out);

/* ---- dialing ------------------------------------------------------------ */

/* Completes a dial: `c` is the connection (a new one, or the one already
 * open to that peer) with err 0, or NULL with the error and a message:
 * LP2P_ERR_IO (connection refused, unreachable), LP2P_ERR_TIMEOUT,
 * LP2P_ERR_PEER_ID_MISMATCH (not the peer of the /p2p/ component),
 * LP2P_ERR_UNSUPPORTED (no common security or muxer protocol),
 * LP2P_ERR_PROTOCOL and the Noise errors (a failed handshake),
 * LP2P_ERR_STATE (the host is closing). */
typedef void (*lp2p_dial_cb)(lp2p_host *h, lp2p_conn *c, int err,
                             const char *msg, void *user);

/* Dials a binary multiaddr /ip4|ip6/A/tcp/P[/p2p/ID] or
 * /ip4|ip6/A/udp/P/quic-v1[/p2p/ID]. With a /p2p/
 * component the remote must prove that identity, and an open connection
 * to that peer is reused. `cb` is called exactly once, never from inside
 * this call. Returns 0, or without calling `cb`: LP2P_ERR_UNSUPPORTED
 * (dns or another transport), LP2P_ERR_MALFORMED, LP2P_ERR_TOO_LARGE
 * (max_pending_dials or max_connections reached), LP2P_ERR_INVALID_ARG
 * (dialing ourselves), LP2P_ERR_STATE (closing) or LP2P_ERR_NOMEM; `err`
 * says why. */
LP2P_API int lp2p_host_dial(lp2p_host *h, const uint8_t *ma, size_t len,
                            lp2p_dial_cb cb, void *user, lp2p_errdetail *err);

/* Abandons the pending dials made with this `cb` and `user`: their
 * connections, not yet upgraded, are closed and `cb` is not called for
 * them (as go cancels a peer's other dials once one connects). Returns
 * how many were cancelled. */
LP2P_API size_t lp2p_host_dial_cancel(lp2p_host *h, lp2p_dial_cb cb,
                                      void *user);

/* The oldest open connection to `peer` (the one to open streams on), or
 * NULL. A peer may have up to 4: simultaneous dials both stay, as in
 * go-libp2p and js-libp2p, which may run their streams on either; when
 * the oldest ends, the next oldest takes its place. */
LP2P_API lp2p_conn *lp2p_host_conn(const lp2p_host *h,
                                   const lp2p_peer_id *peer);
/* Upgraded connections open now. */
LP2P_API size_t lp2p_host_num_conns(const lp2p_host *h);

/* The connection manager's counters. */
typedef struct lp2p_host_stats {
  /* open now */
  uint64_t conns;          /* every connection, handshaking ones included */
  uint64_t conns_inbound;  /* of them, inbound */
  uint64_t handshakes;     /* inbound ones not yet upgraded */
  uint64_t conns_upgraded; /* lp2p_host_num_conns */
  /* inbound connections refused at accept, by the limit they hit */
  uint64_t refused_total;      /* max_connections - reserved_outbound */
  uint64_t refused_inbound;    /* max_inbound */
  uint64_t refused_handshakes; /* max_handshakes */
  uint64_t refused_per_ip;     /* max_conns_per_ip */
  uint64_t dials_refused;      /* lp2p_host_dial: a limit reached */
  uint64_t trimmed;            /* closed above conns_high_water */
  uint64_t closed_idle;        /* closed after idle_timeout */
  uint64_t handshake_timeouts; /* inbound handshakes that timed out */
  uint64_t handshakes_evicted; /* stalled ones closed for a new one */
  /* times freed memory was given back to the system (glibc's
   * malloc_trim, checked once a second: when the resident memory the
   * heaps hold free grew by 1 MiB, and a quarter of what is in use, since
   * the last trim, or 64 QUIC handshakes freed their TLS sessions) */
  uint64_t memory_trims;
  /* identify and ping streams reset, over every connection (closed ones
   * included): identify messages over LP2P_IDENTIFY_MAX_SIZE or
   * LP2P_IDENTIFY_MAX_MESSAGES, undecodable or not the peer's; identify
   * answers and pushes not ended within LP2P_IDENTIFY_TIMEOUT; inbound
   * ping floods (LP2P_PING_MAX_BACKLOG) or unread echoes; inbound ping
   * streams idle for LP2P_PING_IDLE_TIMEOUT */
  uint64_t identify_refused;
  uint64_t identify_timeouts;
  uint64_t ping_streams_reset;
  uint64_t ping_idle_resets;
  /* our identify requests that ended without an answer (the stream
   * reset, or its negotiation refused or timed out), each asked again
   * once LP2P_IDENTIFY_RETRY_DELAY later unless the peer refused the
   * protocol */
  uint64_t identify_failed;
  /* QUIC datagrams the UDP socket did not take (a full send buffer: QUIC
   * retransmits what was lost) or could not send, and datagrams received
   * truncated (larger than the read buffer), dropped */
  uint64_t quic_send_dropped;
  uint64_t quic_recv_truncated;
} lp2p_host_stats;

/* Fills `st` as of now. */
LP2P_API void lp2p_host_get_stats(const lp2p_host *h, lp2p_host_stats *st);

/* ---- connections -------------------------------------------------------- */

/* What lp2p_conn_info_get tells about a connection. */
typedef struct lp2p_conn_info {
  lp2p_peer_id peer_id;
  lp2p_pubkey pubkey;
  bool outbound;          /* we dialed */
  const char *muxer;      /* LP2P_YAMUX_PROTOCOL_ID or LP2P_MPLEX_PROTOCOL_ID */
  const char *security;   /* LP2P_NOISE_PROTOCOL_ID or LP2P_TLS_PROTOCOL_ID */
  bool early_muxer;       /* agreed in Noise's early data or TLS's ALPN, not by
                             a round trip */
  lp2p_bytes remote_addr; /* binary multiaddr of the socket's peer */
  lp2p_bytes local_addr;
  size_t num_streams;
  lp2p_tstamp rtt; /* yamux's or QUIC's round trip; 0 when unknown */
  /* On the socket, framing and encryption included; over QUIC the UDP
   * payloads of the connection's own datagrams (its CONNECTION_CLOSE
   * too; the socket is shared), IP and UDP headers not included. */
  uint64_t bytes_received;
  uint64_t bytes_sent;
  /* "tcp" or "quic-v1" (go's ConnectionState.Transport); over QUIC,
   * muxer and security are "" (QUIC's own streams and TLS, as go reports
   * them) */
  const char *transport;
} lp2p_conn_info;

/* Views in `info` live as long as the connection. */
LP2P_API void lp2p_conn_info_get(const lp2p_conn *c, lp2p_conn_info *info);
/* The authenticated peer at the other end. */
LP2P_API const lp2p_peer_id *lp2p_conn_peer_id(const lp2p_conn *c);
/* The host the connection belongs to. */
LP2P_API lp2p_host *lp2p_conn_host(const lp2p_conn *c);
/* The peer's last identify answer or push, decoded into `id` (views into
 * the connection's copy). Returns 0, or LP2P_ERR_NOT_FOUND when none has
 * arrived yet. */
LP2P_API int lp2p_conn_identify(const lp2p_conn *c, lp2p_identify *id);
/* A pointer the application keeps with the connection. An lp2p_node
 * keeps its own there: with a node, do not set it. */
LP2P_API void lp2p_conn_set_user(lp2p_conn *c, void *conn_user);
/* The pointer set by lp2p_conn_set_user (NULL until then). */
LP2P_API void *lp2p_conn_user(const lp2p_conn *c);
/* The memory scope of the connection's peer (lp2p/budget.h), shared by
 * all its connections, for what else the peer makes us hold (the node
 * charges its pubsub queues to it); NULL before the muxer starts. It
 * lives while any of the peer's connections does: what is reserved in it
 * must be given back by the time the last one's `disconnected` returns. */
LP2P_API lp2p_budget *lp2p_conn_peer_budget(const lp2p_conn *c);
/* The host's root memory scope (max_memory), parent of every peer's, for
 * what else the application lets peers make it hold under the host's
 * total (a node's router queues). It lives until lp2p_host_close's
 * `done`: what is reserved in a child scope must be given back by then. */
LP2P_API lp2p_budget *lp2p_host_budget(lp2p_host *h);
/* Closes the connection: yamux GoAway, pending bytes flushed, then the
 * socket closed; streams end with LP2P_STREAM_END_SESSION and
 * `disconnected` follows with LP2P_DISCONNECT_LOCAL. Returns 0 or
 * LP2P_ERR_STATE (already closing). */
LP2P_API int lp2p_conn_close(lp2p_conn *c);

/* Measures one round trip with /ipfs/ping/1.0.0 on a stream kept for the
 * purpose. `cb` gets the time or an error (LP2P_ERR_TIMEOUT,
 * LP2P_ERR_PROTOCOL, LP2P_ERR_UNSUPPORTED when the peer does not speak
 * ping, LP2P_ERR_STATE when the connection closed). Returns 0,
 * LP2P_ERR_STATE (a ping already outstanding, or the connection closing)
 * or LP2P_ERR_NOMEM. */
typedef void (*lp2p_ping_cb)(lp2p_conn *c, lp2p_tstamp rtt, int err,
                             void *user);
/* Starts the ping lp2p_ping_cb above describes. */
LP2P_API int lp2p_conn_ping(lp2p_conn *c, lp2p_ping_cb cb, void *user);

/* ---- streams ------------------------------------------------------------ */

/* An inbound stream negotiated to a protocol the handler was registered
 * for. Set its callbacks before returning. */
typedef void (*lp2p_stream_handler)(lp2p_stream *s, void *user);

/* Serves `protocol` (copied) on inbound streams; NULL `fn` stops serving
 * it. Returns 0, LP2P_ERR_INVALID_ARG (an empty protocol, one over 1023
 * bytes or containing '\n', or one the host serves itself: identify,
 * ping) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_set_handler(lp2p_host *h, const char *protocol,
                                   lp2p_stream_handler fn, void *user);

/* Completes lp2p_conn_open_stream: the stream, negotiated to
 * `lp2p_stream_protocol(s)`, or NULL with LP2P_ERR_UNSUPPORTED (the peer
 * speaks none of the protocols), LP2P_ERR_TIMEOUT, LP2P_ERR_PROTOCOL,
 * LP2P_ERR_STATE (the connection or stream closed meanwhile),
 * LP2P_ERR_NOMEM (buffering the negotiation failed). */
typedef void (*lp2p_stream_open_cb)(lp2p_conn *c, lp2p_stream *s, int err,
                                    void *user);

/* Opens a stream and negotiates the first of `protocols` (copied) the peer
 * supports. Returns 0 (`cb` follows, called exactly once), or without
 * calling `cb`: LP2P_ERR_TOO_LARGE (max_streams open), LP2P_ERR_STATE (the
 * connection is closing or the peer sent GoAway), LP2P_ERR_INVALID_ARG or
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_conn_open_stream(lp2p_conn *c, const char *const *protocols,
                                   size_t nprotocols, lp2p_stream_open_cb cb,
                                   void *user);

/* A stream's events; each is optional. */
typedef struct lp2p_stream_callbacks {
  /* Data or the end of the peer's side can be read. */
  void (*readable)(lp2p_stream *s, void *user);
  /* A write that took less than it was given can take more. */
  void (*writable)(lp2p_stream *s, void *user);
  /* The stream ended (both sides closed and all read, a reset, or the
   * connection ended); the pointer is invalid once this returns. */
  void (*closed)(lp2p_stream *s, lp2p_stream_end why, void *user);
  /* Optional: received bytes handed over where the connection holds them
   * (no copy, valid during the call), when none are waiting from before.
   * Returns how many it took; flow-control credit goes back for those,
   * and the rest waits for lp2p_stream_read (`readable` follows when
   * more arrives). Without it, `readable` and lp2p_stream_read. */
  size_t (*data)(lp2p_stream *s, const uint8_t *p, size_t len, void *user);
} lp2p_stream_callbacks;

/* `cb` is copied; NULL clears. When data is already waiting, readable is
 * called soon after. */
LP2P_API void lp2p_stream_set_callbacks(lp2p_stream *s,
                                        const lp2p_stream_callbacks *cb,
                                        void *user);
/* Copies up to `cap` received bytes and returns how many; 0 when none are
 * waiting, with `*eof` (may be NULL) true once the peer closed its side
 * and everything was read. A stream that is not read stops being sent to
 * (yamux's window; mplex resets it past its buffer, as go-mplex does, and
 * since mplex has no flow control, its connection is not read while its
 * streams hold half of mplex's session budget unread). Returns
 * LP2P_ERR_STATE once reset. */
LP2P_API ssize_t lp2p_stream_read(lp2p_stream *s, uint8_t *buf, size_t cap,
                                  bool *eof);
/* Queues up to `len` bytes and returns how many were taken: fewer (maybe
 * 0) when the peer's window or the buffers are full, and `writable`
 * follows when there is room. Returns LP2P_ERR_STATE when closed for
 * writing or reset, LP2P_ERR_NOMEM. */
LP2P_API ssize_t lp2p_stream_write(lp2p_stream *s, const uint8_t *data,
                                   size_t len);
/* Bytes lp2p_stream_write would take now (the peer's window, the send
 * buffer and the memory budgets allow); when 0, `writable` follows once
 * there is room. A relay that reads only that much holds nothing of its
 * own while its peer does not read. */
LP2P_API size_t lp2p_stream_writable(lp2p_stream *s);
/* Half-closes: the peer reads the end after the data written. Returns 0 or
 * LP2P_ERR_STATE. */
LP2P_API int lp2p_stream_close(lp2p_stream *s);
/* Aborts both directions; `closed` follows with
 * LP2P_STREAM_END_RESET_LOCAL. Returns 0 or LP2P_ERR_STATE. */
LP2P_API int lp2p_stream_reset(lp2p_stream *s);
/* The negotiated protocol, NUL-terminated. */
LP2P_API const char *lp2p_stream_protocol(const lp2p_stream *s);
/* The connection the stream runs on. */
LP2P_API lp2p_conn *lp2p_stream_conn(const lp2p_stream *s);
/* Whether we opened the stream. */
LP2P_API bool lp2p_stream_outbound(const lp2p_stream *s);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_HOST_H */
