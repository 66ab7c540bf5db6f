/* identify: the message's encoding and decoding, its limits one past
 * each, the stream framing go-libp2p uses (and its split signed record),
 * and validation against the connection's peer. */
#include <stdlib.h>

#include "lp2p/noise.h"
#include "pb/wire.h"
#include "testutil.h"

static void make_key(uint8_t seed_byte, lp2p_privkey *key, lp2p_peer_id *id,
                     uint8_t *pk, size_t *pk_len) {
  uint8_t seed[32] = {seed_byte, 3};
  lp2p_pubkey pub;
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, key), 0);
  assert_int_equal(lp2p_privkey_public(key, &pub), 0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, id), 0);
  if (pk) {
    int n = lp2p_pubkey_marshal(&pub, pk, LP2P_PUBKEY_PB_MAX);
    assert_true(n > 0);
    *pk_len = (size_t)n;
  }
}

/* Binary multiaddrs kept alive for the test's duration. */
typedef struct addrs {
  lp2p_buf b[80];
  size_t n;
} addrs;

static lp2p_bytes addr(addrs *a, const char *text) {
  lp2p_buf *b = &a->b[a->n++];
  lp2p_buf_init(b, NULL);
  assert_int_equal(lp2p_multiaddr_parse(text, b, NULL), 0);
  return (lp2p_bytes){b->data, b->len};
}

static void addrs_free(addrs *a) {
  for (size_t i = 0; i < a->n; i++) {
    lp2p_buf_free(&a->b[i]);
  }
  a->n = 0;
}

static lp2p_bytes str(const char *s) {
  return (lp2p_bytes){(const uint8_t *)s, strlen(s)};
}

static void seal_record(const lp2p_privkey *key, const lp2p_peer_id *id,
                        lp2p_bytes a, lp2p_buf *out) {
  lp2p_peer_record rec;
  memset(&rec, 0, sizeof(rec));
  rec.peer_id = *id;
  rec.seq = 7;
  rec.naddrs = 1;
  rec.addrs[0].bytes = a.data;
  rec.addrs[0].len = a.len;
  assert_int_equal(lp2p_peer_record_seal(key, &rec, out), 0);
}

static void bytes_equal(lp2p_bytes a, lp2p_bytes b) {
  assert_int_equal(a.data != NULL, b.data != NULL);
  assert_int_equal(a.len, b.len);
  if (a.len) {
    assert_memory_equal(a.data, b.data, a.len);
  }
}

static void same(const lp2p_identify *a, const lp2p_identify *b) {
  bytes_equal(a->public_key, b->public_key);
  bytes_equal(a->observed_addr, b->observed_addr);
  bytes_equal(a->protocol_version, b->protocol_version);
  bytes_equal(a->agent_version, b->agent_version);
  bytes_equal(a->signed_peer_record, b->signed_peer_record);
  assert_int_equal(a->naddrs, b->naddrs);
  assert_int_equal(a->nprotocols, b->nprotocols);
  for (size_t i = 0; i < a->naddrs; i++) {
    bytes_equal(a->listen_addrs[i], b->listen_addrs[i]);
  }
  for (size_t i = 0; i < a->nprotocols; i++) {
    bytes_equal(a->protocols[i], b->protocols[i]);
  }
}

/* A full message of the peer `key`, as a host would send it. */
static void full_message(lp2p_identify *id, addrs *a, const lp2p_privkey *key,
                         const lp2p_peer_id *peer, uint8_t *pk, size_t pk_len,
                         lp2p_buf *record) {
  memset(id, 0, sizeof(*id));
  id->public_key = (lp2p_bytes){pk, pk_len};
  id->listen_addrs[0] = addr(a, "/ip4/127.0.0.1/tcp/4001");
  id->listen_addrs[1] = addr(a, "/ip6/::1/tcp/4001");
  id->listen_addrs[2] = addr(a, "/dns4/example.com/tcp/443");
  id->naddrs = 3;
  id->protocols[0] = str("/ipfs/id/1.0.0");
  id->protocols[1] = str("/ipfs/ping/1.0.0");
  id->protocols[2] = str("/meshsub/1.1.0");
  id->nprotocols = 3;
  id->observed_addr = addr(a, "/ip4/10.0.0.1/tcp/5555");
  id->protocol_version = str("ipfs/0.1.0");
  id->agent_version = str("lp2p/0.1.0");
  seal_record(key, peer, id->listen_addrs[0], record);
  id->signed_peer_record = (lp2p_bytes){record->data, record->len};
}

