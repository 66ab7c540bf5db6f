/* The libuv host's private structures, shared by host.c (listeners, dials,
 * the peer table), conn.c (one connection's socket and timer around its
 * lp2p_session), wqueue.c (its write queue), conn_close.c (its end),
 * stream.c (the public stream handle over a session stream) and the
 * identify and ping services. */
#ifndef LP2P_HOST_INTERNAL_H
#define LP2P_HOST_INTERNAL_H

#include <uv.h>

#include "base/map.h"
#include "lp2p/host.h"
#include "lp2p/session.h"
#include "net/byteq.h"
#include "net/services.h"

/* Bytes read from a socket per read callback (one buffer per host: each
 * read is processed before the next one). 256 KiB rather than 64: a bulk
 * stream then takes a quarter of the read calls, 10-20% more throughput;
 * an idle host touches only the first pages. */
#define HOST_READ_CHUNK (256u * 1024u)
/* A connection's write buffer larger than this is freed once empty. */
#define CONN_IDLE_BUFFER (64u * 1024u)
/* How long a closing connection may take to flush its last bytes. */
#define CONN_LINGER (1 * LP2P_SECONDS)
#define HOST_AGENT_MAX 256
/* Upgraded connections kept to one peer (simultaneous dials, a peer that
 * redials): go-libp2p and js-libp2p keep them all and may run streams on
 * any, so none is closed for being a duplicate; a new one past this bound
 * is. */
#define HOST_MAX_CONNS_PER_PEER 4
/* An inbound upgrade this old is closed when max_handshakes are in
 * progress and another connection arrives. */
#define HOST_HANDSHAKE_EVICT_AGE (2 * LP2P_SECONDS)

/* A peer's memory scope, shared by its connections (budget.c). */
typedef struct host_peer_budget {
  lp2p_budget scope;
  lp2p_peer_id id; /* the map's key */
  size_t refs;     /* connections under it */
} host_peer_budget;

/* The host's memory budgets and what closed connections refused. */
typedef struct host_budgets {
  lp2p_budget scope;
  lp2p_map peers; /* peer id bytes -> host_peer_budget */
  lp2p_host_budget_stats closed;
} host_budgets;

typedef struct host_handler {
  char *protocol;
  lp2p_stream_handler fn;
  void *user;
} host_handler;

typedef struct host_listener {
  uv_tcp_t tcp;
  struct host_listener *next;
  lp2p_host *host;
  lp2p_buf addr; /* the bound address, port resolved */
  /* An inbound connection we have no memory for is accepted into this
   * handle and closed at once: libuv stops watching a listener whose
   * connection is left unaccepted, so leaving it would wedge the
   * listener for good. refuse_next: another one came while it closed. */
  uv_tcp_t refused;
  bool refusing, refuse_next;
  int nhandles; /* tcp and refused, open or closing: freed at 0 */
} host_listener;

/* A UDP socket and the QUIC endpoint behind it (quic_io.c): one per QUIC
 * listen address, and one ephemeral per address family for dials when
 * no listener of that family exists. Freed once the host closes and no
 * connection holds it. */
typedef struct host_udp {
  uv_udp_t udp;
  uv_timer_t timer; /* the endpoint's expiry */
  struct host_udp *next;
  lp2p_host *host;
  struct lp2p__quic_endpoint *ep;
  lp2p_buf addr; /* the bound address, port resolved, /quic-v1 */
  int family;
  bool listening; /* a listen address, else only dials use it */
  bool closing;
  size_t nconns; /* lp2p_conns whose sessions are on it */
  int nhandles;  /* udp and timer, open or closing: freed at 0 */
} host_udp;

/* A dial answered by a connection that already exists: completed from a
 * zero timer so that the callback never runs inside lp2p_host_dial. */
typedef struct host_reuse_dial {
  uv_timer_t timer;
  lp2p_host *host;
  lp2p_peer_id peer;
  lp2p_dial_cb cb;
  void *user;
} host_reuse_dial;

