/* Multiaddrs: text <-> bytes, validation, limits. */
#include <string.h>

#include "testutil.h"

static void check_pair(const char *text, const char *hex, const char *canon) {
  lp2p_buf b, t;
  uint8_t want[LP2P_MULTIADDR_MAX];
  char got[2 * LP2P_MULTIADDR_MAX + 1];
  lp2p_errdetail err;
  size_t n = unhex(hex, want, sizeof(want));
  lp2p_buf_init(&b, NULL);
  lp2p_buf_init(&t, NULL);
  assert_int_equal(lp2p_multiaddr_parse(text, &b, &err), 0);
  tohex(b.data, b.len, got);
  assert_string_equal(got, hex);
  assert_int_equal(b.len, n);
  assert_int_equal(lp2p_multiaddr_validate(want, n, &err), 0);
  assert_int_equal(lp2p_multiaddr_format(want, n, &t, &err), 0);
  assert_string_equal((char *)t.data, canon ? canon : text);
  lp2p_buf_free(&b);
  lp2p_buf_free(&t);
}

static void text_and_bytes_round_trip(void **state) {
  (void)state;
  /* the example of the multiaddr spec */
  check_pair("/ip4/127.0.0.1/udp/1234", "047f000001910204d2", NULL);
  check_pair("/ip4/127.0.0.1/tcp/4001", "047f000001060fa1", NULL);
  check_pair("/ip6/::1/tcp/4001", "2900000000000000000000000000000001060fa1",
             NULL);
  check_pair("/ip6/2001:db8::ff00:42:8329/udp/0",
             "2920010db8000000000000ff00004283299102"
             "0000",
             NULL);
  /* multicodec table: quic-v1 is 0x01cd (0x01cc is draft-29 "quic") */
  check_pair("/ip4/1.2.3.4/udp/4001/quic-v1", "040102030491020fa1cd03", NULL);
  check_pair("/dns4/example.com/tcp/443", "360b6578616d706c652e636f6d0601bb",
             NULL);
  check_pair("/dns6/a.b/tcp/1", "3703612e62060001", NULL);
  check_pair("/dns/localhost", "35096c6f63616c686f7374", NULL);
  check_pair("/dnsaddr/bootstrap.libp2p.io",
             "3813626f6f7473747261702e6c69627032702e696f", NULL);
  check_pair("/ip4/10.0.0.1/tcp/4001/p2p/"
             "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
             "040a000001060fa1a503221220"
             "9dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9",
             NULL);
  /* old name and CID form are accepted and printed canonically */
  check_pair(
      "/ipfs/bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe",
      "a503221220"
      "9dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9",
      "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
  check_pair("/ip4/1.2.3.4/tcp/80/", "0401020304060050", "/ip4/1.2.3.4/tcp/80");
  check_pair("/tcp/0080", "060050", "/tcp/80");
}

static void expect_text_error(const char *text, int want, const char *detail) {
  lp2p_buf b;
  lp2p_errdetail err = {{0}};
  lp2p_buf_init(&b, NULL);
  assert_int_equal(lp2p_buf_append(&b, "x", 1), 0);
  assert_int_equal(lp2p_multiaddr_parse(text, &b, &err), want);
  assert_int_equal(b.len, 1); /* nothing half-written is left */
  if (detail) {
    assert_non_null(strstr(err.msg, detail));
  }
  lp2p_buf_free(&b);
}

static void text_errors(void **state) {
  (void)state;
  expect_text_error("/foo/1", LP2P_ERR_UNKNOWN_PROTOCOL,
                    "unknown multiaddr protocol 'foo'");
  expect_text_error("/ip4/1.2.3.4/tcp/1/ws", LP2P_ERR_UNKNOWN_PROTOCOL, "'ws'");
  expect_text_error("", LP2P_ERR_MALFORMED, NULL);
  expect_text_error("/", LP2P_ERR_MALFORMED, NULL);
  expect_text_error("ip4/1.2.3.4", LP2P_ERR_MALFORMED, NULL);
  expect_text_error("//ip4/1.2.3.4", LP2P_ERR_MALFORMED, "empty protocol");
  expect_text_error("/ip4", LP2P_ERR_MALFORMED, "/ip4 needs a value");
  expect_text_error("/ip4/", LP2P_ERR_MALFORMED, "/ip4 needs a value");
  expect_text_error("/ip4/256.0.0.1", LP2P_ERR_MALFORMED, "invalid /ip4");
  expect_text_error("/ip4/1.2.3", LP2P_ERR_MALFORMED, NULL);
  expect_text_error("/ip4/1.2.3.4.5.6.7.8.9", LP2P_ERR_MALFORMED, NULL);
  expect_text_error("/ip6/::g", LP2P_ERR_MALFORMED, NULL);
  expect_text_error("/tcp/65536", LP2P_ERR_MALFORMED, "invalid /tcp");
  expect_text_error("/tcp/-1", LP2P_ERR_MALFORMED, NULL);
  expect_text_error("/tcp/123456", LP2P_ERR_MALFORMED, NULL);
  expect_text_error("/udp/1a", LP2P_ERR_MALFORMED, NULL);
  expect_text_error("/p2p/QmNotAPeerId", LP2P_ERR_MALFORMED, "invalid /p2p");
  expect_text_error("/ip4/1.2.3.4//tcp/1", LP2P_ERR_MALFORMED, NULL);
}

static void limits_one_past(void **state) {
  (void)state;
  char text[4 * LP2P_MULTIADDR_MAX + 16];
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  /* a DNS name of 255 bytes is accepted, 256 is not */
  strcpy(text, "/dns/");
  memset(text + 5, 'a', 255);
  text[260] = 0;
  assert_int_equal(lp2p_multiaddr_parse(text, &b, NULL), 0);
  assert_int_equal(b.len, 1 + 2 + 255);
  text[260] = 'a';
  text[261] = 0;
  expect_text_error(text, LP2P_ERR_MALFORMED, "invalid /dns");
  /* LP2P_MULTIADDR_MAX bytes exactly, then one past: /tcp/N is 3 bytes,
   * /dns/xx is 4 */
  size_t pos = 0;
  for (int i = 0; i < 340; i++) {
    pos += (size_t)sprintf(text + pos, "/tcp/1");
  }
  pos += (size_t)sprintf(text + pos, "/dns/xx");
  lp2p_buf_truncate(&b, 0);
  assert_int_equal(lp2p_multiaddr_parse(text, &b, NULL), 0);
  assert_int_equal(b.len, LP2P_MULTIADDR_MAX);
  assert_int_equal(lp2p_multiaddr_validate(b.data, b.len, NULL), 0);
  sprintf(text + pos, "/quic-v1");
  expect_text_error(text, LP2P_ERR_TOO_LARGE, "longer than");
  uint8_t bytes[LP2P_MULTIADDR_MAX + 2];
  memcpy(bytes, b.data, b.len);
  bytes[LP2P_MULTIADDR_MAX] = 0xcc;
  bytes[LP2P_MULTIADDR_MAX + 1] = 0x03;
  assert_int_equal(lp2p_multiaddr_validate(bytes, LP2P_MULTIADDR_MAX + 2, NULL),
                   LP2P_ERR_TOO_LARGE);
  /* text longer than 4 KiB is refused before parsing */
  memset(text, '/', sizeof(text) - 1);
  text[sizeof(text) - 1] = 0;
  expect_text_error(text, LP2P_ERR_TOO_LARGE, "too long");
  lp2p_buf_free(&b);
}

static void expect_bytes_error(const char *hex, int want, const char *detail) {
  uint8_t bytes[512];
  lp2p_errdetail err = {{0}};
  lp2p_buf t;
  size_t n = unhex(hex, bytes, sizeof(bytes));
  assert_int_equal(lp2p_multiaddr_validate(bytes, n, &err), want);
  if (detail) {
    assert_non_null(strstr(err.msg, detail));
  }
  lp2p_buf_init(&t, NULL);
  assert_int_equal(lp2p_multiaddr_format(bytes, n, &t, NULL), want);
  assert_int_equal(t.len, 0);
  lp2p_buf_free(&t);
}

static void bytes_errors(void **state) {
  (void)state;
  expect_bytes_error("", LP2P_ERR_MALFORMED, "empty");
  expect_bytes_error("b424", LP2P_ERR_UNKNOWN_PROTOCOL,
                     "unknown multiaddr protocol code 0x1234");
  expect_bytes_error("047f0000", LP2P_ERR_TRUNCATED, "/ip4 value");
  expect_bytes_error("047f000001060f", LP2P_ERR_TRUNCATED, "/tcp value");
  expect_bytes_error("047f00000106", LP2P_ERR_TRUNCATED, NULL);
  expect_bytes_error("8400", LP2P_ERR_OVERLONG, "protocol code");
  expect_bytes_error("80", LP2P_ERR_TRUNCATED, NULL);
  expect_bytes_error("35", LP2P_ERR_TRUNCATED, "length of /dns");
  expect_bytes_error("358000", LP2P_ERR_OVERLONG, NULL);
  expect_bytes_error("35036162637f", LP2P_ERR_UNKNOWN_PROTOCOL, "0x7f");
  expect_bytes_error("3503616263ff", LP2P_ERR_TRUNCATED, NULL);
  expect_bytes_error("350461", LP2P_ERR_TRUNCATED, NULL);
  expect_bytes_error("3500", LP2P_ERR_MALFORMED, "invalid /dns");
  expect_bytes_error("3503612f62", LP2P_ERR_MALFORMED, "invalid /dns");
  expect_bytes_error("3503610062", LP2P_ERR_MALFORMED, NULL);
  expect_bytes_error("a50300", LP2P_ERR_MALFORMED, "invalid /p2p");
  expect_bytes_error("a503021220", LP2P_ERR_MALFORMED, NULL);
}

static void walks_components(void **state) {
  (void)state;
  uint8_t ma[64];
  size_t n = unhex("047f000001060fa1cd03", ma, sizeof(ma)), off = 0;
  lp2p_ma_component c;
  assert_int_equal(lp2p_multiaddr_next(ma, n, &off, &c, NULL), 1);
  assert_int_equal(c.code, LP2P_MA_IP4);
  assert_string_equal(c.name, "ip4");
  assert_int_equal(c.value_len, 4);
  assert_ptr_equal(c.value, ma + 1);
  assert_int_equal(lp2p_multiaddr_next(ma, n, &off, &c, NULL), 1);
  assert_int_equal(c.code, LP2P_MA_TCP);
  assert_int_equal(c.value[0] << 8 | c.value[1], 4001);
  assert_int_equal(lp2p_multiaddr_next(ma, n, &off, &c, NULL), 1);
  assert_int_equal(c.code, LP2P_MA_QUIC_V1);
  assert_null(c.value);
  assert_int_equal(lp2p_multiaddr_next(ma, n, &off, &c, NULL), 0);
}

static int parse_and_format(const lp2p_mem *mem, void *arg) {
  (void)arg;
  const char *text = "/ip4/127.0.0.1/tcp/4001/p2p/"
                     "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
  lp2p_buf b, t;
  lp2p_buf_init(&b, mem);
  lp2p_buf_init(&t, mem);
  int rv = lp2p_multiaddr_parse(text, &b, NULL);
  if (rv == 0) {
    rv = lp2p_multiaddr_format(b.data, b.len, &t, NULL);
  }
  if (rv == 0) {
    assert_string_equal((char *)t.data, text);
  }
  lp2p_buf_free(&b);
  lp2p_buf_free(&t);
  return rv;
}

static void under_failing_allocator(void **state) {
  (void)state;
  failmem_sweep(parse_and_format, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(text_and_bytes_round_trip),
      cmocka_unit_test(text_errors),
      cmocka_unit_test(limits_one_past),
      cmocka_unit_test(bytes_errors),
      cmocka_unit_test(walks_components),
      cmocka_unit_test(under_failing_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
