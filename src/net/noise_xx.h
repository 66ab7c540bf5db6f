/* The raw Noise layer (Noise Protocol Framework rev 34):
 * Noise_XX_25519_ChaChaPoly_SHA256 with caller-chosen keys, prologue and
 * payloads, so that the published test vectors can check it byte for byte.
 * It knows nothing of libp2p; src/net/noise.c puts the libp2p session on
 * top. */
#ifndef LP2P_NET_NOISE_XX_H
#define LP2P_NET_NOISE_XX_H

#include <stdbool.h>

#include "lp2p/common.h"

#define LP2P_NOISE_DH_LEN ((size_t)32)
#define LP2P_NOISE_HASH_LEN ((size_t)32)
#define LP2P_NOISE_KEY_LEN ((size_t)32)
#define LP2P_NOISE_AEAD_TAG ((size_t)16)

/* A CipherState: a ChaCha20-Poly1305 key and its 64-bit nonce counter. */
typedef struct lp2p_noise_cipher {
  uint8_t k[LP2P_NOISE_KEY_LEN];
  uint64_t n;
  bool has_key;
} lp2p_noise_cipher;

/* Encrypts `len` bytes of `in` into `out` (len + 16 bytes; `out` may be
 * `in`) with associated data `ad`. Without a key (handshake message 1)
 * the bytes are copied as they are. Returns 0 or LP2P_ERR_STATE when the
 * nonce is exhausted (2^64 - 1 is reserved). */
int lp2p_noise_cipher_encrypt(lp2p_noise_cipher *c, const uint8_t *ad,
                              size_t ad_len, const uint8_t *in, size_t len,
                              uint8_t *out);
/* Decrypts `len` bytes (tag included) into `out` (len - 16 bytes; `out`
 * may be `in`). Returns 0, LP2P_ERR_MALFORMED (shorter than the tag),
 * LP2P_ERR_BAD_SIGNATURE (authentication failed) or LP2P_ERR_STATE (the
 * nonce is exhausted). */
int lp2p_noise_cipher_decrypt(lp2p_noise_cipher *c, const uint8_t *ad,
                              size_t ad_len, const uint8_t *in, size_t len,
                              uint8_t *out);

/* A HandshakeState for the XX pattern (its SymmetricState inlined). */
typedef struct lp2p_noise_xx {
  lp2p_noise_cipher cs;
  uint8_t ck[LP2P_NOISE_HASH_LEN];
  uint8_t h[LP2P_NOISE_HASH_LEN];
  uint8_t s[LP2P_NOISE_DH_LEN], s_pub[LP2P_NOISE_DH_LEN];
  uint8_t e[LP2P_NOISE_DH_LEN], e_pub[LP2P_NOISE_DH_LEN];
  uint8_t rs[LP2P_NOISE_DH_LEN], re[LP2P_NOISE_DH_LEN];
  bool initiator;
  uint8_t step; /* handshake messages written or read so far, 0..3 */
} lp2p_noise_xx;

/* Initialize(): protocol name, prologue, our static and ephemeral private
 * keys (X25519 scalars, clamped by X25519 itself). Returns 0 or
 * LP2P_ERR_CRYPTO. */
int lp2p_noise_xx_init(lp2p_noise_xx *xx, bool initiator,
                       const uint8_t *prologue, size_t prologue_len,
                       const uint8_t s[LP2P_NOISE_DH_LEN],
                       const uint8_t e[LP2P_NOISE_DH_LEN]);
/* Whether the next message is ours to write. */
bool lp2p_noise_xx_our_turn(const lp2p_noise_xx *xx);
/* Bytes the next message adds around its payload (keys and tags). */
size_t lp2p_noise_xx_overhead(const lp2p_noise_xx *xx);
/* WriteMessage(): writes the next message, payload included, at `out`
 * (overhead + payload_len bytes). Returns 0, LP2P_ERR_STATE (not our turn,
 * or the handshake is over), LP2P_ERR_BAD_KEY (a DH gave the all-zero
 * output of a low-order key). */
int lp2p_noise_xx_write(lp2p_noise_xx *xx, const uint8_t *payload,
                        size_t payload_len, uint8_t *out);
/* ReadMessage(): reads the next message; its payload (len - overhead
 * bytes) goes to `payload`. Returns 0, LP2P_ERR_STATE, LP2P_ERR_MALFORMED
 * (shorter than the overhead), LP2P_ERR_BAD_SIGNATURE, LP2P_ERR_BAD_KEY. */
int lp2p_noise_xx_read(lp2p_noise_xx *xx, const uint8_t *msg, size_t len,
                       uint8_t *payload);
/* Whether all three messages have been processed. */
bool lp2p_noise_xx_done(const lp2p_noise_xx *xx);
/* Split(): the transport ciphers for our sending and receiving direction,
 * and the handshake hash; then wipes the handshake state. */
void lp2p_noise_xx_split(lp2p_noise_xx *xx, lp2p_noise_cipher *tx,
                         lp2p_noise_cipher *rx,
                         uint8_t hash[LP2P_NOISE_HASH_LEN]);

#endif
