/* libp2p TLS certificates: what we make verifies, and every way a peer's
 * certificate can be wrong is refused with its own error. */
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "testutil.h"

#include "crypto/tls_cert.h"
#include "crypto/tlslib.h"
#include "lp2p/tls.h"

#define NOW ((int64_t)1800000000) /* 2027-01-15 */

typedef struct ident {
  lp2p_privkey key;
  lp2p_peer_id id;
} ident;

static void make_ident(ident *d, lp2p_key_type type, uint8_t seed_byte) {
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof(seed));
  assert_int_equal(lp2p_privkey_from_seed(type, seed, &d->key), 0);
  lp2p_pubkey pub;
  assert_int_equal(lp2p_privkey_public(&d->key, &pub), 0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, &d->id), 0);
}

static int verify(const lp2p_tls_cert *c, int64_t now,
                  const lp2p_peer_id *expected, lp2p_peer_id *got) {
  lp2p_bytes der = lp2p_tls_cert_der(c);
  lp2p_errdetail why;
  return lp2p_tls_cert_verify(&der, 1, now, expected, NULL, got, &why);
}

static void check_identity_cert(lp2p_key_type type) {
  ident me;
  make_ident(&me, type, 0x11);
  uint64_t rng = 7;
  lp2p_tls_cert *c = NULL;
  assert_int_equal(lp2p_tls_cert_new(&c, &me.key, NOW, test_rand, &rng), 0);
  lp2p_peer_id got;
  assert_int_equal(verify(c, NOW, &me.id, &got), 0);
  assert_true(lp2p_peer_id_equal(&got, &me.id));
  assert_int_equal(verify(c, NOW, NULL, &got), 0); /* a listener's check */
  lp2p_tls_cert_del(c);
}

static void ed25519_identity_cert_verifies_as_its_peer(void **state) {
  (void)state;
  check_identity_cert(LP2P_KEY_ED25519);
}

static void secp256k1_identity_cert_verifies_as_its_peer(void **state) {
  (void)state;
  check_identity_cert(LP2P_KEY_SECP256K1);
}

static void cert_is_valid_from_an_hour_before_for_100_years(void **state) {
  (void)state;
  ident me;
  make_ident(&me, LP2P_KEY_ED25519, 0x12);
  lp2p_tls_cert *c = NULL;
  assert_int_equal(lp2p_tls_cert_new(&c, &me.key, NOW, test_rand, NULL), 0);
  assert_int_equal(verify(c, NOW - 3600, NULL, NULL), 0);
  assert_int_equal(verify(c, NOW - 3601, NULL, NULL), LP2P_ERR_TIMEOUT);
  assert_int_equal(verify(c, NOW + LP2P_TLS_CERT_LIFETIME, NULL, NULL), 0);
  assert_int_equal(verify(c, NOW + LP2P_TLS_CERT_LIFETIME + 1, NULL, NULL),
                   LP2P_ERR_TIMEOUT);
  lp2p_tls_cert_del(c);
}

/* The SubjectPublicKeyInfo DER of a certificate, into `out`. */
static size_t spki_of(const lp2p_tls_cert *c, uint8_t *out, size_t cap) {
  lp2p_bytes der = lp2p_tls_cert_der(c);
  gnutls_datum_t d = {(unsigned char *)(uintptr_t)der.data, (unsigned)der.len};
  gnutls_x509_crt_t crt;
  assert_true(gnutls_x509_crt_init(&crt) >= 0);
  assert_true(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) >= 0);
  gnutls_pubkey_t pub;
  assert_true(gnutls_pubkey_init(&pub) >= 0);
  assert_true(gnutls_pubkey_import_x509(pub, crt, 0) >= 0);
  size_t len = cap;
  assert_true(gnutls_pubkey_export(pub, GNUTLS_X509_FMT_DER, out, &len) >= 0);
  gnutls_pubkey_deinit(pub);
  gnutls_x509_crt_deinit(crt);
  return len;
}

