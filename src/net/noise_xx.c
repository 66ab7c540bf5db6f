/* Noise_XX_25519_ChaChaPoly_SHA256 (Noise Protocol Framework rev 34):
 * CipherState, SymmetricState and the XX HandshakeState, on libsodium's
 * X25519, ChaCha20-Poly1305 (IETF) and HMAC-SHA-256. */
#include "net/noise_xx.h"

#include <sodium.h>
#include <string.h>

/* Exactly HASHLEN bytes long, so the initial h is the name itself
 * (section 5.2, InitializeSymmetric). */
static const char protocol_name[] = "Noise_XX_25519_ChaChaPoly_SHA256";

/* The message tokens of XX:  -> e;  <- e, ee, s, es;  -> s, se. */
enum { TOK_END, TOK_E, TOK_S, TOK_EE, TOK_ES, TOK_SE };
static const uint8_t xx_pattern[3][5] = {
    {TOK_E, TOK_END},
    {TOK_E, TOK_EE, TOK_S, TOK_ES, TOK_END},
    {TOK_S, TOK_SE, TOK_END},
};

/* ChaChaPoly's nonce: 32 zero bits, then n as little-endian 64 bits. */
static void make_nonce(uint64_t n, uint8_t nonce[12]) {
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) {
    nonce[4 + i] = (uint8_t)(n >> (8 * i));
  }
}

int lp2p_noise_cipher_encrypt(lp2p_noise_cipher *c, const uint8_t *ad,
                              size_t ad_len, const uint8_t *in, size_t len,
                              uint8_t *out) {
  uint8_t nonce[12];
  if (!c->has_key) {
    if (len) {
      memmove(out, in, len);
    }
    return 0;
  }
  if (c->n == UINT64_MAX) {
    return LP2P_ERR_STATE;
  }
  make_nonce(c->n, nonce);
  crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len, ad, ad_len,
                                            NULL, nonce, c->k);
  c->n++;
  return 0;
}

int lp2p_noise_cipher_decrypt(lp2p_noise_cipher *c, const uint8_t *ad,
                              size_t ad_len, const uint8_t *in, size_t len,
                              uint8_t *out) {
  uint8_t nonce[12];
  if (!c->has_key) {
    if (len) {
      memmove(out, in, len);
    }
    return 0;
  }
  if (len < LP2P_NOISE_AEAD_TAG) {
    return LP2P_ERR_MALFORMED;
  }
  if (c->n == UINT64_MAX) {
    return LP2P_ERR_STATE;
  }
  make_nonce(c->n, nonce);
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, ad,
                                                ad_len, nonce, c->k) != 0) {
    return LP2P_ERR_BAD_SIGNATURE;
  }
  c->n++;
  return 0;
}

/* h = SHA-256(h || data), written to `out` (which may be xx->h). */
static void hash_with(const lp2p_noise_xx *xx, const uint8_t *data, size_t len,
                      uint8_t out[LP2P_NOISE_HASH_LEN]) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, xx->h, LP2P_NOISE_HASH_LEN);
  if (len) {
    crypto_hash_sha256_update(&st, data, len);
  }
  crypto_hash_sha256_final(&st, out);
}

static void mix_hash(lp2p_noise_xx *xx, const uint8_t *data, size_t len) {
  hash_with(xx, data, len, xx->h);
}

/* HMAC-SHA-256 over a ‖ b; every HMAC key in Noise's HKDF is HASHLEN. */
static void hmac2(const uint8_t key[32], const uint8_t *a, size_t a_len,
                  const uint8_t *b, size_t b_len, uint8_t out[32]) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, 32);
  if (a_len) {
    crypto_auth_hmacsha256_update(&st, a, a_len);
  }
  if (b_len) {
    crypto_auth_hmacsha256_update(&st, b, b_len);
  }
  crypto_auth_hmacsha256_final(&st, out);
  sodium_memzero(&st, sizeof(st));
}

/* HKDF(chaining_key, ikm) with two outputs (section 4.3). `out1` may be
 * `ck`: the temporary key is taken before it is overwritten. */
