/* Loads GnuTLS, hogweed, GMP, ngtcp2 and ngtcp2_crypto_gnutls on first
 * use (crypto/tlslib.h says why). */
#define LP2P__TLSLIB_IMPL
#include "crypto/tlslib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "lp2p/common.h"

lp2p__tlslib_table lp2p__tlslib;

static const char *soname_override[LP2P__TLSLIB_COUNT];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool loaded;
static char load_error[256];

void lp2p__tlslib_set_soname(lp2p__tlslib_lib lib, const char *soname) {
  if (lib < LP2P__TLSLIB_COUNT) {
    soname_override[lib] = soname;
  }
}

#ifndef LP2P_TLSLIB_LINKED
/* The sonames of the packages the headers came from (CMakeLists.txt reads
 * them from the libraries pkg-config found): their ABI is the one used. */
static const char *const default_soname[LP2P__TLSLIB_COUNT] = {
    [LP2P__TLSLIB_GMP] = LP2P_SONAME_GMP,
    [LP2P__TLSLIB_HOGWEED] = LP2P_SONAME_HOGWEED,
    [LP2P__TLSLIB_GNUTLS] = LP2P_SONAME_GNUTLS,
    [LP2P__TLSLIB_NGTCP2] = LP2P_SONAME_NGTCP2,
    [LP2P__TLSLIB_NGTCP2_CRYPTO] = LP2P_SONAME_NGTCP2_CRYPTO,
};

/* What a user loses without each, for the error. */
static const char *const needed_by[LP2P__TLSLIB_COUNT] = {
    [LP2P__TLSLIB_GMP] = "TLS and QUIC certificates need GMP",
    [LP2P__TLSLIB_HOGWEED] = "TLS and QUIC certificates need nettle",
    [LP2P__TLSLIB_GNUTLS] = "TLS and QUIC need GnuTLS",
    [LP2P__TLSLIB_NGTCP2] = "QUIC needs ngtcp2",
    [LP2P__TLSLIB_NGTCP2_CRYPTO] = "QUIC needs ngtcp2's GnuTLS crypto helper",
};

static const char *soname_of(lp2p__tlslib_lib lib) {
  return soname_override[lib] ? soname_override[lib] : default_soname[lib];
}

static bool open_all(void *h[LP2P__TLSLIB_COUNT]) {
  for (int i = 0; i < LP2P__TLSLIB_COUNT; i++) {
    /* RTLD_LOCAL: their symbols stay out of the process's namespace */
    h[i] = dlopen(soname_of((lp2p__tlslib_lib)i), RTLD_NOW | RTLD_LOCAL);
    if (!h[i]) {
      const char *why = dlerror();
      snprintf(load_error, sizeof(load_error), "%s not found: %s (%s)",
               soname_of((lp2p__tlslib_lib)i), needed_by[i], why ? why : "");
      return false;
    }
  }
  return true;
}

static bool resolve(void *h, lp2p__tlslib_lib lib, const char *name,
                    void **slot) {
  *slot = dlsym(h, name);
  if (!*slot) {
    snprintf(load_error, sizeof(load_error), "%s has no %s: %s", soname_of(lib),
             name, needed_by[lib]);
    return false;
  }
  return true;
}

