/*
 * lp2p: libp2p TLS (libp2p/specs tls/tls.md) certificates.
 *
 * A libp2p TLS peer shows one self-signed X.509 certificate on a fresh
 * ECDSA P-256 key. The certificate carries the extension
 * 1.3.6.1.4.1.53594.1.1 whose value is the DER of
 *   SignedKey ::= SEQUENCE { publicKey OCTET STRING, signature OCTET STRING }
 * where publicKey is the identity key's PublicKey protobuf and signature is
 * the identity key's signature over "libp2p-tls-handshake:" followed by the
 * certificate's SubjectPublicKeyInfo DER. (The spec's ASN.1 says BIT
 * STRING; go-libp2p and rust-libp2p write OCTET STRINGs, and so does lp2p.)
 *
 * The session (lp2p/session.h) uses these for the security protocol
 * LP2P_TLS_PROTOCOL_ID; they are public for embedders that run TLS
 * themselves (QUIC). Nothing here reads a clock or a random source: the
 * time is the caller's (seconds since the Unix epoch) and randomness comes
 * from its rand_fn.
 */
#ifndef LP2P_TLS_H
#define LP2P_TLS_H

#include <stdint.h>

#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/multiformats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The security protocol id libp2p TLS is negotiated with over TCP. */
#define LP2P_TLS_PROTOCOL_ID "/tls/1.0.0"
/* The ALPN protocol of a libp2p TLS handshake that agrees no muxer. */
#define LP2P_TLS_ALPN "libp2p"
/* The libp2p public key extension's OID. */
#define LP2P_TLS_EXTENSION_OID "1.3.6.1.4.1.53594.1.1"
/* Certificates we make are valid from an hour before `unix_time` (clocks
 * disagree) to about 100 years after it, as go-libp2p's. */
#define LP2P_TLS_CERT_BACKDATE 3600
#define LP2P_TLS_CERT_LIFETIME ((int64_t)100 * 365 * 24 * 3600)
/* Largest certificate accepted (an 8192-bit RSA identity key and its
 * signature fit in 3 KiB). */
#define LP2P_TLS_CERT_MAX 16384

/* A certificate and its private key. */
typedef struct lp2p_tls_cert lp2p_tls_cert;

/* Makes the certificate of `identity` (Ed25519 or secp256k1) on a P-256 key
 * drawn from `rand_fn` (a CSPRNG), valid around `unix_time` as above.
 * Returns 0, LP2P_ERR_INVALID_ARG (no rand_fn), LP2P_ERR_UNSUPPORTED (an
 * identity that cannot sign), LP2P_ERR_NOMEM or LP2P_ERR_CRYPTO. */
LP2P_API int lp2p_tls_cert_new(lp2p_tls_cert **out,
                               const lp2p_privkey *identity, int64_t unix_time,
                               lp2p_rand_fn rand_fn, void *rand_user);
/* Frees the certificate and wipes its key. NULL is a no-op. */
LP2P_API void lp2p_tls_cert_del(lp2p_tls_cert *cert);
/* The certificate's DER, valid as long as `cert`. */
LP2P_API lp2p_bytes lp2p_tls_cert_der(const lp2p_tls_cert *cert);

/* Verifies a peer's certificate chain (`n` DER certificates) at
 * `unix_time`: exactly one certificate, validly self-signed, within its
 * validity, carrying the extension (critical or not; another critical
 * extension lp2p does not know is refused, as go refuses it), whose
 * signature verifies with the identity key in it (any key type of
 * lp2p/crypto.h). On success fills `key` and `id` (either may be NULL);
 * when `expected` is not NULL the id must equal it. `why` (may be NULL)
 * receives an explanation on failure. Returns 0 or:
 *   LP2P_ERR_MALFORMED         not exactly one certificate, a DER error, a
 *                              SignedKey that does not decode;
 *   LP2P_ERR_TOO_LARGE         a certificate over LP2P_TLS_CERT_MAX bytes;
 *   LP2P_ERR_TIMEOUT           expired or not yet valid;
 *   LP2P_ERR_NOT_FOUND         no libp2p extension;
 *   LP2P_ERR_UNSUPPORTED       an unknown critical extension, or a
 *                              network cookie (another network's peer);
 *   LP2P_ERR_BAD_SIGNATURE     the self-signature or the extension's
 *                              signature does not verify;
 *   LP2P_ERR_BAD_KEY, or a PublicKey decoding error: the identity key;
 *   LP2P_ERR_PEER_ID_MISMATCH  not the `expected` peer;
 *   LP2P_ERR_NOMEM. */
LP2P_API int lp2p_tls_cert_verify(const lp2p_bytes *certs, size_t n,
                                  int64_t unix_time,
                                  const lp2p_peer_id *expected,
                                  lp2p_pubkey *key, lp2p_peer_id *id,
                                  lp2p_errdetail *why);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_TLS_H */
