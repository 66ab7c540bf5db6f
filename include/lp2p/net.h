/*
 * lp2p: the connection stack below the stream protocols, all sans-IO:
 * multistream-select 1.0 (protocol negotiation on connections and streams)
 * and the two stream multiplexers, yamux 1.0 and mplex 6.7.0.
 *
 * Every object here has the same shape (DESIGN.md section 1): bytes read
 * from the peer go in with `_recv`, bytes to write to the peer come out of
 * `_pull`, and `_expiry` / `_handle_expiry` drive its timers. None of them
 * reads a clock, a socket or a random source; input may be split at any
 * byte boundary.
 *
 * Output contract of every `_pull`: it returns the number of bytes ready at
 * `*out` (0 when nothing is pending) and those bytes count as sent; they
 * stay valid until the next call on the same object. Call it until it
 * returns 0 after every `_recv`, `_handle_expiry` and stream operation.
 *
 * Callbacks run only inside `_recv`, `_pull` and `_handle_expiry`, never
 * inside the stream functions. A callback may call the stream functions and
 * open streams, but must not call `_recv`, `_pull`, `_handle_expiry` or
 * `_del` of the same object.
 */
#ifndef LP2P_NET_H
#define LP2P_NET_H

#include <stdbool.h>
#include <sys/types.h> /* ssize_t */

#include "lp2p/budget.h"
#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Protocol ids of multistream-select, yamux and mplex. */
#define LP2P_MSS_PROTOCOL_ID "/multistream/1.0.0"
#define LP2P_YAMUX_PROTOCOL_ID "/yamux/1.0.0"
#define LP2P_MPLEX_PROTOCOL_ID "/mplex/6.7.0"

/* Why a multiplexed stream ended; passed to the muxers' stream_close. */
typedef enum lp2p_stream_end {
  LP2P_STREAM_END_CLOSED = 0,       /* both sides finished, all data read */
  LP2P_STREAM_END_RESET_REMOTE = 1, /* the peer reset (or refused) it */
  LP2P_STREAM_END_RESET_LOCAL = 2,  /* the application reset it */
  LP2P_STREAM_END_OVERFLOW = 3,     /* the reader fell behind (mplex) */
  LP2P_STREAM_END_NOMEM = 4,        /* buffering its data failed */
  LP2P_STREAM_END_SESSION = 5       /* the session failed */
} lp2p_stream_end;

/* ---- multistream-select 1.0 ---------------------------------------------
 * One negotiation on a connection or a stream. Every message is a uvarint
 * length (counting the trailing '\n'), the text and '\n'.
 *
 * Dialer: sends the header and its first proposal at once (without waiting
 * for the header echo, as go-libp2p does); on "na" it proposes the next
 * protocol of its list; the listener's echo of a proposal completes the
 * negotiation.
 * Listener: sends the header, then answers every proposal with its echo
 * when supported (completing the negotiation) or "na" (also to proposals
 * that are not UTF-8 or contain NUL, which are never matched), and "ls" with
 * the list of its protocols: one message whose text is the concatenation of
 * each protocol as a message of its own (as rust-libp2p sends it).
 *
 * Bytes after the message that completes the negotiation belong to the
 * next protocol: lp2p_mss_recv does not consume them. */
typedef struct lp2p_mss lp2p_mss;

/* Which side of a negotiation we are. */
typedef enum lp2p_mss_role {
  LP2P_MSS_DIALER = 0,
  LP2P_MSS_LISTENER = 1
} lp2p_mss_role;

/* One negotiation's settings; lp2p_mss_settings_default. */
typedef struct lp2p_mss_settings {
  lp2p_mss_role role;
  /* Dialer: the protocols to propose, in order of preference (at least
   * one). Listener: the protocols supported. Copied by lp2p_mss_new. */
  const char *const *protocols;
  size_t nprotocols;
  /* Longest message sent or accepted, '\n' included (go uses 1024); at
   * least 19 so that the header fits. */
  size_t max_message;
  /* Listener: proposals answered "na" (plus "ls" requests) before giving
   * up. Dialer: proposals tried at most. At least 1. */
  uint32_t max_attempts;
  /* Limit on the whole negotiation, counted from the first call that
   * passes a time; 0 = none. */
  lp2p_tstamp timeout;
} lp2p_mss_settings;

