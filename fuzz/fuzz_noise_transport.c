/* Noise transport frames after a completed in-memory handshake between
 * two sessions. The first byte picks a mode, the second seeds the chunk
 * sizes of delivery:
 *   0: the rest is raw bytes for the responder, as if from the initiator;
 *   1: the rest starts with up to 8 writes (2 bytes of length each, up
 *      to 65535, so one may span two frames; the bytes themselves a
 *      pattern) the initiator makes, delivered in chunks;
 *   2: as 1, but the ciphertext is XORed with a mask from the input.
 * Beyond "no crash": the responder never yields a byte the initiator did
 * not write, in order (a prefix of what was written), and yields all of
 * it when nothing was altered; every frame written is at most 2 + 65535
 * bytes. */
#include <stdlib.h>
#include <string.h>

#include "base/pcg.h"
#include "fuzz.h"
#include "lp2p/noise.h"

static void det_rand(uint8_t *dest, size_t len, void *user) {
  uint64_t *ctr = user;
  for (size_t i = 0; i < len; i++) {
    *ctr = *ctr * 6364136223846793005u + 1442695040888963407u;
    dest[i] = (uint8_t)(*ctr >> 56);
  }
}

static lp2p_noise *open_session(lp2p_noise_role role, uint8_t seed_byte,
                                uint64_t *rng) {
  uint8_t seed[32] = {seed_byte};
  lp2p_privkey key;
  lp2p_noise_settings st;
  lp2p_noise *s = NULL;
  FUZZ_CHECK(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &key) == 0);
  lp2p_noise_settings_default(&st);
  st.role = role;
  st.identity = &key;
  st.rand_fn = det_rand;
  st.rand_user = rng;
  FUZZ_CHECK(lp2p_noise_new(&s, &st, NULL, NULL, NULL) == 0);
  return s;
}

static void handshake(lp2p_noise *a, lp2p_noise *b) {
  for (int i = 0; i < 3; i++) {
    lp2p_noise *from = i % 2 ? b : a, *to = i % 2 ? a : b;
    const uint8_t *p;
    ssize_t n = lp2p_noise_pull(from, &p, 0);
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(lp2p_noise_recv(to, p, (size_t)n, 0) == 0);
  }
  FUZZ_CHECK(lp2p_noise_is_established(a) && lp2p_noise_is_established(b));
}

/* Feeds `len` bytes to `s` in random chunks, appending what it decrypts
 * to `got`. Returns the first error. */
static int deliver(lp2p_noise *s, const uint8_t *in, size_t len, lp2p_pcg *g,
                   lp2p_buf *got) {
  size_t off = 0;
  while (off < len) {
    size_t n = 1 + lp2p_pcg_below(g, 70000);
    const uint8_t *p;
    n = n < len - off ? n : len - off;
    int rv = lp2p_noise_recv(s, in + off, n, 0);
    if (rv != 0) {
      return rv;
    }
    ssize_t r = lp2p_noise_read(s, &p);
    FUZZ_CHECK(r >= 0);
    if (r > 0) {
      FUZZ_CHECK(lp2p_buf_append(got, p, (size_t)r) == 0);
    }
    off += n;
  }
  return 0;
}

/* Checks the framing of what the initiator wrote. */
static void check_frames(const uint8_t *p, size_t len) {
  size_t off = 0;
  while (off < len) {
    FUZZ_CHECK(len - off >= 2);
    size_t n = (size_t)p[off] << 8 | p[off + 1];
    FUZZ_CHECK(n >= LP2P_NOISE_TAG_LEN && off + 2 + n <= len);
    off += 2 + n;
  }
}

/* Mode 1 and 2: the initiator writes, the ciphertext goes (masked) to the
 * responder. */
static void writes(lp2p_noise *a, lp2p_noise *b, const uint8_t *in, size_t len,
                   bool masked, lp2p_pcg *g) {
  lp2p_buf sent, wire, got;
  bool altered = false;
  lp2p_buf_init(&sent, NULL);
  lp2p_buf_init(&wire, NULL);
  lp2p_buf_init(&got, NULL);
  for (size_t i = 0; i + 1 < len && i < 16; i += 2) {
    size_t n = (size_t)in[i] << 8 | in[i + 1];
    uint8_t *data = malloc(n + 1);
    const uint8_t *p;
    for (size_t k = 0; k < n; k++) {
      data[k] = (uint8_t)(k * 7 + i);
    }
    FUZZ_CHECK(lp2p_noise_write(a, data, n) == (ssize_t)n);
    FUZZ_CHECK(lp2p_buf_append(&sent, data, n) == 0);
    ssize_t w = lp2p_noise_pull(a, &p, 0);
    FUZZ_CHECK(w >= 0);
    check_frames(p, (size_t)w);
    FUZZ_CHECK(lp2p_buf_append(&wire, p, (size_t)w) == 0);
    free(data);
  }
  for (size_t i = 0; masked && i < wire.len && 16 + i < len; i++) {
    wire.data[i] ^= in[16 + i];
    altered |= in[16 + i] != 0;
  }
  int rv = deliver(b, wire.data, wire.len, g, &got);
  FUZZ_CHECK(got.len <= sent.len);
  FUZZ_CHECK(got.len == 0 || memcmp(got.data, sent.data, got.len) == 0);
  if (!altered) {
    FUZZ_CHECK(rv == 0 && got.len == sent.len);
  }
  lp2p_buf_free(&sent);
  lp2p_buf_free(&wire);
  lp2p_buf_free(&got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t ra = 1, rb = 2;
  lp2p_pcg g;
  lp2p_buf got;
  if (size < 2) {
    return 0;
  }
  lp2p_noise *a = open_session(LP2P_NOISE_INITIATOR, 1, &ra);
  lp2p_noise *b = open_session(LP2P_NOISE_RESPONDER, 2, &rb);
  handshake(a, b);
  lp2p_pcg_seed(&g, data[1], 7);
  switch (data[0] % 3) {
  case 0:
    lp2p_buf_init(&got, NULL);
    /* raw bytes cannot carry a valid tag: nothing is ever decrypted */
    (void)deliver(b, data + 2, size - 2, &g, &got);
    FUZZ_CHECK(got.len == 0);
    lp2p_buf_free(&got);
    break;
  default:
    writes(a, b, data + 2, size - 2, data[0] % 3 == 2, &g);
  }
  lp2p_noise_del(a);
  lp2p_noise_del(b);
  return 0;
}
