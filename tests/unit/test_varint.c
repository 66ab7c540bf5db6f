/* Unsigned varints (multiformats/unsigned-varint). */
#include "testutil.h"

static void encode_decode_spec_examples(void **state) {
  (void)state;
  /* the examples of the unsigned-varint spec */
  static const struct {
    uint64_t v;
    const char *hex;
  } cases[] = {
      {1, "01"},     {127, "7f"},
      {128, "8001"}, {255, "ff01"},
      {300, "ac02"}, {16384, "808001"},
      {0, "00"},     {LP2P_UVARINT_MAX, "ffffffffffffffff7f"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint8_t want[9], got[9];
    size_t n = unhex(cases[i].hex, want, sizeof(want));
    assert_int_equal(lp2p_uvarint_len(cases[i].v), n);
    assert_int_equal(lp2p_uvarint_encode(cases[i].v, got, sizeof(got)), n);
    assert_memory_equal(got, want, n);
    uint64_t v = 1234;
    assert_int_equal(lp2p_uvarint_decode(want, n, &v), n);
    assert_int_equal(v, cases[i].v);
  }
}

static void max_value_and_one_past(void **state) {
  (void)state;
  uint8_t out[16];
  assert_int_equal(lp2p_uvarint_len(LP2P_UVARINT_MAX + 1), 0);
  assert_int_equal(lp2p_uvarint_encode(LP2P_UVARINT_MAX + 1, out, 16),
                   LP2P_ERR_TOO_LARGE);
  /* a 10th byte is never allowed */
  uint8_t ten[10] = {0xff, 0xff, 0xff, 0xff, 0xff,
                     0xff, 0xff, 0xff, 0xff, 0x01};
  uint64_t v;
  assert_int_equal(lp2p_uvarint_decode(ten, 10, &v), LP2P_ERR_OVERLONG);
  /* nine bytes with a continuation bit on the ninth */
  assert_int_equal(lp2p_uvarint_decode(ten, 9, &v), LP2P_ERR_OVERLONG);
}

static void rejects_overlong(void **state) {
  (void)state;
  uint64_t v;
  uint8_t one_padded[] = {0x81, 0x00};
  uint8_t zero_padded[] = {0x80, 0x80, 0x00};
  assert_int_equal(lp2p_uvarint_decode(one_padded, 2, &v), LP2P_ERR_OVERLONG);
  assert_int_equal(lp2p_uvarint_decode(zero_padded, 3, &v), LP2P_ERR_OVERLONG);
}

static void rejects_truncated(void **state) {
  (void)state;
  uint64_t v;
  uint8_t in[] = {0x80, 0x80};
  assert_int_equal(lp2p_uvarint_decode(in, 0, &v), LP2P_ERR_TRUNCATED);
  assert_int_equal(lp2p_uvarint_decode(in, 1, &v), LP2P_ERR_TRUNCATED);
  assert_int_equal(lp2p_uvarint_decode(in, 2, &v), LP2P_ERR_TRUNCATED);
}

static void trailing_bytes_are_left_to_the_caller(void **state) {
  (void)state;
  uint64_t v;
  uint8_t in[] = {0xac, 0x02, 0xff};
  assert_int_equal(lp2p_uvarint_decode(in, 3, &v), 2);
  assert_int_equal(v, 300);
}

static void encode_into_short_buffer(void **state) {
  (void)state;
  uint8_t out[2];
  assert_int_equal(lp2p_uvarint_encode(16384, out, 2),
                   LP2P_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(lp2p_uvarint_encode(16383, out, 2), 2);
}

static void round_trip_every_length(void **state) {
  (void)state;
  for (int bits = 0; bits < 63; bits++) {
    uint64_t values[3] = {(uint64_t)1 << bits, ((uint64_t)1 << bits) - 1,
                          ((uint64_t)1 << bits) + 1};
    for (int i = 0; i < 3; i++) {
      uint8_t out[9];
      uint64_t back;
      int n = lp2p_uvarint_encode(values[i], out, sizeof(out));
      assert_true(n > 0);
      assert_int_equal(lp2p_uvarint_decode(out, (size_t)n, &back), n);
      assert_int_equal(back, values[i]);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(encode_decode_spec_examples),
      cmocka_unit_test(max_value_and_one_past),
      cmocka_unit_test(rejects_overlong),
      cmocka_unit_test(rejects_truncated),
      cmocka_unit_test(trailing_bytes_are_left_to_the_caller),
      cmocka_unit_test(encode_into_short_buffer),
      cmocka_unit_test(round_trip_every_length),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