/* Optional hooks of a negotiation. */
typedef struct lp2p_mss_callbacks {
  /* Listener only, optional: whether a proposal that is not in the list is
   * supported (non-zero = yes). `proto` is not NUL-terminated. */
  int (*match)(lp2p_mss *m, const char *proto, size_t len, void *user);
} lp2p_mss_callbacks;

/* Role dialer, no protocols, max_message 1024, max_attempts 16,
 * timeout 10 s. */
LP2P_API void lp2p_mss_settings_default(lp2p_mss_settings *s);
/* Creates a negotiation; its first output (header, and the first proposal
 * of a dialer) is ready for lp2p_mss_pull at once. `cb` may be NULL.
 * Returns 0, LP2P_ERR_INVALID_ARG (a dialer without protocols, an empty
 * protocol, "na" or "ls" as a protocol, one that is not UTF-8, contains
 * '\n' or is longer than max_message - 1, max_message under 19,
 * max_attempts 0) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_mss_new(lp2p_mss **out, const lp2p_mss_settings *s,
                          const lp2p_mss_callbacks *cb, const lp2p_mem *mem,
                          void *user);
/* Feeds bytes from the peer. Returns the number of bytes consumed: all of
 * `len` while negotiating, fewer when the negotiation completed inside
 * `in` (the rest belongs to the next protocol), 0 once it is complete. On
 * failure returns LP2P_ERR_MALFORMED (a message without '\n', an empty
 * message, a wrong header or an unexpected answer), LP2P_ERR_OVERLONG (a
 * bad length varint), LP2P_ERR_TOO_LARGE (a message over max_message, or
 * more than max_attempts proposals), LP2P_ERR_UNSUPPORTED (the dialer ran
 * out of protocols), LP2P_ERR_NOMEM; every later call then returns
 * LP2P_ERR_STATE. */
LP2P_API int lp2p_mss_recv(lp2p_mss *m, const uint8_t *in, size_t len,
                           lp2p_tstamp now);
/* Bytes to send; see the output contract at the top. */
LP2P_API ssize_t lp2p_mss_pull(lp2p_mss *m, const uint8_t **out,
                               lp2p_tstamp now);
/* The negotiation deadline, or LP2P_TSTAMP_NEVER. */
LP2P_API lp2p_tstamp lp2p_mss_expiry(const lp2p_mss *m);
/* Returns 0, or LP2P_ERR_TIMEOUT when the negotiation timed out (it then
 * has failed). */
LP2P_API int lp2p_mss_handle_expiry(lp2p_mss *m, lp2p_tstamp now);
/* Returns 1 when a protocol was agreed (`*proto`, `*len` then name it;
 * either may be NULL; the text is also NUL-terminated and lives as long as
 * `m`), 0 while negotiating, or the negative error that ended it. */
LP2P_API int lp2p_mss_result(const lp2p_mss *m, const char **proto,
                             size_t *len);
/* Why the negotiation failed, in English; "" when it has not. */
LP2P_API const char *lp2p_mss_errmsg(const lp2p_mss *m);
/* Frees the negotiation; NULL is a no-op. */
LP2P_API void lp2p_mss_del(lp2p_mss *m);

