/* Signed envelopes and peer records. */
#include "lp2p/record.h"
#include "testutil.h"

static void key_of(lp2p_key_type type, uint8_t seed_byte, lp2p_privkey *key,
                   lp2p_peer_id *id) {
  uint8_t seed[32] = {seed_byte, 1, 2, 3};
  lp2p_pubkey pub;
  assert_int_equal(lp2p_privkey_from_seed(type, seed, key), 0);
  assert_int_equal(lp2p_privkey_public(key, &pub), 0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, id), 0);
}

static void add_addr(lp2p_peer_record *rec, lp2p_buf *store, const char *t) {
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  assert_int_equal(lp2p_multiaddr_parse(t, &b, NULL), 0);
  /* keep the bytes alive in `store` (one buffer per address) */
  *store = b;
  rec->addrs[rec->naddrs].bytes = store->data;
  rec->addrs[rec->naddrs].len = store->len;
  rec->naddrs++;
}

static void envelope_round_trip(void **state) {
  (void)state;
  lp2p_key_type types[2] = {LP2P_KEY_ED25519, LP2P_KEY_SECP256K1};
  for (int t = 0; t < 2; t++) {
    lp2p_privkey key;
    lp2p_peer_id id;
    lp2p_envelope env;
    lp2p_buf out;
    const uint8_t type[] = {0x12, 0x34};
    key_of(types[t], 9, &key, &id);
    lp2p_buf_init(&out, NULL);
    assert_int_equal(lp2p_envelope_seal(&key, "my-domain", type, 2,
                                        (const uint8_t *)"payload", 7, &out),
                     0);
    assert_int_equal(
        lp2p_envelope_open(out.data, out.len, "my-domain", type, 2, &env), 0);
    assert_int_equal(env.payload_len, 7);
    assert_memory_equal(env.payload, "payload", 7);
    assert_int_equal(lp2p_peer_id_check_pubkey(&id, &env.pubkey), 0);
    /* another domain or payload type does not open it */
    assert_int_equal(
        lp2p_envelope_open(out.data, out.len, "my-domaim", type, 2, &env),
        LP2P_ERR_BAD_SIGNATURE);
    assert_int_equal(
        lp2p_envelope_open(out.data, out.len, "my-domain", type, 1, &env),
        LP2P_ERR_WRONG_TYPE);
    /* any flipped byte of the encoding is caught */
    for (size_t i = 0; i < out.len; i++) {
      out.data[i] ^= 0x01;
      assert_true(lp2p_envelope_open(out.data, out.len, "my-domain", type, 2,
                                     &env) < 0);
      out.data[i] ^= 0x01;
    }
    /* every truncation is refused */
    for (size_t i = 0; i < out.len; i++) {
      assert_true(lp2p_envelope_open(out.data, i, "my-domain", type, 2, &env) <
                  0);
    }
    lp2p_buf_free(&out);
  }
}

static void envelope_seal_arguments(void **state) {
  (void)state;
  lp2p_privkey key;
  lp2p_peer_id id;
  lp2p_buf out;
  key_of(LP2P_KEY_ED25519, 1, &key, &id);
  lp2p_buf_init(&out, NULL);
  assert_int_equal(lp2p_envelope_seal(&key, "", (const uint8_t *)"t", 1,
                                      (const uint8_t *)"p", 1, &out),
                   LP2P_ERR_INVALID_ARG);
  assert_int_equal(lp2p_envelope_seal(&key, "d", (const uint8_t *)"t", 0,
                                      (const uint8_t *)"p", 1, &out),
                   LP2P_ERR_INVALID_ARG);
  assert_int_equal(out.len, 0);
  /* an empty payload is allowed */
  assert_int_equal(
      lp2p_envelope_seal(&key, "d", (const uint8_t *)"t", 1, NULL, 0, &out), 0);
  lp2p_envelope env;
  assert_int_equal(
      lp2p_envelope_open(out.data, out.len, "d", (const uint8_t *)"t", 1, &env),
      0);
  assert_int_equal(env.payload_len, 0);
  lp2p_buf_free(&out);
}

