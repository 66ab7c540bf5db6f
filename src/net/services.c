/* identify and ping on a session, sans-IO (services.h). Each stream the
 * services own is an svc_stream, the session's stream_user for it; bytes
 * are taken (copied into the protocol object, or dropped) and their
 * credit given back in the same callback, so a service stream never
 * holds the session's window. */
#include "net/services.h"

#include <string.h>

#include "base/mem.h"

static const char *const identify_protocols[] = {LP2P_IDENTIFY_PROTOCOL_ID};
static const char *const ping_protocols[] = {LP2P_PING_PROTOCOL_ID};

typedef enum svc_kind {
  SVC_ID_ANSWER, /* the peer asked: we write our answer and close */
  SVC_ID_READ,   /* our request, or the peer's push: we read to its end */
  SVC_PING_ECHO, /* the peer pings: we echo */
  SVC_PING_DIAL, /* we ping, on the stream kept for it */
} svc_kind;

typedef struct svc_stream {
  uint32_t tag; /* LP2P__SERVICES_TAG: first, see lp2p__services_owns */
  lp2p__services *sv;
  struct svc_stream *prev, *next;
  uint64_t id;
  svc_kind kind;
  bool open; /* negotiated */
  bool push; /* SVC_ID_READ: inbound */
  bool done; /* SVC_ID_READ: the answer was taken (or refused) */
  lp2p_ping *ping;
  /* SVC_ID_ANSWER: the answer, written from `off`; SVC_ID_READ: what
   * arrived, whole messages up to `off` (at most
   * LP2P_IDENTIFY_MAX_MESSAGES of them, counted in `nmsgs`) */
  lp2p_buf buf;
  size_t off;
  size_t nmsgs;
  /* SVC_ID_READ: LP2P_IDENTIFY_TIMEOUT after the start; SVC_PING_ECHO:
   * LP2P_PING_IDLE_TIMEOUT after the start or the last echo */
  lp2p_tstamp deadline;
} svc_stream;

struct lp2p__services {
  lp2p_session *session;
  lp2p__services_settings set;
  lp2p__services_callbacks cb;
  const lp2p_mem *mem;
  void *user;
  svc_stream *streams;
  svc_stream *pinger; /* the stream we ping on, once asked to */
  bool ping_busy;     /* a ping is outstanding (maybe still opening) */
  bool identify_retried;
  lp2p_tstamp identify_retry_at; /* NEVER: no request to make again */
  lp2p__services_stats stats;
};

/* ---- bookkeeping -------------------------------------------------------- */

static svc_stream *stream_new(lp2p__services *sv, svc_kind kind) {
  svc_stream *st = lp2p_calloc(sv->mem, 1, sizeof(*st));
  if (!st) {
    return NULL;
  }
  st->tag = LP2P__SERVICES_TAG;
  st->sv = sv;
  st->kind = kind;
  lp2p_tstamp now = lp2p_session_now(sv->session);
  st->deadline = kind == SVC_ID_READ     ? now + LP2P_IDENTIFY_TIMEOUT
                 : kind == SVC_PING_ECHO ? now + LP2P_PING_IDLE_TIMEOUT
                                         : LP2P_TSTAMP_NEVER;
  lp2p_buf_init(&st->buf, sv->mem);
  st->next = sv->streams;
  if (sv->streams) {
    sv->streams->prev = st;
  }
  sv->streams = st;
  return st;
}

static void stream_free(svc_stream *st) {
  lp2p__services *sv = st->sv;
  if (st->prev) {
    st->prev->next = st->next;
  } else {
    sv->streams = st->next;
  }
  if (st->next) {
    st->next->prev = st->prev;
  }
  if (sv->pinger == st) {
    sv->pinger = NULL;
  }
  lp2p_ping_del(st->ping);
  lp2p_buf_free(&st->buf);
  lp2p_free(sv->mem, st);
}

/* Resets the stream (no callback names it afterwards) and frees it. */
static void reset_stream(svc_stream *st) {
  (void)lp2p_session_stream_reset(st->sv->session, st->id);
  stream_free(st);
}