struct lp2p_host {
  uv_loop_t *loop;
  lp2p_host_settings settings;
  lp2p_host_callbacks cb;
  const lp2p_mem *mem;
  void *user;
  lp2p_privkey key;
  lp2p_pubkey pubkey;
  lp2p_peer_id peer_id;
  char agent[HOST_AGENT_MAX + 1];
  const char *muxers[2];   /* offered, in order of preference */
  const char *security[2]; /* offered, in order of preference */
  size_t nsecurity;
  size_t nmuxers;

  host_listener *listeners;
  host_udp *udps;   /* QUIC sockets (quic_io.c) */
  lp2p_conn *conns; /* every connection, upgraded or not */
  size_t nconns;
  size_t npending_dials;
  lp2p_map peers; /* peer id bytes -> the upgraded connection */
  size_t nready;
  /* The connection manager (connmgr.c). */
  size_t ninbound;    /* inbound connections in host->conns */
  size_t nhandshakes; /* of them, not yet upgraded */
  lp2p_host_stats stats;
  uv_timer_t trim_timer;     /* the next trim, when the grace of some ends */
  uv_timer_t release_timer;  /* gives freed memory back (release.c) */
  size_t release_base;       /* resident bytes not in use after a trim */
  size_t release_handshakes; /* QUIC handshakes done since the last trim */
  host_budgets budgets;

  host_handler *handlers;
  size_t nhandlers;
  /* Every protocol served, for multistream-select: handlers and services. */
  const char **protocols;
  size_t nprotocols;

  /* Connections with work to do on the next loop iteration (set by calls
   * from the application, whose callbacks must not run inside them). */
  uv_idle_t idle;
  lp2p_conn *dirty;
  /* Run by the idle handle before it pumps the connections, when due
   * (lp2p__host_want_before_pump): the node's pulls from its router. */
  void (*before_pump)(void *user);
  void *before_pump_user;
  bool before_pump_due;

  /* The signed peer record for identify, made when first needed. */
  lp2p_buf record;
  uint64_t record_seq;

  uint8_t read_buf[HOST_READ_CHUNK];
  bool closing;
  size_t open_handles; /* listeners and reuse timers not yet closed */
  void (*done)(void *user);
  void *done_user;
};

typedef enum conn_state {
  CONN_TCP_CONNECT, /* outbound: waiting for TCP */
  CONN_UPGRADING,   /* the session negotiates security and the muxer */
  CONN_READY,       /* streams flow */
  CONN_CLOSING,     /* flushing its last bytes, then closing handles */
} conn_state;

struct lp2p_conn {
  lp2p_host *host;
  lp2p_conn *prev, *next; /* host->conns */
  /* A QUIC connection's socket and endpoint (the tcp handle, write queue
   * and shutdown are then unused), and its peer's address; NULL: TCP. */
  host_udp *udp;
  struct sockaddr_storage peer_sa;
  lp2p_conn *dirty_next;
  bool in_dirty;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t connect_req;
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;
  bool shutting_down;
  bool peer_eof;   /* the peer's FIN arrived while closing */
  bool input_held; /* the socket is left unread: see regulate_input */
  int handles;     /* libuv handles still to close before freeing */

