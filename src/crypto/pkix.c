/* RSA and ECDSA public keys (PKIX DER) on libcrypto: verification only, for
 * the peers of IPFS networks that still sign with them.
 *
 * libcrypto is loaded with dlopen the first time such a key shows up:
 * linked in, its relocations alone cost every node 1.4 MiB of memory that
 * most never use (Ed25519 and secp256k1 keys are the norm). Without it,
 * these keys are unsupported. */
#include <dlfcn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "crypto/keys.h"

/* The libcrypto functions used, by the names of the library. */
#define FN(name) __typeof__(&name) name
static struct {
  FN(d2i_PUBKEY);
  FN(ERR_clear_error);
  FN(EVP_PKEY_get_bits);
  FN(EVP_PKEY_get_base_id);
  FN(EVP_PKEY_free);
  FN(EVP_PKEY_get_utf8_string_param);
  FN(EVP_MD_CTX_new);
  FN(EVP_MD_CTX_free);
  FN(EVP_sha256);
  FN(EVP_DigestVerifyInit);
  FN(EVP_DigestVerify);
  bool loaded;
} lc;
#undef FN

static pthread_once_t lc_once = PTHREAD_ONCE_INIT;

#define STR(x) #x
#define XSTR(x) STR(x)

static void load_libcrypto(void) {
  /* the major version the headers describe: its ABI is the one used */
  void *h = dlopen("libcrypto.so." XSTR(OPENSSL_VERSION_MAJOR),
                   RTLD_NOW | RTLD_LOCAL);
  bool ok = h != NULL;
#define LOAD(name) ok = ok && (*(void **)&lc.name = dlsym(h, #name)) != NULL
  LOAD(d2i_PUBKEY);
  LOAD(ERR_clear_error);
  LOAD(EVP_PKEY_get_bits);
  LOAD(EVP_PKEY_get_base_id);
  LOAD(EVP_PKEY_free);
  LOAD(EVP_PKEY_get_utf8_string_param);
  LOAD(EVP_MD_CTX_new);
  LOAD(EVP_MD_CTX_free);
  LOAD(EVP_sha256);
  LOAD(EVP_DigestVerifyInit);
  LOAD(EVP_DigestVerify);
#undef LOAD
  lc.loaded = ok;
}

static bool have_libcrypto(void) {
  pthread_once(&lc_once, load_libcrypto);
  return lc.loaded;
}

/* go-libp2p accepts ECDSA keys on the NIST curves only; so does lp2p, which
 * also keeps out the small curves OpenSSL would parse. */
static bool nist_curve(EVP_PKEY *pkey) {
  static const char *const ok[] = {"secp224r1", "prime256v1", "secp384r1",
                                   "secp521r1"};
  char name[64];
  size_t len = 0;
  if (!lc.EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name,
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
  EVP_PKEY *pkey = lc.d2i_PUBKEY(NULL, &p, (long)len);
  if (!pkey) {
    lc.ERR_clear_error();
    return NULL;
  }
  int want = type == LP2P_KEY_RSA ? EVP_PKEY_RSA : EVP_PKEY_EC;
  int bits = lc.EVP_PKEY_get_bits(pkey);
  if (p != der + len || lc.EVP_PKEY_get_base_id(pkey) != want ||
      (type == LP2P_KEY_RSA &&
       (bits < LP2P_RSA_MIN_BITS || bits > LP2P_RSA_MAX_BITS)) ||
      (type == LP2P_KEY_ECDSA && !nist_curve(pkey))) {
    lc.EVP_PKEY_free(pkey);
    return NULL;
  }
  return pkey;
}

int lp2p_pkix_check(lp2p_key_type type, const uint8_t *der, size_t len) {
  if (!have_libcrypto()) {
    return LP2P_ERR_UNSUPPORTED;
  }
  EVP_PKEY *pkey = parse(type, der, len);
  if (!pkey) {
    return LP2P_ERR_BAD_KEY;
  }
  lc.EVP_PKEY_free(pkey);
  return 0;
}

int lp2p_pkix_verify(const lp2p_pubkey *pub, const uint8_t *msg, size_t len,
                     const uint8_t *sig, size_t sig_len) {
  if (!have_libcrypto()) {
    return LP2P_ERR_UNSUPPORTED;
  }
  EVP_PKEY *pkey = parse(pub->type, pub->data, pub->len);
  EVP_MD_CTX *md = lc.EVP_MD_CTX_new();
  int ok =
      pkey && md && sig_len <= LP2P_SIG_VERIFY_MAX &&
      lc.EVP_DigestVerifyInit(md, NULL, lc.EVP_sha256(), NULL, pkey) == 1 &&
      lc.EVP_DigestVerify(md, sig, sig_len, msg, len) == 1;
  lc.EVP_MD_CTX_free(md);
  lc.EVP_PKEY_free(pkey);
  if (!ok) {
    lc.ERR_clear_error(); /* a bad signature is the peer's fault, not ours */
  }
  return ok ? 0 : LP2P_ERR_BAD_SIGNATURE;
}