static lp2p_tstamp now_of(const lp2p__services *sv) {
  return lp2p_session_now(sv->session);
}

int lp2p__services_new(lp2p__services **out, lp2p_session *session,
                       const lp2p__services_settings *settings,
                       const lp2p__services_callbacks *cb, const lp2p_mem *mem,
                       void *user) {
  if (!session || !settings) {
    return LP2P_ERR_INVALID_ARG;
  }
  lp2p__services *sv = lp2p_calloc(mem, 1, sizeof(*sv));
  if (!sv) {
    return LP2P_ERR_NOMEM;
  }
  sv->session = session;
  sv->set = *settings;
  if (cb) {
    sv->cb = *cb;
  }
  sv->mem = mem;
  sv->user = user;
  sv->identify_retry_at = LP2P_TSTAMP_NEVER;
  *out = sv;
  return 0;
}

void lp2p__services_del(lp2p__services *sv) {
  if (!sv) {
    return;
  }
  while (sv->streams) {
    stream_free(sv->streams);
  }
  lp2p_free(sv->mem, sv);
}

bool lp2p__services_is_builtin(const char *proto) {
  return strcmp(proto, LP2P_IDENTIFY_PROTOCOL_ID) == 0 ||
         strcmp(proto, LP2P_IDENTIFY_PUSH_PROTOCOL_ID) == 0 ||
         strcmp(proto, LP2P_PING_PROTOCOL_ID) == 0;
}

bool lp2p__services_owns(const void *stream_user) {
  uint32_t tag;
  if (!stream_user) {
    return false;
  }
  memcpy(&tag, stream_user, sizeof(tag));
  return tag == LP2P__SERVICES_TAG;
}

void lp2p__services_stats_get(const lp2p__services *sv,
                              lp2p__services_stats *st) {
  *st = sv->stats;
}

/* Gives back the credit of bytes taken. */
static void consume(svc_stream *st, size_t n) {
  if (n > 0) {
    (void)lp2p_session_stream_consume(st->sv->session, st->id, n);
  }
}

/* ---- identify: answering ------------------------------------------------ */

/* Writes what the window takes; closes once all is out. Returns false
 * when the stream was reset. */
static bool answer_write(svc_stream *st) {
  lp2p_session *s = st->sv->session;
  while (st->off < st->buf.len) {
    ssize_t n = lp2p_session_stream_write(s, st->id, st->buf.data + st->off,
                                          st->buf.len - st->off);
    if (n < 0) {
      reset_stream(st);
      return false;
    }
    if (n == 0) {
      return true; /* stream_writable follows */
    }
    st->off += (size_t)n;
  }
  if (st->buf.len > 0) {
    lp2p_buf_free(&st->buf);
    st->off = 0;
    (void)lp2p_session_stream_close(s, st->id);
  }
  return true;
}

static int build_answer(svc_stream *st) {
  lp2p__services *sv = st->sv;
  lp2p_identify id;
  lp2p_buf storage;
  memset(&id, 0, sizeof(id));
  lp2p_buf_init(&storage, sv->mem);
  int rv = sv->cb.identify_answer
               ? sv->cb.identify_answer(sv, &id, &storage, sv->user)
               : LP2P_ERR_UNSUPPORTED;
  if (rv == 0) {
    rv = lp2p_identify_write(&id, &st->buf);
  }
  lp2p_buf_free(&storage);
  return rv;
}

static void serve_identify(svc_stream *st) {
  if (build_answer(st) != 0) {
    reset_stream(st);
    return;
  }
  (void)answer_write(st);
}

/* ---- identify: reading an answer or a push ------------------------------ */

/* Checks the messages completed by the last bytes; a length over
 * LP2P_IDENTIFY_MAX_SIZE is refused as soon as its prefix is here. */
static int scan_messages(svc_stream *st) {
  for (;;) {
    const uint8_t *msg;
    size_t msg_len;
    int n = lp2p_identify_frame(st->buf.data + st->off, st->buf.len - st->off,
                                &msg, &msg_len);
    if (n <= 0) {
      return n;
    }
    if (++st->nmsgs > LP2P_IDENTIFY_MAX_MESSAGES) {
      return LP2P_ERR_TOO_LARGE;
    }
    st->off += (size_t)n;
  }
}

