/* libp2p TLS certificates (lp2p/tls.h): GnuTLS parses, builds and signs
 * the X.509; the extension's small DER is ours, with every length
 * checked. */
#include "crypto/tls_cert.h"

#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "crypto/tlslib.h"

#define P256_BYTES 32
#define DER_SEQUENCE 0x30
#define DER_OCTET_STRING 0x04

struct lp2p_tls_cert {
  gnutls_x509_crt_t crt;
  gnutls_x509_privkey_t key;
  gnutls_datum_t der;
};

/* ---- the extension's DER ------------------------------------------------ */

static int der_put_header(lp2p_buf *out, uint8_t tag, size_t len) {
  uint8_t h[4] = {tag};
  size_t n = 2;
  if (len < 0x80) {
    h[1] = (uint8_t)len;
  } else if (len <= 0xff) {
    h[1] = 0x81;
    h[2] = (uint8_t)len;
    n = 3;
  } else if (len <= 0xffff) {
    h[1] = 0x82;
    h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)len;
    n = 4;
  } else {
    return LP2P_ERR_TOO_LARGE;
  }
  return lp2p_buf_append(out, h, n);
}

static size_t der_header_len(size_t len) {
  return len < 0x80 ? 2 : len <= 0xff ? 3 : 4;
}

int lp2p__tls_signed_key_encode(const uint8_t *pubkey, size_t pubkey_len,
                                const uint8_t *sig, size_t sig_len,
                                lp2p_buf *out) {
  if (pubkey_len > 0xffff || sig_len > 0xffff) {
    return LP2P_ERR_TOO_LARGE;
  }
  size_t body = der_header_len(pubkey_len) + pubkey_len +
                der_header_len(sig_len) + sig_len;
  int rv = der_put_header(out, DER_SEQUENCE, body);
  if (rv == 0) {
    rv = der_put_header(out, DER_OCTET_STRING, pubkey_len);
  }
  if (rv == 0) {
    rv = lp2p_buf_append(out, pubkey, pubkey_len);
  }
  if (rv == 0) {
    rv = der_put_header(out, DER_OCTET_STRING, sig_len);
  }
  if (rv == 0) {
    rv = lp2p_buf_append(out, sig, sig_len);
  }
  return rv;
}

/* Reads one element tagged `tag` at *p (before `end`), in strict DER: a
 * definite length in the fewest bytes, at most 3 of them. */
static int der_read(const uint8_t **p, const uint8_t *end, uint8_t tag,
                    lp2p_bytes *val) {
  const uint8_t *q = *p;
  if (end - q < 2) {
    return LP2P_ERR_TRUNCATED;
  }
  if (q[0] != tag) {
    return LP2P_ERR_MALFORMED;
  }
  size_t len = q[1];
  q += 2;
  if (len & 0x80) {
    size_t nbytes = len & 0x7f;
    if (nbytes == 0 || nbytes > 3) {
      return LP2P_ERR_MALFORMED; /* indefinite, or over 16 MiB */
    }
    if ((size_t)(end - q) < nbytes) {
      return LP2P_ERR_TRUNCATED;
    }
    if (q[0] == 0) {
      return LP2P_ERR_OVERLONG;
    }
    len = 0;
    for (size_t i = 0; i < nbytes; i++) {
      len = len << 8 | q[i];
    }
    q += nbytes;
    if (len < 0x80) {
      return LP2P_ERR_OVERLONG;
    }
  }
  if ((size_t)(end - q) < len) {
    return LP2P_ERR_TRUNCATED;
  }
  val->data = q;
  val->len = len;
  *p = q + len;
  return 0;
}