static void envelope_decode_errors(void **state) {
  (void)state;
  lp2p_envelope env;
  lp2p_privkey key;
  lp2p_peer_id id;
  lp2p_buf out;
  key_of(LP2P_KEY_ED25519, 1, &key, &id);
  lp2p_buf_init(&out, NULL);
  /* missing public key, payload type, signature */
  uint8_t no_key[] = {0x12, 0x01, 0x01, 0x1a, 0x00, 0x2a, 0x01, 0x01};
  assert_int_equal(lp2p_envelope_decode(no_key, sizeof(no_key), &env),
                   LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_envelope_seal(&key, "d", (const uint8_t *)"t", 1,
                                      (const uint8_t *)"p", 1, &out),
                   0);
  /* the signature is the last field: drop it */
  size_t without_sig = out.len - 2 - 64;
  assert_int_equal(lp2p_envelope_decode(out.data, without_sig, &env),
                   LP2P_ERR_MALFORMED);
  /* payload (field 3) sent as a varint */
  uint8_t wrong[] = {0x18, 0x01};
  assert_int_equal(lp2p_envelope_decode(wrong, 2, &env), LP2P_ERR_WRONG_TYPE);
  /* an invalid embedded key */
  uint8_t bad_key[] = {0x0a, 0x04, 0x08, 0x01, 0x12, 0x00};
  assert_int_equal(lp2p_envelope_decode(bad_key, sizeof(bad_key), &env),
                   LP2P_ERR_BAD_KEY);
  /* unknown fields are skipped */
  assert_int_equal(lp2p_buf_append(&out, "\x20\x05", 2), 0);
  assert_int_equal(lp2p_envelope_decode(out.data, out.len, &env), 0);
  lp2p_buf_free(&out);
}

/* Seals an envelope of exactly `size` bytes. */
static void seal_sized(const lp2p_privkey *key, size_t size, lp2p_buf *out) {
  static uint8_t payload[LP2P_ENVELOPE_MAX];
  size_t plen = size - 200;
  for (int tries = 0; tries < 4; tries++) {
    lp2p_buf_truncate(out, 0);
    assert_int_equal(lp2p_envelope_seal(key, "d", (const uint8_t *)"t", 1,
                                        payload, plen, out),
                     0);
    if (out->len == size) {
      return;
    }
    plen = plen + size - out->len;
  }
  fail_msg("could not size the envelope");
}

static void envelope_size_limit(void **state) {
  (void)state;
  lp2p_privkey key;
  lp2p_peer_id id;
  lp2p_envelope env;
  lp2p_buf out;
  key_of(LP2P_KEY_ED25519, 1, &key, &id);
  lp2p_buf_init(&out, NULL);
  seal_sized(&key, LP2P_ENVELOPE_MAX, &out);
  assert_int_equal(
      lp2p_envelope_open(out.data, out.len, "d", (const uint8_t *)"t", 1, &env),
      0);
  seal_sized(&key, LP2P_ENVELOPE_MAX + 1, &out);
  assert_int_equal(
      lp2p_envelope_open(out.data, out.len, "d", (const uint8_t *)"t", 1, &env),
      LP2P_ERR_TOO_LARGE);
  /* the domain is bounded too */
  char domain[LP2P_ENVELOPE_DOMAIN_MAX + 2];
  memset(domain, 'd', sizeof(domain) - 1);
  domain[sizeof(domain) - 1] = 0;
  seal_sized(&key, 1000, &out);
  assert_int_equal(lp2p_envelope_decode(out.data, out.len, &env), 0);
  assert_int_equal(lp2p_envelope_verify(&env, domain), LP2P_ERR_TOO_LARGE);
  lp2p_buf_free(&out);
}

static void peer_record_round_trip(void **state) {
  (void)state;
  lp2p_key_type types[2] = {LP2P_KEY_ED25519, LP2P_KEY_SECP256K1};
  for (int t = 0; t < 2; t++) {
    lp2p_privkey key;
    lp2p_peer_record rec = {0}, back;
    lp2p_envelope env;
    lp2p_buf addrs[3], out;
    key_of(types[t], 3, &key, &rec.peer_id);
    rec.seq = 1700000000123456789ull;
    add_addr(&rec, &addrs[0], "/ip4/127.0.0.1/tcp/4001");
    add_addr(&rec, &addrs[1], "/ip6/::1/tcp/4001");
    add_addr(&rec, &addrs[2], "/dns4/example.com/udp/443/quic-v1");
    lp2p_buf_init(&out, NULL);
    assert_int_equal(lp2p_peer_record_seal(&key, &rec, &out), 0);
    assert_int_equal(lp2p_peer_record_open(out.data, out.len, &back, &env), 0);
    assert_true(lp2p_peer_id_equal(&back.peer_id, &rec.peer_id));
    assert_int_equal(back.seq, rec.seq);
    assert_int_equal(back.naddrs, 3);
    assert_int_equal(back.addrs_skipped, 0);
    for (int i = 0; i < 3; i++) {
      assert_int_equal(back.addrs[i].len, rec.addrs[i].len);
      assert_memory_equal(back.addrs[i].bytes, rec.addrs[i].bytes,
                          rec.addrs[i].len);
      lp2p_buf_free(&addrs[i]);
    }
    lp2p_buf_free(&out);
  }
}