/* ---- yamux 1.0 ------------------------------------------------------------
 * A session multiplexes streams over one secure channel. Streams are named
 * by their yamux id (client odd, server even). Every stream the application
 * learns of (from lp2p_yamux_open or stream_open) ends with exactly one
 * stream_close callback, after which its id is unknown (LP2P_ERR_NOT_FOUND).
 *
 * Flow control: each stream may receive up to its window (256 KiB at
 * first); data is buffered until read with lp2p_yamux_stream_read, and
 * reading is what lets the peer send more. A window is doubled, up to
 * max_window, when it was consumed within two round-trip times (measured
 * with pings), as go-yamux does. Writes never exceed the peer's window.
 *
 * Inbound streams are acknowledged with the first frame the application
 * causes on them (a write, a window update, close, reset) or with
 * lp2p_yamux_stream_ack; at most max_ack_backlog streams wait for that in
 * each direction, more inbound ones are refused with RST.
 *
 * A peer that violates the protocol gets GoAway(protocol error): the
 * session fails, every stream ends with LP2P_STREAM_END_SESSION, recv
 * returns the error and pull yields the GoAway frame. */
typedef struct lp2p_yamux lp2p_yamux;

/* yamux's initial stream window (the protocol's, 256 KiB). */
#define LP2P_YAMUX_INITIAL_WINDOW (256u * 1024u)
/* GoAway codes */
#define LP2P_YAMUX_GOAWAY_NORMAL 0u
#define LP2P_YAMUX_GOAWAY_PROTOCOL 1u
#define LP2P_YAMUX_GOAWAY_INTERNAL 2u

/* A session's settings; lp2p_yamux_settings_default. */
typedef struct lp2p_yamux_settings {
  bool is_client;                /* dialer: odd stream ids */
  uint32_t max_inbound_streams;  /* open streams the peer opened */
  uint32_t max_outbound_streams; /* open streams we opened */
  uint32_t max_ack_backlog;      /* unacknowledged streams per direction */
  /* Receive window of a new stream (>= 256 KiB; the excess is announced
   * with its SYN or ACK) and the ceiling of auto-tuning. */
  uint32_t initial_window;
  uint32_t max_window;
  /* Auto-tuning grows a window only while the sum of all receive windows
   * stays within this. */
  uint64_t max_session_window;
  uint32_t max_frame_data;  /* largest data frame sent (>= 1) */
  uint32_t max_send_buffer; /* bytes a stream holds for sending (>= 1) */
  /* Ping every keepalive_interval (0 = never) and fail the session when a
   * ping is not answered within ping_timeout (0 = never). */
  lp2p_tstamp keepalive_interval;
  lp2p_tstamp ping_timeout;
  bool measure_rtt; /* ping at start so that auto-tuning has an RTT */
  /* false (the default): reading a stream is what lets the peer send
   * more. true: bytes read stay charged to the window until given back
   * with lp2p_yamux_stream_consume, for a reader that hands data on and
   * frees it later (lp2p_session). */
  bool explicit_credit;
  /* The connection's memory budget (lp2p/budget.h), or NULL for none.
   * Each stream reserves what it really holds, received and not yet read
   * and written and not yet sent (as much as its buffers allocate), in a
   * stream scope (limit
   * max_window + max_send_buffer) under it; windows are not reserved, so
   * an idle stream costs nothing (go-yamux reserves whole windows, but its
   * system limit scales with the machine's memory). Data that arrives
   * within its window but past the budget resets its stream (RST,
   * LP2P_STREAM_END_OVERFLOW), never buffered; window updates announce
   * only what the application read. A write past the budget is accepted
   * in part (or not) and stream_writable follows when a pull gave bytes
   * back. Must outlive the session. */
  lp2p_budget *budget;
} lp2p_yamux_settings;

/* What the budget refused, for metrics. */
typedef struct lp2p_yamux_stats {
  uint64_t streams_reset_budget; /* data past the budget: stream reset */
  uint64_t writes_held_budget;   /* writes shortened by the budget */
} lp2p_yamux_stats;