int lp2p__tls_signed_key_decode(const uint8_t *in, size_t len,
                                lp2p_bytes *pubkey, lp2p_bytes *sig,
                                lp2p_bytes *cookie) {
  const uint8_t *p = in, *end = in + len;
  lp2p_bytes seq;
  int rv = der_read(&p, end, DER_SEQUENCE, &seq);
  if (rv != 0) {
    return rv;
  }
  if (p != end) {
    return LP2P_ERR_TRAILING;
  }
  p = seq.data;
  end = seq.data + seq.len;
  rv = der_read(&p, end, DER_OCTET_STRING, pubkey);
  if (rv == 0) {
    rv = der_read(&p, end, DER_OCTET_STRING, sig);
  }
  if (rv != 0) {
    return rv;
  }
  cookie->data = NULL;
  cookie->len = 0;
  if (p != end) {
    rv = der_read(&p, end, DER_OCTET_STRING, cookie);
  }
  if (rv == 0 && p != end) {
    rv = LP2P_ERR_TRAILING;
  }
  return rv;
}

/* ---- building ----------------------------------------------------------- */

typedef struct rand_src {
  lp2p_rand_fn fn;
  void *user;
} rand_src;

static void nettle_rand(void *ctx, size_t len, uint8_t *dst) {
  rand_src *r = ctx;
  r->fn(dst, len, r->user);
}

/* A P-256 key from the caller's randomness: nettle draws it (GnuTLS
 * takes no random source), GnuTLS imports it raw. */
static int p256_key(gnutls_x509_privkey_t key, rand_src *r) {
  const struct ecc_curve *curve = nettle_get_secp_256r1();
  struct ecc_point pub;
  struct ecc_scalar priv;
  ecc_point_init(&pub, curve);
  ecc_scalar_init(&priv, curve);
  ecdsa_generate_keypair(&pub, &priv, r, nettle_rand);
  mpz_t x, y, k;
  mpz_inits(x, y, k, NULL);
  ecc_point_get(&pub, x, y);
  ecc_scalar_get(&priv, k);
  uint8_t bx[P256_BYTES], by[P256_BYTES], bk[P256_BYTES];
  nettle_mpz_get_str_256(P256_BYTES, bx, x);
  nettle_mpz_get_str_256(P256_BYTES, by, y);
  nettle_mpz_get_str_256(P256_BYTES, bk, k);
  gnutls_datum_t dx = {bx, P256_BYTES}, dy = {by, P256_BYTES},
                 dk = {bk, P256_BYTES};
  int rv = gnutls_x509_privkey_import_ecc_raw(key, GNUTLS_ECC_CURVE_SECP256R1,
                                              &dx, &dy, &dk);
  gnutls_memset(bk, 0, sizeof(bk));
  mpz_clears(x, y, k, NULL);
  ecc_scalar_clear(&priv);
  ecc_point_clear(&pub);
  return rv < 0 ? LP2P_ERR_CRYPTO : 0;
}

/* The SubjectPublicKeyInfo DER of the certificate's key. */
static int key_spki(gnutls_x509_privkey_t key, gnutls_datum_t *spki) {
  gnutls_privkey_t priv = NULL;
  gnutls_pubkey_t pub = NULL;
  int rv = gnutls_privkey_init(&priv);
  if (rv >= 0) {
    rv = gnutls_privkey_import_x509(priv, key, 0);
  }
  if (rv >= 0) {
    rv = gnutls_pubkey_init(&pub);
  }
  if (rv >= 0) {
    rv = gnutls_pubkey_import_privkey(pub, priv, 0, 0);
  }
  if (rv >= 0) {
    rv = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, spki);
  }
  gnutls_pubkey_deinit(pub);
  gnutls_privkey_deinit(priv);
  return rv < 0 ? LP2P_ERR_CRYPTO : 0;
}

/* Serial number and subject: random, as go's (RFC 3280 wants an issuer
 * name, and the issuer is the subject). */
static int set_names(gnutls_x509_crt_t crt, rand_src *r) {
  uint8_t serial[8];
  r->fn(serial, sizeof(serial), r->user);
  serial[0] = (uint8_t)((serial[0] & 0x3f) | 0x01); /* positive, non-zero */
  uint8_t sub[8];
  r->fn(sub, sizeof(sub), r->user);
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(sub); i++) {
    v = v << 8 | sub[i];
  }
  char name[24];
  int n = snprintf(name, sizeof(name), "%llu",
                   (unsigned long long)(v >> 2)); /* below 2^62 as go */
  int rv = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
  if (rv >= 0) {
    rv = gnutls_x509_crt_set_dn_by_oid(crt, "2.5.4.5", 0, name, (unsigned)n);
  }
  return rv < 0 ? LP2P_ERR_CRYPTO : 0;
}