static void peer_record_key_must_match(void **state) {
  (void)state;
  lp2p_privkey key, other;
  lp2p_peer_id other_id;
  lp2p_peer_record rec = {0}, back;
  lp2p_envelope env;
  lp2p_buf out, payload;
  key_of(LP2P_KEY_ED25519, 1, &key, &rec.peer_id);
  key_of(LP2P_KEY_ED25519, 2, &other, &other_id);
  lp2p_buf_init(&out, NULL);
  lp2p_buf_init(&payload, NULL);
  assert_int_equal(lp2p_peer_record_seal(&other, &rec, &out),
                   LP2P_ERR_PEER_ID_MISMATCH);
  /* a record of one peer signed by another is refused when opened */
  assert_int_equal(lp2p_peer_record_encode(&rec, &payload), 0);
  assert_int_equal(lp2p_envelope_seal(&other, LP2P_PEER_RECORD_DOMAIN,
                                      lp2p_peer_record_payload_type, 2,
                                      payload.data, payload.len, &out),
                   0);
  assert_int_equal(lp2p_peer_record_open(out.data, out.len, &back, &env),
                   LP2P_ERR_PEER_ID_MISMATCH);
  /* the right signer but the wrong domain */
  lp2p_buf_truncate(&out, 0);
  assert_int_equal(lp2p_envelope_seal(&key, "libp2p-routing-state",
                                      lp2p_peer_record_payload_type, 2,
                                      payload.data, payload.len, &out),
                   0);
  assert_int_equal(lp2p_peer_record_open(out.data, out.len, &back, &env),
                   LP2P_ERR_BAD_SIGNATURE);
  lp2p_buf_free(&out);
  lp2p_buf_free(&payload);
}

/* The signedPeerRecord field of the identify answer of the rust-libp2p 0.57
 * interop node (tests/interop/gossipsub/rust, --key-seed 1, listening on
 * /ip4/127.0.0.1/tcp/40525), as captured from the wire: rust's identify
 * seals it in domain "libp2p-routing-state" with payload type
 * "/libp2p/routing-state-record", not RFC 0003's. */
static const char rust_identify_record[] =
    "0a2408011220cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df"
    "065d683bd4fc121c2f6c69627032702f726f7574696e672d73746174652d7265"
    "636f72641a3a0a26002408011220cecc1507dc1ddd7295951c290888f095adb9"
    "044d1b73d696e6df065d683bd4fc10f2d4d8d8061a0a0a08047f000001069e4d"
    "2a404ea853efdcb924ca6cc7aca2e2cce0000fa2c847ea7930bdfd738c10f31f"
    "b1867ddabb40903c62f7f068357259a75ecd06b26eb68fe4e8a71d2a9459ff18"
    "d50c";

static void rust_identify_record_opens(void **state) {
  (void)state;
  uint8_t in[256];
  size_t len = unhex(rust_identify_record, in, sizeof(in));
  lp2p_peer_record rec;
  lp2p_envelope env;
  lp2p_peer_id seed1;
  lp2p_buf want;
  assert_int_equal(lp2p_peer_record_open(in, len, &rec, &env), 0);
  const char *seed1_text =
      "12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X";
  assert_int_equal(lp2p_peer_id_parse(seed1_text, strlen(seed1_text), &seed1),
                   0);
  assert_true(lp2p_peer_id_equal(&rec.peer_id, &seed1));
  assert_int_equal(rec.seq, 1796614770); /* unix seconds, as rust */
  assert_int_equal(rec.naddrs, 1);
  lp2p_buf_init(&want, NULL);
  assert_int_equal(
      lp2p_multiaddr_parse("/ip4/127.0.0.1/tcp/40525", &want, NULL), 0);
  assert_int_equal(rec.addrs[0].len, want.len);
  assert_memory_equal(rec.addrs[0].bytes, want.data, want.len);
  lp2p_buf_free(&want);
  /* the signature still covers every byte: one flipped address byte */
  in[len - 70] ^= 1;
  assert_int_equal(lp2p_peer_record_open(in, len, &rec, &env),
                   LP2P_ERR_BAD_SIGNATURE);
}