static void hkdf2(const uint8_t ck[32], const uint8_t *ikm, size_t ikm_len,
                  uint8_t out1[32], uint8_t out2[32]) {
  static const uint8_t one = 1, two = 2;
  uint8_t temp[32];
  hmac2(ck, ikm, ikm_len, NULL, 0, temp);
  hmac2(temp, &one, 1, NULL, 0, out1);
  hmac2(temp, out1, 32, &two, 1, out2);
  sodium_memzero(temp, sizeof(temp));
}

static void mix_key(lp2p_noise_xx *xx, const uint8_t ikm[32]) {
  hkdf2(xx->ck, ikm, 32, xx->ck, xx->cs.k);
  xx->cs.n = 0;
  xx->cs.has_key = true;
}

static int encrypt_and_hash(lp2p_noise_xx *xx, const uint8_t *in, size_t len,
                            uint8_t *out) {
  int rv = lp2p_noise_cipher_encrypt(&xx->cs, xx->h, LP2P_NOISE_HASH_LEN, in,
                                     len, out);
  if (rv == 0) {
    mix_hash(xx, out, len + (xx->cs.has_key ? LP2P_NOISE_AEAD_TAG : 0));
  }
  return rv;
}

/* The hash absorbs the ciphertext, which in-place decryption destroys:
 * compute the next h first, adopt it once the tag checked out. */
static int decrypt_and_hash(lp2p_noise_xx *xx, const uint8_t *in, size_t len,
                            uint8_t *out) {
  uint8_t next_h[LP2P_NOISE_HASH_LEN];
  hash_with(xx, in, len, next_h);
  int rv = lp2p_noise_cipher_decrypt(&xx->cs, xx->h, LP2P_NOISE_HASH_LEN, in,
                                     len, out);
  if (rv == 0) {
    memcpy(xx->h, next_h, sizeof(next_h));
  }
  return rv;
}

/* ee, es, se: which of our keys meets which of theirs depends on the
 * role (section 5.3, WriteMessage). */
static int mix_dh(lp2p_noise_xx *xx, uint8_t token) {
  const uint8_t *ours = xx->e, *theirs = xx->re;
  uint8_t shared[LP2P_NOISE_DH_LEN];
  if (token == TOK_ES) {
    ours = xx->initiator ? xx->e : xx->s;
    theirs = xx->initiator ? xx->rs : xx->re;
  } else if (token == TOK_SE) {
    ours = xx->initiator ? xx->s : xx->e;
    theirs = xx->initiator ? xx->re : xx->rs;
  }
  /* libsodium refuses the all-zero result of a low-order point */
  if (crypto_scalarmult(shared, ours, theirs) != 0) {
    return LP2P_ERR_BAD_KEY;
  }
  mix_key(xx, shared);
  sodium_memzero(shared, sizeof(shared));
  return 0;
}

int lp2p_noise_xx_init(lp2p_noise_xx *xx, bool initiator,
                       const uint8_t *prologue, size_t prologue_len,
                       const uint8_t s[LP2P_NOISE_DH_LEN],
                       const uint8_t e[LP2P_NOISE_DH_LEN]) {
  memset(xx, 0, sizeof(*xx));
  xx->initiator = initiator;
  memcpy(xx->h, protocol_name, LP2P_NOISE_HASH_LEN);
  memcpy(xx->ck, xx->h, LP2P_NOISE_HASH_LEN);
  mix_hash(xx, prologue, prologue_len);
  memcpy(xx->s, s, LP2P_NOISE_DH_LEN);
  memcpy(xx->e, e, LP2P_NOISE_DH_LEN);
  if (crypto_scalarmult_base(xx->s_pub, xx->s) != 0 ||
      crypto_scalarmult_base(xx->e_pub, xx->e) != 0) {
    sodium_memzero(xx, sizeof(*xx));
    return LP2P_ERR_CRYPTO;
  }
  return 0;
}

bool lp2p_noise_xx_our_turn(const lp2p_noise_xx *xx) {
  /* the initiator writes messages 0 and 2, the responder message 1 */
  return xx->step < 3 && (xx->step % 2 == 0) == xx->initiator;
}

bool lp2p_noise_xx_done(const lp2p_noise_xx *xx) {
  return xx->step == 3;
}

