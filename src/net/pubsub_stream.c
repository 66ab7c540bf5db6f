/* The uvarint framing of pubsub streams (pubsub_stream.h). Every length is
 * checked against the limit before a byte of its RPC is kept, so a peer
 * can make us hold at most one RPC of max_rpc bytes per stream. */
#include "net/pubsub_stream.h"

#include <string.h>

void lp2p__pubsub_reader_init(lp2p__pubsub_reader *r, size_t max_rpc,
                              const lp2p_mem *mem) {
  memset(r, 0, sizeof(*r));
  r->mem = mem;
  r->max_rpc = max_rpc;
  lp2p_buf_init(&r->partial, mem);
}

void lp2p__pubsub_reader_free(lp2p__pubsub_reader *r) {
  lp2p_buf_free(&r->partial);
}

void lp2p__pubsub_reader_reset(lp2p__pubsub_reader *r) {
  lp2p_buf_free(&r->partial);
  r->hdr_len = 0;
  r->in_body = false;
  r->body_len = 0;
  r->err = 0;
  r->reason = NULL;
  r->refused_len = 0;
}

static int fail(lp2p__pubsub_reader *r, int err, const char *reason) {
  lp2p_buf_free(&r->partial);
  r->err = err;
  r->reason = reason;
  return err;
}

/* Takes length-prefix bytes until the prefix is whole; returns how many
 * were used, or an error (the reader failed). */
static ptrdiff_t read_header(lp2p__pubsub_reader *r, const uint8_t *p,
                             size_t len) {
  size_t used = 0;
  while (used < len && !r->in_body) {
    uint8_t b = p[used++];
    r->hdr[r->hdr_len++] = b;
    if (b & 0x80) {
      if (r->hdr_len == sizeof(r->hdr)) {
        r->bad_lengths++;
        return fail(r, LP2P_ERR_PROTOCOL,
                    "pubsub: RPC length prefix longer than 9 bytes");
      }
      continue;
    }
    uint64_t v;
    /* as go: msgio reads lengths with go-varint, which refuses
     * non-minimal encodings */
    if (lp2p_uvarint_decode(r->hdr, r->hdr_len, &v) < 0) {
      r->bad_lengths++;
      return fail(r, LP2P_ERR_PROTOCOL,
                  "pubsub: RPC length prefix is not a minimal varint");
    }
    if (v > r->max_rpc) {
      r->oversized++;
      r->refused_len = v;
      return fail(r, LP2P_ERR_TOO_LARGE,
                  "pubsub: RPC length over the maximum RPC size");
    }
    r->hdr_len = 0;
    r->body_len = (size_t)v;
    r->in_body = true;
  }
  return (ptrdiff_t)used;
}

static int hand_up(lp2p__pubsub_reader *r, const uint8_t *rpc, size_t len,
                   lp2p__pubsub_rpc_fn fn, void *user) {
  r->rpcs++;
  r->in_body = false;
  int rv = fn(rpc, len, user);
  return rv != 0 ? fail(r, rv, "pubsub: the RPC's consumer failed") : 0;
}

/* Takes body bytes; returns how many were used, or an error. */
static ptrdiff_t read_body(lp2p__pubsub_reader *r, const uint8_t *p, size_t len,
                           lp2p__pubsub_rpc_fn fn, void *user) {
  size_t need = r->body_len - r->partial.len;
  if (r->partial.len == 0 && len >= need) {
    int rv = hand_up(r, p, need, fn, user); /* whole in the chunk: no copy */
    return rv != 0 ? rv : (ptrdiff_t)need;
  }
  size_t take = len < need ? len : need;
  if (lp2p_buf_append(&r->partial, p, take) != 0) {
    return fail(r, LP2P_ERR_NOMEM, "pubsub: no memory for a split RPC");
  }
  if (take == need) {
    int rv = hand_up(r, r->partial.data, r->partial.len, fn, user);
    if (rv != 0) {
      return rv;
    }
    lp2p_buf_free(&r->partial); /* an idle stream holds no buffer */
  }
  return (ptrdiff_t)take;
}

int lp2p__pubsub_reader_recv(lp2p__pubsub_reader *r, const uint8_t *in,
                             size_t len, lp2p__pubsub_rpc_fn fn, void *user) {
  while (r->err == 0 && (len > 0 || r->in_body)) {
    ptrdiff_t used =
        r->in_body ? read_body(r, in, len, fn, user) : read_header(r, in, len);
    if (used < 0) {
      return (int)used;
    }
    if (used == 0 && r->in_body && r->body_len > 0) {
      break; /* wait for the body */
    }
    in += used;
    len -= (size_t)used;
  }
  return r->err;
}

const char *lp2p__pubsub_reader_reason(const lp2p__pubsub_reader *r) {
  return r->reason;
}

bool lp2p__pubsub_reader_mid_rpc(const lp2p__pubsub_reader *r) {
  return r->hdr_len > 0 || r->in_body;
}

size_t lp2p__pubsub_frame_header(size_t len,
                                 uint8_t out[LP2P_UVARINT_MAX_LEN]) {
  /* a size_t always fits in 9 varint bytes on 64-bit and smaller */
  return (size_t)lp2p_uvarint_encode(len, out, LP2P_UVARINT_MAX_LEN);
}

