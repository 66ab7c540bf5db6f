/* A yamux session driven by arbitrary input: peer bytes in chunks whose
 * sizes come from the input, interleaved with application calls and clock
 * steps, in either role and with small limits.
 * Input: one byte of configuration, then operations (see `step`).
 * Beyond "no crash": no stream ever holds more received data than its
 * window and no window exceeds max_window; the frames we send are well
 * formed, no data frame exceeds max_frame_data, and the data sent on a
 * stream never exceeds the window the peer granted; every stream we were
 * told of ends exactly once; recv fails only with documented codes and
 * then stays failed; no pull exceeds its bound. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/net.h"

#define TRACKED 64

typedef struct fuzz_state {
  lp2p_yamux *y;
  lp2p_yamux_settings set;
  uint32_t ids[TRACKED]; /* streams we know of */
  size_t nids;
  int failed;
  lp2p_tstamp now;
} fuzz_state;

static fuzz_state st;

static size_t find(uint32_t id) {
  for (size_t i = 0; i < st.nids; i++) {
    if (st.ids[i] == id) {
      return i;
    }
  }
  return TRACKED;
}

static void track(uint32_t id) {
  FUZZ_CHECK(find(id) == TRACKED); /* ids are never reused */
  if (st.nids < TRACKED) {
    st.ids[st.nids++] = id;
  }
}

static void check_stream(lp2p_yamux *y, uint32_t id) {
  lp2p_yamux_stream_info info;
  if (lp2p_yamux_stream_info_get(y, id, &info) != 0) {
    return;
  }
  FUZZ_CHECK(info.readable <= info.recv_window);
  FUZZ_CHECK(info.recv_window <= st.set.max_window);
  FUZZ_CHECK(info.send_buffered <= info.send_window);
  FUZZ_CHECK(info.send_buffered <= st.set.max_send_buffer);
}

static int cb_open(lp2p_yamux *y, uint32_t id, void *user) {
  (void)y;
  (void)user;
  if ((id % 7) == 5) {
    return 1; /* refuse some: no close follows */
  }
  track(id); /* beyond TRACKED, streams live unchecked */
  return 0;
}

static void cb_readable(lp2p_yamux *y, uint32_t id, void *user) {
  (void)user;
  check_stream(y, id);
}

static void cb_close(lp2p_yamux *y, uint32_t id, lp2p_stream_end why,
                     void *user) {
  (void)y;
  (void)user;
  FUZZ_CHECK(why <= LP2P_STREAM_END_SESSION);
  size_t i = find(id);
  if (i != TRACKED) {
    st.ids[i] = st.ids[--st.nids]; /* a second close would not find it */
  }
}

static const lp2p_yamux_callbacks CALLBACKS = {cb_open,  cb_readable, NULL,
                                               cb_close, NULL,        NULL};

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* The streams' windows before a pull, and the data sent since; a copy,
 * since close callbacks during the pull reorder st.ids. */
typedef struct window_log {
  uint32_t ids[TRACKED];
  uint32_t before[TRACKED];
  size_t sent[TRACKED];
  size_t n;
} window_log;

/* Parses what we send: whole, well-formed frames, data frames within
 * max_frame_data, and the data of each stream within the window it had
 * before the pull. */
static void check_output(const uint8_t *p, size_t n, window_log *w) {
  size_t off = 0;
  while (off < n) {
    FUZZ_CHECK(n - off >= 12);
    FUZZ_CHECK(p[off] == 0 && p[off + 1] <= 3);
    bool is_data = p[off + 1] == 0;
    uint32_t id = be32(p + off + 4), len = be32(p + off + 8);
    off += 12;
    if (!is_data) {
      continue;
    }
    FUZZ_CHECK(len <= st.set.max_frame_data && len <= n - off);
    for (size_t i = 0; i < w->n; i++) {
      if (w->ids[i] == id) {
        w->sent[i] += len;
        FUZZ_CHECK(w->sent[i] <= w->before[i]); /* never beyond the window */
      }
    }
    off += len;
  }
}