/* `live`: the session still knows the stream (else it is being freed). */
static void refuse_identify(svc_stream *st, bool live) {
  st->sv->stats.identify_refused++;
  st->done = true;
  if (live) {
    reset_stream(st);
  }
}

static void read_identify(svc_stream *st, const uint8_t *data, size_t len) {
  if (st->buf.len + len > LP2P_IDENTIFY_MAX_STREAM ||
      lp2p_buf_append(&st->buf, data, len) != 0 || scan_messages(st) < 0) {
    refuse_identify(st, true);
    return;
  }
  consume(st, len);
}

/* The peer's side ended: the whole answer is here. Returns false when the
 * stream was refused (and, `live`, reset and freed). */
static bool identify_complete(svc_stream *st, bool live) {
  lp2p__services *sv = st->sv;
  lp2p_identify id;
  lp2p_identify_verified v;
  const lp2p_peer_id *remote = lp2p_session_remote(sv->session);
  int rv = lp2p_identify_read(st->buf.data, st->buf.len, &id);
  if (rv == 0) {
    rv = remote ? lp2p_identify_verify(&id, remote, &v) : LP2P_ERR_STATE;
  }
  st->done = true;
  if (rv != 0) {
    refuse_identify(st, live);
    return false;
  }
  if (st->push && live) {
    (void)lp2p_session_stream_close(sv->session, st->id); /* our side too */
  }
  if (sv->cb.identified) {
    sv->cb.identified(sv, &st->buf, &id, &v, st->push, sv->user);
  }
  lp2p_buf_free(&st->buf);
  st->off = 0;
  return true;
}

int lp2p__services_identify(lp2p__services *sv) {
  svc_stream *st = stream_new(sv, SVC_ID_READ);
  if (!st) {
    return LP2P_ERR_NOMEM;
  }
  int rv =
      lp2p_session_open_stream(sv->session, identify_protocols, 1, st, &st->id);
  if (rv != 0) {
    stream_free(st);
  }
  return rv;
}

/* ---- ping: echoing ------------------------------------------------------ */

/* Writes what the ping object has ready, sent at `now` (the caller's: a
 * session's clock is its last input's, long ago on a quiet connection):
 * payloads are 32 bytes and a stream's window far larger, so a short write
 * means a peer that does not read its echoes. An echo moves an inbound stream's
 * idle deadline. */
static bool ping_flush(svc_stream *st, lp2p_tstamp now) {
  const uint8_t *out;
  ssize_t n;
  lp2p_session *s = st->sv->session;
  while ((n = lp2p_ping_pull(st->ping, &out, now)) > 0) {
    if (lp2p_session_stream_write(s, st->id, out, (size_t)n) != n) {
      return false;
    }
    if (st->kind == SVC_PING_ECHO) {
      st->deadline = now + LP2P_PING_IDLE_TIMEOUT;
    }
  }
  return n == 0;
}

static void serve_ping(svc_stream *st) {
  lp2p_ping_settings set = {.role = LP2P_PING_LISTENER};
  if (lp2p_ping_new(&st->ping, &set, NULL, st->sv->mem, NULL) != 0) {
    reset_stream(st);
  }
}

static void echo_data(svc_stream *st, const uint8_t *data, size_t len) {
  if (lp2p_ping_recv(st->ping, data, len, now_of(st->sv)) != 0 ||
      !ping_flush(st, now_of(st->sv))) {
    st->sv->stats.ping_streams_reset++;
    reset_stream(st);
    return;
  }
  consume(st, len);
}

/* ---- ping: measuring ---------------------------------------------------- */

/* Ends the outstanding ping. */
static void ping_done(lp2p__services *sv, lp2p_tstamp rtt, int err) {
  if (!sv->ping_busy) {
    return;
  }
  sv->ping_busy = false;
  if (sv->cb.ping_done) {
    sv->cb.ping_done(sv, rtt, err, sv->user);
  }
}

