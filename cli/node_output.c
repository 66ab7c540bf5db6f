/* lp2p node's stdout: see node_output.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "node_output.h"

/* A buffer that held a burst is freed once written, not kept at its peak
 * for the rest of the run. */
#define KEEP_CAPACITY (64u * 1024u)

/* Drops come in episodes, one warning each (stderr may be slow too): an
 * episode ends when stdout has caught up and nothing was dropped for a
 * while. */
#define EPISODE_GAP_MS 5000

static void drop(node_output *o, bool message) {
  if (message) {
    o->dropped_messages++;
  } else {
    o->dropped_events++;
  }
  uint64_t now = uv_now(o->loop);
  bool new_episode =
      !o->dropping || (o->caught_up && now - o->last_drop >= EPISODE_GAP_MS);
  o->dropping = true;
  o->caught_up = false;
  o->last_drop = now;
  if (new_episode && !o->broken) {
    fprintf(stderr,
            "lp2p: stdout is not keeping up: dropping lines beyond %zu bytes "
            "queued (--output-buffer); %llu messages dropped in all\n",
            o->max, (unsigned long long)o->dropped_messages);
  }
}

/* Bytes waiting for stdout: queued, and handed to a write but not yet
 * taken by the kernel. */
static size_t backlog(const node_output *o) {
  size_t writing = o->stream ? uv_stream_get_write_queue_size(o->stream) : 0;
  return o->queue.len + writing;
}

/* Stdout failed (its reader is gone): nothing will be written again. */
static void fail(node_output *o) {
  o->broken = true;
  lp2p_buf_truncate(&o->queue, 0);
}

static void handle_closed(uv_handle_t *h) {
  node_output *o = h->data;
  if (--o->open_handles == 0 && o->closed) {
    o->closed(o->closed_user);
  }
}

static void open_stream(node_output *o) {
  uv_handle_type type = uv_guess_handle(STDOUT_FILENO);
  int rv;
  if (type == UV_TTY) { /* libuv reopens the tty: the shell's stays as is */
    rv = uv_tty_init(o->loop, &o->handle.tty, STDOUT_FILENO, 0);
  } else if (type == UV_NAMED_PIPE) {
    rv = uv_pipe_init(o->loop, &o->handle.pipe, 0);
    rv = rv ? rv : uv_pipe_open(&o->handle.pipe, STDOUT_FILENO);
  } else if (type == UV_TCP) {
    rv = uv_tcp_init(o->loop, &o->handle.tcp);
    rv = rv ? rv : uv_tcp_open(&o->handle.tcp, STDOUT_FILENO);
  } else {
    return; /* a file: writes to it do not wait for a reader */
  }
  o->handle.pipe.data = o;
  o->open_handles++;
  if (rv != 0) { /* plain writes then: they may wait, the node still runs */
    uv_close((uv_handle_t *)&o->handle, handle_closed);
    return;
  }
  o->stream = (uv_stream_t *)&o->handle;
}

int node_output_open(node_output *o, uv_loop_t *loop, size_t max) {
  memset(o, 0, sizeof(*o));
  o->loop = loop;
  o->max = max;
  lp2p_buf_init(&o->queue, NULL);
  lp2p_buf_init(&o->writing, NULL);
  o->line = open_memstream(&o->line_mem, &o->line_len);
  if (!o->line) {
    return cli_fail("out of memory");
  }
  uv_timer_init(loop, &o->drain);
  o->drain.data = o;
  o->open_handles = 1;
  open_stream(o);
  return 0;
}

FILE *node_output_line(node_output *o) {
  return o->line;
}

static bool fits(const node_output *o, size_t len, bool message) {
  size_t bound = o->max + (message ? 0 : NODE_OUTPUT_RESERVE);
  size_t queued = backlog(o);
  return queued <= bound && len <= bound - queued;
}

void node_output_end_line(node_output *o, bool message) {
  if (fflush(o->line) != 0 || o->broken) {
    drop(o, message);
  } else {
    if (!fits(o, o->line_len, message)) {
      node_output_flush(o); /* a burst: the reader may take it now */
    }
    if (!fits(o, o->line_len, message) ||
        lp2p_buf_append(&o->queue, o->line_mem, o->line_len) != 0) {
      drop(o, message);
    }
  }
  rewind(o->line);
}

static void write_file(node_output *o) {
  for (size_t off = 0; off < o->queue.len;) {
    ssize_t n = write(STDOUT_FILENO, o->queue.data + off, o->queue.len - off);
    if (n < 0 && errno != EINTR) {
      fail(o);
      return;
    }
    off += n > 0 ? (size_t)n : 0;
  }
  lp2p_buf_truncate(&o->queue, 0);
}

static void maybe_close_handles(node_output *o);

static void on_written(uv_write_t *req, int status) {
  node_output *o = req->data;
  o->writing_busy = false;
  if (o->writing.cap > KEEP_CAPACITY) {
    lp2p_buf_free(&o->writing);
  }
  lp2p_buf_truncate(&o->writing, 0);
  if (status != 0) {
    fail(o);
  }
  o->caught_up = o->queue.len == 0;
  node_output_flush(o);
  maybe_close_handles(o);
}

void node_output_flush(node_output *o) {
  if (o->writing_busy || o->queue.len == 0 || o->broken ||
      (o->stream && uv_is_closing((uv_handle_t *)o->stream))) {
    return;
  }
  if (!o->stream) {
    write_file(o);
    o->caught_up = true;
    return;
  }
  lp2p_buf next = o->writing; /* empty: its bytes were written */
  o->writing = o->queue;
  o->queue = next;
  uv_buf_t buf = uv_buf_init((char *)o->writing.data, (unsigned)o->writing.len);
  o->req.data = o;
  if (uv_write(&o->req, o->stream, &buf, 1, on_written) != 0) {
    lp2p_buf_truncate(&o->writing, 0);
    fail(o);
    return;
  }
  o->writing_busy = true;
}

/* Once closing, the handles go when everything is written or the reader
 * had its time. */
static void maybe_close_handles(node_output *o) {
  bool pending = o->writing_busy || (o->queue.len > 0 && !o->broken);
  if (!o->closing || (pending && uv_is_active((uv_handle_t *)&o->drain))) {
    return;
  }
  if (uv_is_closing((uv_handle_t *)&o->drain)) {
    return;
  }
  uv_close((uv_handle_t *)&o->drain, handle_closed);
  if (o->stream) {
    /* fd 1's file description may be shared: give it back blocking */
    (void)uv_stream_set_blocking(o->stream, 1);
    uv_close((uv_handle_t *)o->stream, handle_closed);
  }
}

static void on_drain_timeout(uv_timer_t *t) {
  node_output *o = t->data;
  uv_timer_stop(t);
  maybe_close_handles(o); /* a pending write is cancelled by the close */
}

void node_output_close(node_output *o, uint64_t wait_ms,
                       void (*done)(void *user), void *user) {
  o->closing = true;
  o->closed = done;
  o->closed_user = user;
  node_output_flush(o);
  if (o->writing_busy) {
    uv_timer_start(&o->drain, on_drain_timeout, wait_ms, 0);
  }
  maybe_close_handles(o);
}

void node_output_free(node_output *o) {
  if (o->line) {
    fclose(o->line);
  }
  free(o->line_mem);
  lp2p_buf_free(&o->queue);
  lp2p_buf_free(&o->writing);
}