  conn_state state;
  conn_state failed_stage; /* where it was when it failed */
  bool outbound;
  bool quiet;    /* a dial that failed synchronously or was cancelled: no
                  * callbacks */
  bool finished; /* the application was told; flushing or closed */
  bool handles_closing;
  bool counted_pending;   /* counts in host->npending_dials */
  bool announced;         /* `connected` was called */
  bool registered;        /* one of its peer's connections in host->peers */
  bool counted_handshake; /* counts in host->nhandshakes */
  /* An inbound connection's source for the per-IP limit: the family,
   * then the IPv4 address or the IPv6 /64; len 0 when not limited. */
  uint8_t ip_key[9];
  uint8_t ip_key_len;
  lp2p_tstamp ready_at; /* upgraded; the trimming grace runs from here */
  /* The peer's next connection: host->peers holds the oldest, the others
   * follow it in the order they were upgraded. */
  lp2p_conn *same_peer_next;
  lp2p_tstamp deadline; /* TCP connect (the session times the upgrade) */
  lp2p_tstamp idle_since;
  lp2p_tstamp linger_until;
  lp2p_tstamp timer_due; /* the deadline `timer` is armed for, or NEVER */

  lp2p_session *session; /* from the TCP connection on */
  bool early_muxer;
  bool has_expected_peer;
  lp2p_peer_id expected_peer;
  lp2p_peer_id peer_id; /* the key is the session's: lp2p_conn_info_get */

  lp2p_dial_cb dial_cb; /* the dial this connection answers */
  void *dial_user;

  /* Bytes for the socket: `wqueue` waits, `winflight` is being written. */
  lp2p_buf wqueue;
  size_t wqueue_off;
  lp2p_buf winflight;
  size_t winflight_off;
  bool writing;

  lp2p_buf remote_addr;
  lp2p_buf local_addr;
  uint64_t bytes_in, bytes_out;

  /* Memory the peer can make us hold on it, under its peer's scope. */
  lp2p_budget budget;
  host_peer_budget *peer_budget; /* NULL until the peer is authenticated */
  size_t write_charge;           /* write queue bytes reserved in budget */
  uint64_t streams_reset_budget; /* streams whose unread bytes did not fit */

  lp2p_stream *streams; /* every stream the application knows or opens */
  bool stream_work;     /* some stream has a deferred notification */

  /* identify and ping on the session (net/services.h), from the upgrade
   * on; the glue is identify_service.c and ping_service.c */
  lp2p__services *services;
  lp2p_buf identify; /* the peer's last identify message(s), raw */
  bool has_identify;
  lp2p_ping_cb ping_cb; /* lp2p_conn_ping's, while a ping is outstanding */
  void *ping_user;

  /* Inside a call into the session (or the work after it): what the
   * application does meanwhile is pulled before it returns, rather than
   * from the idle handle. */
  bool busy;
  lp2p_disconnect_reason reason;
  int err;
  char msg[160];
  void *user;
};

/* The application's handle on a session stream. Bytes the session hands
 * up wait in `rbuf` for lp2p_stream_read (read in place while `readable`
 * runs on them), and their flow-control credit goes back as they are
 * read. The session keeps them reserved in the connection's budget until
 * then; what the ring allocates beyond them is charged here. */
struct lp2p_stream {
  /* 0, never LP2P__SERVICES_TAG: the session's stream callbacks tell the
   * services' streams from these by it (lp2p__services_owns) */
  uint32_t svc_tag;
  lp2p_conn *conn;
  uint64_t id;
  lp2p_stream *prev, *next; /* conn->streams */
  bool outbound;
  bool open;            /* negotiated: the application has it */
  bool remote_end;      /* the peer half-closed: eof after rbuf */
  bool gone;            /* the session no longer knows the id */
  bool closed_clean;    /* ... because both sides closed it */
  bool notify_readable; /* deferred readable (lp2p_stream_set_callbacks) */
  bool notify_end;      /* deferred closed, with `end` */
  lp2p_stream_end end;
  const uint8_t *view; /* stream_data's bytes while readable runs */
  size_t view_len;
  lp2p_byteq rbuf;  /* received, not yet read */
  uint64_t charged; /* rbuf's footprint beyond its bytes, in the budget */
  char *protocol;
  lp2p_stream_open_cb open_cb;
  void *open_user;
  lp2p_stream_callbacks cb;
  void *user;
};

