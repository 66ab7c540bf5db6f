/* multihash, multibase and peer id text and byte forms. */
#include <string.h>

#include "testutil.h"

static void multihash_identity_and_sha256(void **state) {
  (void)state;
  uint8_t out[64];
  char hex[129];
  int n = lp2p_multihash_encode(LP2P_MH_IDENTITY, (const uint8_t *)"abc", 3,
                                out, sizeof(out));
  assert_int_equal(n, 5);
  tohex(out, 5, hex);
  assert_string_equal(hex, "0003616263");
  n = lp2p_multihash_encode(LP2P_MH_SHA2_256, (const uint8_t *)"abc", 3, out,
                            sizeof(out));
  assert_int_equal(n, 34);
  tohex(out, 34, hex);
  /* SHA-256("abc") from FIPS 180-2 */
  assert_string_equal(hex, "1220ba7816bf8f01cfea414140de5dae2223b00361a396177a"
                           "9cb410ff61f20015ad");
  lp2p_multihash mh;
  assert_int_equal(lp2p_multihash_decode(out, 34, &mh), 34);
  assert_int_equal(mh.code, LP2P_MH_SHA2_256);
  assert_int_equal(mh.digest_len, 32);
  assert_ptr_equal(mh.digest, out + 2);
  assert_int_equal(lp2p_multihash_encode(0x13, out, 1, out, 64),
                   LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_multihash_encode(LP2P_MH_SHA2_256, out, 1, out, 33),
                   LP2P_ERR_BUFFER_TOO_SMALL);
}

static void multihash_decode_errors(void **state) {
  (void)state;
  lp2p_multihash mh;
  uint8_t buf[200] = {0};
  /* truncated: header, then digest */
  assert_int_equal(lp2p_multihash_decode(buf, 0, &mh), LP2P_ERR_TRUNCATED);
  buf[0] = 0x12;
  assert_int_equal(lp2p_multihash_decode(buf, 1, &mh), LP2P_ERR_TRUNCATED);
  buf[1] = 0x20;
  assert_int_equal(lp2p_multihash_decode(buf, 33, &mh), LP2P_ERR_TRUNCATED);
  /* a sha2-256 digest must be 32 bytes */
  buf[1] = 0x10;
  assert_int_equal(lp2p_multihash_decode(buf, 40, &mh), LP2P_ERR_MALFORMED);
  /* overlong code */
  buf[0] = 0x92;
  buf[1] = 0x00;
  assert_int_equal(lp2p_multihash_decode(buf, 40, &mh), LP2P_ERR_OVERLONG);
  /* maximum digest and one past */
  memset(buf, 0, sizeof(buf));
  buf[0] = 0x00;
  buf[1] = 0x80;
  buf[2] = 0x01; /* 128 */
  assert_int_equal(lp2p_multihash_decode(buf, 3 + 128, &mh), 3 + 128);
  buf[1] = 0x81; /* 129 */
  assert_int_equal(lp2p_multihash_decode(buf, 3 + 129, &mh),
                   LP2P_ERR_TOO_LARGE);
  /* unknown codes decode: the caller decides */
  buf[0] = 0x13;
  buf[1] = 0x02;
  assert_int_equal(lp2p_multihash_decode(buf, 4, &mh), 4);
}

