/* SHA-256 (src/crypto/sha256.c): the FIPS 180-4 examples, and libsodium's
 * answer at every length around the padding's block boundaries. */
#include <sodium.h>

#include "crypto/sha256.h"
#include "testutil.h"

static void check_hex(const uint8_t *data, size_t len, const char *want) {
  uint8_t got[LP2P_SHA256_LEN];
  char hex[2 * LP2P_SHA256_LEN + 1];
  lp2p__sha256(got, data, len);
  tohex(got, sizeof(got), hex);
  assert_string_equal(hex, want);
}

/* FIPS 180-4 / NIST CSRC examples */
static void sha256_fips_examples(void **state) {
  (void)state;
  check_hex((const uint8_t *)"", 0,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  check_hex((const uint8_t *)"abc", 3,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two_blocks =
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  check_hex((const uint8_t *)two_blocks, strlen(two_blocks),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  static uint8_t million[1000000];
  memset(million, 'a', sizeof(million));
  check_hex(million, sizeof(million),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* 55, 56, 63, 64 and 119, 120 bytes change how many blocks the padding
 * takes; 1 KiB is the network benchmark's message. */
static void sha256_matches_libsodium_at_every_length(void **state) {
  (void)state;
  static uint8_t data[1200];
  for (size_t i = 0; i < sizeof(data); i++) {
    data[i] = (uint8_t)(i * 131 + (i >> 8) * 7);
  }
  for (size_t len = 0; len <= sizeof(data); len++) {
    uint8_t got[LP2P_SHA256_LEN];
    uint8_t want[crypto_hash_sha256_BYTES];
    lp2p__sha256(got, data + (len & 3), len - (len & 3));
    crypto_hash_sha256(want, data + (len & 3), len - (len & 3));
    assert_memory_equal(got, want, sizeof(want));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sha256_fips_examples),
      cmocka_unit_test(sha256_matches_libsodium_at_every_length),
  };
  print_message("SHA extensions: %s\n",
                lp2p__sha256_accelerated() ? "used" : "not available");
  return cmocka_run_group_tests(tests, NULL, NULL);
}
