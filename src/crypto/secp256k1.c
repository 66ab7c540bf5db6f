/* secp256k1 keys on libsecp256k1: ECDSA over SHA-256 with DER signatures,
 * compressed public keys, as go-libp2p and js-libp2p use them. */
#include <secp256k1.h>
#include <secp256k1_preallocated.h>
#include <sodium.h>
#include <string.h>

#include "crypto/keys.h"

#define COMPRESSED_LEN 33

/* Signing needs a context of its own (the static one only verifies); a
 * preallocated one on the stack keeps this free of globals and of hidden
 * allocations. */
typedef struct sign_ctx {
  _Alignas(16) uint8_t mem[1024];
  secp256k1_context *ctx;
} sign_ctx;

static int sign_ctx_init(sign_ctx *s) {
  size_t need = secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE);
  if (need > sizeof(s->mem)) {
    return LP2P_ERR_CRYPTO;
  }
  s->ctx =
      secp256k1_context_preallocated_create(s->mem, SECP256K1_CONTEXT_NONE);
  return s->ctx ? 0 : LP2P_ERR_CRYPTO;
}

static void sign_ctx_done(sign_ctx *s) {
  secp256k1_context_preallocated_destroy(s->ctx);
  sodium_memzero(s->mem, sizeof(s->mem));
}

int lp2p_secp256k1_from_seed(const uint8_t seed[32], lp2p_privkey *key) {
  if (!secp256k1_ec_seckey_verify(secp256k1_context_static, seed)) {
    return LP2P_ERR_BAD_KEY;
  }
  memset(key, 0, sizeof(*key));
  key->type = LP2P_KEY_SECP256K1;
  memcpy(key->data, seed, 32);
  return 0;
}

int lp2p_secp256k1_public(const lp2p_privkey *key, lp2p_pubkey *pub) {
  sign_ctx s;
  secp256k1_pubkey pk;
  size_t len = COMPRESSED_LEN;
  int rv = sign_ctx_init(&s);
  if (rv != 0) {
    return rv;
  }
  if (!secp256k1_ec_pubkey_create(s.ctx, &pk, key->data) ||
      !secp256k1_ec_pubkey_serialize(s.ctx, pub->data, &len, &pk,
                                     SECP256K1_EC_COMPRESSED)) {
    rv = LP2P_ERR_CRYPTO;
  }
  sign_ctx_done(&s);
  pub->type = LP2P_KEY_SECP256K1;
  pub->len = len;
  return rv;
}

int lp2p_secp256k1_sign(const lp2p_privkey *key, const uint8_t *msg, size_t len,
                        uint8_t *sig, size_t *sig_len) {
  sign_ctx s;
  secp256k1_ecdsa_signature es;
  uint8_t hash[crypto_hash_sha256_BYTES];
  size_t out = LP2P_SIG_MAX;
  int rv = sign_ctx_init(&s);
  if (rv != 0) {
    return rv;
  }
  crypto_hash_sha256(hash, msg, len);
  /* RFC 6979 nonces: deterministic, no randomness needed */
  if (!secp256k1_ecdsa_sign(s.ctx, &es, hash, key->data, NULL, NULL) ||
      !secp256k1_ecdsa_signature_serialize_der(s.ctx, sig, &out, &es)) {
    rv = LP2P_ERR_CRYPTO;
  }
  sign_ctx_done(&s);
  *sig_len = out;
  return rv;
}

int lp2p_secp256k1_verify(const lp2p_pubkey *pub, const uint8_t *msg,
                          size_t len, const uint8_t *sig, size_t sig_len) {
  const secp256k1_context *ctx = secp256k1_context_static;
  secp256k1_pubkey pk;
  secp256k1_ecdsa_signature es;
  uint8_t hash[crypto_hash_sha256_BYTES];
  /* libsecp256k1 aborts on a NULL input rather than failing */
  if (!sig || sig_len == 0 ||
      !secp256k1_ec_pubkey_parse(ctx, &pk, pub->data, pub->len) ||
      !secp256k1_ecdsa_signature_parse_der(ctx, &es, sig, sig_len)) {
    return LP2P_ERR_BAD_SIGNATURE;
  }
  /* go's btcec accepts high-S signatures; libsecp256k1 only verifies
   * low-S ones, so normalise first */
  secp256k1_ecdsa_signature_normalize(ctx, &es, &es);
  crypto_hash_sha256(hash, msg, len);
  if (!secp256k1_ecdsa_verify(ctx, &es, hash, &pk)) {
    return LP2P_ERR_BAD_SIGNATURE;
  }
  return 0;
}

int lp2p_secp256k1_canonical(const uint8_t *data, size_t len,
                             lp2p_pubkey *pub) {
  const secp256k1_context *ctx = secp256k1_context_static;
  secp256k1_pubkey pk;
  size_t out = COMPRESSED_LEN;
  if ((len != COMPRESSED_LEN && len != 65) ||
      !secp256k1_ec_pubkey_parse(ctx, &pk, data, len)) {
    return LP2P_ERR_BAD_KEY;
  }
  secp256k1_ec_pubkey_serialize(ctx, pub->data, &out, &pk,
                                SECP256K1_EC_COMPRESSED);
  pub->type = LP2P_KEY_SECP256K1;
  pub->len = out;
  return 0;
}
