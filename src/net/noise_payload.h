/* The libp2p Noise handshake payload (noise/README.md):
 * NoiseHandshakePayload{identity_key = 1, identity_sig = 2,
 * extensions = 4} with NoiseExtensions{webtransport_certhashes = 1,
 * stream_muxers = 2}. identity_sig signs "noise-libp2p-static-key:" ‖ the
 * sender's static X25519 public key with its identity key. */
#ifndef LP2P_NET_NOISE_PAYLOAD_H
#define LP2P_NET_NOISE_PAYLOAD_H

#include "lp2p/noise.h"

#define LP2P_NOISE_SIG_PREFIX "noise-libp2p-static-key:"

/* A decoded payload: views into the decoded bytes. */
typedef struct lp2p_noise_payload {
  lp2p_bytes identity_key; /* a PublicKey protobuf */
  lp2p_bytes identity_sig;
  bool has_extensions;
  size_t nmuxers; /* names of 1..LP2P_NOISE_MUXER_NAME_MAX bytes, no NUL */
  lp2p_bytes muxers[LP2P_NOISE_MAX_MUXERS];
  size_t muxers_skipped;
  size_t ncerthashes; /* counted only: a TCP connection has no use for them */
} lp2p_noise_payload;

/* Signs `static_pub` with `identity` and appends the payload, with
 * NoiseExtensions listing `muxers` when there are any. Returns 0,
 * LP2P_ERR_NOMEM, or a key or signing error (LP2P_ERR_UNSUPPORTED,
 * LP2P_ERR_CRYPTO). `out` is unchanged on failure. */
int lp2p_noise_payload_encode(const lp2p_privkey *identity,
                              const uint8_t static_pub[32],
                              const char *const *muxers, size_t nmuxers,
                              lp2p_buf *out);
/* Decodes a payload. Returns 0, LP2P_ERR_MALFORMED (identity key or
 * signature missing), LP2P_ERR_WRONG_TYPE, or a protobuf error
 * (LP2P_ERR_TRUNCATED, LP2P_ERR_OVERLONG, LP2P_ERR_MALFORMED). */
int lp2p_noise_payload_decode(const uint8_t *in, size_t len,
                              lp2p_noise_payload *p);
/* Reads the identity key into `pub` and checks its signature over
 * `static_pub`. Returns 0, an lp2p_pubkey_unmarshal error or
 * LP2P_ERR_BAD_SIGNATURE. */
int lp2p_noise_payload_verify(const lp2p_noise_payload *p,
                              const uint8_t static_pub[32], lp2p_pubkey *pub);

#endif
