/* The pubsub stream reader (src/net/pubsub_stream.c) on arbitrary bytes.
 * Input: the limit (first byte x 3), a seed for the chunk sizes (second
 * byte), then the stream. Beyond "no crash":
 * - fed whole and fed in chunks of 1 to 16 bytes, the reader hands up the
 *   same RPCs and ends in the same state;
 * - the RPCs, framed again, are exactly the stream's first bytes, every
 *   one within the limit;
 * - the outcome is what a one-shot walk of the frames with
 *   lp2p_uvarint_decode predicts: the error (too large, bad prefix) at the
 *   same frame, or "mid-RPC" exactly when an unfinished frame is left. */
#include <string.h>

#include "fuzz.h"
#include "net/pubsub_stream.h"

typedef struct run {
  lp2p_buf reframed;
  size_t rpcs, max_rpc;
} run;

static int on_rpc(const uint8_t *rpc, size_t len, void *user) {
  run *r = user;
  FUZZ_CHECK(len <= r->max_rpc);
  FUZZ_CHECK(lp2p__pubsub_frame(&r->reframed, rpc, len) == 0);
  r->rpcs++;
  return 0;
}

typedef struct outcome {
  int err;
  bool mid;
  size_t whole; /* bytes of the frames handed up */
} outcome;

/* What the reader must do with `in`. */
static outcome predict(const uint8_t *in, size_t len, size_t max_rpc) {
  outcome o = {0, false, 0};
  while (o.whole < len) {
    uint64_t v;
    int h = lp2p_uvarint_decode(in + o.whole, len - o.whole, &v);
    if (h == LP2P_ERR_TRUNCATED) {
      o.mid = true;
      break;
    }
    if (h < 0) {
      o.err = LP2P_ERR_PROTOCOL;
      break;
    }
    if (v > max_rpc) {
      o.err = LP2P_ERR_TOO_LARGE;
      break;
    }
    if ((size_t)h + v > len - o.whole) {
      o.mid = true;
      break;
    }
    o.whole += (size_t)h + (size_t)v;
  }
  return o;
}

static int feed(lp2p__pubsub_reader *rd, run *r, const uint8_t *in, size_t len,
                uint8_t seed) {
  uint32_t x = seed * 2654435761u + 1;
  int rv = 0;
  while (len > 0) {
    x = x * 1103515245u + 12345u;
    size_t n = seed ? 1 + (x >> 16) % 16 : len;
    n = n < len ? n : len;
    rv = lp2p__pubsub_reader_recv(rd, in, n, on_rpc, r);
    in += n;
    len -= n;
  }
  return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) {
    return 0;
  }
  size_t max_rpc = (size_t)data[0] * 3;
  const uint8_t *in = data + 2;
  size_t len = size - 2;
  outcome want = predict(in, len, max_rpc);
  lp2p__pubsub_reader rd[2];
  run r[2];
  int rv[2];
  for (int i = 0; i < 2; i++) {
    r[i].rpcs = 0;
    r[i].max_rpc = max_rpc;
    lp2p_buf_init(&r[i].reframed, NULL);
    lp2p__pubsub_reader_init(&rd[i], max_rpc, NULL);
    rv[i] = feed(&rd[i], &r[i], in, len, i == 0 ? 0 : (uint8_t)(data[1] | 1));
    FUZZ_CHECK(rv[i] == want.err);
    FUZZ_CHECK(r[i].reframed.len == want.whole);
    FUZZ_CHECK(want.whole == 0 ||
               memcmp(r[i].reframed.data, in, want.whole) == 0);
    FUZZ_CHECK(want.err != 0 ||
               lp2p__pubsub_reader_mid_rpc(&rd[i]) == want.mid);
    FUZZ_CHECK((want.err != 0) == (lp2p__pubsub_reader_reason(&rd[i]) != NULL));
  }
  FUZZ_CHECK(r[0].rpcs == r[1].rpcs);
  FUZZ_CHECK(rd[0].oversized == rd[1].oversized);
  FUZZ_CHECK(rd[0].bad_lengths == rd[1].bad_lengths);
  for (int i = 0; i < 2; i++) {
    lp2p__pubsub_reader_free(&rd[i]);
    lp2p_buf_free(&r[i].reframed);
  }
  return 0;
}