static void identify_round_trip(void **state) {
  (void)state;
  lp2p_privkey key;
  lp2p_peer_id peer, other;
  uint8_t pk[LP2P_PUBKEY_PB_MAX];
  size_t pk_len;
  addrs a = {0};
  lp2p_buf record, body, stream;
  lp2p_identify id, back;
  lp2p_identify_verified v;
  make_key(1, &key, &peer, pk, &pk_len);
  make_key(2, &key, &other, NULL, NULL);
  make_key(1, &key, &peer, NULL, NULL);
  lp2p_buf_init(&record, NULL);
  lp2p_buf_init(&body, NULL);
  lp2p_buf_init(&stream, NULL);
  full_message(&id, &a, &key, &peer, pk, pk_len, &record);
  assert_int_equal(lp2p_identify_encode(&id, &body), 0);
  assert_int_equal(lp2p_identify_decode(body.data, body.len, &back), 0);
  same(&id, &back);
  assert_int_equal(back.addrs_skipped + back.protocols_skipped +
                       back.observed_addr_skipped,
                   0);
  /* small enough for one delimited message */
  assert_int_equal(lp2p_identify_write(&id, &stream), 0);
  assert_int_equal(stream.len, lp2p_uvarint_len(body.len) + body.len);
  assert_int_equal(lp2p_identify_read(stream.data, stream.len, &back), 0);
  same(&id, &back);
  assert_int_equal(lp2p_identify_verify(&back, &peer, &v), 0);
  assert_true(v.has_pubkey);
  assert_true(v.has_record);
  assert_int_equal(v.record_error, 0);
  assert_int_equal(v.record.seq, 7);
  assert_int_equal(v.record.naddrs, 1);
  assert_int_equal(lp2p_peer_id_check_pubkey(&peer, &v.pubkey), 0);
  /* the connection is with someone else */
  assert_int_equal(lp2p_identify_verify(&back, &other, &v),
                   LP2P_ERR_PEER_ID_MISMATCH);
  assert_false(v.has_pubkey);
  /* an empty message is an empty Identify */
  assert_int_equal(lp2p_identify_decode(NULL, 0, &back), 0);
  assert_null(back.public_key.data);
  assert_int_equal(lp2p_identify_verify(&back, &other, &v), 0);
  assert_false(v.has_pubkey || v.has_record);
  addrs_free(&a);
  lp2p_buf_free(&record);
  lp2p_buf_free(&body);
  lp2p_buf_free(&stream);
}

static void identify_decode_rules(void **state) {
  (void)state;
  addrs a = {0};
  lp2p_buf b;
  lp2p_identify id;
  char proto[LP2P_IDENTIFY_PROTOCOL_MAX + 1];
  lp2p_bytes good = addr(&a, "/ip4/1.2.3.4/tcp/1");
  lp2p_buf_init(&b, NULL);
  memset(proto, 'p', sizeof(proto));
  /* invalid addresses and protocols are skipped and counted */
  assert_int_equal(lp2p_pb_put_bytes(&b, 2, "\x04\x01", 2), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 2, good.data, good.len), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 2, "", 0), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 3, "", 0), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 3, proto, sizeof(proto) - 1), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 3, proto, sizeof(proto)), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 4, good.data, good.len), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 4, "\xff", 1), 0);
  /* unknown fields of any type are ignored */
  assert_int_equal(lp2p_pb_put_varint(&b, 7, 1), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 9, "x", 1), 0);
  assert_int_equal(lp2p_pb_put_varint(&b, 100, 1), 0);
  assert_int_equal(lp2p_identify_decode(b.data, b.len, &id), 0);
  assert_int_equal(id.naddrs, 1);
  assert_int_equal(id.addrs_skipped, 2);
  assert_int_equal(id.nprotocols, 1);
  assert_int_equal(id.protocols[0].len, LP2P_IDENTIFY_PROTOCOL_MAX);
  assert_int_equal(id.protocols_skipped, 2);
  /* the valid observed address stays; the invalid one is dropped */
  bytes_equal(id.observed_addr, good);
  assert_int_equal(id.observed_addr_skipped, 1);
  /* wrong wire types and broken protobuf */
  for (uint32_t f = 1; f <= 8; f++) {
    if (f == 7) {
      continue;
    }
    lp2p_buf_truncate(&b, 0);
    assert_int_equal(lp2p_pb_put_varint(&b, f, 1), 0);
    assert_int_equal(lp2p_identify_decode(b.data, b.len, &id),
                     LP2P_ERR_WRONG_TYPE);
  }
  assert_int_equal(lp2p_identify_decode((const uint8_t *)"\x0a\x05"
                                                         "ab",
                                        4, &id),
                   LP2P_ERR_TRUNCATED);
  assert_int_equal(lp2p_identify_decode((const uint8_t *)"\x00", 1, &id),
                   LP2P_ERR_MALFORMED);
  addrs_free(&a);
  lp2p_buf_free(&b);
}