size_t lp2p_noise_xx_overhead(const lp2p_noise_xx *xx) {
  bool keyed = xx->cs.has_key;
  size_t n = 0;
  if (xx->step >= 3) {
    return 0;
  }
  for (const uint8_t *t = xx_pattern[xx->step]; *t != TOK_END; t++) {
    if (*t == TOK_E) {
      n += LP2P_NOISE_DH_LEN;
    } else if (*t == TOK_S) {
      n += LP2P_NOISE_DH_LEN + (keyed ? LP2P_NOISE_AEAD_TAG : 0);
    } else {
      keyed = true;
    }
  }
  return n + (keyed ? LP2P_NOISE_AEAD_TAG : 0);
}

int lp2p_noise_xx_write(lp2p_noise_xx *xx, const uint8_t *payload,
                        size_t payload_len, uint8_t *out) {
  size_t off = 0;
  int rv = 0;
  if (!lp2p_noise_xx_our_turn(xx)) {
    return LP2P_ERR_STATE;
  }
  for (const uint8_t *t = xx_pattern[xx->step]; rv == 0 && *t != TOK_END; t++) {
    if (*t == TOK_E) {
      memcpy(out + off, xx->e_pub, LP2P_NOISE_DH_LEN);
      mix_hash(xx, xx->e_pub, LP2P_NOISE_DH_LEN);
      off += LP2P_NOISE_DH_LEN;
    } else if (*t == TOK_S) {
      rv = encrypt_and_hash(xx, xx->s_pub, LP2P_NOISE_DH_LEN, out + off);
      off += LP2P_NOISE_DH_LEN + (xx->cs.has_key ? LP2P_NOISE_AEAD_TAG : 0);
    } else {
      rv = mix_dh(xx, *t);
    }
  }
  if (rv == 0) {
    rv = encrypt_and_hash(xx, payload, payload_len, out + off);
  }
  if (rv == 0) {
    xx->step++;
  }
  return rv;
}

int lp2p_noise_xx_read(lp2p_noise_xx *xx, const uint8_t *msg, size_t len,
                       uint8_t *payload) {
  size_t off = 0;
  int rv = 0;
  if (xx->step >= 3 || lp2p_noise_xx_our_turn(xx)) {
    return LP2P_ERR_STATE;
  }
  if (len < lp2p_noise_xx_overhead(xx)) {
    return LP2P_ERR_MALFORMED;
  }
  for (const uint8_t *t = xx_pattern[xx->step]; rv == 0 && *t != TOK_END; t++) {
    if (*t == TOK_E) {
      memcpy(xx->re, msg + off, LP2P_NOISE_DH_LEN);
      mix_hash(xx, xx->re, LP2P_NOISE_DH_LEN);
      off += LP2P_NOISE_DH_LEN;
    } else if (*t == TOK_S) {
      size_t n = LP2P_NOISE_DH_LEN + (xx->cs.has_key ? LP2P_NOISE_AEAD_TAG : 0);
      rv = decrypt_and_hash(xx, msg + off, n, xx->rs);
      off += n;
    } else {
      rv = mix_dh(xx, *t);
    }
  }
  if (rv == 0) {
    rv = decrypt_and_hash(xx, msg + off, len - off, payload);
  }
  if (rv == 0) {
    xx->step++;
  }
  return rv;
}

void lp2p_noise_xx_split(lp2p_noise_xx *xx, lp2p_noise_cipher *tx,
                         lp2p_noise_cipher *rx,
                         uint8_t hash[LP2P_NOISE_HASH_LEN]) {
  lp2p_noise_cipher c1 = {{0}, 0, true}, c2 = {{0}, 0, true};
  hkdf2(xx->ck, NULL, 0, c1.k, c2.k);
  /* c1 carries initiator-to-responder traffic, c2 the other way */
  *tx = xx->initiator ? c1 : c2;
  *rx = xx->initiator ? c2 : c1;
  memcpy(hash, xx->h, LP2P_NOISE_HASH_LEN);
  sodium_memzero(&c1, sizeof(c1));
  sodium_memzero(&c2, sizeof(c2));
  sodium_memzero(xx, sizeof(*xx));
}
