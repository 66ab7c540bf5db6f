/* lp2p_session, responder side: the input is what a dialer says.
 * First byte even: the rest (after a second byte choosing the chunk size)
 * is raw bytes fed in chunks from the very first byte of the connection.
 * First byte odd: a harness dialer with fixed keys (lp2p_mss and a raw
 * lp2p_noise initiator) completes the upgrade, agreeing on yamux or mplex
 * in early data (bit 1 of the first byte), and the rest of the input goes
 * to the session's muxer encrypted as Noise transport messages, so that
 * the fuzzer reaches yamux or mplex, stream negotiation and the stream
 * callbacks. Beyond "no crash": recv returns 0 or a negative code, a
 * failed session stays failed and says why, and expiry handling keeps
 * every promise. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/net.h"
#include "lp2p/noise.h"
#include "lp2p/session.h"

static const char *const protocols[] = {"/echo/1.0.0", "/meshsub/1.1.0"};

static void det_rand(uint8_t *dest, size_t len, void *user) {
  uint64_t *ctr = user;
  for (size_t i = 0; i < len; i++) {
    *ctr = *ctr * 6364136223846793005u + 1442695040888963407u;
    dest[i] = (uint8_t)(*ctr >> 56);
  }
}

static void make_key(uint8_t seed_byte, lp2p_privkey *key) {
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof(seed));
  FUZZ_CHECK(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, key) == 0);
}

/* Streams echo what they get and give the credit back; every third
 * stream is reset on opening, to exercise that path too. */
static void on_opened(lp2p_session *s, uint64_t id, const char *proto,
                      bool inbound, void **stream_user, void *user) {
  (void)proto;
  (void)inbound;
  (void)stream_user;
  unsigned *n = user;
  if (++*n % 3 == 0) {
    FUZZ_CHECK(lp2p_session_stream_reset(s, id) == 0);
  }
}

static void on_data(lp2p_session *s, uint64_t id, void *stream_user,
                    const uint8_t *data, size_t len, void *user) {
  (void)stream_user;
  (void)user;
  ssize_t w = lp2p_session_stream_write(s, id, data, len);
  FUZZ_CHECK(w >= 0 || w == LP2P_ERR_STATE || w == LP2P_ERR_NOMEM);
  FUZZ_CHECK(lp2p_session_stream_consume(s, id, len) == 0);
}

static void on_end(lp2p_session *s, uint64_t id, void *stream_user,
                   void *user) {
  (void)stream_user;
  (void)user;
  (void)lp2p_session_stream_close(s, id);
}

static void on_closed(lp2p_session *s, int err, const char *msg, void *user) {
  (void)s;
  (void)user;
  FUZZ_CHECK(err < 0);
  FUZZ_CHECK(msg != NULL && msg[0] != '\0');
}

static const lp2p_session_callbacks callbacks = {
    .closed = on_closed,
    .stream_opened = on_opened,
    .stream_data = on_data,
    .stream_end = on_end,
};

static lp2p_session *open_responder(uint64_t *rng, unsigned *nstreams,
                                    lp2p_tstamp now) {
  lp2p_privkey key;
  lp2p_session_settings set;
  lp2p_session *s = NULL;
  make_key(2, &key);
  lp2p_session_settings_default(&set);
  set.rand_fn = det_rand;
  set.unix_time = 1800000000; /* TLS may be negotiated too */
  set.rand_user = rng;
  set.protocols = protocols;
  set.nprotocols = 2;
  set.max_streams = 16;
  FUZZ_CHECK(lp2p_session_new(&s, &set, &key, false, &callbacks, NULL, nstreams,
                              now) == 0);
  return s;
}

static void drain(lp2p_session *s, lp2p_tstamp now) {
  const uint8_t *out;
  ssize_t n;
  int rounds = 0;
  while ((n = lp2p_session_pull(s, &out, now)) > 0) {
    FUZZ_CHECK(++rounds < 100000);
  }
  FUZZ_CHECK(n == 0);
}

static int feed(lp2p_session *s, const uint8_t *in, size_t len, size_t chunk,
                lp2p_tstamp now) {
  for (size_t off = 0; off < len; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    int rv = lp2p_session_recv(s, in + off, n, now);
    FUZZ_CHECK(rv <= 0);
    if (rv != 0) {
      return rv;
    }
    drain(s, now);
  }
  return 0;
}

/* ---- the harness dialer ------------------------------------------------- */

typedef struct dialer {
  lp2p_mss *mss;
  lp2p_noise *noise;
  uint64_t rng;
} dialer;