static void rust_payload_type_needs_rust_domain(void **state) {
  (void)state;
  lp2p_privkey key;
  lp2p_peer_record rec = {0}, back;
  lp2p_envelope env;
  lp2p_buf out, payload;
  const char *rust_type = "/libp2p/routing-state-record";
  key_of(LP2P_KEY_ED25519, 1, &key, &rec.peer_id);
  lp2p_buf_init(&out, NULL);
  lp2p_buf_init(&payload, NULL);
  assert_int_equal(lp2p_peer_record_encode(&rec, &payload), 0);
  /* rust's payload type signed in its own domain opens */
  assert_int_equal(lp2p_envelope_seal(
                       &key, "libp2p-routing-state", (const uint8_t *)rust_type,
                       strlen(rust_type), payload.data, payload.len, &out),
                   0);
  assert_int_equal(lp2p_peer_record_open(out.data, out.len, &back, &env), 0);
  /* ... but not signed in RFC 0003's */
  lp2p_buf_truncate(&out, 0);
  assert_int_equal(lp2p_envelope_seal(&key, LP2P_PEER_RECORD_DOMAIN,
                                      (const uint8_t *)rust_type,
                                      strlen(rust_type), payload.data,
                                      payload.len, &out),
                   0);
  assert_int_equal(lp2p_peer_record_open(out.data, out.len, &back, &env),
                   LP2P_ERR_BAD_SIGNATURE);
  /* any other payload type is no peer record */
  lp2p_buf_truncate(&out, 0);
  assert_int_equal(lp2p_envelope_seal(&key, "libp2p-routing-state",
                                      (const uint8_t *)"/other", 6,
                                      payload.data, payload.len, &out),
                   0);
  assert_int_equal(lp2p_peer_record_open(out.data, out.len, &back, &env),
                   LP2P_ERR_WRONG_TYPE);
  lp2p_buf_free(&out);
  lp2p_buf_free(&payload);
}

static void peer_record_decode_rules(void **state) {
  (void)state;
  lp2p_peer_record rec;
  /* no peer id */
  uint8_t no_id[] = {0x10, 0x05};
  assert_int_equal(lp2p_peer_record_decode(no_id, 2, &rec), LP2P_ERR_MALFORMED);
  /* seq as bytes */
  uint8_t wrong[] = {0x12, 0x00};
  assert_int_equal(lp2p_peer_record_decode(wrong, 2, &rec),
                   LP2P_ERR_WRONG_TYPE);
  /* an address of a protocol lp2p does not know (ws, 0x01dd) is skipped,
   * as go-libp2p skips what it cannot parse */
  uint8_t rec_bytes[] = {
      0x0a, 0x22, 0x12, 0x20, 1,    2,    3,    4,    5,  6,  7,    8,    9,
      10,   11,   12,   13,   14,   15,   16,   17,   18, 19, 20,   21,   22,
      23,   24,   25,   26,   27,   28,   29,   30,   31, 32, 0x1a, 0x04, 0x0a,
      0x02, 0xdd, 0x03, 0x1a, 0x07, 0x0a, 0x05, 0x04, 1,  2,  3,    4};
  assert_int_equal(lp2p_peer_record_decode(rec_bytes, sizeof(rec_bytes), &rec),
                   0);
  assert_int_equal(rec.naddrs, 1);
  assert_int_equal(rec.addrs_skipped, 1);
  assert_int_equal(rec.addrs[0].len, 5);
  /* truncations */
  for (size_t i = 0; i < sizeof(rec_bytes); i++) {
    int rv = lp2p_peer_record_decode(rec_bytes, i, &rec);
    /* cutting exactly before an address field leaves a valid record */
    if (i != 36 && i != 42) {
      assert_true(rv < 0);
    }
  }
  /* a signed envelope without a payload opens to no record (and reads no
   * NULL pointer on the way) */
  lp2p_privkey key;
  lp2p_peer_id kid;
  lp2p_buf env;
  lp2p_envelope e;
  key_of(LP2P_KEY_ED25519, 4, &key, &kid);
  lp2p_buf_init(&env, NULL);
  assert_int_equal(lp2p_envelope_seal(&key, LP2P_PEER_RECORD_DOMAIN,
                                      lp2p_peer_record_payload_type, 2, NULL, 0,
                                      &env),
                   0);
  assert_int_equal(lp2p_peer_record_open(env.data, env.len, &rec, &e),
                   LP2P_ERR_MALFORMED);
  lp2p_buf_free(&env);
  /* an address field of the wrong type inside AddressInfo */
  uint8_t bad_ai[] = {0x0a, 0x22, 0x12, 0x20, 1,  2,  3,    4,    5,    6,
                      7,    8,    9,    10,   11, 12, 13,   14,   15,   16,
                      17,   18,   19,   20,   21, 22, 23,   24,   25,   26,
                      27,   28,   29,   30,   31, 32, 0x1a, 0x02, 0x08, 0x01};
  assert_int_equal(lp2p_peer_record_decode(bad_ai, sizeof(bad_ai), &rec),
                   LP2P_ERR_WRONG_TYPE);
}