static void cert_key_is_drawn_from_rand_fn(void **state) {
  (void)state;
  ident me;
  make_ident(&me, LP2P_KEY_ED25519, 0x13);
  uint64_t r1 = 5, r2 = 5, r3 = 6;
  lp2p_tls_cert *a = NULL, *b = NULL, *c = NULL;
  assert_int_equal(lp2p_tls_cert_new(&a, &me.key, NOW, test_rand, &r1), 0);
  assert_int_equal(lp2p_tls_cert_new(&b, &me.key, NOW, test_rand, &r2), 0);
  assert_int_equal(lp2p_tls_cert_new(&c, &me.key, NOW, test_rand, &r3), 0);
  uint8_t ka[256], kb[256], kc[256];
  size_t la = spki_of(a, ka, sizeof(ka)), lb = spki_of(b, kb, sizeof(kb)),
         lc = spki_of(c, kc, sizeof(kc));
  assert_int_equal(la, lb);
  assert_memory_equal(ka, kb, la);
  assert_false(la == lc && memcmp(ka, kc, la) == 0);
  lp2p_tls_cert_del(a);
  lp2p_tls_cert_del(b);
  lp2p_tls_cert_del(c);
}

static void cert_of_another_peer_is_a_peer_id_mismatch(void **state) {
  (void)state;
  ident me, other;
  make_ident(&me, LP2P_KEY_ED25519, 0x14);
  make_ident(&other, LP2P_KEY_ED25519, 0x15);
  lp2p_tls_cert *c = NULL;
  assert_int_equal(lp2p_tls_cert_new(&c, &me.key, NOW, test_rand, NULL), 0);
  assert_int_equal(verify(c, NOW, &other.id, NULL), LP2P_ERR_PEER_ID_MISMATCH);
  lp2p_tls_cert_del(c);
}

/* ---- certificates built wrong on purpose ------------------------------- */

/* How the test signer writes the extension. */
typedef struct signer {
  const lp2p_privkey *key; /* lp2p signs, or */
  gnutls_privkey_t gkey;   /* GnuTLS signs (RSA, ECDSA) */
  lp2p_pubkey pub;         /* the key written into the extension */
  bool sign_other_spki;    /* signs bytes that are not the SPKI */
} signer;

static int sign_bytes(signer *s, const uint8_t *msg, size_t len, uint8_t *sig,
                      size_t *sig_len) {
  if (s->key) {
    return lp2p_privkey_sign(s->key, msg, len, sig, sig_len);
  }
  gnutls_datum_t d = {(unsigned char *)(uintptr_t)msg, (unsigned)len}, out;
  assert_true(
      gnutls_privkey_sign_data(s->gkey, GNUTLS_DIG_SHA256, 0, &d, &out) >= 0);
  assert_true(out.size <= LP2P_SIG_VERIFY_MAX);
  memcpy(sig, out.data, out.size);
  *sig_len = out.size;
  gnutls_free(out.data);
  return 0;
}

static int test_ext(const uint8_t *spki, size_t spki_len, void *ctx,
                    lp2p_buf *ext) {
  signer *s = ctx;
  uint8_t msg[512];
  size_t plen = strlen(LP2P__TLS_SIGN_PREFIX);
  assert_true(plen + spki_len <= sizeof(msg));
  memcpy(msg, LP2P__TLS_SIGN_PREFIX, plen);
  memcpy(msg + plen, spki, spki_len);
  if (s->sign_other_spki) {
    msg[plen + spki_len - 1] ^= 1;
  }
  uint8_t sig[LP2P_SIG_VERIFY_MAX];
  size_t sig_len = 0;
  assert_int_equal(sign_bytes(s, msg, plen + spki_len, sig, &sig_len), 0);
  uint8_t pb[LP2P_PUBKEY_PB_MAX];
  int pb_len = lp2p_pubkey_marshal(&s->pub, pb, sizeof(pb));
  assert_true(pb_len > 0);
  return lp2p__tls_signed_key_encode(pb, (size_t)pb_len, sig, sig_len, ext);
}

static lp2p_tls_cert *build(signer *s, int64_t from, int64_t until,
                            bool with_ext, bool critical) {
  lp2p__tls_cert_spec spec = {.not_before = from,
                              .not_after = until,
                              .ext_fn = with_ext ? test_ext : NULL,
                              .ext_ctx = s,
                              .ext_critical = critical};
  lp2p_tls_cert *c = NULL;
  assert_int_equal(lp2p__tls_cert_build(&c, &spec, test_rand, NULL), 0);
  return c;
}

