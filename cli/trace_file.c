#include "trace_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* without a loop, the queue is written once it holds this much */
#define TRACE_FILE_CHUNK (64u * 1024u)

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

trace_file_format trace_file_format_of(const char *path) {
  if (ends_with(path, ".gz")) {
    return TRACE_FILE_PB_GZ;
  }
  if (ends_with(path, ".json") || ends_with(path, ".jsonl")) {
    return TRACE_FILE_JSON;
  }
  return TRACE_FILE_PB;
}

int trace_file_open(trace_file *t, const char *path, uv_loop_t *loop,
                    size_t max) {
  memset(t, 0, sizeof *t);
  t->format = trace_file_format_of(path);
  t->loop = loop;
  t->max = max ? max : TRACE_FILE_DEFAULT_MAX;
  lp2p_buf_init(&t->event, NULL);
  lp2p_buf_init(&t->queue, NULL);
  lp2p_buf_init(&t->writing, NULL);
  if (t->format == TRACE_FILE_PB_GZ) {
    /* windowBits 15 + 16: a gzip header and trailer, what Go's
     * compress/gzip reads */
    if (deflateInit2(&t->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      return UV_ENOMEM;
    }
    t->z_open = true;
  }
  uv_fs_t req;
  int fd =
      uv_fs_open(NULL, &req, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL);
  uv_fs_req_cleanup(&req);
  if (fd < 0) {
    if (t->z_open) {
      deflateEnd(&t->z);
    }
    return fd;
  }
  t->fd = fd;
  return 0;
}

/* Appends `len` bytes through the compressor; `flush` Z_FINISH ends the
 * gzip stream. Returns false when out of memory. */
static bool deflate_into_queue(trace_file *t, const uint8_t *data, size_t len,
                               int flush) {
  t->z.next_in = (Bytef *)(uintptr_t)data;
  t->z.avail_in = (uInt)len;
  do {
    if (lp2p_buf_reserve(&t->queue, 4096) != 0) {
      return false;
    }
    size_t room = t->queue.cap - t->queue.len - 1;
    t->z.next_out = t->queue.data + t->queue.len;
    t->z.avail_out = (uInt)room;
    int rv = deflate(&t->z, flush);
    t->queue.len += room - t->z.avail_out;
    if (rv == Z_STREAM_END) {
      break;
    }
    if (rv != Z_OK && rv != Z_BUF_ERROR) {
      return false;
    }
  } while (t->z.avail_out == 0 || (flush == Z_FINISH));
  return true;
}

static size_t unwritten(const trace_file *t) {
  return t->queue.len + (t->writing.len - t->written);
}

static int encode(trace_file *t, const lp2p_trace_event *ev) {
  lp2p_buf_truncate(&t->event, 0);
  if (t->format == TRACE_FILE_JSON) {
    return lp2p_trace_encode_json(&t->event, ev);
  }
  return lp2p_trace_encode_delimited(&t->event, ev);
}

bool trace_file_event(trace_file *t, const lp2p_trace_event *ev) {
  t->events++;
  if (t->failed || t->closing || encode(t, ev) != 0 ||
      unwritten(t) + t->event.len > t->max) {
    t->dropped++;
    return false;
  }
  bool queued =
      t->z_open ? deflate_into_queue(t, t->event.data, t->event.len, Z_NO_FLUSH)
                : lp2p_buf_append(&t->queue, t->event.data, t->event.len) == 0;
  if (!queued) {
    t->dropped++;
    return false;
  }
  if (t->queue.len >= TRACE_FILE_CHUNK) {
    trace_file_flush(t);
  }
  return true;
}

/* A write failed: what is queued is lost, and so is what comes. */
static void fail(trace_file *t) {
  t->write_errors++;
  t->failed = true;
  lp2p_buf_truncate(&t->queue, 0);
  lp2p_buf_truncate(&t->writing, 0);
  t->written = 0;
}

static void write_sync(trace_file *t) {
  size_t done = 0;
  while (done < t->queue.len && !t->failed) {
    ssize_t n = write(t->fd, t->queue.data + done, t->queue.len - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      fail(t);
    } else {
      done += (size_t)n;
    }
  }
  lp2p_buf_truncate(&t->queue, 0);
}

static void finish(trace_file *t) {
  uv_fs_t req;
  uv_fs_close(NULL, &req, t->fd, NULL);
  uv_fs_req_cleanup(&req);
  if (t->z_open) {
    deflateEnd(&t->z);
    t->z_open = false;
  }
  lp2p_buf_free(&t->event);
  lp2p_buf_free(&t->queue);
  lp2p_buf_free(&t->writing);
  if (t->closed) {
    t->closed(t->closed_user);
  }
}

static void start_write(trace_file *t);

static void on_written(uv_fs_t *req) {
  trace_file *t = req->data;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  t->busy = false;
  if (n < 0) {
    fail(t);
  } else {
    t->written += (size_t)n;
    t->offset += n;
  }
  if (t->written == t->writing.len) {
    lp2p_buf_truncate(&t->writing, 0);
    t->written = 0;
  }
  start_write(t);
  if (!t->busy && t->closing) {
    finish(t);
  }
}

/* Writes the rest of `writing`, else swaps the queue in and writes it. */
static void start_write(trace_file *t) {
  if (t->busy || t->failed) {
    return;
  }
  if (t->writing.len == 0) {
    if (t->queue.len == 0) {
      return;
    }
    lp2p_buf tmp = t->writing;
    t->writing = t->queue;
    t->queue = tmp;
  }
  uv_buf_t buf = uv_buf_init((char *)t->writing.data + t->written,
                             (unsigned)(t->writing.len - t->written));
  t->req.data = t;
  if (uv_fs_write(t->loop, &t->req, t->fd, &buf, 1, t->offset, on_written) !=
      0) {
    fail(t);
    return;
  }
  t->busy = true;
}

void trace_file_flush(trace_file *t) {
  if (t->loop) {
    start_write(t);
  } else {
    write_sync(t);
  }
}

void trace_file_close(trace_file *t, void (*closed)(void *user), void *user) {
  t->closed = closed;
  t->closed_user = user;
  t->closing = true;
  if (t->z_open && !t->failed && !deflate_into_queue(t, NULL, 0, Z_FINISH)) {
    fail(t);
  }
  trace_file_flush(t);
  if (!t->busy) {
    finish(t);
  }
}
