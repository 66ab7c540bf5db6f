/* An mplex session driven by arbitrary input: peer bytes in chunks whose
 * sizes come from the input, interleaved with application calls, with
 * default or small limits.
 * Input: one byte of configuration, then operations (see `step`).
 * Beyond "no crash": no stream holds more unread data than
 * max_stream_buffer, all of them together no more than max_session_buffer;
 * the frames we send parse back, data frames within max_frame_data; every
 * stream we were told of ends exactly once; recv fails only with
 * documented codes and then stays failed; no pull exceeds its bound. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/multiformats.h"
#include "lp2p/net.h"

#define TRACKED 64

typedef struct fuzz_state {
  lp2p_mplex *x;
  lp2p_mplex_settings set;
  uint64_t hs[TRACKED]; /* streams we know of */
  size_t nhs;
  int failed;
} fuzz_state;

static fuzz_state st;

static size_t find(uint64_t h) {
  for (size_t i = 0; i < st.nhs; i++) {
    if (st.hs[i] == h) {
      return i;
    }
  }
  return TRACKED;
}

static void check_buffers(void) {
  size_t total = 0;
  for (size_t i = 0; i < st.nhs; i++) {
    lp2p_mplex_stream_info info;
    if (lp2p_mplex_stream_info_get(st.x, st.hs[i], &info) == 0) {
      FUZZ_CHECK(info.readable <= st.set.max_stream_buffer);
      FUZZ_CHECK(info.send_buffered <= st.set.max_send_buffer);
      total += info.readable;
    }
  }
  FUZZ_CHECK(total <= st.set.max_session_buffer);
}

static int cb_open(lp2p_mplex *x, uint64_t h, void *user) {
  (void)x;
  (void)user;
  FUZZ_CHECK((h & 1) == 0);
  if ((h >> 1) % 7 == 5) {
    return 1; /* refuse some: no close follows */
  }
  FUZZ_CHECK(find(h) == TRACKED);
  if (st.nhs < TRACKED) {
    st.hs[st.nhs++] = h;
  }
  return 0;
}

static void cb_readable(lp2p_mplex *x, uint64_t h, void *user) {
  (void)x;
  (void)h;
  (void)user;
  check_buffers();
}

static void cb_close(lp2p_mplex *x, uint64_t h, lp2p_stream_end why,
                     void *user) {
  (void)x;
  (void)user;
  FUZZ_CHECK(why <= LP2P_STREAM_END_SESSION);
  size_t i = find(h);
  if (i != TRACKED) {
    st.hs[i] = st.hs[--st.nhs];
  }
}

static const lp2p_mplex_callbacks CALLBACKS = {cb_open, cb_readable, NULL,
                                               cb_close};

static void check_output(const uint8_t *p, size_t n) {
  size_t off = 0;
  while (off < n) {
    uint64_t hdr, len;
    int a = lp2p_uvarint_decode(p + off, n - off, &hdr);
    FUZZ_CHECK(a > 0);
    off += (size_t)a;
    int b = lp2p_uvarint_decode(p + off, n - off, &len);
    FUZZ_CHECK(b > 0);
    off += (size_t)b;
    unsigned flag = (unsigned)(hdr & 7);
    FUZZ_CHECK(flag != 7 && len <= n - off);
    FUZZ_CHECK(flag == 0 || flag == 1 || flag == 2 ? 1 : len == 0);
    if (flag == 1 || flag == 2) {
      FUZZ_CHECK(len >= 1 && len <= st.set.max_frame_data);
    }
    off += (size_t)len;
  }
}

static void pull_all(void) {
  const uint8_t *out;
  ssize_t n;
  while ((n = lp2p_mplex_pull(st.x, &out, 0)) > 0) {
    FUZZ_CHECK((size_t)n <= st.set.max_frame_data + 64u);
    check_output(out, (size_t)n);
  }
  FUZZ_CHECK(n == 0);
}

static void recv_bytes(const uint8_t *p, size_t n) {
  int rv = lp2p_mplex_recv(st.x, p, n, 0);
  if (st.failed) {
    FUZZ_CHECK(rv == LP2P_ERR_STATE);
  } else if (rv != 0) {
    FUZZ_CHECK(rv == LP2P_ERR_MALFORMED || rv == LP2P_ERR_TOO_LARGE ||
               rv == LP2P_ERR_OVERLONG);
    FUZZ_CHECK(lp2p_mplex_error(st.x, NULL) == rv);
    FUZZ_CHECK(lp2p_mplex_num_streams(st.x) == 0 && st.nhs == 0);
    st.failed = rv;
  }
  check_buffers();
}

static void app_call(uint8_t op, uint8_t arg) {
  static uint8_t buf[1 << 16];
  uint64_t h = st.nhs ? st.hs[arg % st.nhs] : arg, nh;
  switch (op) {
  case 0:
    if (lp2p_mplex_open(st.x, &nh) == 0) {
      FUZZ_CHECK(find(nh) == TRACKED && (nh & 1) == 1);
      if (st.nhs < TRACKED) {
        st.hs[st.nhs++] = nh;
      }
    }
    break;
  case 1:
    memset(buf, arg, (size_t)arg * 256u);
    lp2p_mplex_stream_write(st.x, h, buf, (size_t)arg * 256u);
    break;
  case 2:
    lp2p_mplex_stream_read(st.x, h, buf, (size_t)arg * 256u, NULL);
    break;
  case 3:
    lp2p_mplex_stream_close(st.x, h);
    break;
  default:
    lp2p_mplex_stream_reset(st.x, h);
  }
  check_buffers();
}

/* Operation bytes below 0x80 feed that many peer bytes plus one, 0xf0 and
 * above pull, the rest are application calls with one argument byte. */
static size_t step(const uint8_t *p, size_t n) {
  if (p[0] < 0x80) {
    size_t len = (size_t)p[0] + 1 < n - 1 ? (size_t)p[0] + 1 : n - 1;
    recv_bytes(p + 1, len);
    return 1 + len;
  }
  if (p[0] >= 0xf0) {
    pull_all();
    return 1;
  }
  app_call((uint8_t)(p[0] % 5), n > 1 ? p[1] : 0);
  return n > 1 ? 2 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  memset(&st, 0, sizeof(st));
  lp2p_mplex_settings_default(&st.set);
  if (data[0] & 1) {
    st.set.max_inbound_streams = 4;
    st.set.max_outbound_streams = 4;
    st.set.max_frame = 300;
    st.set.max_frame_data = 50;
    st.set.max_stream_buffer = 500;
    st.set.max_session_buffer = 800;
    st.set.max_send_buffer = 1000;
    st.set.max_pending_resets = 3;
  }
  FUZZ_CHECK(lp2p_mplex_new(&st.x, &st.set, &CALLBACKS, NULL, NULL) == 0);
  for (size_t i = 1; i < size;) {
    i += step(data + i, size - i);
    FUZZ_CHECK(lp2p_mplex_num_streams(st.x) <=
               (size_t)st.set.max_inbound_streams +
                   st.set.max_outbound_streams);
  }
  pull_all();
  lp2p_mplex_del(st.x);
  return 0;
}