/* LP2P_IDENTIFY_MAX_SIZE exactly, and one past. */
static void identify_size_limit(void **state) {
  (void)state;
  lp2p_buf b;
  lp2p_identify id;
  uint8_t *big = calloc(1, LP2P_IDENTIFY_MAX_SIZE);
  lp2p_buf_init(&b, NULL);
  /* an agent version filling the message to the byte: tag, 2-byte length */
  size_t body = LP2P_IDENTIFY_MAX_SIZE - 3;
  assert_int_equal(lp2p_pb_put_bytes(&b, 6, big, body), 0);
  assert_int_equal(b.len, LP2P_IDENTIFY_MAX_SIZE);
  assert_int_equal(lp2p_identify_decode(b.data, b.len, &id), 0);
  assert_int_equal(id.agent_version.len, body);
  lp2p_buf_truncate(&b, 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 6, big, body + 1), 0);
  assert_int_equal(lp2p_identify_decode(b.data, b.len, &id),
                   LP2P_ERR_TOO_LARGE);
  assert_int_equal(lp2p_identify_merge(b.data, b.len, &id), LP2P_ERR_TOO_LARGE);
  free(big);
  lp2p_buf_free(&b);
}

/* LP2P_IDENTIFY_MAX_ADDRS and _PROTOCOLS are kept, one more is counted. */
static void identify_list_limits(void **state) {
  (void)state;
  addrs a = {0};
  lp2p_buf b;
  lp2p_identify id;
  lp2p_bytes ma = addr(&a, "/ip4/1.2.3.4/tcp/1");
  lp2p_buf_init(&b, NULL);
  for (int i = 0; i < LP2P_IDENTIFY_MAX_ADDRS + 1; i++) {
    assert_int_equal(lp2p_pb_put_bytes(&b, 2, ma.data, ma.len), 0);
  }
  for (int i = 0; i < LP2P_IDENTIFY_MAX_PROTOCOLS + 1; i++) {
    assert_int_equal(lp2p_pb_put_bytes(&b, 3, "/p", 2), 0);
  }
  assert_int_equal(lp2p_identify_decode(b.data, b.len, &id), 0);
  assert_int_equal(id.naddrs, LP2P_IDENTIFY_MAX_ADDRS);
  assert_int_equal(id.addrs_skipped, 1);
  assert_int_equal(id.nprotocols, LP2P_IDENTIFY_MAX_PROTOCOLS);
  assert_int_equal(id.protocols_skipped, 1);
  /* full lists encode; one more is refused with `out` untouched */
  lp2p_buf_truncate(&b, 0);
  assert_int_equal(lp2p_identify_encode(&id, &b), 0);
  size_t len = b.len;
  id.naddrs++;
  assert_int_equal(lp2p_identify_encode(&id, &b), LP2P_ERR_INVALID_ARG);
  id.naddrs--;
  id.nprotocols++;
  assert_int_equal(lp2p_identify_encode(&id, &b), LP2P_ERR_INVALID_ARG);
  assert_int_equal(lp2p_identify_write(&id, &b), LP2P_ERR_INVALID_ARG);
  assert_int_equal(b.len, len);
  addrs_free(&a);
  lp2p_buf_free(&b);
}