static void lp2p_signer(signer *s, ident *d) {
  memset(s, 0, sizeof(*s));
  s->key = &d->key;
  assert_int_equal(lp2p_privkey_public(&d->key, &s->pub), 0);
}

static void extension_signed_over_other_key_is_bad_signature(void **state) {
  (void)state;
  ident me;
  make_ident(&me, LP2P_KEY_ED25519, 0x16);
  signer s;
  lp2p_signer(&s, &me);
  s.sign_other_spki = true;
  lp2p_tls_cert *c = build(&s, NOW - 10, NOW + 10, true, false);
  assert_int_equal(verify(c, NOW, NULL, NULL), LP2P_ERR_BAD_SIGNATURE);
  lp2p_tls_cert_del(c);
}

static void extension_with_key_of_another_signer_is_bad_signature(void **st) {
  (void)st;
  ident me, other;
  make_ident(&me, LP2P_KEY_SECP256K1, 0x17);
  make_ident(&other, LP2P_KEY_SECP256K1, 0x18);
  signer s;
  lp2p_signer(&s, &me);
  assert_int_equal(lp2p_privkey_public(&other.key, &s.pub), 0); /* claims */
  lp2p_tls_cert *c = build(&s, NOW - 10, NOW + 10, true, false);
  assert_int_equal(verify(c, NOW, NULL, NULL), LP2P_ERR_BAD_SIGNATURE);
  lp2p_tls_cert_del(c);
}

static void broken_self_signature_is_bad_signature(void **state) {
  (void)state;
  ident me;
  make_ident(&me, LP2P_KEY_ED25519, 0x19);
  lp2p_tls_cert *c = NULL;
  assert_int_equal(lp2p_tls_cert_new(&c, &me.key, NOW, test_rand, NULL), 0);
  lp2p_bytes der = lp2p_tls_cert_der(c);
  uint8_t copy[LP2P_TLS_CERT_MAX];
  memcpy(copy, der.data, der.len);
  copy[der.len - 5] ^= 0x01; /* inside the ECDSA signature's s */
  lp2p_bytes bad = {copy, der.len};
  assert_int_equal(lp2p_tls_cert_verify(&bad, 1, NOW, NULL, NULL, NULL, NULL),
                   LP2P_ERR_BAD_SIGNATURE);
  lp2p_tls_cert_del(c);
}

static void expired_cert_is_refused(void **state) {
  (void)state;
  ident me;
  make_ident(&me, LP2P_KEY_ED25519, 0x1a);
  signer s;
  lp2p_signer(&s, &me);
  lp2p_tls_cert *c = build(&s, NOW - 100, NOW - 1, true, false);
  assert_int_equal(verify(c, NOW, NULL, NULL), LP2P_ERR_TIMEOUT);
  lp2p_tls_cert_del(c);
}

static void not_yet_valid_cert_is_refused(void **state) {
  (void)state;
  ident me;
  make_ident(&me, LP2P_KEY_ED25519, 0x1b);
  signer s;
  lp2p_signer(&s, &me);
  lp2p_tls_cert *c = build(&s, NOW + 1, NOW + 100, true, false);
  assert_int_equal(verify(c, NOW, NULL, NULL), LP2P_ERR_TIMEOUT);
  lp2p_tls_cert_del(c);
}

static void cert_without_extension_is_refused(void **state) {
  (void)state;
  lp2p_tls_cert *c = build(NULL, NOW - 10, NOW + 10, false, false);
  assert_int_equal(verify(c, NOW, NULL, NULL), LP2P_ERR_NOT_FOUND);
  lp2p_tls_cert_del(c);
}

static void critical_extension_is_accepted(void **state) {
  (void)state;
  ident me;
  make_ident(&me, LP2P_KEY_ED25519, 0x1c);
  signer s;
  lp2p_signer(&s, &me);
  lp2p_tls_cert *c = build(&s, NOW - 10, NOW + 10, true, true);
  lp2p_peer_id got;
  assert_int_equal(verify(c, NOW, &me.id, &got), 0);
  lp2p_tls_cert_del(c);
}