/* All callbacks are optional. */
typedef struct lp2p_yamux_callbacks {
  /* The peer opened stream `id`. Return 0 to keep it; anything else
   * refuses it with RST (no stream_close follows). */
  int (*stream_open)(lp2p_yamux *y, uint32_t id, void *user);
  /* Data arrived on `id`, or the peer half-closed it. */
  void (*stream_readable)(lp2p_yamux *y, uint32_t id, void *user);
  /* A write that accepted less than it was given can now accept more. */
  void (*stream_writable)(lp2p_yamux *y, uint32_t id, void *user);
  /* The stream ended; its id is unknown from now on. */
  void (*stream_close)(lp2p_yamux *y, uint32_t id, lp2p_stream_end why,
                       void *user);
  /* The peer sent GoAway: no new streams either way; existing ones go
   * on. */
  void (*goaway)(lp2p_yamux *y, uint32_t code, void *user);
  /* A ping of ours was answered after `rtt`. */
  void (*pong)(lp2p_yamux *y, lp2p_tstamp rtt, void *user);
} lp2p_yamux_callbacks;

/* One stream's state, from lp2p_yamux_stream_info_get. */
typedef struct lp2p_yamux_stream_info {
  size_t readable;      /* bytes buffered for reading */
  size_t writable;      /* bytes a write would accept now */
  size_t send_buffered; /* bytes written and not yet pulled */
  uint32_t recv_window; /* current receive window */
  uint32_t send_window; /* peer's window not yet used by pulled frames */
  bool outbound;        /* we opened it */
  bool acked;           /* the SYN/ACK exchange is complete */
  bool local_closed;    /* we closed our side (FIN queued or sent) */
  bool remote_closed;   /* the peer sent FIN */
  bool eof;             /* remote_closed and every byte read */
} lp2p_yamux_stream_info;

/* Server role, 1000 streams each way, backlog 256, window 256 KiB growing
 * to 16 MiB, 64 MiB per session, 16 KiB frames, 256 KiB send buffers,
 * keepalive every 30 s with a 10 s timeout, RTT measured at start. */
LP2P_API void lp2p_yamux_settings_default(lp2p_yamux_settings *s);
/* Returns 0, LP2P_ERR_INVALID_ARG (initial_window under 256 KiB,
 * max_window under initial_window, a zero limit or frame size) or
 * LP2P_ERR_NOMEM. `cb` may be NULL. */
LP2P_API int lp2p_yamux_new(lp2p_yamux **out, const lp2p_yamux_settings *s,
                            const lp2p_yamux_callbacks *cb, const lp2p_mem *mem,
                            void *user);
/* Feeds decrypted bytes from the peer. Returns 0, or the protocol
 * violation that failed the session: LP2P_ERR_MALFORMED (bad version,
 * type, stream id, SYN or data after FIN), LP2P_ERR_TOO_LARGE (data beyond
 * a window, a window overflow, more refused streams pending than the ack
 * backlog); LP2P_ERR_STATE once the session has failed. */
LP2P_API int lp2p_yamux_recv(lp2p_yamux *y, const uint8_t *in, size_t len,
                             lp2p_tstamp now);
/* Frames to send, at most max_frame_data + 1036 bytes per call; see the
 * output contract at the top. */
LP2P_API ssize_t lp2p_yamux_pull(lp2p_yamux *y, const uint8_t **out,
                                 lp2p_tstamp now);
/* The next keepalive or ping deadline, or LP2P_TSTAMP_NEVER. */
LP2P_API lp2p_tstamp lp2p_yamux_expiry(const lp2p_yamux *y);
/* Sends keepalive pings. Returns 0, or LP2P_ERR_STATE when a ping timed
 * out (the session has failed; a GoAway(internal error) is pending). */
LP2P_API int lp2p_yamux_handle_expiry(lp2p_yamux *y, lp2p_tstamp now);
/* Frees the session and every stream, without callbacks. */
LP2P_API void lp2p_yamux_del(lp2p_yamux *y);

/* Opens a stream; its SYN goes with the next pull, and data may be written
 * at once. Returns 0, LP2P_ERR_TOO_LARGE (max_outbound_streams open,
 * max_ack_backlog unacknowledged),
 * LP2P_ERR_STATE (GoAway sent or
 * received, session failed, ids exhausted) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_yamux_open(lp2p_yamux *y, uint32_t *id);
/* Queues up to `len` bytes; returns how many were accepted (limited by the
 * peer's window and max_send_buffer; 0 when neither has room, and
 * stream_writable follows once there is), or LP2P_ERR_NOT_FOUND,
 * LP2P_ERR_STATE (closed for writing or reset), LP2P_ERR_NOMEM. */