static void identify_encode_refuses(void **state) {
  (void)state;
  addrs a = {0};
  lp2p_buf b;
  lp2p_identify id;
  char proto[LP2P_IDENTIFY_PROTOCOL_MAX + 1];
  memset(proto, 'p', sizeof(proto));
  lp2p_buf_init(&b, NULL);
  memset(&id, 0, sizeof(id));
  id.listen_addrs[0] = (lp2p_bytes){(const uint8_t *)"\x04\x01", 2};
  id.naddrs = 1;
  assert_int_equal(lp2p_identify_encode(&id, &b), LP2P_ERR_INVALID_ARG);
  id.listen_addrs[0] = addr(&a, "/ip4/1.2.3.4/tcp/1");
  id.observed_addr = (lp2p_bytes){(const uint8_t *)"\xff", 1};
  assert_int_equal(lp2p_identify_encode(&id, &b), LP2P_ERR_INVALID_ARG);
  id.observed_addr = id.listen_addrs[0];
  id.protocols[0] = str("");
  id.nprotocols = 1;
  assert_int_equal(lp2p_identify_encode(&id, &b), LP2P_ERR_INVALID_ARG);
  id.protocols[0] = (lp2p_bytes){(const uint8_t *)proto, sizeof(proto)};
  assert_int_equal(lp2p_identify_encode(&id, &b), LP2P_ERR_INVALID_ARG);
  id.protocols[0].len--;
  assert_int_equal(b.len, 0);
  assert_int_equal(lp2p_identify_encode(&id, &b), 0);
  addrs_free(&a);
  lp2p_buf_free(&b);
}

/* Later messages override single fields and extend the lists. */
static void identify_merge(void **state) {
  (void)state;
  addrs a = {0};
  lp2p_buf m1, m2;
  lp2p_identify id;
  lp2p_bytes x = addr(&a, "/ip4/1.1.1.1/tcp/1"),
             y = addr(&a, "/ip4/2.2.2.2/tcp/2");
  lp2p_buf_init(&m1, NULL);
  lp2p_buf_init(&m2, NULL);
  assert_int_equal(lp2p_pb_put_bytes(&m1, 1, "key", 3), 0);
  assert_int_equal(lp2p_pb_put_bytes(&m1, 2, x.data, x.len), 0);
  assert_int_equal(lp2p_pb_put_bytes(&m1, 3, "/a", 2), 0);
  assert_int_equal(lp2p_pb_put_bytes(&m1, 6, "agent-1", 7), 0);
  assert_int_equal(lp2p_pb_put_bytes(&m2, 2, y.data, y.len), 0);
  assert_int_equal(lp2p_pb_put_bytes(&m2, 6, "agent-2", 7), 0);
  assert_int_equal(lp2p_pb_put_bytes(&m2, 8, "record", 6), 0);
  assert_int_equal(lp2p_identify_decode(m1.data, m1.len, &id), 0);
  assert_int_equal(lp2p_identify_merge(m2.data, m2.len, &id), 0);
  bytes_equal(id.public_key, str("key"));
  assert_int_equal(id.naddrs, 2);
  bytes_equal(id.listen_addrs[0], x);
  bytes_equal(id.listen_addrs[1], y);
  assert_int_equal(id.nprotocols, 1);
  bytes_equal(id.agent_version, str("agent-2"));
  bytes_equal(id.signed_peer_record, str("record"));
  addrs_free(&a);
  lp2p_buf_free(&m1);
  lp2p_buf_free(&m2);
}

static void identify_framing(void **state) {
  (void)state;
  const uint8_t *msg = NULL;
  size_t len = 0;
  uint8_t buf[LP2P_IDENTIFY_MAX_SIZE + 3] = {0x80, 0x40}; /* 8192 */
  assert_int_equal(lp2p_identify_frame(buf, 0, &msg, &len), 0);
  assert_int_equal(lp2p_identify_frame(buf, 1, &msg, &len), 0);
  assert_int_equal(lp2p_identify_frame(buf, 2 + 8191, &msg, &len), 0);
  assert_int_equal(lp2p_identify_frame(buf, 2 + 8192, &msg, &len), 2 + 8192);
  assert_ptr_equal(msg, buf + 2);
  assert_int_equal(len, 8192);
  /* one past the limit is refused as soon as the length is known */
  buf[0] = 0x81;
  assert_int_equal(lp2p_identify_frame(buf, 2, &msg, &len), LP2P_ERR_TOO_LARGE);
  /* a non-minimal length */
  buf[0] = 0x85;
  buf[1] = 0x00;
  assert_int_equal(lp2p_identify_frame(buf, 2, &msg, &len), LP2P_ERR_OVERLONG);
  buf[0] = 0;
  assert_int_equal(lp2p_identify_frame(buf, 1, &msg, &len), 1);
  assert_int_equal(len, 0);
}

