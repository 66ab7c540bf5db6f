/* Ed25519 keys on libsodium. */
#include <sodium.h>
#include <string.h>

#include "crypto/keys.h"

int lp2p_ed25519_from_seed(const uint8_t seed[32], lp2p_privkey *key) {
  uint8_t pk[crypto_sign_PUBLICKEYBYTES];
  if (sodium_init() < 0 || crypto_sign_seed_keypair(pk, key->data, seed)) {
    return LP2P_ERR_CRYPTO;
  }
  key->type = LP2P_KEY_ED25519;
  return 0;
}

void lp2p_ed25519_public(const lp2p_privkey *key, lp2p_pubkey *pub) {
  pub->type = LP2P_KEY_ED25519;
  pub->len = crypto_sign_PUBLICKEYBYTES;
  /* libsodium's secret key is seed ‖ public key */
  memcpy(pub->data, key->data + crypto_sign_SEEDBYTES,
         crypto_sign_PUBLICKEYBYTES);
}

int lp2p_ed25519_sign(const lp2p_privkey *key, const uint8_t *msg, size_t len,
                      uint8_t *sig, size_t *sig_len) {
  unsigned long long n;
  if (crypto_sign_detached(sig, &n, msg, len, key->data) != 0) {
    return LP2P_ERR_CRYPTO;
  }
  *sig_len = (size_t)n;
  return 0;
}

int lp2p_ed25519_verify(const lp2p_pubkey *pub, const uint8_t *msg, size_t len,
                        const uint8_t *sig, size_t sig_len) {
  if (sig_len != crypto_sign_BYTES ||
      crypto_sign_verify_detached(sig, msg, len, pub->data) != 0) {
    return LP2P_ERR_BAD_SIGNATURE;
  }
  return 0;
}

/* Accepts seed ‖ public key (64 bytes) or the old seed ‖ public ‖ public
 * (96 bytes); the public key must be the one the seed gives, otherwise
 * every signature made with it would be invalid. */
int lp2p_ed25519_check_private(const uint8_t *data, size_t len,
                               lp2p_privkey *key) {
  enum { SEED = crypto_sign_SEEDBYTES, PK = crypto_sign_PUBLICKEYBYTES };
  if (len != SEED + PK && len != SEED + 2 * PK) {
    return LP2P_ERR_BAD_KEY;
  }
  if (len == SEED + 2 * PK &&
      sodium_memcmp(data + SEED, data + SEED + PK, PK) != 0) {
    return LP2P_ERR_BAD_KEY;
  }
  lp2p_privkey k;
  int rv = lp2p_ed25519_from_seed(data, &k);
  if (rv == 0 && sodium_memcmp(k.data + SEED, data + SEED, PK) != 0) {
    rv = LP2P_ERR_BAD_KEY;
  }
  if (rv == 0) {
    *key = k;
  }
  sodium_memzero(&k, sizeof(k));
  return rv;
}