LP2P_API ssize_t lp2p_yamux_stream_write(lp2p_yamux *y, uint32_t id,
                                         const uint8_t *data, size_t len);
/* Copies up to `cap` received bytes; returns how many (0 when none are
 * buffered). `*eof` (may be NULL) tells whether the peer half-closed and
 * every byte has been read. Returns LP2P_ERR_NOT_FOUND or LP2P_ERR_STATE
 * (reset) on error. */
LP2P_API ssize_t lp2p_yamux_stream_read(lp2p_yamux *y, uint32_t id,
                                        uint8_t *buf, size_t cap, bool *eof);
/* Reads without a copy, inside stream_readable: when the stream's unread
 * bytes are those of the frame being received (nothing was buffered
 * before them), points `*p` at them in the buffer given to
 * lp2p_yamux_recv, valid until that call returns, and returns how many,
 * read as by lp2p_yamux_stream_read. Returns 0 otherwise (read them with
 * lp2p_yamux_stream_read), and its errors. */
LP2P_API ssize_t lp2p_yamux_stream_take(lp2p_yamux *y, uint32_t id,
                                        const uint8_t **p, bool *eof);
/* With explicit_credit: gives back `n` bytes already read (at most what
 * was read and not yet given back) to the stream's receive window; the
 * window update follows as after a read without explicit_credit. Returns
 * 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_yamux_stream_consume(lp2p_yamux *y, uint32_t id, size_t n);
/* Half-closes: FIN follows the data already written. Returns 0,
 * LP2P_ERR_NOT_FOUND or LP2P_ERR_STATE (already closed or reset). */
LP2P_API int lp2p_yamux_stream_close(lp2p_yamux *y, uint32_t id);
/* Resets at once: buffered data is dropped, RST goes with the next pull,
 * and stream_close(LP2P_STREAM_END_RESET_LOCAL) follows from that pull.
 * Returns 0, LP2P_ERR_NOT_FOUND or LP2P_ERR_STATE (already reset). */
LP2P_API int lp2p_yamux_stream_reset(lp2p_yamux *y, uint32_t id);
/* Acknowledges an inbound stream now. Returns 0 (also when already done)
 * or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_yamux_stream_ack(lp2p_yamux *y, uint32_t id);
/* Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_yamux_stream_info_get(const lp2p_yamux *y, uint32_t id,
                                        lp2p_yamux_stream_info *info);
/* A pointer the application keeps with a stream. Returns 0 or
 * LP2P_ERR_NOT_FOUND; the getter returns NULL for unknown ids, and still
 * answers inside the stream's stream_close callback. */
LP2P_API int lp2p_yamux_stream_set_user(lp2p_yamux *y, uint32_t id,
                                        void *stream_user);
/* The pointer set by lp2p_yamux_stream_set_user. */
LP2P_API void *lp2p_yamux_stream_user(const lp2p_yamux *y, uint32_t id);
/* Sends GoAway(code): no new streams either way from now on; open
 * streams go on. Returns 0 or LP2P_ERR_STATE (already sent, or failed). */
LP2P_API int lp2p_yamux_goaway(lp2p_yamux *y, uint32_t code);
/* Sends a ping unless one is outstanding; the answer updates the RTT and
 * calls pong. Returns 0 or LP2P_ERR_STATE (session failed). */
LP2P_API int lp2p_yamux_ping(lp2p_yamux *y);
/* Last measured round-trip time; 0 before the first pong. */
LP2P_API lp2p_tstamp lp2p_yamux_rtt(const lp2p_yamux *y);
/* Open streams (both directions, including ones whose end is still being
 * sent). */
LP2P_API size_t lp2p_yamux_num_streams(const lp2p_yamux *y);
/* 0 while the session is healthy, else the error that failed it;
 * `*msg` (may be NULL) receives an English explanation. */