static void load(void) {
  void *h[LP2P__TLSLIB_COUNT] = {NULL};
  bool ok = open_all(h);
#define LP2P__TLSLIB_RESOLVE(lib, name)                                        \
  ok = ok && resolve(h[LP2P__TLSLIB_##lib], LP2P__TLSLIB_##lib, #name,         \
                     (void **)&lp2p__tlslib.name);
  LP2P__TLSLIB_SYMBOLS(LP2P__TLSLIB_RESOLVE)
#undef LP2P__TLSLIB_RESOLVE
  if (!ok) {
    for (int i = 0; i < LP2P__TLSLIB_COUNT; i++) {
      if (h[i]) {
        dlclose(h[i]);
      }
    }
  }
  loaded = ok;
}
#else
/* Sanitized builds link the libraries (CMakeLists.txt says why): the
 * table takes their addresses and nothing is loaded. */
static void load(void) {
#define LP2P__TLSLIB_TAKE(lib, name) lp2p__tlslib.name = &name;
  LP2P__TLSLIB_SYMBOLS(LP2P__TLSLIB_TAKE)
#undef LP2P__TLSLIB_TAKE
  loaded = true;
}
#endif

int lp2p__tlslib_load(void) {
  pthread_once(&load_once, load);
  return loaded ? 0 : LP2P_ERR_UNSUPPORTED;
}

const char *lp2p__tlslib_error(void) {
  return load_error;
}

/* ---- ngtcp2's crypto callbacks ------------------------------------------ */

int lp2p__tlslib_client_initial(ngtcp2_conn *conn, void *user_data) {
  return lp2p__tlslib.ngtcp2_crypto_client_initial_cb(conn, user_data);
}

int lp2p__tlslib_recv_client_initial(ngtcp2_conn *conn, const ngtcp2_cid *dcid,
                                     void *user_data) {
  return lp2p__tlslib.ngtcp2_crypto_recv_client_initial_cb(conn, dcid,
                                                           user_data);
}

int lp2p__tlslib_recv_crypto_data(ngtcp2_conn *conn,
                                  ngtcp2_crypto_level crypto_level,
                                  uint64_t offset, const uint8_t *data,
                                  size_t datalen, void *user_data) {
  return lp2p__tlslib.ngtcp2_crypto_recv_crypto_data_cb(
      conn, crypto_level, offset, data, datalen, user_data);
}

int lp2p__tlslib_encrypt(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                         const ngtcp2_crypto_aead_ctx *aead_ctx,
                         const uint8_t *plaintext, size_t plaintextlen,
                         const uint8_t *nonce, size_t noncelen,
                         const uint8_t *aad, size_t aadlen) {
  return lp2p__tlslib.ngtcp2_crypto_encrypt_cb(dest, aead, aead_ctx, plaintext,
                                               plaintextlen, nonce, noncelen,
                                               aad, aadlen);
}

int lp2p__tlslib_decrypt(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                         const ngtcp2_crypto_aead_ctx *aead_ctx,
                         const uint8_t *ciphertext, size_t ciphertextlen,
                         const uint8_t *nonce, size_t noncelen,
                         const uint8_t *aad, size_t aadlen) {
  return lp2p__tlslib.ngtcp2_crypto_decrypt_cb(dest, aead, aead_ctx, ciphertext,
                                               ciphertextlen, nonce, noncelen,
                                               aad, aadlen);
}

int lp2p__tlslib_hp_mask(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
                         const ngtcp2_crypto_cipher_ctx *hp_ctx,
                         const uint8_t *sample) {
  return lp2p__tlslib.ngtcp2_crypto_hp_mask_cb(dest, hp, hp_ctx, sample);
}

int lp2p__tlslib_recv_retry(ngtcp2_conn *conn, const ngtcp2_pkt_hd *hd,
                            void *user_data) {
  return lp2p__tlslib.ngtcp2_crypto_recv_retry_cb(conn, hd, user_data);
}

int lp2p__tlslib_update_key(ngtcp2_conn *conn, uint8_t *rx_secret,
                            uint8_t *tx_secret,
                            ngtcp2_crypto_aead_ctx *rx_aead_ctx, uint8_t *rx_iv,
                            ngtcp2_crypto_aead_ctx *tx_aead_ctx, uint8_t *tx_iv,
                            const uint8_t *current_rx_secret,
                            const uint8_t *current_tx_secret, size_t secretlen,
                            void *user_data) {
  return lp2p__tlslib.ngtcp2_crypto_update_key_cb(
      conn, rx_secret, tx_secret, rx_aead_ctx, rx_iv, tx_aead_ctx, tx_iv,
      current_rx_secret, current_tx_secret, secretlen, user_data);
}

void lp2p__tlslib_delete_crypto_aead_ctx(ngtcp2_conn *conn,
                                         ngtcp2_crypto_aead_ctx *aead_ctx,
                                         void *user_data) {
  lp2p__tlslib.ngtcp2_crypto_delete_crypto_aead_ctx_cb(conn, aead_ctx,
                                                       user_data);
}

void lp2p__tlslib_delete_crypto_cipher_ctx(ngtcp2_conn *conn,
                                           ngtcp2_crypto_cipher_ctx *cipher_ctx,
                                           void *user_data) {
  lp2p__tlslib.ngtcp2_crypto_delete_crypto_cipher_ctx_cb(conn, cipher_ctx,
                                                         user_data);
}

int lp2p__tlslib_version_negotiation(ngtcp2_conn *conn, uint32_t version,
                                     const ngtcp2_cid *client_dcid,
                                     void *user_data) {
  return lp2p__tlslib.ngtcp2_crypto_version_negotiation_cb(
      conn, version, client_dcid, user_data);
}