static void pull_all(void) {
  window_log w;
  memset(&w, 0, sizeof(w));
  for (size_t i = 0; i < st.nids; i++) {
    lp2p_yamux_stream_info info;
    if (lp2p_yamux_stream_info_get(st.y, st.ids[i], &info) == 0) {
      w.ids[w.n] = st.ids[i];
      w.before[w.n++] = info.send_window;
    }
  }
  const uint8_t *out;
  ssize_t n;
  while ((n = lp2p_yamux_pull(st.y, &out, st.now)) > 0) {
    FUZZ_CHECK((size_t)n <= st.set.max_frame_data + 1036u);
    check_output(out, (size_t)n, &w);
  }
  FUZZ_CHECK(n == 0);
}

static void recv_bytes(const uint8_t *p, size_t n) {
  int rv = lp2p_yamux_recv(st.y, p, n, st.now);
  if (st.failed) {
    FUZZ_CHECK(rv == LP2P_ERR_STATE);
  } else if (rv != 0) {
    FUZZ_CHECK(rv == LP2P_ERR_MALFORMED || rv == LP2P_ERR_TOO_LARGE);
    FUZZ_CHECK(lp2p_yamux_error(st.y, NULL) == rv);
    FUZZ_CHECK(lp2p_yamux_num_streams(st.y) == 0);
    FUZZ_CHECK(st.nids == 0);
    st.failed = rv;
  }
}

static uint32_t pick(uint8_t b) {
  return st.nids ? st.ids[b % st.nids] : b;
}

static void app_call(uint8_t op, uint8_t arg) {
  static uint8_t buf[1 << 16];
  uint32_t id = pick(arg), nid;
  switch (op) {
  case 0:
    if (lp2p_yamux_open(st.y, &nid) == 0) {
      track(nid);
    }
    break;
  case 1:
    memset(buf, arg, (size_t)arg * 256u);
    lp2p_yamux_stream_write(st.y, id, buf, (size_t)arg * 256u);
    break;
  case 2:
    lp2p_yamux_stream_read(st.y, id, buf, (size_t)arg * 256u, NULL);
    break;
  case 3:
    lp2p_yamux_stream_close(st.y, id);
    break;
  case 4:
    lp2p_yamux_stream_reset(st.y, id);
    break;
  case 5:
    lp2p_yamux_stream_ack(st.y, id);
    break;
  case 6:
    if (arg & 1) {
      lp2p_yamux_goaway(st.y, arg >> 1);
    } else {
      lp2p_yamux_ping(st.y);
    }
    break;
  default:
    st.now += (lp2p_tstamp)arg * 100 * LP2P_MILLISECONDS;
    if (lp2p_yamux_handle_expiry(st.y, st.now) != 0) {
      st.failed = LP2P_ERR_STATE;
      FUZZ_CHECK(st.nids == 0);
    }
  }
  check_stream(st.y, id);
}

/* One operation; returns the input bytes it used. Operation bytes below
 * 0x80 feed that many peer bytes (so most of the input is peer bytes),
 * others are application calls with one argument byte. */
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
  app_call((uint8_t)(p[0] & 7), n > 1 ? p[1] : 0);
  return n > 1 ? 2 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  memset(&st, 0, sizeof(st));
  lp2p_yamux_settings_default(&st.set);
  st.set.is_client = data[0] & 1;
  st.set.measure_rtt = (data[0] & 2) != 0;
  if (data[0] & 4) {
    st.set.max_inbound_streams = 4;
    st.set.max_outbound_streams = 4;
    st.set.max_ack_backlog = 2;
    st.set.max_frame_data = 64;
    st.set.max_send_buffer = 1000;
    st.set.max_window = 1024 * 1024;
    st.set.max_session_window = 600 * 1024;
  }
  st.set.initial_window = (data[0] & 8) ? 512 * 1024 : 256 * 1024;
  FUZZ_CHECK(lp2p_yamux_new(&st.y, &st.set, &CALLBACKS, NULL, NULL) == 0);
  st.now = LP2P_SECONDS;
  for (size_t i = 1; i < size;) {
    i += step(data + i, size - i);
    FUZZ_CHECK(lp2p_yamux_num_streams(st.y) <=
               (size_t)st.set.max_inbound_streams +
                   st.set.max_outbound_streams);
  }
  pull_all();
  lp2p_yamux_del(st.y);
  return 0;
}
