/* libp2p TLS certificates (lp2p/tls.h): what the TLS channel and the tests
 * need beyond the public API. */
#ifndef LP2P_CRYPTO_TLS_CERT_H
#define LP2P_CRYPTO_TLS_CERT_H

#include <stdbool.h>

#include <gnutls/gnutls.h>

#include "lp2p/tls.h"

/* What the identity key signs: this prefix, then the SPKI DER. */
#define LP2P__TLS_SIGN_PREFIX "libp2p-tls-handshake:"

/* Writes the extension's value for the certificate key `spki` (its
 * SubjectPublicKeyInfo DER) into `ext`. Returns 0 or an LP2P_ERR_*. */
typedef int (*lp2p__tls_ext_fn)(const uint8_t *spki, size_t spki_len, void *ctx,
                                lp2p_buf *ext);

/* How to build a certificate: its validity and its extension. */
typedef struct lp2p__tls_cert_spec {
  int64_t not_before, not_after; /* seconds since the Unix epoch */
  lp2p__tls_ext_fn ext_fn;       /* NULL: no libp2p extension */
  void *ext_ctx;
  bool ext_critical;
} lp2p__tls_cert_spec;

/* Makes a self-signed certificate on a P-256 key drawn from rand_fn. */
int lp2p__tls_cert_build(lp2p_tls_cert **out, const lp2p__tls_cert_spec *spec,
                         lp2p_rand_fn rand_fn, void *rand_user);
/* SignedKey's DER from its two fields; appends to `out`. */
int lp2p__tls_signed_key_encode(const uint8_t *pubkey, size_t pubkey_len,
                                const uint8_t *sig, size_t sig_len,
                                lp2p_buf *out);
/* Reads SignedKey { publicKey, signature, netCookie OPTIONAL } (go-libp2p
 * added the third field; absent is NULL), all OCTET STRINGs, strict DER,
 * nothing after. Views into `in`. Returns 0, LP2P_ERR_TRUNCATED,
 * LP2P_ERR_MALFORMED, LP2P_ERR_OVERLONG or LP2P_ERR_TRAILING. */
int lp2p__tls_signed_key_decode(const uint8_t *in, size_t len,
                                lp2p_bytes *pubkey, lp2p_bytes *sig,
                                lp2p_bytes *cookie);
/* lp2p_tls_cert_verify on the chain GnuTLS received in `sess` (for a
 * verify callback: TCP's TLS and QUIC check peers alike). */
int lp2p__tls_cert_verify_session(gnutls_session_t sess, int64_t unix_time,
                                  const lp2p_peer_id *expected,
                                  lp2p_pubkey *key, lp2p_peer_id *id,
                                  lp2p_errdetail *why);
/* Puts the certificate and its key into GnuTLS credentials. */
int lp2p__tls_cert_use(const lp2p_tls_cert *cert,
                       gnutls_certificate_credentials_t cred);

#endif