LP2P_API int lp2p_yamux_error(const lp2p_yamux *y, const char **msg);
/* The code of the GoAway the peer sent, or -1 when it sent none. */
LP2P_API int64_t lp2p_yamux_remote_goaway(const lp2p_yamux *y);
/* Fills `st` as of now. */
LP2P_API void lp2p_yamux_stats_get(const lp2p_yamux *y, lp2p_yamux_stats *st);

/* ---- mplex 6.7.0 ----------------------------------------------------------
 * Frames are uvarint(id << 3 | flag), uvarint(length), data. mplex has no
 * flow control: a stream whose unread data would exceed max_stream_buffer
 * (or the session's unread data max_session_buffer) is reset, as go-mplex
 * does with slow readers. Both sides number their streams from 0, so a
 * stream is named by a handle: its wire id << 1, plus 1 when we opened it.
 * The stream_close contract is the one of yamux. A peer that breaks the
 * framing fails the session (mplex has no GoAway: close the connection). */
typedef struct lp2p_mplex lp2p_mplex;

/* The largest frame mplex allows (1 MiB). */
#define LP2P_MPLEX_MAX_FRAME (1024u * 1024u)

/* A session's settings; lp2p_mplex_settings_default. */
typedef struct lp2p_mplex_settings {
  uint32_t max_inbound_streams;  /* more are reset at once */
  uint32_t max_outbound_streams; /* open fails beyond */
  uint32_t max_frame;            /* largest frame accepted (<= 1 MiB) */
  uint32_t max_frame_data;       /* largest data frame sent (<= 1 MiB) */
  size_t max_stream_buffer;      /* unread bytes per stream */
  size_t max_session_buffer;     /* unread bytes in all streams */
  uint32_t max_send_buffer;      /* bytes a stream holds for sending */
  uint32_t max_pending_resets;   /* resets of refused streams not pulled */
  /* The connection's memory budget (lp2p/budget.h), or NULL for none.
   * Each stream's unread bytes are reserved in a stream scope (limit
   * max_stream_buffer + max_send_buffer) under it as they arrive; a stream
   * whose bytes do not fit is reset (LP2P_STREAM_END_OVERFLOW), never
   * buffered. Bytes written and not yet sent are reserved there too: a
   * write past the budget is accepted in part (or not) and stream_writable
   * follows when a pull gave bytes back. Must outlive the session. */
  lp2p_budget *budget;
} lp2p_mplex_settings;

/* What the budget refused, for metrics. */
typedef struct lp2p_mplex_stats {
  uint64_t streams_reset_budget; /* unread bytes past the budget */
  uint64_t writes_held_budget;   /* writes shortened by the budget */
} lp2p_mplex_stats;

/* Optional; the same contracts as lp2p_yamux_callbacks, with stream
 * handles for ids. */
typedef struct lp2p_mplex_callbacks {
  int (*stream_open)(lp2p_mplex *x, uint64_t stream, void *user);
  void (*stream_readable)(lp2p_mplex *x, uint64_t stream, void *user);
  void (*stream_writable)(lp2p_mplex *x, uint64_t stream, void *user);
  void (*stream_close)(lp2p_mplex *x, uint64_t stream, lp2p_stream_end why,
                       void *user);
} lp2p_mplex_callbacks;

/* One stream's state, from lp2p_mplex_stream_info_get. */
typedef struct lp2p_mplex_stream_info {
  size_t readable;
  size_t writable;
  size_t send_buffered;
  bool outbound;
  bool local_closed;
  bool remote_closed;
  bool eof;
} lp2p_mplex_stream_info;

/* 1000 streams each way, 1 MiB frames accepted, 64 KiB frames sent,
 * 4 MiB unread per stream and 32 MiB per session, 256 KiB send buffers,
 * 256 pending resets. */
LP2P_API void lp2p_mplex_settings_default(lp2p_mplex_settings *s);
/* Returns 0, LP2P_ERR_INVALID_ARG (a zero limit, a frame size over 1 MiB)
 * or LP2P_ERR_NOMEM. `cb` may be NULL. */