static int add_extension(lp2p_tls_cert *c, const lp2p__tls_cert_spec *spec) {
  gnutls_datum_t spki = {NULL, 0};
  int rv = key_spki(c->key, &spki);
  if (rv != 0) {
    return rv;
  }
  lp2p_buf ext;
  lp2p_buf_init(&ext, NULL);
  rv = spec->ext_fn(spki.data, spki.size, spec->ext_ctx, &ext);
  gnutls_free(spki.data);
  if (rv == 0 && gnutls_x509_crt_set_extension_by_oid(
                     c->crt, LP2P_TLS_EXTENSION_OID, ext.data, ext.len,
                     spec->ext_critical ? 1 : 0) < 0) {
    rv = LP2P_ERR_CRYPTO;
  }
  lp2p_buf_free(&ext);
  return rv;
}

static int self_sign(lp2p_tls_cert *c) {
  gnutls_privkey_t priv = NULL;
  int rv = gnutls_privkey_init(&priv);
  if (rv >= 0) {
    rv = gnutls_privkey_import_x509(priv, c->key, 0);
  }
  if (rv >= 0) {
    /* the signature's nonce is GnuTLS's own (its sign path takes no
     * random source); the key, serial and names are the caller's */
    rv = gnutls_x509_crt_privkey_sign(c->crt, c->crt, priv, GNUTLS_DIG_SHA256,
                                      0);
  }
  if (rv >= 0) {
    rv = gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER, &c->der);
  }
  gnutls_privkey_deinit(priv);
  return rv < 0 ? LP2P_ERR_CRYPTO : 0;
}

static int fill_cert(lp2p_tls_cert *c, const lp2p__tls_cert_spec *spec,
                     rand_src *r) {
  if (gnutls_x509_privkey_init(&c->key) < 0 ||
      gnutls_x509_crt_init(&c->crt) < 0) {
    return LP2P_ERR_NOMEM;
  }
  int rv = p256_key(c->key, r);
  if (rv == 0) {
    rv = set_names(c->crt, r);
  }
  if (rv == 0 && (gnutls_x509_crt_set_version(c->crt, 3) < 0 ||
                  gnutls_x509_crt_set_key(c->crt, c->key) < 0 ||
                  gnutls_x509_crt_set_activation_time(
                      c->crt, (time_t)spec->not_before) < 0 ||
                  gnutls_x509_crt_set_expiration_time(
                      c->crt, (time_t)spec->not_after) < 0)) {
    rv = LP2P_ERR_CRYPTO;
  }
  if (rv == 0 && spec->ext_fn) {
    rv = add_extension(c, spec);
  }
  return rv == 0 ? self_sign(c) : rv;
}

int lp2p__tls_cert_build(lp2p_tls_cert **out, const lp2p__tls_cert_spec *spec,
                         lp2p_rand_fn rand_fn, void *rand_user) {
  *out = NULL;
  if (!rand_fn) {
    return LP2P_ERR_INVALID_ARG;
  }
  int rv = lp2p__tlslib_load();
  if (rv != 0) {
    return rv;
  }
  lp2p_tls_cert *c = lp2p_calloc(NULL, 1, sizeof(*c));
  if (!c) {
    return LP2P_ERR_NOMEM;
  }
  rand_src r = {rand_fn, rand_user};
  rv = fill_cert(c, spec, &r);
  if (rv != 0) {
    lp2p_tls_cert_del(c);
    return rv;
  }
  *out = c;
  return 0;
}

