/* Per-algorithm key operations behind the dispatch in keys.c. */
#ifndef LP2P_CRYPTO_KEYS_H
#define LP2P_CRYPTO_KEYS_H

#include "lp2p/crypto.h"

int lp2p_ed25519_from_seed(const uint8_t seed[32], lp2p_privkey *key);
void lp2p_ed25519_public(const lp2p_privkey *key, lp2p_pubkey *pub);
int lp2p_ed25519_sign(const lp2p_privkey *key, const uint8_t *msg, size_t len,
                      uint8_t *sig, size_t *sig_len);
int lp2p_ed25519_verify(const lp2p_pubkey *pub, const uint8_t *msg, size_t len,
                        const uint8_t *sig, size_t sig_len);
int lp2p_ed25519_check_private(const uint8_t *data, size_t len,
                               lp2p_privkey *key);

int lp2p_secp256k1_from_seed(const uint8_t seed[32], lp2p_privkey *key);
int lp2p_secp256k1_public(const lp2p_privkey *key, lp2p_pubkey *pub);
int lp2p_secp256k1_sign(const lp2p_privkey *key, const uint8_t *msg, size_t len,
                        uint8_t *sig, size_t *sig_len);
int lp2p_secp256k1_verify(const lp2p_pubkey *pub, const uint8_t *msg,
                          size_t len, const uint8_t *sig, size_t sig_len);
/* Parses a 33- or 65-byte point into its 33-byte compressed form. */
int lp2p_secp256k1_canonical(const uint8_t *data, size_t len, lp2p_pubkey *pub);

/* RSA and ECDSA keys are PKIX DER checked and verified with libcrypto. */
int lp2p_pkix_check(lp2p_key_type type, const uint8_t *der, size_t len);
int lp2p_pkix_verify(const lp2p_pubkey *pub, const uint8_t *msg, size_t len,
                     const uint8_t *sig, size_t sig_len);

#endif