LP2P_API int lp2p_mplex_new(lp2p_mplex **out, const lp2p_mplex_settings *s,
                            const lp2p_mplex_callbacks *cb, const lp2p_mem *mem,
                            void *user);
/* Returns 0 or the violation that failed the session: LP2P_ERR_OVERLONG (a
 * varint over 9 bytes or not minimal), LP2P_ERR_TOO_LARGE (a frame over
 * max_frame, more refused streams pending than max_pending_resets),
 * LP2P_ERR_MALFORMED (flag 7, a NewStream for an open id, data after the
 * peer closed the stream);
 * LP2P_ERR_STATE once the session has failed. */
LP2P_API int lp2p_mplex_recv(lp2p_mplex *x, const uint8_t *in, size_t len,
                             lp2p_tstamp now);
/* At most max_frame_data + 64 bytes per call; see the output contract. */
LP2P_API ssize_t lp2p_mplex_pull(lp2p_mplex *x, const uint8_t **out,
                                 lp2p_tstamp now);
/* mplex has no timers: always LP2P_TSTAMP_NEVER, and handling returns 0. */
LP2P_API lp2p_tstamp lp2p_mplex_expiry(const lp2p_mplex *x);
/* Nothing to do: returns 0. */
LP2P_API int lp2p_mplex_handle_expiry(lp2p_mplex *x, lp2p_tstamp now);
/* Frees the session and every stream, without callbacks. */
LP2P_API void lp2p_mplex_del(lp2p_mplex *x);

/* Opens a stream (NewStream goes with the next pull). Returns 0,
 * LP2P_ERR_TOO_LARGE (max_outbound_streams open), LP2P_ERR_STATE (session
 * failed, ids exhausted) or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_mplex_open(lp2p_mplex *x, uint64_t *stream);
/* Same contracts and error codes as the yamux stream functions; a write is
 * limited by max_send_buffer only. */
LP2P_API ssize_t lp2p_mplex_stream_write(lp2p_mplex *x, uint64_t stream,
                                         const uint8_t *data, size_t len);
/* As lp2p_yamux_stream_read. */
LP2P_API ssize_t lp2p_mplex_stream_read(lp2p_mplex *x, uint64_t stream,
                                        uint8_t *buf, size_t cap, bool *eof);
/* As lp2p_yamux_stream_take. */
LP2P_API ssize_t lp2p_mplex_stream_take(lp2p_mplex *x, uint64_t stream,
                                        const uint8_t **p, bool *eof);
/* As lp2p_yamux_stream_close. */
LP2P_API int lp2p_mplex_stream_close(lp2p_mplex *x, uint64_t stream);
/* As lp2p_yamux_stream_reset. */
LP2P_API int lp2p_mplex_stream_reset(lp2p_mplex *x, uint64_t stream);
/* As lp2p_yamux_stream_info_get. */
LP2P_API int lp2p_mplex_stream_info_get(const lp2p_mplex *x, uint64_t stream,
                                        lp2p_mplex_stream_info *info);
/* As lp2p_yamux_stream_set_user. */
LP2P_API int lp2p_mplex_stream_set_user(lp2p_mplex *x, uint64_t stream,
                                        void *stream_user);
/* As lp2p_yamux_stream_user. */
LP2P_API void *lp2p_mplex_stream_user(const lp2p_mplex *x, uint64_t stream);
/* Open streams, both directions. */
LP2P_API size_t lp2p_mplex_num_streams(const lp2p_mplex *x);
/* Received bytes the streams hold unread (at most max_session_buffer).
 * mplex has no flow control: a host that would rather slow the peer down
 * than have streams reset stops reading the connection while this is
 * high. */
LP2P_API size_t lp2p_mplex_buffered(const lp2p_mplex *x);
/* As lp2p_yamux_error. */
LP2P_API int lp2p_mplex_error(const lp2p_mplex *x, const char **msg);
/* Fills `st` as of now. */
LP2P_API void lp2p_mplex_stats_get(const lp2p_mplex *x, lp2p_mplex_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_NET_H */