/* The extension of an identity that can sign. */
static int sign_identity(const uint8_t *spki, size_t spki_len, void *ctx,
                         lp2p_buf *ext) {
  const lp2p_privkey *identity = ctx;
  lp2p_pubkey pub;
  int rv = lp2p_privkey_public(identity, &pub);
  if (rv != 0) {
    return rv;
  }
  uint8_t pb[LP2P_PUBKEY_PB_MAX];
  int pb_len = lp2p_pubkey_marshal(&pub, pb, sizeof(pb));
  if (pb_len < 0) {
    return pb_len;
  }
  lp2p_buf msg;
  lp2p_buf_init(&msg, NULL);
  rv = lp2p_buf_append_str(&msg, LP2P__TLS_SIGN_PREFIX);
  if (rv == 0) {
    rv = lp2p_buf_append(&msg, spki, spki_len);
  }
  uint8_t sig[LP2P_SIG_MAX];
  size_t sig_len = 0;
  if (rv == 0) {
    rv = lp2p_privkey_sign(identity, msg.data, msg.len, sig, &sig_len);
  }
  lp2p_buf_free(&msg);
  return rv == 0 ? lp2p__tls_signed_key_encode(pb, (size_t)pb_len, sig, sig_len,
                                               ext)
                 : rv;
}

int lp2p_tls_cert_new(lp2p_tls_cert **out, const lp2p_privkey *identity,
                      int64_t unix_time, lp2p_rand_fn rand_fn,
                      void *rand_user) {
  *out = NULL;
  lp2p_pubkey pub;
  int rv = lp2p_privkey_public(identity, &pub); /* UNSUPPORTED if it can't */
  if (rv != 0) {
    return rv;
  }
  lp2p__tls_cert_spec spec = {
      .not_before = unix_time - LP2P_TLS_CERT_BACKDATE,
      .not_after = unix_time + LP2P_TLS_CERT_LIFETIME,
      .ext_fn = sign_identity,
      .ext_ctx = (void *)(uintptr_t)identity,
      .ext_critical = false, /* as go */
  };
  return lp2p__tls_cert_build(out, &spec, rand_fn, rand_user);
}

void lp2p_tls_cert_del(lp2p_tls_cert *cert) {
  if (!cert) {
    return;
  }
  gnutls_x509_crt_deinit(cert->crt);
  gnutls_x509_privkey_deinit(cert->key); /* GnuTLS wipes it */
  gnutls_free(cert->der.data);
  lp2p_free(NULL, cert);
}

lp2p_bytes lp2p_tls_cert_der(const lp2p_tls_cert *cert) {
  lp2p_bytes b = {cert->der.data, cert->der.size};
  return b;
}

int lp2p__tls_cert_use(const lp2p_tls_cert *cert,
                       gnutls_certificate_credentials_t cred) {
  gnutls_x509_crt_t crt = cert->crt;
  return gnutls_certificate_set_x509_key(cred, &crt, 1, cert->key) < 0
             ? LP2P_ERR_CRYPTO
             : 0;
}

/* ---- verifying ---------------------------------------------------------- */

static int refuse(lp2p_errdetail *why, int err, const char *msg) {
  if (why) {
    snprintf(why->msg, sizeof(why->msg), "%s", msg);
  }
  return err;
}

/* The TBSCertificate's DER inside the certificate's (what it signs). */
static int tbs_of(const lp2p_bytes *der, gnutls_datum_t *tbs) {
  const uint8_t *p = der->data, *end = der->data + der->len;
  lp2p_bytes outer, inner;
  int rv = der_read(&p, end, DER_SEQUENCE, &outer);
  if (rv != 0 || p != end) {
    return LP2P_ERR_MALFORMED;
  }
  p = outer.data;
  const uint8_t *start = p;
  rv = der_read(&p, outer.data + outer.len, DER_SEQUENCE, &inner);
  if (rv != 0) {
    return LP2P_ERR_MALFORMED;
  }
  tbs->data = (unsigned char *)(uintptr_t)start;
  tbs->size = (unsigned)(p - start);
  return 0;
}

static int check_self_signature(gnutls_x509_crt_t crt, gnutls_pubkey_t pub,
                                const lp2p_bytes *der) {
  gnutls_datum_t tbs;
  if (tbs_of(der, &tbs) != 0) {
    return LP2P_ERR_MALFORMED;
  }
  int algo = gnutls_x509_crt_get_signature_algorithm(crt);
  uint8_t sig[LP2P_SIG_VERIFY_MAX];
  size_t sig_len = sizeof(sig);
  if (algo < 0 ||
      gnutls_x509_crt_get_signature(crt, (char *)sig, &sig_len) < 0) {
    return LP2P_ERR_BAD_SIGNATURE;
  }
  gnutls_datum_t s = {sig, (unsigned)sig_len};
  return gnutls_pubkey_verify_data2(pub, (gnutls_sign_algorithm_t)algo, 0, &tbs,
                                    &s) < 0
             ? LP2P_ERR_BAD_SIGNATURE
             : 0;
}

