/* The libp2p services every connection runs, sans-IO on one lp2p_session:
 * identify (answering requests, asking once the session is up, taking
 * pushes) and ping (echoing inbound pings, measuring round trips on one
 * stream kept for it, as go-libp2p's ping service does).
 *
 * The services own their streams outright: bytes come in through the
 * session's stream callbacks, which the owner forwards (the functions
 * below), and credit goes back to the session as soon as they are taken.
 * Nothing here reads a clock: the time is the session's (callbacks run
 * inside its calls, lp2p_session_now) or the caller's.
 *
 * Forwarding: a stream the services own has a stream_user that starts
 * with LP2P__SERVICES_TAG (lp2p__services_owns). An owner sharing the
 * session's stream callbacks between its own streams and these gives its
 * own a stream_user whose first member is a uint32_t of another value. */
#ifndef LP2P_NET_SERVICES_H
#define LP2P_NET_SERVICES_H

#include <stdbool.h>

#include "lp2p/noise.h"
#include "lp2p/session.h"

#define LP2P__SERVICES_TAG 0x73766331u /* "svc1" */

typedef struct lp2p__services lp2p__services;

typedef struct lp2p__services_settings {
  /* Draws ping payloads (required to measure pings). */
  lp2p_rand_fn rand_fn;
  void *rand_user;
  /* An echo must come back within this; 0 = LP2P_PING_DEFAULT_TIMEOUT. */
  lp2p_tstamp ping_timeout;
} lp2p__services_settings;

typedef struct lp2p__services_callbacks {
  /* Our answer to the peer's identify request. Fill `id` (zeroed); its
   * views may point into `storage` (empty, freed by the services once
   * the answer is encoded, right after this returns: take views after
   * the last append) or into anything that outlives the call. Non-zero
   * refuses the request (its stream is reset). */
  int (*identify_answer)(lp2p__services *sv, lp2p_identify *id,
                         lp2p_buf *storage, void *user);
  /* The peer identified itself, answering our request or pushing
   * (`push`). `raw` holds everything the stream carried (`id` views into
   * it, `v` is lp2p_identify_verify's verdict against the session's
   * remote); the callback may take its bytes by swapping the buffer with
   * an empty one. */
  void (*identified)(lp2p__services *sv, lp2p_buf *raw, const lp2p_identify *id,
                     const lp2p_identify_verified *v, bool push, void *user);
  /* The ping lp2p__services_ping started ended: `rtt` when err is 0,
   * else LP2P_ERR_TIMEOUT, LP2P_ERR_PROTOCOL (a wrong echo),
   * LP2P_ERR_UNSUPPORTED (the peer does not speak ping), LP2P_ERR_NOMEM
   * or LP2P_ERR_STATE (the stream or the session ended). */
  void (*ping_done)(lp2p__services *sv, lp2p_tstamp rtt, int err, void *user);
} lp2p__services_callbacks;

/* What the services refused. */
typedef struct lp2p__services_stats {
  /* identify streams reset: over LP2P_IDENTIFY_MAX_SIZE per message or
   * LP2P_IDENTIFY_MAX_MESSAGES, undecodable, or not the peer's */
  uint64_t identify_refused;
  /* identify answers and pushes reset for not ending within
   * LP2P_IDENTIFY_TIMEOUT */
  uint64_t identify_timeouts;
  /* our identify requests that ended without an answer: the stream
   * reset, or its negotiation refused or past its deadline (asked again
   * once: LP2P_IDENTIFY_RETRY_DELAY) */
  uint64_t identify_failed;
  /* inbound ping streams reset: more pings than LP2P_PING_MAX_BACKLOG
   * at once, or echoes the peer does not read */
  uint64_t ping_streams_reset;
  /* inbound ping streams reset after LP2P_PING_IDLE_TIMEOUT without a
   * ping */
  uint64_t ping_idle_resets;
} lp2p__services_stats;

/* Services on `session` (which must outlive them). `cb` and `mem` may be
 * NULL. Returns 0, LP2P_ERR_INVALID_ARG or LP2P_ERR_NOMEM. */
int lp2p__services_new(lp2p__services **out, lp2p_session *session,
                       const lp2p__services_settings *settings,
                       const lp2p__services_callbacks *cb, const lp2p_mem *mem,
                       void *user);
/* Frees the services and their streams' state without calling the
 * session (delete them with it, or after it): no callback follows. */
void lp2p__services_del(lp2p__services *sv);

/* Whether `proto` is one the services serve (identify, push, ping). */
bool lp2p__services_is_builtin(const char *proto);
/* Whether a session callback's stream_user is one of the services'. */
bool lp2p__services_owns(const void *stream_user);

/* Asks the peer to identify itself (`identified` follows). Returns 0 or
 * an lp2p_session_open_stream error. */
int lp2p__services_identify(lp2p__services *sv);

/* Sends a ping at `now` (opening the ping stream first if needed);
 * `ping_done` follows, never inside this call. Returns 0, LP2P_ERR_STATE
 * (one outstanding already, or the stream failed now), LP2P_ERR_NOMEM or
 * an lp2p_session_open_stream error. */
int lp2p__services_ping(lp2p__services *sv, lp2p_tstamp now);
/* Forgets the outstanding ping without calling ping_done (its owner
 * reports it). */
void lp2p__services_ping_cancel(lp2p__services *sv);
/* The outstanding ping's deadline, or LP2P_TSTAMP_NEVER. */
lp2p_tstamp lp2p__services_expiry(const lp2p__services *sv);
/* Fails a ping past its deadline (ping_done with LP2P_ERR_TIMEOUT). */
void lp2p__services_handle_expiry(lp2p__services *sv, lp2p_tstamp now);

void lp2p__services_stats_get(const lp2p__services *sv,
                              lp2p__services_stats *st);

/* ---- the session's stream callbacks, forwarded ---- */

/* An inbound stream negotiated to a builtin protocol: the services take
 * it and set `*stream_user` (the stream is reset on NOMEM). */
void lp2p__services_accept(lp2p__services *sv, uint64_t id, const char *proto,
                           void **stream_user);
/* For a stream_user lp2p__services_owns: */
void lp2p__services_opened(void *stream_user);
void lp2p__services_data(void *stream_user, const uint8_t *data, size_t len);
void lp2p__services_end(void *stream_user);
void lp2p__services_writable(void *stream_user);
/* The session forgot the stream (closed, or reset with `err`). */
void lp2p__services_closed(void *stream_user);
void lp2p__services_reset(void *stream_user, int err);

#endif