/* ---- host.c ---- */
/* A connection was upgraded: dedupe, register, announce. */
void lp2p__host_conn_ready(lp2p_conn *c);
/* An announced connection ends: it leaves the peer table. */
void lp2p__host_conn_unregister(lp2p_conn *c);
/* A connection's handles are closed: it leaves every host list. */
void lp2p__host_conn_unlink(lp2p_conn *c);
/* Frees a closing host once nothing of it remains open. */
void lp2p__host_maybe_done(lp2p_host *h);
/* A handler for `protocol`, or NULL. */
const host_handler *lp2p__host_find_handler(const lp2p_host *h,
                                            const char *protocol);
/* Pumps the connection from the idle handle on the next loop iteration. */
void lp2p__host_mark_dirty(lp2p_conn *c);
/* Sets what the idle handle runs before it pumps the connections, once
 * asked with lp2p__host_want_before_pump. The node pulls its router's
 * RPCs there rather than after each connection's input: by then every
 * connection readable in this loop turn was read, so a copy a peer sent
 * us meanwhile is not sent back to it (queue.c), and each connection
 * gets one write per turn. */
void lp2p__host_set_before_pump(lp2p_host *h, void (*fn)(void *user),
                                void *user);
/* Runs before_pump on the next idle pass (before the loop polls). */
void lp2p__host_want_before_pump(lp2p_host *h);

/* ---- connmgr.c ---- */
void lp2p__connmgr_init(lp2p_host *h);
/* Closes the trim timer (counted in h->open_handles). */
void lp2p__connmgr_close(lp2p_host *h);
/* An accepted inbound connection: records its source and checks the
 * limits. Returns false when refused (the connection is failed). */
bool lp2p__connmgr_admit(lp2p_conn *c);
/* Whether lp2p_host_dial may open another connection. */
bool lp2p__connmgr_may_dial(lp2p_host *h);
/* A connection was upgraded: it leaves the handshakes, and a trim is
 * scheduled above high water. */
void lp2p__connmgr_conn_ready(lp2p_conn *c);
/* A connection leaves the host's list. */
void lp2p__connmgr_conn_gone(lp2p_conn *c);
/* A connection ended before it was upgraded. */
void lp2p__connmgr_handshake_over(lp2p_conn *c);
/* ---- release.c ---- */
void lp2p__host_release_init(lp2p_host *h);
/* Closes the release timer (counted in h->open_handles). */
void lp2p__host_release_close(lp2p_host *h);
/* Whether a trim is due: the resident bytes the heaps hold free grew by
 * `growth` since the last one, `in_use` bytes are in use, and
 * `quic_handshakes` QUIC handshakes were done (each freed its TLS
 * session). */
bool lp2p__host_release_due(size_t growth, size_t in_use,
                            size_t quic_handshakes);
/* ---- budget.c ---- */
void lp2p__host_budget_init(lp2p_host *h);
void lp2p__host_budget_free(lp2p_host *h);
/* Puts the connection's scope under its peer's (made on first use).
 * Returns 0 or LP2P_ERR_NOMEM. */
int lp2p__conn_budget_attach(lp2p_conn *c);
/* Counts what the connection and its session refused; before the session
 * is freed. */
void lp2p__conn_budget_count(lp2p_conn *c);
/* Leaves the peer's scope; after the session is freed. */
void lp2p__conn_budget_detach(lp2p_conn *c);
/* Whether the write queue may take another session pull: reserves what a
 * pull may add beyond `queued` bytes. An empty queue always may, so that
 * window updates and pings still go out. */
bool lp2p__conn_budget_writes(lp2p_conn *c, size_t queued);
/* Gives back what the write queue no longer holds. */
void lp2p__conn_budget_settle(lp2p_conn *c, size_t queued);

/* ---- conn.c ---- */
/* Creates a connection whose uv_tcp_t is initialised by the caller next.
 * Returns NULL on allocation failure. */
