/* How a connection ends: it fails with a reason, the application is told
 * (conn_events.c), the last frames are flushed while the peer can still
 * read them, our FIN goes out, and the handles close once the peer's FIN
 * arrives or the linger time ends; then everything is freed. */
#include <stdarg.h>
#include <stdio.h>

#include "base/mem.h"
#include "host/internal.h"

/* Frees what the connection holds once libuv is done with its handles. */
static void conn_free(lp2p_conn *c) {
  lp2p__conn_budget_count(c);
  lp2p__conn_services_count(c, &c->host->stats); /* kept past the conn */
  lp2p__services_del(c->services);               /* touches not the session */
  lp2p_session_del(c->session);
  lp2p__quic_io_conn_gone(c); /* after the session, which closes QUIC's */
  lp2p__wqueue_free(c);
  lp2p__conn_budget_detach(c); /* its session has given everything back */
  lp2p_buf_free(&c->remote_addr);
  lp2p_buf_free(&c->local_addr);
  lp2p_buf_free(&c->identify);
  lp2p_free(c->host->mem, c);
}

static void on_handle_closed(uv_handle_t *handle) {
  lp2p_conn *c = handle->data;
  if (--c->handles == 0) {
    lp2p_host *h = c->host;
    lp2p__host_conn_unlink(c);
    conn_free(c);
    lp2p__host_maybe_done(h);
  }
}

void lp2p__conn_close_handles(lp2p_conn *c) {
  if (c->handles_closing) {
    return;
  }
  c->handles_closing = true;
  if (!c->udp) {
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  }
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

void lp2p__conn_fail(lp2p_conn *c, lp2p_disconnect_reason r, int err,
                     const char *fmt, ...) {
  if (c->state == CONN_CLOSING) {
    return;
  }
  c->failed_stage = c->state;
  c->state = CONN_CLOSING;
  c->reason = r;
  c->err = err;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
  va_end(ap);
  if (!c->udp && (r == LP2P_DISCONNECT_IO || r == LP2P_DISCONNECT_REMOTE)) {
    uv_read_stop((uv_stream_t *)&c->tcp); /* the socket is done */
  }
  lp2p__conn_touch(c);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  lp2p_conn *c = req->handle->data;
  if (status < 0) {
    lp2p__conn_close_handles(c);
  }
}

/* Everything is written: send our FIN and close once the peer's arrives
 * (or the linger time ends), so that its last bytes are not answered with
 * a TCP reset. */
static void shutdown_socket(lp2p_conn *c) {
  if (c->shutting_down || c->handles_closing) {
    return;
  }
  if (c->peer_eof) {
    lp2p__conn_close_handles(c);
    return;
  }
  c->shutting_down = true;
  if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    lp2p__conn_close_handles(c);
  }
}

void lp2p__conn_flush_closing(lp2p_conn *c, int status) {
  if (status < 0) {
    lp2p__conn_close_handles(c);
    return;
  }
  lp2p__wqueue_flush(c);
  if (!c->writing) {
    shutdown_socket(c);
  }
}

static bool is_graceful(lp2p_disconnect_reason r) {
  return r == LP2P_DISCONNECT_LOCAL || r == LP2P_DISCONNECT_IDLE ||
         r == LP2P_DISCONNECT_TRIMMED || r == LP2P_DISCONNECT_DUPLICATE;
}

/* Whether the connection has nothing to flush: the socket is done, or
 * it never carried a session. */
static bool nothing_to_flush(const lp2p_conn *c) {
  /* a connection refused at accept has its slot freed now, not after the
   * linger time */
  bool refused = c->reason == LP2P_DISCONNECT_LIMIT && !c->announced;
  /* nor does a cancelled dial hold its slot: its handshake's last bytes
   * matter to nobody */
  bool cancelled = c->quiet && !c->announced;
  return c->reason == LP2P_DISCONNECT_IO || cancelled ||
         c->reason == LP2P_DISCONNECT_REMOTE ||
         c->failed_stage == CONN_TCP_CONNECT || refused || !c->session;
}

void lp2p__conn_finish(lp2p_conn *c) {
  if (c->finished) {
    return;
  }
  c->finished = true;
  lp2p__conn_notify_end(c);
  if (c->udp) { /* QUIC: the endpoint sends the CONNECTION_CLOSE */
    if (is_graceful(c->reason) && c->session &&
        lp2p_session_is_established(c->session)) {
      (void)lp2p_session_goaway(c->session);
    }
    lp2p__conn_close_handles(c);
    return;
  }
  if (nothing_to_flush(c)) {
    lp2p__conn_close_handles(c);
    return;
  }
  if (c->input_held) { /* the peer's FIN is awaited: read again */
    c->input_held = false;
    (void)lp2p__conn_read_start(c);
  }
  bool graceful = is_graceful(c->reason);
  if (graceful && lp2p_session_is_established(c->session)) {
    (void)lp2p_session_goaway(c->session);
  }
  /* what the session said before a failure of the host's own (out of
   * memory) may be what it answered to input read after it: only the
   * queue goes out */
  if (graceful || lp2p_session_error(c->session, NULL) != 0) {
    lp2p__wqueue_pull(c);
  } else {
    lp2p__wqueue_flush(c);
  }
  c->linger_until = lp2p_host_now() + CONN_LINGER; /* armed by settle */
  if (!c->writing) {
    shutdown_socket(c);
  }
}

void lp2p__conn_closing_read(lp2p_conn *c, ssize_t nread) {
  if (nread < 0 && c->shutting_down) {
    lp2p__conn_close_handles(c);
  } else if (nread < 0) {
    c->peer_eof = true; /* nothing to wait for after our last bytes */
  }
}