/* A stream: up to LP2P_IDENTIFY_MAX_MESSAGES messages merged. */
static void identify_read_stream(void **state) {
  (void)state;
  lp2p_buf s;
  lp2p_identify id;
  const uint8_t one[] = {4, 0x1a, 2, '/', 'p'}; /* protocols: "/p" */
  lp2p_buf_init(&s, NULL);
  assert_int_equal(lp2p_identify_read(NULL, 0, &id), 0);
  assert_int_equal(id.nprotocols, 0);
  for (int i = 0; i < LP2P_IDENTIFY_MAX_MESSAGES; i++) {
    assert_int_equal(lp2p_buf_append(&s, one, sizeof(one)), 0);
  }
  assert_int_equal(lp2p_identify_read(s.data, s.len, &id), 0);
  assert_int_equal(id.nprotocols, LP2P_IDENTIFY_MAX_MESSAGES);
  assert_int_equal(lp2p_identify_read(s.data, s.len - 1, &id),
                   LP2P_ERR_TRUNCATED);
  assert_int_equal(lp2p_buf_append(&s, one, sizeof(one)), 0);
  assert_int_equal(lp2p_identify_read(s.data, s.len, &id), LP2P_ERR_TOO_LARGE);
  /* a frame or message error stops the read */
  assert_int_equal(lp2p_identify_read((const uint8_t *)"\x02\x08\x01", 3, &id),
                   LP2P_ERR_WRONG_TYPE);
  assert_int_equal(lp2p_identify_read((const uint8_t *)"\x80\x00", 2, &id),
                   LP2P_ERR_OVERLONG);
  lp2p_buf_free(&s);
}

/* go-libp2p's layout: a large signed record goes in a message of its own;
 * no message lp2p writes exceeds LP2P_IDENTIFY_SEND_MAX. */
static void identify_write_layout(void **state) {
  (void)state;
  lp2p_privkey key;
  lp2p_peer_id peer;
  uint8_t pk[LP2P_PUBKEY_PB_MAX];
  size_t pk_len;
  addrs a = {0};
  lp2p_buf record, out;
  lp2p_identify id, back;
  const uint8_t *msg;
  size_t msg_len;
  char agent[LP2P_IDENTIFY_SEND_MAX];
  make_key(1, &key, &peer, pk, &pk_len);
  lp2p_buf_init(&record, NULL);
  lp2p_buf_init(&out, NULL);
  full_message(&id, &a, &key, &peer, pk, pk_len, &record);
  memset(agent, 'a', sizeof(agent));
  /* push the whole over LEGACY_SIZE: base and record are written apart */
  id.agent_version = (lp2p_bytes){(const uint8_t *)agent, 2000};
  assert_int_equal(lp2p_identify_write(&id, &out), 0);
  int n = lp2p_identify_frame(out.data, out.len, &msg, &msg_len);
  assert_true(n > 0);
  assert_int_equal(lp2p_identify_decode(msg, msg_len, &back), 0);
  assert_null(back.signed_peer_record.data);
  int n2 =
      lp2p_identify_frame(out.data + n, out.len - (size_t)n, &msg, &msg_len);
  assert_int_equal((size_t)(n + n2), out.len);
  assert_int_equal(lp2p_identify_decode(msg, msg_len, &back), 0);
  bytes_equal(back.signed_peer_record, id.signed_peer_record);
  assert_null(back.public_key.data);
  assert_int_equal(back.naddrs, 0);
  assert_int_equal(lp2p_identify_read(out.data, out.len, &back), 0);
  same(&id, &back);
  /* without a record there is nothing to split: one message */
  id.signed_peer_record = (lp2p_bytes){NULL, 0};
  lp2p_buf_truncate(&out, 0);
  assert_int_equal(lp2p_identify_write(&id, &out), 0);
  n = lp2p_identify_frame(out.data, out.len, &msg, &msg_len);
  assert_int_equal((size_t)n, out.len);
  /* a message of exactly SEND_MAX bytes, and one byte more */
  size_t base = msg_len - 2000 - 3; /* the rest of the message */
  size_t fill = LP2P_IDENTIFY_SEND_MAX - base - 3;
  id.agent_version.len = fill;
  lp2p_buf_truncate(&out, 0);
  assert_int_equal(lp2p_identify_write(&id, &out), 0);
  assert_int_equal(out.len, 2 + LP2P_IDENTIFY_SEND_MAX);
  id.agent_version.len = fill + 1;
  assert_int_equal(lp2p_identify_write(&id, &out), LP2P_ERR_TOO_LARGE);
  assert_int_equal(out.len, 2 + LP2P_IDENTIFY_SEND_MAX);
  addrs_free(&a);
  lp2p_buf_free(&record);
  lp2p_buf_free(&out);
}