int lp2p__pubsub_frame(lp2p_buf *out, const uint8_t *rpc, size_t len) {
  uint8_t hdr[LP2P_UVARINT_MAX_LEN];
  size_t h = lp2p__pubsub_frame_header(len, hdr);
  size_t was = out->len;
  if (lp2p_buf_reserve(out, h + len) != 0 ||
      lp2p_buf_append(out, hdr, h) != 0 ||
      (len > 0 && lp2p_buf_append(out, rpc, len) != 0)) {
    lp2p_buf_truncate(out, was);
    return LP2P_ERR_NOMEM;
  }
  return 0;
}

int lp2p__pubsub_unframe(const uint8_t *in, size_t len, const uint8_t **rpc,
                         size_t *rpc_len) {
  uint64_t body;
  int h = lp2p_uvarint_decode(in, len, &body);
  if (h <= 0 || body != len - (size_t)h) {
    return LP2P_ERR_PROTOCOL;
  }
  *rpc = in + h;
  *rpc_len = (size_t)body;
  return 0;
}

lp2p_pubsub_proto lp2p__pubsub_proto_of(const char *id) {
  for (int i = 0; i < LP2P_PUBSUB_NPROTOCOLS; i++) {
    if (strcmp(id, lp2p_pubsub_protocol_ids[i]) == 0) {
      return (lp2p_pubsub_proto)(LP2P_MESHSUB_13 - i);
    }
  }
  return LP2P_FLOODSUB;
}

/* ---- writing ------------------------------------------------------------ */

void lp2p__pubsub_writer_init(lp2p__pubsub_writer *w, size_t max_held,
                              const lp2p_mem *mem) {
  memset(w, 0, sizeof(*w));
  w->mem = mem;
  w->max_held = max_held;
  lp2p_buf_init(&w->held, mem);
}

void lp2p__pubsub_writer_free(lp2p__pubsub_writer *w) {
  lp2p_buf_free(&w->held);
  w->off = 0;
}

void lp2p__pubsub_writer_clear(lp2p__pubsub_writer *w) {
  lp2p__pubsub_writer_free(w);
}

size_t lp2p__pubsub_writer_held(const lp2p__pubsub_writer *w) {
  return w->held.len - w->off;
}

/* The size of the first held RPC, frame included (only whole framed RPCs
 * are held). */
static size_t first_len(const lp2p__pubsub_writer *w) {
  uint64_t body;
  int h = lp2p_uvarint_decode(w->held.data, w->held.len, &body);
  return h > 0 && body <= w->held.len - (size_t)h ? (size_t)h + (size_t)body
                                                  : w->held.len;
}

/* Lets go of the held RPCs written to their last byte, reporting each;
 * an idle stream holds no buffer. */
static void settle(lp2p__pubsub_writer *w, const lp2p__pubsub_sink *sink,
                   lp2p_tstamp now) {
  while (w->held.len > 0) {
    size_t n = first_len(w);
    if (w->off < n) {
      return;
    }
    if (sink->written) {
      sink->written(w->held.data, n, w->put, sink->user);
    }
    memmove(w->held.data, w->held.data + n, w->held.len - n);
    lp2p_buf_truncate(&w->held, w->held.len - n);
    w->off -= n;
    w->put = now;
  }
  lp2p__pubsub_writer_free(w);
}

int lp2p__pubsub_writer_flush(lp2p__pubsub_writer *w,
                              const lp2p__pubsub_sink *sink, lp2p_tstamp now) {
  while (w->off < w->held.len) {
    ptrdiff_t k =
        sink->write(w->held.data + w->off, w->held.len - w->off, sink->user);
    if (k < 0) {
      lp2p__pubsub_writer_clear(w);
      return (int)k;
    }
    if (k == 0) {
      break; /* room comes back with the stream's writable */
    }
    w->off += (size_t)k;
  }
  settle(w, sink, now);
  return w->held.len == 0 ? 1 : 0;
}

int lp2p__pubsub_writer_put(lp2p__pubsub_writer *w, const uint8_t *rpc,
                            size_t len, const lp2p__pubsub_sink *sink,
                            lp2p_tstamp now) {
  if (lp2p__pubsub_writer_held(w) + len > w->max_held) {
    return LP2P_ERR_TOO_LARGE;
  }
  int rv = lp2p__pubsub_writer_flush(w, sink, now);
  if (rv < 0) {
    return rv;
  }
  size_t taken = 0;
  if (rv == 1) { /* nothing held: straight from the caller's bytes */
    ptrdiff_t k = sink->write(rpc, len, sink->user);
    if (k < 0) {
      return (int)k;
    }
    taken = (size_t)k;
    if (taken == len) {
      if (sink->written) {
        sink->written(rpc, len, now, sink->user);
      }
      return 0;
    }
  }
  if (w->held.len == 0) {
    w->put = now;
    w->off = taken;
  }
  return lp2p_buf_append(&w->held, rpc, len) == 0 ? 0 : LP2P_ERR_NOMEM;
}