static void ill_formed_der_is_refused(void **state) {
  (void)state;
  ident me;
  make_ident(&me, LP2P_KEY_ED25519, 0x1d);
  lp2p_tls_cert *c = NULL;
  assert_int_equal(lp2p_tls_cert_new(&c, &me.key, NOW, test_rand, NULL), 0);
  lp2p_bytes der = lp2p_tls_cert_der(c);
  lp2p_bytes cut = {der.data, der.len - 1};
  assert_int_equal(lp2p_tls_cert_verify(&cut, 1, NOW, NULL, NULL, NULL, NULL),
                   LP2P_ERR_MALFORMED);
  static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
  lp2p_bytes j = {junk, sizeof(junk)};
  assert_int_equal(lp2p_tls_cert_verify(&j, 1, NOW, NULL, NULL, NULL, NULL),
                   LP2P_ERR_MALFORMED);
  lp2p_tls_cert_del(c);
}

static void chain_of_two_or_none_is_refused(void **state) {
  (void)state;
  ident me;
  make_ident(&me, LP2P_KEY_ED25519, 0x1e);
  lp2p_tls_cert *c = NULL;
  assert_int_equal(lp2p_tls_cert_new(&c, &me.key, NOW, test_rand, NULL), 0);
  lp2p_bytes two[2] = {lp2p_tls_cert_der(c), lp2p_tls_cert_der(c)};
  assert_int_equal(lp2p_tls_cert_verify(two, 2, NOW, NULL, NULL, NULL, NULL),
                   LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_tls_cert_verify(two, 0, NOW, NULL, NULL, NULL, NULL),
                   LP2P_ERR_MALFORMED);
  lp2p_tls_cert_del(c);
}

/* RSA and ECDSA identities cannot sign in lp2p: GnuTLS signs for them. */
static void check_gnutls_identity(gnutls_pk_algorithm_t algo, unsigned bits,
                                  lp2p_key_type type) {
  assert_int_equal(lp2p__tlslib_load(), 0); /* GnuTLS is used before lp2p */
  gnutls_privkey_t gk;
  assert_true(gnutls_privkey_init(&gk) >= 0);
  assert_true(gnutls_privkey_generate(gk, algo, bits, 0) >= 0);
  gnutls_pubkey_t gp;
  gnutls_datum_t spki;
  assert_true(gnutls_pubkey_init(&gp) >= 0);
  assert_true(gnutls_pubkey_import_privkey(gp, gk, 0, 0) >= 0);
  assert_true(gnutls_pubkey_export2(gp, GNUTLS_X509_FMT_DER, &spki) >= 0);
  signer s = {.gkey = gk};
  assert_int_equal(lp2p_pubkey_from_raw(type, spki.data, spki.size, &s.pub), 0);
  lp2p_peer_id want;
  assert_int_equal(lp2p_peer_id_from_pubkey(&s.pub, &want), 0);
  lp2p_tls_cert *c = build(&s, NOW - 10, NOW + 10, true, false);
  lp2p_peer_id got;
  assert_int_equal(verify(c, NOW, &want, &got), 0);
  s.sign_other_spki = true;
  lp2p_tls_cert *bad = build(&s, NOW - 10, NOW + 10, true, false);
  assert_int_equal(verify(bad, NOW, NULL, NULL), LP2P_ERR_BAD_SIGNATURE);
  lp2p_tls_cert_del(bad);
  lp2p_tls_cert_del(c);
  gnutls_free(spki.data);
  gnutls_pubkey_deinit(gp);
  gnutls_privkey_deinit(gk);
}

static void rsa_identity_cert_verifies_as_its_peer(void **state) {
  (void)state;
  check_gnutls_identity(GNUTLS_PK_RSA, 2048, LP2P_KEY_RSA);
}

static void ecdsa_identity_cert_verifies_as_its_peer(void **state) {
  (void)state;
  check_gnutls_identity(GNUTLS_PK_ECDSA,
                        GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
                        LP2P_KEY_ECDSA);
}

/* ---- the SignedKey decoder ---------------------------------------------- */