lp2p_conn *lp2p__conn_new(lp2p_host *h, bool outbound);
/* Creates a QUIC connection on `u` with the peer at `peer` (upgrading:
 * its session is the caller's to make). Returns NULL on allocation
 * failure. */
lp2p_conn *lp2p__conn_new_quic(lp2p_host *h, bool outbound, host_udp *u,
                               const struct sockaddr *peer);
/* The peer's socket address. Returns 0 or a libuv error. */
int lp2p__conn_peer_sockaddr(const lp2p_conn *c, struct sockaddr_storage *sa);
/* Starts the upgrade of a connected socket. */
void lp2p__conn_start(lp2p_conn *c);
/* Starts connecting to `addr`. Returns 0 or a libuv error. */
int lp2p__conn_connect(lp2p_conn *c, const struct sockaddr *addr);
/* Starts reading the socket; false when libuv refused (the connection is
 * failed). */
bool lp2p__conn_read_start(lp2p_conn *c);
/* A uv_write ended with `status`. */
void lp2p__conn_wrote(lp2p_conn *c, int status);
/* Runs the deferred work of a connection and pulls its session (from the
 * host's idle handle). */
void lp2p__conn_pump(lp2p_conn *c);
/* The application changed something of the connection: its session is
 * pulled when the current callback returns, or on the next loop
 * iteration when called from outside (whose calls must not run
 * callbacks). */
void lp2p__conn_touch(lp2p_conn *c);

/* ---- conn_close.c ---- */
/* Ends the connection with a reason (the application hears of it after
 * the current callback, or from the idle handle). */
