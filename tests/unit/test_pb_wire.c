/* The protobuf wire reader and writers every lp2p protobuf is built on. */
#include "pb/wire.h"
#include "testutil.h"

static void reads_every_wire_type(void **state) {
  (void)state;
  /* 1: varint 150; 2: bytes "ab"; 3: fixed64 1; 4: fixed32 2 */
  uint8_t in[] = {0x08, 0x96, 0x01, 0x12, 0x02, 'a',  'b', 0x19, 1, 0, 0,
                  0,    0,    0,    0,    0,    0x25, 2,   0,    0, 0};
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&r, in, sizeof(in));
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.num, 1);
  assert_int_equal(f.wire_type, LP2P_PB_VARINT);
  assert_int_equal(f.value, 150);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.num, 2);
  assert_int_equal(f.len, 2);
  assert_ptr_equal(f.data, in + 5);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.wire_type, LP2P_PB_FIXED64);
  assert_int_equal(f.value, 1);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.wire_type, LP2P_PB_FIXED32);
  assert_int_equal(f.value, 2);
  assert_int_equal(lp2p_pb_next(&r, &f), 0);
  /* every truncation is an error (or a clean end between fields) */
  for (size_t i = 0; i < sizeof(in); i++) {
    int rv;
    lp2p_pb_reader_init(&r, in, i);
    while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    }
    int boundary = i == 0 || i == 3 || i == 7 || i == 16;
    assert_int_equal(rv, boundary ? 0 : LP2P_ERR_TRUNCATED);
  }
}

static void rejects_bad_tags_and_varints(void **state) {
  (void)state;
  lp2p_pb_reader r;
  lp2p_pb_field f;
  uint8_t group[] = {0x0b}; /* field 1, start group */
  uint8_t type7[] = {0x0f}; /* field 1, wire type 7 */
  uint8_t field0[] = {0x02, 0x00};
  uint8_t ten[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                   0xff, 0xff, 0xff, 0xff, 0x01}; /* UINT64_MAX */
  uint8_t eleven[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  uint8_t tenth_too_big[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                             0xff, 0xff, 0xff, 0xff, 0x02};
  uint8_t len_past_end[] = {0x0a, 0x05, 'a'};
  uint8_t huge_len[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff,
                        0xff, 0xff, 0xff, 0xff, 0x01};
  struct {
    uint8_t *in;
    size_t len;
    int want;
  } cases[] = {
      {group, sizeof(group), LP2P_ERR_MALFORMED},
      {type7, sizeof(type7), LP2P_ERR_MALFORMED},
      {field0, sizeof(field0), LP2P_ERR_MALFORMED},
      {ten, sizeof(ten), 1},
      {eleven, sizeof(eleven), LP2P_ERR_OVERLONG},
      {tenth_too_big, sizeof(tenth_too_big), LP2P_ERR_OVERLONG},
      {len_past_end, sizeof(len_past_end), LP2P_ERR_TRUNCATED},
      {huge_len, sizeof(huge_len), LP2P_ERR_TRUNCATED},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    lp2p_pb_reader_init(&r, cases[i].in, cases[i].len);
    assert_int_equal(lp2p_pb_next(&r, &f), cases[i].want);
  }
  lp2p_pb_reader_init(&r, ten, sizeof(ten));
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.value, UINT64_MAX);
}

static void writers_round_trip(void **state) {
  (void)state;
  lp2p_buf b;
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_buf_init(&b, NULL);
  assert_int_equal(lp2p_pb_put_varint(&b, 1, UINT64_MAX), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 536870911, "xyz", 3), 0);
  assert_int_equal(lp2p_pb_put_len_header(&b, 3, 0), 0);
  assert_int_equal(b.len, 1 + 10 + 5 + 1 + 3 + 2);
  assert_int_equal(lp2p_pb_len_field_size(536870911, 3), 5 + 1 + 3);
  lp2p_pb_reader_init(&r, b.data, b.len);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.value, UINT64_MAX);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.num, 536870911);
  assert_memory_equal(f.data, "xyz", 3);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.num, 3);
  assert_int_equal(f.len, 0);
  assert_int_equal(lp2p_pb_next(&r, &f), 0);
  lp2p_buf_free(&b);
}

static int put_fields(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_buf b;
  uint8_t body[300] = {0};
  int rv = 0;
  lp2p_buf_init(&b, mem);
  for (int i = 0; rv == 0 && i < 8; i++) {
    rv = lp2p_pb_put_bytes(&b, 2, body, sizeof(body));
  }
  lp2p_buf_free(&b);
  return rv;
}

static void writers_under_failing_allocator(void **state) {
  (void)state;
  failmem_sweep(put_fields, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reads_every_wire_type),
      cmocka_unit_test(rejects_bad_tags_and_varints),
      cmocka_unit_test(writers_round_trip),
      cmocka_unit_test(writers_under_failing_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