/* The ping stream failed: dropped, so the next ping opens a new one. */
static void ping_broken(lp2p__services *sv, int err) {
  if (sv->pinger) {
    reset_stream(sv->pinger);
  }
  ping_done(sv, 0, err);
}

static void on_pong(lp2p_ping *p, lp2p_tstamp rtt, void *user) {
  (void)p;
  ping_done(user, rtt, 0);
}

static bool send_ping(svc_stream *st, lp2p_tstamp now) {
  return lp2p_ping_start(st->ping, now) == 0 && ping_flush(st, now);
}

static int open_pinger(lp2p__services *sv) {
  static const lp2p_ping_callbacks pcb = {.pong = on_pong};
  lp2p_ping_settings set = {.role = LP2P_PING_DIALER,
                            .timeout = sv->set.ping_timeout,
                            .rand_fn = sv->set.rand_fn,
                            .rand_user = sv->set.rand_user};
  svc_stream *st = stream_new(sv, SVC_PING_DIAL);
  if (!st) {
    return LP2P_ERR_NOMEM;
  }
  int rv = lp2p_ping_new(&st->ping, &set, &pcb, sv->mem, sv);
  if (rv == 0) {
    rv = lp2p_session_open_stream(sv->session, ping_protocols, 1, st, &st->id);
  }
  if (rv != 0) {
    stream_free(st);
    return rv;
  }
  sv->pinger = st;
  return 0;
}

int lp2p__services_ping(lp2p__services *sv, lp2p_tstamp now) {
  if (sv->ping_busy) {
    return LP2P_ERR_STATE;
  }
  if (!sv->pinger) {
    int rv = open_pinger(sv);
    if (rv != 0) {
      return rv;
    }
  }
  if (sv->pinger->open && !send_ping(sv->pinger, now)) {
    reset_stream(sv->pinger); /* reported here: no callback inside */
    return LP2P_ERR_STATE;
  }
  sv->ping_busy = true;
  return 0;
}

void lp2p__services_ping_cancel(lp2p__services *sv) {
  sv->ping_busy = false;
}

/* An identify answer or push still being read, or a ping stream we
 * echo on: each ends at its deadline. */
static bool has_deadline(const svc_stream *st) {
  return (st->kind == SVC_ID_READ && !st->done) || st->kind == SVC_PING_ECHO;
}

lp2p_tstamp lp2p__services_expiry(const lp2p__services *sv) {
  lp2p_tstamp t = sv->pinger && sv->pinger->open
                      ? lp2p_ping_expiry(sv->pinger->ping)
                      : LP2P_TSTAMP_NEVER;
  t = sv->identify_retry_at < t ? sv->identify_retry_at : t;
  for (const svc_stream *st = sv->streams; st; st = st->next) {
    if (has_deadline(st) && st->deadline < t) {
      t = st->deadline;
    }
  }
  return t;
}

void lp2p__services_handle_expiry(lp2p__services *sv, lp2p_tstamp now) {
  if (sv->pinger && sv->pinger->open &&
      lp2p_ping_handle_expiry(sv->pinger->ping, now) != 0) {
    ping_broken(sv, LP2P_ERR_TIMEOUT);
  }
  if (sv->identify_retry_at <= now) {
    sv->identify_retry_at = LP2P_TSTAMP_NEVER;
    (void)lp2p__services_identify(sv); /* a failure ends the retries */
  }
  svc_stream *next;
  for (svc_stream *st = sv->streams; st; st = next) {
    next = st->next; /* a reset frees st */
    if (!has_deadline(st) || now < st->deadline) {
      continue;
    }
    if (st->kind == SVC_PING_ECHO) {
      sv->stats.ping_idle_resets++;
    } else {
      sv->stats.identify_timeouts++;
      st->done = true;
    }
    reset_stream(st);
  }
}

static void pinger_data(svc_stream *st, const uint8_t *data, size_t len) {
  lp2p__services *sv = st->sv;
  int rv = lp2p_ping_recv(st->ping, data, len, now_of(sv));
  if (rv != 0) {
    ping_broken(sv, rv);
    return;
  }
  consume(st, len);
}

