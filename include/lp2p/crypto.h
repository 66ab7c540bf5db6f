/*
 * lp2p: identity keys and the peer ids derived from them.
 *
 * Ed25519 and secp256k1 keys generate, sign and verify; RSA and ECDSA public
 * keys verify (peers with such keys still publish in IPFS networks). Keys
 * travel in go-libp2p's PublicKey / PrivateKey protobuf format.
 */
#ifndef LP2P_CRYPTO_H
#define LP2P_CRYPTO_H

#include "lp2p/common.h"
#include "lp2p/multiformats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Key types, numbered as in libp2p's KeyType protobuf enum. */
typedef enum lp2p_key_type {
  LP2P_KEY_RSA = 0,
  LP2P_KEY_ED25519 = 1,
  LP2P_KEY_SECP256K1 = 2,
  LP2P_KEY_ECDSA = 3,
} lp2p_key_type;

/* RSA keys are between 2048 and 8192 bits, as go-libp2p requires. */
#define LP2P_RSA_MIN_BITS 2048
#define LP2P_RSA_MAX_BITS 8192
/* Largest key body: a PKIX DER 8192-bit RSA key is 1062 bytes. */
#define LP2P_PUBKEY_DATA_MAX 1100
/* Largest marshalled PublicKey protobuf. */
#define LP2P_PUBKEY_PB_MAX (LP2P_PUBKEY_DATA_MAX + 8)
/* Largest signature lp2p produces (a DER secp256k1 signature is at most 72
 * bytes) and largest it accepts (an 8192-bit RSA signature). */
#define LP2P_SIG_MAX 72
#define LP2P_SIG_VERIFY_MAX 1024

/* A public key in its libp2p encoding: 32 raw bytes for Ed25519, 33 bytes
 * compressed for secp256k1, PKIX DER for RSA and ECDSA. */
typedef struct lp2p_pubkey {
  lp2p_key_type type;
  size_t len;
  uint8_t data[LP2P_PUBKEY_DATA_MAX];
} lp2p_pubkey;

/* A private key that can sign: Ed25519 (libsodium's 64-byte seed ‖ public
 * key form) or secp256k1 (32-byte scalar). Wipe it with lp2p_privkey_wipe. */
typedef struct lp2p_privkey {
  lp2p_key_type type;
  uint8_t data[64];
} lp2p_privkey;

/* Generates a key pair from 32 random bytes taken from `rand`. Returns 0,
 * LP2P_ERR_UNSUPPORTED (RSA, ECDSA) or LP2P_ERR_CRYPTO. */
LP2P_API int lp2p_privkey_generate(lp2p_key_type type, lp2p_rand_fn rand_fn,
                                   void *rand_user, lp2p_privkey *key);
/* Derives the key from a 32-byte seed (Ed25519 seed, or the secp256k1
 * scalar itself). Returns 0, LP2P_ERR_UNSUPPORTED or LP2P_ERR_BAD_KEY (a
 * secp256k1 scalar of zero or not below the group order). */
LP2P_API int lp2p_privkey_from_seed(lp2p_key_type type, const uint8_t seed[32],
                                    lp2p_privkey *key);
/* Overwrites the secret with zeros. */
LP2P_API void lp2p_privkey_wipe(lp2p_privkey *key);
/* The public half of `key`. Returns 0, LP2P_ERR_UNSUPPORTED (a key type
 * that cannot sign) or LP2P_ERR_CRYPTO. */
LP2P_API int lp2p_privkey_public(const lp2p_privkey *key, lp2p_pubkey *pub);
/* Signs `msg`: Ed25519, or ECDSA over SHA-256 with a DER signature for
 * secp256k1. `sig` has room for LP2P_SIG_MAX bytes. Returns 0 or
 * LP2P_ERR_CRYPTO. */
LP2P_API int lp2p_privkey_sign(const lp2p_privkey *key, const uint8_t *msg,
                               size_t len, uint8_t *sig, size_t *sig_len);
/* PrivateKey{Type, Data} as go-libp2p's MarshalPrivateKey writes it.
 * Appends to `out`. Returns 0 or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_privkey_marshal(const lp2p_privkey *key, lp2p_buf *out);
/* Reads a PrivateKey protobuf. Ed25519 takes 64 bytes, or the old 96-byte
 * form whose two public keys must agree; the public half must match the
 * seed. Returns 0, a protobuf error (LP2P_ERR_TRUNCATED, LP2P_ERR_OVERLONG,
 * LP2P_ERR_MALFORMED, LP2P_ERR_WRONG_TYPE), LP2P_ERR_UNSUPPORTED (RSA and
 * ECDSA private keys, unknown types) or LP2P_ERR_BAD_KEY. */
LP2P_API int lp2p_privkey_unmarshal(const uint8_t *in, size_t len,
                                    lp2p_privkey *key);

/* Checks that `data` is a valid key of `type` and fills `pub` with its
 * canonical encoding (secp256k1 keys are compressed). Returns 0,
 * LP2P_ERR_BAD_KEY, LP2P_ERR_TOO_LARGE or LP2P_ERR_UNSUPPORTED. */
LP2P_API int lp2p_pubkey_from_raw(lp2p_key_type type, const uint8_t *data,
                                  size_t len, lp2p_pubkey *pub);
/* Verifies a signature made by the key (see lp2p_privkey_sign; RSA is
 * PKCS#1 v1.5 over SHA-256, ECDSA is DER over SHA-256). Returns 0 or
 * LP2P_ERR_BAD_SIGNATURE (also for a key the crypto library refuses). */
LP2P_API int lp2p_pubkey_verify(const lp2p_pubkey *pub, const uint8_t *msg,
                                size_t len, const uint8_t *sig, size_t sig_len);
/* PublicKey{Type, Data}. Writes at most LP2P_PUBKEY_PB_MAX bytes; returns
 * the length or LP2P_ERR_BUFFER_TOO_SMALL. */
LP2P_API int lp2p_pubkey_marshal(const lp2p_pubkey *pub, uint8_t *out,
                                 size_t cap);
/* Reads a PublicKey protobuf and validates the key as _from_raw does. */
LP2P_API int lp2p_pubkey_unmarshal(const uint8_t *in, size_t len,
                                   lp2p_pubkey *pub);
/* Whether two keys are the same key (type and encoding). */
LP2P_API bool lp2p_pubkey_equal(const lp2p_pubkey *a, const lp2p_pubkey *b);

/* The peer id of a key: identity multihash of the marshalled key when it
 * is at most 42 bytes, otherwise its sha2-256 multihash. */
LP2P_API int lp2p_peer_id_from_pubkey(const lp2p_pubkey *pub, lp2p_peer_id *id);
/* Recovers the public key from an identity peer id. Returns 0,
 * LP2P_ERR_NOT_FOUND (a sha2-256 id does not carry its key),
 * LP2P_ERR_MALFORMED (the key is not in its canonical encoding, so this is
 * not the id of that key) or an unmarshal error. */
LP2P_API int lp2p_peer_id_pubkey(const lp2p_peer_id *id, lp2p_pubkey *pub);
/* 0 when `pub` is the key of `id`, else LP2P_ERR_PEER_ID_MISMATCH. */
LP2P_API int lp2p_peer_id_check_pubkey(const lp2p_peer_id *id,
                                       const lp2p_pubkey *pub);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_CRYPTO_H */
