/* A connection's socket write queue: what the session has to send is
 * pulled into `wqueue` (up to max_write_buffer and the connection's
 * budget), written at once when the socket takes it, else handed to one
 * uv_write at a time. The buffer being written (`winflight`) and the one
 * filling swap roles, so that bytes are copied once on their way out. */
#include "host/internal.h"

size_t lp2p__wqueue_len(const lp2p_conn *c) {
  return c->wqueue.len - c->wqueue_off + c->winflight.len;
}

static void on_write(uv_write_t *req, int status) {
  lp2p_conn *c = req->handle->data;
  c->writing = false;
  c->bytes_out += c->winflight.len - c->winflight_off;
  c->winflight.len = 0;
  if (c->winflight.cap > CONN_IDLE_BUFFER) {
    lp2p_buf_free(&c->winflight); /* an idle connection costs little */
  }
  lp2p__conn_wrote(c, status);
}

void lp2p__wqueue_flush(lp2p_conn *c) {
  if (c->writing || c->wqueue.len == c->wqueue_off) {
    return;
  }
  lp2p_buf tmp = c->winflight;
  c->winflight = c->wqueue;
  c->wqueue = tmp;
  size_t off = c->wqueue_off;
  c->wqueue_off = 0;
  c->wqueue.len = 0;
  uv_buf_t buf = uv_buf_init((char *)c->winflight.data + off,
                             (unsigned)(c->winflight.len - off));
  c->winflight_off = off;
  int rv = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
  if (rv < 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "write: %s",
                    uv_strerror(rv));
    return;
  }
  c->writing = true;
}

/* Writes bytes at once when nothing waits (most handshakes and small
 * messages never touch the queue), and queues what the socket did not
 * take. */
static void queue_bytes(lp2p_conn *c, const uint8_t *p, size_t n) {
  if (!c->writing && c->wqueue.len == c->wqueue_off) {
    uv_buf_t buf = uv_buf_init((char *)p, (unsigned)n);
    int w = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (w > 0) {
      c->bytes_out += (uint64_t)w;
      p += w;
      n -= (size_t)w;
    } else if (w != UV_EAGAIN && w != UV_ENOSYS) {
      lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "write: %s",
                      uv_strerror(w));
      return;
    }
    c->wqueue.len = 0;
    c->wqueue_off = 0;
  }
  if (n > 0 && lp2p_buf_append(&c->wqueue, p, n) != 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, LP2P_ERR_NOMEM,
                    "out of memory queueing %zu bytes", n);
  }
}

void lp2p__wqueue_pull(lp2p_conn *c) {
  if (!c->session || c->handles_closing) {
    return;
  }
  size_t limit = c->host->settings.max_write_buffer;
  lp2p_tstamp now = lp2p_host_now();
  lp2p__conn_budget_settle(c, lp2p__wqueue_len(c));
  while (lp2p__wqueue_len(c) < limit &&
         lp2p__conn_budget_writes(c, lp2p__wqueue_len(c))) {
    const uint8_t *p;
    ssize_t n = lp2p_session_pull(c->session, &p, now);
    if (n <= 0) {
      break;
    }
    queue_bytes(c, p, (size_t)n);
  }
  lp2p__wqueue_flush(c);
}

void lp2p__wqueue_free(lp2p_conn *c) {
  lp2p_buf_free(&c->wqueue);
  lp2p_buf_free(&c->winflight);
}