static void signed_key_round_trips(void **state) {
  (void)state;
  uint8_t pk[300], sig[200];
  memset(pk, 0xaa, sizeof(pk));
  memset(sig, 0x55, sizeof(sig));
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  assert_int_equal(
      lp2p__tls_signed_key_encode(pk, sizeof(pk), sig, sizeof(sig), &b), 0);
  lp2p_bytes p, s, cookie;
  assert_int_equal(lp2p__tls_signed_key_decode(b.data, b.len, &p, &s, &cookie),
                   0);
  assert_int_equal(p.len, sizeof(pk));
  assert_memory_equal(p.data, pk, sizeof(pk));
  assert_int_equal(s.len, sizeof(sig));
  assert_null(cookie.data);
  for (size_t cut = 0; cut < b.len; cut++) {
    assert_true(lp2p__tls_signed_key_decode(b.data, cut, &p, &s, &cookie) < 0);
  }
  lp2p_buf_free(&b);
}

static void signed_key_with_overlong_length_is_refused(void **state) {
  (void)state;
  /* SEQUENCE of length 6 written in two bytes */
  static const uint8_t in[] = {0x30, 0x81, 0x06, 0x04, 0x01,
                               0xaa, 0x04, 0x01, 0xbb};
  lp2p_bytes p, s, c;
  assert_int_equal(lp2p__tls_signed_key_decode(in, sizeof(in), &p, &s, &c),
                   LP2P_ERR_OVERLONG);
  static const uint8_t indefinite[] = {0x30, 0x80, 0x04, 0x01, 0xaa,
                                       0x04, 0x01, 0xbb, 0x00, 0x00};
  assert_int_equal(
      lp2p__tls_signed_key_decode(indefinite, sizeof(indefinite), &p, &s, &c),
      LP2P_ERR_MALFORMED);
}

static void signed_key_with_bytes_after_is_refused(void **state) {
  (void)state;
  static const uint8_t after[] = {0x30, 0x06, 0x04, 0x01, 0xaa,
                                  0x04, 0x01, 0xbb, 0x00};
  static const uint8_t inside[] = {0x30, 0x0a, 0x04, 0x01, 0xaa, 0x04,
                                   0x01, 0xbb, 0x04, 0x00, 0x05, 0x00};
  static const uint8_t bitstring[] = {0x30, 0x06, 0x03, 0x01,
                                      0xaa, 0x04, 0x01, 0xbb};
  lp2p_bytes p, s, c;
  assert_int_equal(
      lp2p__tls_signed_key_decode(after, sizeof(after), &p, &s, &c),
      LP2P_ERR_TRAILING);
  assert_int_equal(
      lp2p__tls_signed_key_decode(inside, sizeof(inside), &p, &s, &c),
      LP2P_ERR_TRAILING);
  assert_int_equal(
      lp2p__tls_signed_key_decode(bitstring, sizeof(bitstring), &p, &s, &c),
      LP2P_ERR_MALFORMED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ed25519_identity_cert_verifies_as_its_peer),
      cmocka_unit_test(secp256k1_identity_cert_verifies_as_its_peer),
      cmocka_unit_test(rsa_identity_cert_verifies_as_its_peer),
      cmocka_unit_test(ecdsa_identity_cert_verifies_as_its_peer),
      cmocka_unit_test(cert_is_valid_from_an_hour_before_for_100_years),
      cmocka_unit_test(cert_key_is_drawn_from_rand_fn),
      cmocka_unit_test(cert_of_another_peer_is_a_peer_id_mismatch),
      cmocka_unit_test(extension_signed_over_other_key_is_bad_signature),
      cmocka_unit_test(extension_with_key_of_another_signer_is_bad_signature),
      cmocka_unit_test(broken_self_signature_is_bad_signature),
      cmocka_unit_test(expired_cert_is_refused),
      cmocka_unit_test(not_yet_valid_cert_is_refused),
      cmocka_unit_test(cert_without_extension_is_refused),
      cmocka_unit_test(critical_extension_is_accepted),
      cmocka_unit_test(ill_formed_der_is_refused),
      cmocka_unit_test(chain_of_two_or_none_is_refused),
      cmocka_unit_test(signed_key_round_trips),
      cmocka_unit_test(signed_key_with_overlong_length_is_refused),
      cmocka_unit_test(signed_key_with_bytes_after_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