/* Runs the upgrade against `s`; 0 once the session is established. */
static int upgrade(dialer *d, lp2p_session *s, bool mplex) {
  static const char *const noise_id[] = {LP2P_NOISE_PROTOCOL_ID};
  const char *muxer = mplex ? LP2P_MPLEX_PROTOCOL_ID : LP2P_YAMUX_PROTOCOL_ID;
  lp2p_mss_settings ms;
  lp2p_mss_settings_default(&ms);
  ms.protocols = noise_id;
  ms.nprotocols = 1;
  FUZZ_CHECK(lp2p_mss_new(&d->mss, &ms, NULL, NULL, NULL) == 0);
  lp2p_privkey key;
  make_key(7, &key);
  lp2p_noise_settings ns;
  lp2p_noise_settings_default(&ns);
  ns.role = LP2P_NOISE_INITIATOR;
  ns.identity = &key;
  ns.muxers = &muxer;
  ns.nmuxers = 1;
  ns.rand_fn = det_rand;
  ns.rand_user = &d->rng;
  FUZZ_CHECK(lp2p_noise_new(&d->noise, &ns, NULL, NULL, NULL) == 0);
  for (int round = 0; round < 8 && !lp2p_session_is_established(s); round++) {
    const uint8_t *out;
    ssize_t n;
    while ((n = lp2p_mss_pull(d->mss, &out, 0)) > 0) {
      FUZZ_CHECK(lp2p_session_recv(s, out, (size_t)n, 0) == 0);
    }
    if (lp2p_mss_result(d->mss, NULL, NULL) == 1) {
      while ((n = lp2p_noise_pull(d->noise, &out, 0)) > 0) {
        FUZZ_CHECK(lp2p_session_recv(s, out, (size_t)n, 0) == 0);
      }
    }
    while ((n = lp2p_session_pull(s, &out, 0)) > 0) {
      int used = 0;
      if (lp2p_mss_result(d->mss, NULL, NULL) == 0) {
        used = lp2p_mss_recv(d->mss, out, (size_t)n, 0);
        FUZZ_CHECK(used >= 0);
      }
      if (n > used) {
        FUZZ_CHECK(
            lp2p_noise_recv(d->noise, out + used, (size_t)(n - used), 0) == 0);
      }
    }
  }
  return lp2p_session_is_established(s) ? 0 : -1;
}

/* The input as Noise transport messages, a few at a time. */
static int send_encrypted(dialer *d, lp2p_session *s, const uint8_t *in,
                          size_t len, size_t chunk) {
  for (size_t off = 0; off < len; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    FUZZ_CHECK(lp2p_noise_write(d->noise, in + off, n) == (ssize_t)n);
    const uint8_t *out;
    ssize_t got;
    while ((got = lp2p_noise_pull(d->noise, &out, 0)) > 0) {
      int rv = lp2p_session_recv(s, out, (size_t)got, 0);
      FUZZ_CHECK(rv <= 0);
      if (rv != 0) {
        return rv;
      }
    }
    drain(s, 0);
  }
  return 0;
}

static void check_failed(lp2p_session *s, int rv) {
  const char *msg = NULL;
  FUZZ_CHECK(rv < 0);
  FUZZ_CHECK(lp2p_session_error(s, &msg) == rv);
  FUZZ_CHECK(msg && msg[0]);
  FUZZ_CHECK(!lp2p_session_is_established(s));
  FUZZ_CHECK(lp2p_session_recv(s, (const uint8_t *)"x", 1, 0) ==
             LP2P_ERR_STATE);
  FUZZ_CHECK(lp2p_session_expiry(s) == LP2P_TSTAMP_NEVER);
  FUZZ_CHECK(lp2p_session_num_streams(s) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t rng = 2;
  unsigned nstreams = 0;
  int rv;
  if (size < 2) {
    return 0;
  }
  lp2p_session *s = open_responder(&rng, &nstreams, 0);
  size_t chunk = (size_t)data[1] % 64 + 1;
  dialer d = {.rng = 9};
  if (data[0] & 1) {
    FUZZ_CHECK(upgrade(&d, s, (data[0] & 2) != 0) == 0);
    chunk = (size_t)data[1] * 16 + 1;
    rv = send_encrypted(&d, s, data + 2, size - 2, chunk);
  } else {
    rv = feed(s, data + 2, size - 2, chunk, 0);
  }
  if (rv == 0) {
    /* time passes: handshake and negotiation deadlines, keepalive */
    lp2p_tstamp t = lp2p_session_expiry(s);
    if (t != LP2P_TSTAMP_NEVER) {
      rv = lp2p_session_handle_expiry(s, t);
      FUZZ_CHECK(rv <= 0);
      drain(s, t);
      FUZZ_CHECK(rv != 0 || lp2p_session_expiry(s) > t);
    }
  }
  if (rv != 0) {
    check_failed(s, rv);
  }
  lp2p_mss_del(d.mss);
  lp2p_noise_del(d.noise);
  lp2p_session_del(s);
  return 0;
}