static void peer_record_address_limit(void **state) {
  (void)state;
  lp2p_privkey key;
  lp2p_peer_record rec = {0}, back;
  lp2p_buf payload, ip;
  key_of(LP2P_KEY_ED25519, 1, &key, &rec.peer_id);
  lp2p_buf_init(&ip, NULL);
  lp2p_buf_init(&payload, NULL);
  assert_int_equal(lp2p_multiaddr_parse("/ip4/1.2.3.4/tcp/1", &ip, NULL), 0);
  for (int i = 0; i < LP2P_PEER_RECORD_MAX_ADDRS; i++) {
    rec.addrs[i].bytes = ip.data;
    rec.addrs[i].len = ip.len;
  }
  rec.naddrs = LP2P_PEER_RECORD_MAX_ADDRS;
  assert_int_equal(lp2p_peer_record_encode(&rec, &payload), 0);
  assert_int_equal(lp2p_peer_record_decode(payload.data, payload.len, &back),
                   0);
  assert_int_equal(back.naddrs, LP2P_PEER_RECORD_MAX_ADDRS);
  assert_int_equal(back.addrs_skipped, 0);
  /* one past the limit: a 33rd AddressInfo is counted, not kept */
  uint8_t extra[16] = {0x1a, (uint8_t)(ip.len + 2), 0x0a, (uint8_t)ip.len};
  memcpy(extra + 4, ip.data, ip.len);
  assert_int_equal(lp2p_buf_append(&payload, extra, ip.len + 4), 0);
  assert_int_equal(lp2p_peer_record_decode(payload.data, payload.len, &back),
                   0);
  assert_int_equal(back.naddrs, LP2P_PEER_RECORD_MAX_ADDRS);
  assert_int_equal(back.addrs_skipped, 1);
  /* encoding refuses more than the limit, and invalid addresses */
  rec.naddrs = LP2P_PEER_RECORD_MAX_ADDRS + 1;
  assert_int_equal(lp2p_peer_record_encode(&rec, &payload),
                   LP2P_ERR_INVALID_ARG);
  rec.naddrs = 1;
  rec.addrs[0].len = 2;
  assert_int_equal(lp2p_peer_record_encode(&rec, &payload),
                   LP2P_ERR_INVALID_ARG);
  lp2p_buf_free(&ip);
  lp2p_buf_free(&payload);
}

static int seal_record(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_privkey key;
  lp2p_peer_record rec = {0};
  lp2p_buf out, ip;
  key_of(LP2P_KEY_SECP256K1, 5, &key, &rec.peer_id);
  lp2p_buf_init(&out, mem);
  lp2p_buf_init(&ip, mem);
  int rv = lp2p_multiaddr_parse("/ip4/1.2.3.4/tcp/1", &ip, NULL);
  if (rv == 0) {
    rec.addrs[0].bytes = ip.data;
    rec.addrs[0].len = ip.len;
    rec.naddrs = 1;
    rv = lp2p_peer_record_seal(&key, &rec, &out);
  }
  if (rv == 0) {
    lp2p_peer_record back;
    lp2p_envelope env;
    assert_int_equal(lp2p_peer_record_open(out.data, out.len, &back, &env), 0);
  } else {
    assert_int_equal(out.len, 0);
  }
  lp2p_buf_free(&out);
  lp2p_buf_free(&ip);
  return rv;
}

static void seal_under_failing_allocator(void **state) {
  (void)state;
  failmem_sweep(seal_record, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(envelope_round_trip),
      cmocka_unit_test(envelope_seal_arguments),
      cmocka_unit_test(envelope_decode_errors),
      cmocka_unit_test(envelope_size_limit),
      cmocka_unit_test(peer_record_round_trip),
      cmocka_unit_test(peer_record_key_must_match),
      cmocka_unit_test(rust_identify_record_opens),
      cmocka_unit_test(rust_payload_type_needs_rust_domain),
      cmocka_unit_test(peer_record_decode_rules),
      cmocka_unit_test(peer_record_address_limit),
      cmocka_unit_test(seal_under_failing_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
