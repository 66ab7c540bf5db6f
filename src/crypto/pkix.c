/* RSA and ECDSA public keys (PKIX DER) on libcrypto: verification only, for
 * the peers of IPFS networks that still sign with them. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <string.h>

#include "crypto/keys.h"

/* go-libp2p accepts ECDSA keys on the NIST curves only; so does lp2p, which
 * also keeps out the small curves OpenSSL would parse. */
static bool nist_curve(EVP_PKEY *pkey) {
  static const char *const ok[] = {"secp224r1", "prime256v1", "secp384r1",
                                   "secp521r1"};
  char name[64];
  size_t len = 0;
  if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name,
                                      sizeof(name), &len)) {
    return false;
  }
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    if (strcmp(name, ok[i]) == 0) {
      return true;
    }
  }
  return false;
}

/* Parses the whole of `der` as a key of `type`; NULL when it is not one. */
static EVP_PKEY *parse(lp2p_key_type type, const uint8_t *der, size_t len) {
  const unsigned char *p = der;
  if (len > LP2P_PUBKEY_DATA_MAX) {
    return NULL;
  }
  EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
  if (!pkey) {
    ERR_clear_error();
    return NULL;
  }
  int want = type == LP2P_KEY_RSA ? EVP_PKEY_RSA : EVP_PKEY_EC;
  int bits = EVP_PKEY_get_bits(pkey);
  if (p != der + len || EVP_PKEY_get_base_id(pkey) != want ||
      (type == LP2P_KEY_RSA &&
       (bits < LP2P_RSA_MIN_BITS || bits > LP2P_RSA_MAX_BITS)) ||
      (type == LP2P_KEY_ECDSA && !nist_curve(pkey))) {
    EVP_PKEY_free(pkey);
    return NULL;
  }
  return pkey;
}

int lp2p_pkix_check(lp2p_key_type type, const uint8_t *der, size_t len) {
  EVP_PKEY *pkey = parse(type, der, len);
  if (!pkey) {
    return LP2P_ERR_BAD_KEY;
  }
  EVP_PKEY_free(pkey);
  return 0;
}

int lp2p_pkix_verify(const lp2p_pubkey *pub, const uint8_t *msg, size_t len,
                     const uint8_t *sig, size_t sig_len) {
  EVP_PKEY *pkey = parse(pub->type, pub->data, pub->len);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  int ok = pkey && md && sig_len <= LP2P_SIG_VERIFY_MAX &&
           EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
           EVP_DigestVerify(md, sig, sig_len, msg, len) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pkey);
  if (!ok) {
    ERR_clear_error(); /* a bad signature is the peer's fault, not ours */
  }
  return ok ? 0 : LP2P_ERR_BAD_SIGNATURE;
}