void lp2p__conn_fail(lp2p_conn *c, lp2p_disconnect_reason r, int err,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A failed connection's end, once: the application is told, its last
 * bytes flushed, then the socket shut down. */
void lp2p__conn_finish(lp2p_conn *c);
/* A finished connection's write ended: flush on, then shut down. */
void lp2p__conn_flush_closing(lp2p_conn *c, int status);
/* A closing connection read `nread` (dropped; its end is awaited). */
void lp2p__conn_closing_read(lp2p_conn *c, ssize_t nread);
/* Closes the handles; the connection is freed once libuv is done. */
void lp2p__conn_close_handles(lp2p_conn *c);

/* ---- wqueue.c ---- */
/* Bytes queued or being written. */
size_t lp2p__wqueue_len(const lp2p_conn *c);
/* Moves what the session has to send into the queue, up to
 * max_write_buffer and the budget; the rest waits for the socket. */
void lp2p__wqueue_pull(lp2p_conn *c);
/* Starts writing what waits, unless a write is in flight. */
void lp2p__wqueue_flush(lp2p_conn *c);
void lp2p__wqueue_free(lp2p_conn *c);

/* ---- conn_events.c ---- */
/* Creates the connection's session (callbacks and settings). Returns 0 or
 * an lp2p_session_new error. */
int lp2p__conn_start_session(lp2p_conn *c);
/* The session callbacks of every connection (user: the lp2p_conn). */
void lp2p__conn_session_callbacks(lp2p_session_callbacks *cb);
/* The session settings of every connection (remote_peer_id unset). */
void lp2p__conn_session_settings(const lp2p_host *h,
                                 lp2p_session_settings *set);
/* Tells the application, once: streams end, then the connection (or its
 * dial fails). */
void lp2p__conn_notify_end(lp2p_conn *c);

/* ---- stream.c ---- */
/* Fills the stream members of the connection's session callbacks. */
void lp2p__stream_session_callbacks(lp2p_session_callbacks *cb);
/* Creates an outbound stream negotiating `protocols`. */
int lp2p__stream_open(lp2p_conn *c, const char *const *protocols, size_t n,
                      lp2p_stream_open_cb cb, void *user);
/* Runs deferred notifications (readable after set_callbacks, closed after
 * a local reset or the last read). */
void lp2p__stream_run_deferred(lp2p_conn *c);
/* The connection ended: every stream gets `closed`, every open its
 * callback with LP2P_ERR_STATE, and all are freed. */
void lp2p__stream_close_all(lp2p_conn *c);

/* ---- identify_service.c ---- */
/* Whether the host serves `protocol` itself (identify, push, ping). */
bool lp2p__service_is_builtin(const char *protocol);
/* The upgrade completed: the connection's services start on its session.
 * Returns 0 or LP2P_ERR_NOMEM. */
int lp2p__conn_services_start(lp2p_conn *c);
/* Adds what the connection's services refused to `st`'s totals. */
void lp2p__conn_services_count(const lp2p_conn *c, lp2p_host_stats *st);
/* A connection became ready: ask the peer to identify itself. */
void lp2p__identify_request(lp2p_conn *c);
/* Forgets the signed peer record (the listen addresses changed). */
void lp2p__identify_invalidate(lp2p_host *h);

/* ---- ping_service.c ---- */
/* The services' ping_done: lp2p_conn_ping's callback. */
void lp2p__ping_done(lp2p__services *sv, lp2p_tstamp rtt, int err, void *user);
lp2p_tstamp lp2p__ping_expiry(const lp2p_conn *c);
void lp2p__ping_handle_expiry(lp2p_conn *c, lp2p_tstamp now);
/* The connection ended: a pending ping fails. */
void lp2p__ping_abort(lp2p_conn *c);

/* ---- quic_io.c ---- */
/* Listens for QUIC on `sa` (a socket and endpoint of its own). Returns 0,
 * LP2P_ERR_IO or LP2P_ERR_NOMEM with `err` set. */
int lp2p__quic_io_listen(lp2p_host *h, const struct sockaddr *sa,
                         lp2p_errdetail *err);
/* Dials `sa` over QUIC (expecting `peer` unless NULL) through the
 * listening socket of its family, else an ephemeral one: `*out` is the
 * upgrading connection. Returns 0, LP2P_ERR_IO, LP2P_ERR_TOO_LARGE or
 * LP2P_ERR_NOMEM with `err` set. */
int lp2p__quic_io_dial(lp2p_host *h, const struct sockaddr *sa,
                       const lp2p_peer_id *peer, lp2p_conn **out,
                       lp2p_errdetail *err);
/* Sends what the endpoint has and re-arms its timer (outside its calls). */
void lp2p__quic_io_flush(host_udp *u);
/* A QUIC connection is freed (after its session). */
void lp2p__quic_io_conn_gone(lp2p_conn *c);
/* The host closes: sockets without connections close now, the others
 * when their last connection goes. */
void lp2p__quic_io_close(lp2p_host *h);

/* ---- addr.c ---- */
/* /ip4|ip6/A/tcp/P[/p2p/ID], or with `quic` non-NULL also
 * /ip4|ip6/A/udp/P/quic-v1[/p2p/ID] (`*quic` says which), to a socket
 * address and the optional peer id. Returns 0, LP2P_ERR_UNSUPPORTED or
 * LP2P_ERR_MALFORMED with `err` set. */
int lp2p__addr_to_sockaddr(const uint8_t *ma, size_t len,
                           struct sockaddr_storage *sa, lp2p_peer_id *peer,
                           bool *has_peer, bool *quic, lp2p_errdetail *err);
/* Appends the binary multiaddr of a socket address (TCP). */
int lp2p__addr_from_sockaddr(const struct sockaddr *sa, lp2p_buf *out);
/* ... of TCP, or of QUIC v1 (/udp/P/quic-v1) when `quic`. */
int lp2p__addr_from_sockaddr_of(const struct sockaddr *sa, bool quic,
                                lp2p_buf *out);
/* Appends /p2p/<id> to a binary multiaddr. */
int lp2p__addr_append_peer(lp2p_buf *ma, const lp2p_peer_id *id);

#endif