static bool known_critical(const char *oid) {
  static const char *const known[] = {
      LP2P_TLS_EXTENSION_OID, "2.5.29.15" /* key usage */,
      "2.5.29.19" /* basic constraints */, "2.5.29.37" /* extended usage */,
      "2.5.29.17" /* subject alternative name */};
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
    if (strcmp(oid, known[i]) == 0) {
      return true;
    }
  }
  return false;
}

/* Finds the libp2p extension (index in *idx); refuses unknown critical
 * ones, as go's x509 verification does. */
static int find_extension(gnutls_x509_crt_t crt, unsigned *idx,
                          lp2p_errdetail *why) {
  bool found = false;
  for (unsigned i = 0;; i++) {
    char oid[128];
    size_t oid_len = sizeof(oid);
    unsigned critical = 0;
    int rv =
        gnutls_x509_crt_get_extension_info(crt, i, oid, &oid_len, &critical);
    if (rv == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
      break;
    }
    if (rv < 0) {
      return refuse(why, LP2P_ERR_MALFORMED, "unreadable extension");
    }
    if (critical && !known_critical(oid)) {
      return refuse(why, LP2P_ERR_UNSUPPORTED,
                    "unknown critical extension in certificate");
    }
    if (!found && strcmp(oid, LP2P_TLS_EXTENSION_OID) == 0) {
      found = true;
      *idx = i;
    }
  }
  return found ? 0
               : refuse(why, LP2P_ERR_NOT_FOUND,
                        "certificate without the libp2p key extension");
}

static int check_validity(gnutls_x509_crt_t crt, int64_t unix_time,
                          lp2p_errdetail *why) {
  time_t from = gnutls_x509_crt_get_activation_time(crt);
  time_t until = gnutls_x509_crt_get_expiration_time(crt);
  if (from == (time_t)-1 || until == (time_t)-1) {
    return refuse(why, LP2P_ERR_MALFORMED, "certificate validity unreadable");
  }
  if (unix_time < (int64_t)from) {
    return refuse(why, LP2P_ERR_TIMEOUT, "certificate not yet valid");
  }
  if (unix_time > (int64_t)until) {
    return refuse(why, LP2P_ERR_TIMEOUT, "certificate expired");
  }
  return 0;
}

/* The identity key in the extension, checked against its signature over
 * the certificate's key. */
static int check_signed_key(const gnutls_datum_t *ext,
                            const gnutls_datum_t *spki, lp2p_pubkey *key,
                            lp2p_errdetail *why) {
  lp2p_bytes pb, sig, cookie;
  int rv =
      lp2p__tls_signed_key_decode(ext->data, ext->size, &pb, &sig, &cookie);
  if (rv != 0) {
    return refuse(why, LP2P_ERR_MALFORMED, "libp2p key extension ill-formed");
  }
  if (cookie.len > 0) { /* go refuses a cookie it does not share */
    return refuse(why, LP2P_ERR_UNSUPPORTED,
                  "peer of another network (network cookie)");
  }
  rv = lp2p_pubkey_unmarshal(pb.data, pb.len, key);
  if (rv != 0) {
    return refuse(why, rv, "identity key in certificate is invalid");
  }
  lp2p_buf msg;
  lp2p_buf_init(&msg, NULL);
  rv = lp2p_buf_append_str(&msg, LP2P__TLS_SIGN_PREFIX);
  if (rv == 0) {
    rv = lp2p_buf_append(&msg, spki->data, spki->size);
  }
  if (rv == 0) {
    rv = lp2p_pubkey_verify(key, msg.data, msg.len, sig.data, sig.len);
  }
  lp2p_buf_free(&msg);
  if (rv == LP2P_ERR_BAD_SIGNATURE) {
    return refuse(why, rv, "identity signature in certificate is invalid");
  }
  return rv;
}