static void base58_vectors(void **state) {
  (void)state;
  /* from the base58 draft (draft-msporny-base58) */
  static const struct {
    const char *hex, *text;
  } cases[] = {
      {"48656c6c6f20576f726c6421", "2NEpo7TZRRrLZSi2U"},
      {"54686520717569636b2062726f776e20666f78206a756d7073206f76657220746865"
       "206c617a7920646f672e",
       "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"},
      {"0000287fb4cd", "11233QC4"},
      {"", ""},
      {"00", "1"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint8_t bytes[128], back[128];
    char text[256];
    size_t n = unhex(cases[i].hex, bytes, sizeof(bytes));
    int m = lp2p_base58_encode(bytes, n, text, sizeof(text));
    assert_int_equal(m, strlen(cases[i].text));
    assert_string_equal(text, cases[i].text);
    assert_int_equal(lp2p_base58_decode(text, (size_t)m, back, sizeof(back)),
                     n);
    assert_memory_equal(back, bytes, n);
  }
}

static void base58_errors_and_limits(void **state) {
  (void)state;
  uint8_t out[600];
  char text[LP2P_BASE58_MAX_TEXT + 2];
  assert_int_equal(lp2p_base58_decode("abc0", 4, out, sizeof(out)),
                   LP2P_ERR_MALFORMED); /* 0 is not in the alphabet */
  assert_int_equal(lp2p_base58_decode("Il", 2, out, sizeof(out)),
                   LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_base58_decode("a\0b", 3, out, sizeof(out)),
                   LP2P_ERR_MALFORMED);
  memset(text, 'z', sizeof(text));
  assert_true(lp2p_base58_decode(text, LP2P_BASE58_MAX_TEXT, out, sizeof(out)) >
              0);
  assert_int_equal(
      lp2p_base58_decode(text, LP2P_BASE58_MAX_TEXT + 1, out, sizeof(out)),
      LP2P_ERR_TOO_LARGE);
  /* whatever decodes encodes back: 512 zero bytes, and one past */
  static uint8_t zeros[LP2P_BASE58_MAX_TEXT + 1];
  static char text58[LP2P_BASE58_MAX_TEXT + 2];
  assert_int_equal(
      lp2p_base58_encode(zeros, LP2P_BASE58_MAX_TEXT, text58, sizeof(text58)),
      LP2P_BASE58_MAX_TEXT);
  assert_int_equal(lp2p_base58_encode(zeros, LP2P_BASE58_MAX_TEXT + 1, text58,
                                      sizeof(text58)),
                   LP2P_ERR_TOO_LARGE);
  assert_int_equal(lp2p_base58_decode("zz", 2, out, 1),
                   LP2P_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(lp2p_base58_encode(out, 4, text, 2),
                   LP2P_ERR_BUFFER_TOO_SMALL);
}

static void base32_rfc4648_vectors(void **state) {
  (void)state;
  /* RFC 4648 section 10, lower case without padding */
  static const char *plain[] = {"",     "f",     "fo",    "foo",
                                "foob", "fooba", "foobar"};
  static const char *coded[] = {"",        "my",       "mzxq",      "mzxw6",
                                "mzxw6yq", "mzxw6ytb", "mzxw6ytboi"};
  for (size_t i = 0; i < 7; i++) {
    char text[32];
    uint8_t back[16];
    size_t n = strlen(plain[i]);
    assert_int_equal(
        lp2p_base32_encode((const uint8_t *)plain[i], n, text, sizeof(text)),
        strlen(coded[i]));
    assert_string_equal(text, coded[i]);
    assert_int_equal(
        lp2p_base32_decode(coded[i], strlen(coded[i]), back, sizeof(back)), n);
    assert_memory_equal(back, plain[i], n);
  }
}

static void base32_rejects_bad_input(void **state) {
  (void)state;
  uint8_t out[16];
  assert_int_equal(lp2p_base32_decode("MZXQ", 4, out, 16), LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_base32_decode("mzx1", 4, out, 16), LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_base32_decode("m", 1, out, 16), LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_base32_decode("mzx", 3, out, 16), LP2P_ERR_MALFORMED);
  /* "mz" decodes 'f' only with zero padding bits: "mz" has them set */
  assert_int_equal(lp2p_base32_decode("mz", 2, out, 16), LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_base32_decode("mzxw6ytboi", 10, out, 5),
                   LP2P_ERR_BUFFER_TOO_SMALL);
}

static void multibase_prefixes(void **state) {
  (void)state;
  char text[32];
  uint8_t back[16];
  assert_int_equal(
      lp2p_multibase_encode('b', (const uint8_t *)"foo", 3, text, 32), 6);
  assert_string_equal(text, "bmzxw6");
  assert_int_equal(
      lp2p_multibase_encode('z', (const uint8_t *)"foo", 3, text, 32), 5);
  assert_string_equal(text, "zbQbp");
  assert_int_equal(lp2p_multibase_decode("zbQbp", 5, back, 16), 3);
  assert_int_equal(lp2p_multibase_decode("bmzxw6", 6, back, 16), 3);
  assert_memory_equal(back, "foo", 3);
  assert_int_equal(lp2p_multibase_decode("fabcd", 5, back, 16),
                   LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_multibase_decode("", 0, back, 16), LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_multibase_encode('f', back, 1, text, 32),
                   LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_multibase_encode('b', back, 1, text, 0),
                   LP2P_ERR_BUFFER_TOO_SMALL);
}

/* The examples of libp2p/specs peer-ids/peer-ids.md. */
static void peer_id_spec_examples(void **state) {
  (void)state;
  lp2p_peer_id a, b;
  char text[LP2P_PEER_ID_TEXT_MAX];
  const char *cid =
      "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";
  const char *qm = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
  const char *ed = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
  assert_int_equal(lp2p_peer_id_parse(cid, strlen(cid), &a), 0);
  assert_int_equal(a.len, 34);
  assert_int_equal(a.bytes[0], 0x12);
  assert_int_equal(lp2p_peer_id_to_cid(&a, text, sizeof(text)), strlen(cid));
  assert_string_equal(text, cid);
  assert_int_equal(lp2p_peer_id_parse(qm, strlen(qm), &b), 0);
  assert_int_equal(lp2p_peer_id_to_base58(&b, text, sizeof(text)), strlen(qm));
  assert_string_equal(text, qm);
  assert_int_equal(lp2p_peer_id_parse(ed, strlen(ed), &a), 0);
  assert_int_equal(a.len, 38); /* identity of a 36-byte Ed25519 key */
  assert_int_equal(a.bytes[0], 0x00);
  assert_int_equal(a.bytes[1], 36);
  lp2p_peer_id_to_base58(&a, text, sizeof(text));
  assert_string_equal(text, ed);
  /* the CID form parses back to the same id */
  assert_true(lp2p_peer_id_to_cid(&a, text, sizeof(text)) > 0);
  assert_int_equal(lp2p_peer_id_parse(text, strlen(text), &b), 0);
  assert_true(lp2p_peer_id_equal(&a, &b));
  assert_false(lp2p_peer_id_equal(&a, &(lp2p_peer_id){0}));
}

static void peer_id_rejects(void **state) {
  (void)state;
  lp2p_peer_id id;
  uint8_t raw[64] = {0};
  char text[200];
  assert_int_equal(lp2p_peer_id_parse("", 0, &id), LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_peer_id_parse("QmO", 3, &id), LP2P_ERR_MALFORMED);
  /* a CID with another codec (dag-pb 0x70) */
  raw[0] = 1;
  raw[1] = 0x70;
  raw[2] = 0x12;
  raw[3] = 0x20;
  lp2p_multibase_encode('b', raw, 36, text, sizeof(text));
  assert_int_equal(lp2p_peer_id_parse(text, strlen(text), &id),
                   LP2P_ERR_WRONG_TYPE);
  /* CIDv0 marker in a multibase string */
  raw[0] = 0;
  lp2p_multibase_encode('b', raw, 36, text, sizeof(text));
  assert_int_equal(lp2p_peer_id_parse(text, strlen(text), &id),
                   LP2P_ERR_UNSUPPORTED);
  /* bytes: trailing, truncated, other hash, identity max and one past */
  raw[0] = 0x12;
  raw[1] = 0x20;
  assert_int_equal(lp2p_peer_id_from_bytes(raw, 35, &id), LP2P_ERR_TRAILING);
  assert_int_equal(lp2p_peer_id_from_bytes(raw, 33, &id), LP2P_ERR_TRUNCATED);
  assert_int_equal(lp2p_peer_id_from_bytes(raw, 0, &id), LP2P_ERR_TRUNCATED);
  raw[0] = 0x13; /* sha2-512 */
  raw[1] = 0x40;
  assert_int_equal(lp2p_peer_id_from_bytes(raw, 66, &id), LP2P_ERR_UNSUPPORTED);
  raw[1] = 0x20;
  assert_int_equal(lp2p_peer_id_from_bytes(raw, 34, &id), LP2P_ERR_UNSUPPORTED);
  raw[0] = 0x00;
  raw[1] = 42;
  assert_int_equal(lp2p_peer_id_from_bytes(raw, 44, &id), 0);
  assert_int_equal(id.len, 44);
  raw[1] = 43;
  assert_int_equal(lp2p_peer_id_from_bytes(raw, 45, &id), LP2P_ERR_TOO_LARGE);
  raw[0] = 0x80;
  raw[1] = 0x00;
  assert_int_equal(lp2p_peer_id_from_bytes(raw, 34, &id), LP2P_ERR_OVERLONG);
  /* base58 text of an id longer than any peer id */
  memset(raw, 1, sizeof(raw));
  raw[0] = 0;
  lp2p_base58_encode(raw, 60, text, sizeof(text));
  assert_int_equal(lp2p_peer_id_parse(text, strlen(text), &id),
                   LP2P_ERR_TOO_LARGE);
}

static void peer_id_text_buffers(void **state) {
  (void)state;
  lp2p_peer_id id;
  char text[LP2P_PEER_ID_TEXT_MAX];
  id.len = 44;
  memset(id.bytes, 0xff, sizeof(id.bytes));
  id.bytes[0] = 0;
  id.bytes[1] = 42;
  /* the longest id fits LP2P_PEER_ID_TEXT_MAX in both forms */
  assert_true(lp2p_peer_id_to_base58(&id, text, sizeof(text)) > 0);
  assert_true(lp2p_peer_id_to_cid(&id, text, sizeof(text)) > 0);
  assert_int_equal(lp2p_peer_id_to_cid(&id, text, 10),
                   LP2P_ERR_BUFFER_TOO_SMALL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(multihash_identity_and_sha256),
      cmocka_unit_test(multihash_decode_errors),
      cmocka_unit_test(base58_vectors),
      cmocka_unit_test(base58_errors_and_limits),
      cmocka_unit_test(base32_rfc4648_vectors),
      cmocka_unit_test(base32_rejects_bad_input),
      cmocka_unit_test(multibase_prefixes),
      cmocka_unit_test(peer_id_spec_examples),
      cmocka_unit_test(peer_id_rejects),
      cmocka_unit_test(peer_id_text_buffers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