/* ---- the session's stream callbacks ------------------------------------- */

void lp2p__services_accept(lp2p__services *sv, uint64_t id, const char *proto,
                           void **stream_user) {
  svc_kind kind = strcmp(proto, LP2P_PING_PROTOCOL_ID) == 0 ? SVC_PING_ECHO
                  : strcmp(proto, LP2P_IDENTIFY_PROTOCOL_ID) == 0
                      ? SVC_ID_ANSWER
                      : SVC_ID_READ;
  svc_stream *st = stream_new(sv, kind);
  if (!st) {
    (void)lp2p_session_stream_reset(sv->session, id);
    return;
  }
  st->id = id;
  st->open = true;
  st->push = kind == SVC_ID_READ;
  *stream_user = st;
  if (kind == SVC_ID_ANSWER) {
    serve_identify(st);
  } else if (kind == SVC_PING_ECHO) {
    serve_ping(st);
  }
}

void lp2p__services_opened(void *stream_user) {
  svc_stream *st = stream_user;
  lp2p__services *sv = st->sv;
  st->open = true;
  if (st->kind == SVC_ID_READ) {
    /* we have nothing to say: the peer answers and closes */
    (void)lp2p_session_stream_close(sv->session, st->id);
  } else if (sv->ping_busy && !send_ping(st, now_of(sv))) {
    ping_broken(sv, LP2P_ERR_STATE);
  }
}

void lp2p__services_data(void *stream_user, const uint8_t *data, size_t len) {
  svc_stream *st = stream_user;
  switch (st->kind) {
  case SVC_ID_READ:
    read_identify(st, data, len);
    break;
  case SVC_PING_ECHO:
    echo_data(st, data, len);
    break;
  case SVC_PING_DIAL:
    pinger_data(st, data, len);
    break;
  default: /* the requester says nothing: dropped, so its close is seen */
    consume(st, len);
  }
}

void lp2p__services_end(void *stream_user) {
  svc_stream *st = stream_user;
  switch (st->kind) {
  case SVC_ID_READ:
    (void)identify_complete(st, true);
    break;
  case SVC_PING_ECHO:
    (void)lp2p_session_stream_close(st->sv->session, st->id);
    break;
  case SVC_PING_DIAL:
    ping_broken(st->sv, LP2P_ERR_STATE);
    break;
  default:
    break;
  }
}

void lp2p__services_writable(void *stream_user) {
  svc_stream *st = stream_user;
  if (st->kind == SVC_ID_ANSWER) {
    (void)answer_write(st);
  }
}

/* Why an open that never completed failed, as lp2p_ping_cb says. */
static int open_error(int err) {
  switch (err) {
  case LP2P_ERR_UNSUPPORTED:
  case LP2P_ERR_TIMEOUT:
  case LP2P_ERR_PROTOCOL:
  case LP2P_ERR_NOMEM:
    return err;
  default:
    return LP2P_ERR_STATE;
  }
}

/* Our request ended without an answer: counted, and made again once
 * unless the peer does not speak identify. */
static void identify_failed(lp2p__services *sv, int err) {
  sv->stats.identify_failed++;
  if (err != LP2P_ERR_UNSUPPORTED && !sv->identify_retried) {
    sv->identify_retried = true;
    sv->identify_retry_at = now_of(sv) + LP2P_IDENTIFY_RETRY_DELAY;
  }
}

void lp2p__services_reset(void *stream_user, int err) {
  svc_stream *st = stream_user;
  lp2p__services *sv = st->sv;
  if (st->kind == SVC_ID_READ && !st->push && !st->done) {
    identify_failed(sv, err);
  }
  bool pinger = sv->pinger == st, was_open = st->open;
  stream_free(st);
  if (pinger) {
    ping_done(sv, 0, was_open ? LP2P_ERR_STATE : open_error(err));
  }
}

void lp2p__services_closed(void *stream_user) {
  svc_stream *st = stream_user;
  if (st->kind == SVC_ID_READ && !st->done) {
    (void)identify_complete(st, false); /* the end came with the close */
  }
  lp2p__services_reset(stream_user, 0);
}