typedef struct parsed {
  gnutls_x509_crt_t crt;
  gnutls_pubkey_t pub;
  gnutls_datum_t spki;
  gnutls_datum_t ext;
} parsed;

static int parse_and_check(parsed *c, const lp2p_bytes *der, int64_t unix_time,
                           lp2p_errdetail *why) {
  gnutls_datum_t d = {(unsigned char *)(uintptr_t)der->data,
                      (unsigned)der->len};
  if (gnutls_x509_crt_init(&c->crt) < 0 || gnutls_pubkey_init(&c->pub) < 0) {
    return LP2P_ERR_NOMEM;
  }
  if (gnutls_x509_crt_import(c->crt, &d, GNUTLS_X509_FMT_DER) < 0 ||
      gnutls_pubkey_import_x509(c->pub, c->crt, 0) < 0 ||
      gnutls_pubkey_export2(c->pub, GNUTLS_X509_FMT_DER, &c->spki) < 0) {
    return refuse(why, LP2P_ERR_MALFORMED, "certificate ill-formed");
  }
  int rv = check_validity(c->crt, unix_time, why);
  unsigned idx = 0;
  if (rv == 0) {
    rv = find_extension(c->crt, &idx, why);
  }
  if (rv == 0 && check_self_signature(c->crt, c->pub, der) != 0) {
    rv = refuse(why, LP2P_ERR_BAD_SIGNATURE,
                "certificate self-signature is invalid");
  }
  if (rv == 0 &&
      gnutls_x509_crt_get_extension_data2(c->crt, idx, &c->ext) < 0) {
    rv = refuse(why, LP2P_ERR_MALFORMED, "libp2p key extension unreadable");
  }
  return rv;
}

int lp2p_tls_cert_verify(const lp2p_bytes *certs, size_t n, int64_t unix_time,
                         const lp2p_peer_id *expected, lp2p_pubkey *key,
                         lp2p_peer_id *id, lp2p_errdetail *why) {
  if (n != 1) {
    return refuse(why, LP2P_ERR_MALFORMED, "expected exactly one certificate");
  }
  if (certs[0].len > LP2P_TLS_CERT_MAX) {
    return refuse(why, LP2P_ERR_TOO_LARGE, "certificate too large");
  }
  if (lp2p__tlslib_load() != 0) {
    return refuse(why, LP2P_ERR_UNSUPPORTED, lp2p__tlslib_error());
  }
  parsed c = {0};
  lp2p_pubkey pub;
  lp2p_peer_id pid;
  int rv = parse_and_check(&c, &certs[0], unix_time, why);
  if (rv == 0) {
    rv = check_signed_key(&c.ext, &c.spki, &pub, why);
  }
  if (rv == 0) {
    rv = lp2p_peer_id_from_pubkey(&pub, &pid);
  }
  if (rv == 0 && expected && !lp2p_peer_id_equal(expected, &pid)) {
    rv = refuse(why, LP2P_ERR_PEER_ID_MISMATCH,
                "certificate is not of the peer dialed");
  }
  gnutls_free(c.ext.data);
  gnutls_free(c.spki.data);
  gnutls_pubkey_deinit(c.pub);
  gnutls_x509_crt_deinit(c.crt);
  if (rv == 0) {
    if (key) {
      *key = pub;
    }
    if (id) {
      *id = pid;
    }
  }
  return rv;
}

int lp2p__tls_cert_verify_session(gnutls_session_t sess, int64_t unix_time,
                                  const lp2p_peer_id *expected,
                                  lp2p_pubkey *key, lp2p_peer_id *id,
                                  lp2p_errdetail *why) {
  unsigned n = 0;
  const gnutls_datum_t *list = gnutls_certificate_get_peers(sess, &n);
  lp2p_bytes certs[2];
  size_t count = list ? (n < 2 ? n : 2) : 0; /* 2 or more: refused alike */
  for (size_t i = 0; i < count; i++) {
    certs[i].data = list[i].data;
    certs[i].len = list[i].size;
  }
  return lp2p_tls_cert_verify(certs, count, unix_time, expected, key, id, why);
}
