/* libp2p TLS certificates: the SignedKey decoder and the whole
 * certificate check, on hostile bytes. The first byte chooses:
 *   0: the rest is a SignedKey extension value: decoding must stay inside
 *      the input, and strict DER means re-encoding what decoded (without
 *      a cookie) gives the input back, byte for byte;
 *   1: the rest is a peer's certificate (DER) for lp2p_tls_cert_verify;
 *   2: the rest becomes the extension value of a certificate we sign,
 *      which is then verified: the extension's decoder and signature
 *      check behind a valid X.509 shell.
 * A certificate that verifies names a peer id derived from its key. */
#include <string.h>

#include "crypto/tls_cert.h"
#include "fuzz.h"
#include "lp2p/tls.h"

#define NOW ((int64_t)1800000000)

static void counter_rand(uint8_t *dest, size_t len, void *user) {
  uint8_t *counter = user;
  for (size_t i = 0; i < len; i++) {
    dest[i] = (uint8_t)(++*counter * 151u);
  }
}

static void check_decoder(const uint8_t *data, size_t size) {
  lp2p_bytes pk, sig, cookie;
  if (lp2p__tls_signed_key_decode(data, size, &pk, &sig, &cookie) != 0) {
    return;
  }
  FUZZ_CHECK(pk.data >= data && pk.data + pk.len <= data + size);
  FUZZ_CHECK(sig.data >= data && sig.data + sig.len <= data + size);
  if (cookie.data) {
    return;
  }
  lp2p_buf again;
  lp2p_buf_init(&again, NULL);
  if (lp2p__tls_signed_key_encode(pk.data, pk.len, sig.data, sig.len,
                                  &again) == 0) {
    FUZZ_CHECK(again.len == size && memcmp(again.data, data, size) == 0);
  }
  lp2p_buf_free(&again);
}

static void check_verified(const lp2p_bytes *der) {
  lp2p_pubkey key;
  lp2p_peer_id id, want;
  lp2p_errdetail why;
  if (lp2p_tls_cert_verify(der, 1, NOW, NULL, &key, &id, &why) != 0) {
    FUZZ_CHECK(why.msg[0] != '\0');
    return;
  }
  FUZZ_CHECK(lp2p_peer_id_from_pubkey(&key, &want) == 0);
  FUZZ_CHECK(lp2p_peer_id_equal(&id, &want));
  FUZZ_CHECK(lp2p_tls_cert_verify(der, 1, NOW, &want, NULL, NULL, NULL) == 0);
}

typedef struct raw_ext {
  const uint8_t *data;
  size_t len;
} raw_ext;

static int copy_ext(const uint8_t *spki, size_t spki_len, void *ctx,
                    lp2p_buf *ext) {
  (void)spki;
  (void)spki_len;
  raw_ext *r = ctx;
  return lp2p_buf_append(ext, r->data, r->len);
}

static void check_extension_in_cert(const uint8_t *data, size_t size) {
  if (size > 4096) {
    return;
  }
  raw_ext r = {data, size};
  lp2p__tls_cert_spec spec = {.not_before = NOW - 10,
                              .not_after = NOW + 10,
                              .ext_fn = copy_ext,
                              .ext_ctx = &r};
  uint8_t counter = 0;
  lp2p_tls_cert *c = NULL;
  if (lp2p__tls_cert_build(&c, &spec, counter_rand, &counter) != 0) {
    return;
  }
  lp2p_bytes der = lp2p_tls_cert_der(c);
  check_verified(&der);
  lp2p_tls_cert_del(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const uint8_t *rest = data + 1;
  size_t n = size - 1;
  switch (data[0] % 3) {
  case 0:
    check_decoder(rest, n);
    break;
  case 1: {
    lp2p_bytes der = {rest, n};
    check_verified(&der);
    break;
  }
  default:
    check_extension_in_cert(rest, n);
    break;
  }
  return 0;
}