static void identify_verify_rules(void **state) {
  (void)state;
  lp2p_privkey key, other_key;
  lp2p_peer_id peer, other;
  uint8_t pk[LP2P_PUBKEY_PB_MAX];
  size_t pk_len;
  addrs a = {0};
  lp2p_buf record;
  lp2p_identify id;
  lp2p_identify_verified v;
  make_key(2, &other_key, &other, NULL, NULL);
  make_key(1, &key, &peer, pk, &pk_len);
  lp2p_buf_init(&record, NULL);
  full_message(&id, &a, &key, &peer, pk, pk_len, &record);
  /* a key that is no key */
  id.public_key = str("\x08\x01\x12\x01\x00");
  assert_true(lp2p_identify_verify(&id, &peer, &v) < 0);
  assert_false(v.has_pubkey);
  /* no key at all: only the record is checked */
  id.public_key = (lp2p_bytes){NULL, 0};
  assert_int_equal(lp2p_identify_verify(&id, &peer, &v), 0);
  assert_false(v.has_pubkey);
  assert_true(v.has_record);
  /* a record of another peer, properly signed by it */
  lp2p_buf_truncate(&record, 0);
  seal_record(&other_key, &other, id.listen_addrs[0], &record);
  id.signed_peer_record = (lp2p_bytes){record.data, record.len};
  assert_int_equal(lp2p_identify_verify(&id, &peer, &v), 0);
  assert_false(v.has_record);
  assert_int_equal(v.record_error, LP2P_ERR_PEER_ID_MISMATCH);
  /* a corrupted record */
  record.data[record.len - 1] ^= 1;
  assert_int_equal(lp2p_identify_verify(&id, &other, &v), 0);
  assert_false(v.has_record);
  assert_int_equal(v.record_error, LP2P_ERR_BAD_SIGNATURE);
  addrs_free(&a);
  lp2p_buf_free(&record);
}

static int write_under(const lp2p_mem *mem, void *arg) {
  const lp2p_identify *id = arg;
  lp2p_buf out;
  lp2p_buf_init(&out, mem);
  int rv = lp2p_identify_write(id, &out);
  if (rv == 0) {
    rv = lp2p_identify_encode(id, &out);
  }
  lp2p_buf_free(&out);
  return rv;
}

static void identify_allocation_failures(void **state) {
  (void)state;
  lp2p_privkey key;
  lp2p_peer_id peer;
  uint8_t pk[LP2P_PUBKEY_PB_MAX];
  size_t pk_len;
  addrs a = {0};
  lp2p_buf record;
  lp2p_identify id;
  char agent[2000];
  make_key(1, &key, &peer, pk, &pk_len);
  lp2p_buf_init(&record, NULL);
  full_message(&id, &a, &key, &peer, pk, pk_len, &record);
  failmem_sweep(write_under, &id);
  /* and the two-message layout */
  memset(agent, 'a', sizeof(agent));
  id.agent_version = (lp2p_bytes){(const uint8_t *)agent, sizeof(agent)};
  failmem_sweep(write_under, &id);
  addrs_free(&a);
  lp2p_buf_free(&record);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(identify_round_trip),
      cmocka_unit_test(identify_decode_rules),
      cmocka_unit_test(identify_size_limit),
      cmocka_unit_test(identify_list_limits),
      cmocka_unit_test(identify_encode_refuses),
      cmocka_unit_test(identify_merge),
      cmocka_unit_test(identify_framing),
      cmocka_unit_test(identify_read_stream),
      cmocka_unit_test(identify_write_layout),
      cmocka_unit_test(identify_verify_rules),
      cmocka_unit_test(identify_allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
