/* Noise, responder side: the input is what the initiator says. First
 * byte even: the rest (after a second byte choosing the chunk size) is
 * raw bytes fed in chunks: message 1, message 3 and what follows. First
 * byte odd: a raw-layer initiator with fixed keys sends a genuine
 * message 1, reads our message 2 and sends the rest of the input as the
 * payload of a genuine message 3 (the seed corpus holds valid payloads
 * for its keys). Beyond "no crash": a failed session stays failed; an
 * established one names a peer whose key is its id, keeps bounded muxer
 * names and picks one of ours. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/noise.h"
#include "net/noise_xx.h"

static const char *const our_muxers[] = {"/mplex/6.7.0", "/yamux/1.0.0"};

static void det_rand(uint8_t *dest, size_t len, void *user) {
  uint64_t *ctr = user;
  for (size_t i = 0; i < len; i++) {
    *ctr = *ctr * 6364136223846793005u + 1442695040888963407u;
    dest[i] = (uint8_t)(*ctr >> 56);
  }
}

static lp2p_noise *open_session(uint64_t *rng) {
  uint8_t seed[32] = {2};
  lp2p_privkey key;
  lp2p_noise_settings st;
  lp2p_noise *s = NULL;
  FUZZ_CHECK(lp2p_privkey_from_seed(LP2P_KEY_SECP256K1, seed, &key) == 0);
  lp2p_noise_settings_default(&st);
  st.role = LP2P_NOISE_RESPONDER;
  st.identity = &key;
  st.muxers = our_muxers;
  st.nmuxers = 2;
  st.rand_fn = det_rand;
  st.rand_user = rng;
  FUZZ_CHECK(lp2p_noise_new(&s, &st, NULL, NULL, NULL) == 0);
  return s;
}

static void check_peer(const lp2p_noise *s) {
  const lp2p_noise_peer *p = lp2p_noise_remote(s);
  FUZZ_CHECK(p != NULL);
  FUZZ_CHECK(lp2p_peer_id_check_pubkey(&p->peer_id, &p->pubkey) == 0);
  FUZZ_CHECK(p->nmuxers <= LP2P_NOISE_MAX_MUXERS);
  for (size_t i = 0; i < p->nmuxers; i++) {
    size_t n = strlen(p->muxers[i]);
    FUZZ_CHECK(n >= 1 && n <= LP2P_NOISE_MUXER_NAME_MAX);
  }
  FUZZ_CHECK(!p->muxer || strcmp(p->muxer, our_muxers[0]) == 0 ||
             strcmp(p->muxer, our_muxers[1]) == 0);
}

static int feed_chunks(lp2p_noise *s, const uint8_t *in, size_t len,
                       size_t chunk) {
  for (size_t off = 0; off < len; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    int rv = lp2p_noise_recv(s, in + off, n, 0);
    if (rv != 0) {
      return rv;
    }
  }
  return 0;
}

static size_t frame(lp2p_noise_xx *xx, const uint8_t *payload, size_t len,
                    uint8_t *out) {
  size_t room = LP2P_NOISE_MAX_MESSAGE - lp2p_noise_xx_overhead(xx);
  len = len < room ? len : room;
  size_t total = lp2p_noise_xx_overhead(xx) + len;
  out[0] = (uint8_t)(total >> 8);
  out[1] = (uint8_t)total;
  FUZZ_CHECK(lp2p_noise_xx_write(xx, payload, len, out + 2) == 0);
  return 2 + total;
}

/* A raw-layer initiator runs the handshake with `payload` in message 3. */
static int genuine(lp2p_noise *s, const uint8_t *payload, size_t len) {
  static uint8_t msg[2 + LP2P_NOISE_MAX_MESSAGE], scratch[1024];
  uint8_t st[32], e[32];
  const uint8_t *m2;
  lp2p_noise_xx xx;
  memset(st, 0x52, sizeof(st));
  memset(e, 0x53, sizeof(e));
  FUZZ_CHECK(lp2p_noise_xx_init(&xx, true, NULL, 0, st, e) == 0);
  size_t n = frame(&xx, NULL, 0, msg);
  FUZZ_CHECK(lp2p_noise_recv(s, msg, n, 0) == 0);
  ssize_t got = lp2p_noise_pull(s, &m2, 0);
  FUZZ_CHECK(got > 2 && (size_t)got - 2 < sizeof(scratch));
  FUZZ_CHECK(lp2p_noise_xx_read(&xx, m2 + 2, (size_t)got - 2, scratch) == 0);
  n = frame(&xx, payload, len, msg);
  return lp2p_noise_recv(s, msg, n, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t rng = 2;
  const uint8_t *out;
  int rv;
  if (size < 2) {
    return 0;
  }
  lp2p_noise *s = open_session(&rng);
  if (data[0] & 1) {
    rv = genuine(s, data + 1, size - 1);
  } else {
    rv = feed_chunks(s, data + 2, size - 2, (size_t)data[1] % 64 + 1);
  }
  if (rv == 0 && lp2p_noise_is_established(s)) {
    check_peer(s);
  } else if (rv != 0) {
    FUZZ_CHECK(rv < 0 && !lp2p_noise_is_established(s));
    FUZZ_CHECK(lp2p_noise_recv(s, data, 1, 0) == LP2P_ERR_STATE);
    FUZZ_CHECK(lp2p_noise_pull(s, &out, 0) == LP2P_ERR_STATE);
  }
  lp2p_noise_del(s);
  return 0;
}
