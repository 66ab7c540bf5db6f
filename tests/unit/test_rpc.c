/* The pubsub RPC codec: every field, every limit and one past it,
 * malformed input, and encoders that round-trip. */
#include <stddef.h>

#include "pb/rpc.h"
#include "pb/wire.h"
#include "testutil.h"

static lp2p_rpc_limits big_limits(void) {
  lp2p_rpc_limits l = {1 << 20, 100, 100, 100, 1000, 100, 64, 64};
  return l;
}

/* An RPC with one of everything, built with lp2p's encoders. */
static void build_full(lp2p_buf *b) {
  lp2p_buf ctl, msg;
  lp2p_bytes ids[3] = {{(const uint8_t *)"id-1", 4},
                       {(const uint8_t *)"id-2", 4},
                       {(const uint8_t *)"", 0}};
  lp2p_rpc_px px[2] = {{{(const uint8_t *)"peer", 4}, {NULL, 0}},
                       {{(const uint8_t *)"p2", 2}, {(const uint8_t *)"r", 1}}};
  lp2p_rpc_msg m = {0};
  m.from = (lp2p_bytes){(const uint8_t *)"from", 4};
  m.data = (lp2p_bytes){(const uint8_t *)"data", 4};
  m.seqno = (lp2p_bytes){(const uint8_t *)"12345678", 8};
  m.topic = (lp2p_bytes){(const uint8_t *)"t", 1};
  m.signature = (lp2p_bytes){(const uint8_t *)"sig", 3};
  lp2p_buf_init(&ctl, NULL);
  lp2p_buf_init(&msg, NULL);
  assert_int_equal(lp2p_rpc_put_sub(b, true, (const uint8_t *)"a", 1), 0);
  assert_int_equal(lp2p_rpc_put_sub(b, false, (const uint8_t *)"b", 1), 0);
  assert_int_equal(lp2p_rpc_put_message_body(&msg, &m), 0);
  assert_int_equal(lp2p_rpc_put_publish(b, msg.data, msg.len), 0);
  assert_int_equal(lp2p_ctl_put_ihave(&ctl, (const uint8_t *)"t", 1, ids, 2),
                   0);
  assert_int_equal(lp2p_ctl_put_ids(&ctl, LP2P_CTL_IWANT, ids + 1, 2), 0);
  assert_int_equal(lp2p_ctl_put_graft(&ctl, (const uint8_t *)"g", 1), 0);
  assert_int_equal(lp2p_ctl_put_prune(&ctl, (const uint8_t *)"p", 1, 60, px, 2),
                   0);
  assert_int_equal(lp2p_ctl_put_ids(&ctl, LP2P_CTL_IDONTWANT, ids, 1), 0);
  assert_int_equal(lp2p_rpc_put_control(b, ctl.data, ctl.len), 0);
  lp2p_buf_free(&ctl);
  lp2p_buf_free(&msg);
}

static bool eq(lp2p_bytes v, const char *s) {
  return v.data && v.len == strlen(s) && memcmp(v.data, s, v.len) == 0;
}

static void decodes_every_field(void **state) {
  (void)state;
  lp2p_buf b;
  lp2p_rpc rpc;
  lp2p_rpc_limits lim = big_limits();
  lp2p_buf_init(&b, NULL);
  lp2p_rpc_init(&rpc, NULL);
  build_full(&b);
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim), 0);
  assert_int_equal(rpc.subs.len, 2);
  assert_true(rpc.subs.items[0].subscribe && eq(rpc.subs.items[0].topic, "a"));
  assert_false(rpc.subs.items[1].subscribe);
  assert_int_equal(rpc.msgs.len, 1);
  const lp2p_rpc_msg *m = &rpc.msgs.items[0];
  assert_true(eq(m->from, "from") && eq(m->data, "data") &&
              eq(m->seqno, "12345678") && eq(m->topic, "t") &&
              eq(m->signature, "sig"));
  assert_null(m->key.data); /* absent, not empty */
  assert_int_equal(rpc.ihave.len, 1);
  assert_true(eq(rpc.ihave.items[0].topic, "t"));
  assert_int_equal(rpc.ihave.items[0].count, 2);
  assert_true(eq(rpc.ids.items[rpc.ihave.items[0].first + 1], "id-2"));
  assert_int_equal(rpc.iwant.len, 1);
  assert_int_equal(rpc.iwant.items[0].count, 2);
  /* an empty id is present, with length 0 */
  const lp2p_bytes *empty = &rpc.ids.items[rpc.iwant.items[0].first + 1];
  assert_non_null(empty->data);
  assert_int_equal(empty->len, 0);
  assert_int_equal(rpc.graft.len, 1);
  assert_true(eq(rpc.graft.items[0], "g"));
  assert_int_equal(rpc.prune.len, 1);
  assert_int_equal(rpc.prune.items[0].backoff, 60);
  assert_int_equal(rpc.prune.items[0].npx, 2);
  assert_true(eq(rpc.px.items[0].peer_id, "peer"));
  assert_null(rpc.px.items[0].record.data);
  assert_true(eq(rpc.px.items[1].record, "r"));
  assert_int_equal(rpc.idontwant.len, 1);
  /* the raw Message is the bytes that are forwarded */
  lp2p_rpc_msg again;
  assert_int_equal(lp2p_rpc_decode_message(m->raw.data, m->raw.len, &again), 0);
  assert_true(eq(again.data, "data"));
  /* every truncation is refused, and the arrays are left empty */
  for (size_t i = 1; i < b.len; i++) {
    int rv = lp2p_rpc_decode(&rpc, b.data, i, &lim);
    if (rv == 0) {
      continue; /* cut between two top-level fields */
    }
    assert_int_equal(rpc.subs.len + rpc.msgs.len + rpc.ihave.len, 0);
  }
  lp2p_rpc_free(&rpc);
  lp2p_buf_free(&b);
}

static void skips_unknown_fields(void **state) {
  (void)state;
  lp2p_rpc rpc;
  lp2p_rpc_limits lim = big_limits();
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  lp2p_rpc_init(&rpc, NULL);
  /* RPC field 11, SubOpts fields 5 and 6, an unknown extension (field 1)
   * in ControlMessage.extensions (6) and a fixed64 field: all skipped */
  lp2p_pb_put_bytes(&b, 11, "xx", 2);
  uint8_t sub[] = {0x08, 0x01, 0x12, 0x01, 'a', 0x28, 0x01, 0x32, 0x00};
  lp2p_pb_put_bytes(&b, 1, sub, sizeof(sub));
  uint8_t ctl[] = {0x32, 0x02, 0x08, 0x01, 0x39, 1, 2, 3, 4, 5, 6, 7, 8};
  lp2p_pb_put_bytes(&b, 3, ctl, sizeof(ctl));
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim), 0);
  assert_int_equal(rpc.subs.len, 1);
  assert_true(eq(rpc.subs.items[0].topic, "a"));
  assert_true(rpc.has_extensions);
  assert_false(rpc.ext.test_extension || rpc.ext.partial_messages);
  lp2p_rpc_free(&rpc);
  lp2p_buf_free(&b);
}

/* gossipsub v1.3: ControlExtensions and RPC.testExtension round-trip;
 * an RPC without them has none. */
static void extensions_round_trip(void **state) {
  (void)state;
  lp2p_rpc rpc;
  lp2p_rpc_limits lim = big_limits();
  lp2p_buf b, ctl;
  lp2p_buf_init(&b, NULL);
  lp2p_buf_init(&ctl, NULL);
  lp2p_rpc_init(&rpc, NULL);
  static const lp2p_rpc_extensions cases[] = {
      {true, true}, {false, true}, {true, false}, {false, false}};
  for (size_t i = 0; i < 4; i++) {
    lp2p_buf_truncate(&b, 0);
    lp2p_buf_truncate(&ctl, 0);
    assert_int_equal(lp2p_ctl_put_extensions(&ctl, &cases[i]), 0);
    assert_int_equal(lp2p_ctl_put_graft(&ctl, (const uint8_t *)"g", 1), 0);
    assert_int_equal(lp2p_rpc_put_control(&b, ctl.data, ctl.len), 0);
    assert_int_equal(lp2p_rpc_put_test_extension(&b), 0);
    assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim), 0);
    assert_true(rpc.has_extensions && rpc.test_extension);
    assert_true(rpc.ext.partial_messages == cases[i].partial_messages);
    assert_true(rpc.ext.test_extension == cases[i].test_extension);
    assert_int_equal(rpc.graft.len, 1);
  }
  /* the views of one RPC do not leak into the next */
  lp2p_buf_truncate(&b, 0);
  assert_int_equal(lp2p_rpc_put_sub(&b, true, (const uint8_t *)"a", 1), 0);
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim), 0);
  assert_false(rpc.has_extensions || rpc.test_extension);
  assert_false(rpc.ext.test_extension);
  lp2p_rpc_free(&rpc);
  lp2p_buf_free(&b);
  lp2p_buf_free(&ctl);
}

/* Two ControlExtensions in one RPC merge as protobuf merges: the last
 * value of each field wins (protobuf-c, the fuzz oracle, agrees). */
static void extensions_merge_last_value_wins(void **state) {
  (void)state;
  lp2p_rpc rpc;
  lp2p_rpc_limits lim = big_limits();
  lp2p_rpc_init(&rpc, NULL);
  uint8_t in[64];
  /* control{ext{test: 1}}, control{ext{test: 0, partial: 1}} */
  size_t n = unhex("1a0732059091e21801"
                   "1a093207"
                   "9091e21800"
                   "5001",
                   in, sizeof(in));
  assert_int_equal(lp2p_rpc_decode(&rpc, in, n, &lim), 0);
  assert_true(rpc.has_extensions);
  assert_false(rpc.ext.test_extension);
  assert_true(rpc.ext.partial_messages);
  lp2p_rpc_free(&rpc);
}

/* RPC.partial and the SubOpts bools of the partial-messages extension:
 * what the encoders write decodes to the same views, absent fields stay
 * absent, and a later RPC.partial replaces only the fields it has. */
static void partial_fields_round_trip(void **state) {
  (void)state;
  lp2p_rpc rpc;
  lp2p_rpc_limits lim = big_limits();
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  lp2p_rpc_init(&rpc, NULL);
  lp2p_rpc_sub sub = {{(const uint8_t *)"a", 1}, true, false, true};
  lp2p_rpc_partial pm = {{(const uint8_t *)"a", 1},
                         {(const uint8_t *)"g1", 2},
                         {(const uint8_t *)"parts", 5},
                         {NULL, 0}};
  assert_int_equal(lp2p_rpc_put_sub_partial(&b, &sub), 0);
  assert_int_equal(lp2p_rpc_put_partial(&b, &pm), 0);
  pm.topic.data = pm.message.data = NULL;
  pm.metadata = (lp2p_bytes){(const uint8_t *)"\x0f", 1};
  pm.group = (lp2p_bytes){(const uint8_t *)"g2", 2};
  assert_int_equal(lp2p_rpc_put_partial(&b, &pm), 0);
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim), 0);
  assert_true(rpc.subs.len == 1 && rpc.subs.items[0].supports_partial);
  assert_false(rpc.subs.items[0].requests_partial);
  assert_true(rpc.has_partial);
  assert_true(eq(rpc.partial.topic, "a") && eq(rpc.partial.group, "g2"));
  assert_true(eq(rpc.partial.message, "parts"));
  assert_true(eq(rpc.partial.metadata, "\x0f"));
  /* a subscription without the bools encodes as before the extension */
  lp2p_buf_truncate(&b, 0);
  assert_int_equal(lp2p_rpc_put_sub(&b, true, (const uint8_t *)"a", 1), 0);
  assert_int_equal(b.len, 7);
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim), 0);
  assert_false(rpc.has_partial || rpc.subs.items[0].requests_partial);
  lp2p_rpc_free(&rpc);
  lp2p_buf_free(&b);
}

/* A PartialMessagesExtension's topic over max_topic_len or group id over
 * max_id_len refuses the RPC whole, as any topic or id over its limit. */
static void partial_topic_and_group_one_past_limit(void **state) {
  (void)state;
  lp2p_rpc rpc;
  lp2p_rpc_limits lim = big_limits();
  uint8_t big[65];
  memset(big, 'x', sizeof(big));
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  lp2p_rpc_init(&rpc, NULL);
  for (int field = 0; field < 2; field++) {
    for (size_t len = 64; len <= 65; len++) {
      lp2p_rpc_partial pm = {{big, field == 0 ? len : 1},
                             {big, field == 1 ? len : 1},
                             {NULL, 0},
                             {NULL, 0}};
      lp2p_buf_truncate(&b, 0);
      assert_int_equal(lp2p_rpc_put_partial(&b, &pm), 0);
      assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim),
                       len == 64 ? 0 : LP2P_ERR_TOO_LARGE);
    }
  }
  lp2p_rpc_free(&rpc);
  lp2p_buf_free(&b);
}

static void rejects_malformed(void **state) {
  (void)state;
  lp2p_rpc rpc;
  lp2p_rpc_limits lim = big_limits();
  lp2p_rpc_init(&rpc, NULL);
  static const struct {
    const char *hex;
    int want;
  } cases[] = {
      {"0a03080112", LP2P_ERR_TRUNCATED},    /* SubOpts cut */
      {"0a020801", LP2P_ERR_MALFORMED},      /* SubOpts without topic */
      {"08", LP2P_ERR_TRUNCATED},            /* RPC field 1 as varint, cut */
      {"0801", LP2P_ERR_WRONG_TYPE},         /* subscriptions as a varint */
      {"0a021202", LP2P_ERR_TRUNCATED},      /* topic cut */
      {"12020801", LP2P_ERR_WRONG_TYPE},     /* Message.from as varint */
      {"1a0418020a00", LP2P_ERR_WRONG_TYPE}, /* GRAFT as varint */
      {"1a0422020801", LP2P_ERR_WRONG_TYPE}, /* PRUNE topic as varint */
      {"1a04220212", LP2P_ERR_TRUNCATED},    /* control cut */
      {"1a0422021a00", LP2P_ERR_WRONG_TYPE}, /* PRUNE backoff as bytes */
      {"1a030a0110", LP2P_ERR_TRUNCATED},    /* IHAVE id cut */
      {"0b", LP2P_ERR_MALFORMED},            /* a group */
      {"0f", LP2P_ERR_MALFORMED},            /* wire type 7 */
      {"0000", LP2P_ERR_MALFORMED},          /* field 0 */
      {"0affffffffffffffffff01", LP2P_ERR_TRUNCATED},
      {"0affffffffffffffffff02", LP2P_ERR_OVERLONG},
      {"1a023001", LP2P_ERR_WRONG_TYPE},           /* extensions as varint */
      {"1a0732059291e21800", LP2P_ERR_WRONG_TYPE}, /* testExtension bytes */
      {"1a03320150", LP2P_ERR_TRUNCATED},          /* partialMessages cut */
      {"9091e21800", LP2P_ERR_WRONG_TYPE},  /* RPC.testExtension varint */
      {"9291e218010f", LP2P_ERR_MALFORMED}, /* its body malformed */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint8_t in[64];
    size_t n = unhex(cases[i].hex, in, sizeof(in));
    int rv = lp2p_rpc_decode(&rpc, in, n, &lim);
    if (rv != cases[i].want) {
      fail_msg("case %zu (%s): got %d, want %d", i, cases[i].hex, rv,
               cases[i].want);
    }
  }
  lp2p_rpc_free(&rpc);
}

/* Encodes `n` entries of one kind and checks that n decode, and that of
 * n + 1 the last is skipped and counted, the RPC still decoded (as go
 * truncates rather than drop the RPC). */
typedef void (*put_fn)(lp2p_buf *b, size_t i);

static void put_sub(lp2p_buf *b, size_t i) {
  (void)i;
  lp2p_rpc_put_sub(b, true, (const uint8_t *)"t", 1);
}

static void put_msg(lp2p_buf *b, size_t i) {
  (void)i;
  lp2p_rpc_put_publish(b, (const uint8_t *)"\x12\x01x", 3);
}

static void put_graft(lp2p_buf *b, size_t i) {
  lp2p_buf ctl;
  (void)i;
  lp2p_buf_init(&ctl, NULL);
  lp2p_ctl_put_graft(&ctl, (const uint8_t *)"t", 1);
  lp2p_rpc_put_control(b, ctl.data, ctl.len);
  lp2p_buf_free(&ctl);
}

static void put_ids(lp2p_buf *b, size_t i) {
  lp2p_buf ctl;
  lp2p_bytes id = {(const uint8_t *)"idid", 4};
  (void)i;
  lp2p_buf_init(&ctl, NULL);
  lp2p_ctl_put_ids(&ctl, LP2P_CTL_IWANT, &id, 1);
  lp2p_rpc_put_control(b, ctl.data, ctl.len);
  lp2p_buf_free(&ctl);
}

static void put_px(lp2p_buf *b, size_t i) {
  lp2p_buf ctl;
  lp2p_rpc_px px = {{(const uint8_t *)"p", 1}, {NULL, 0}};
  (void)i;
  lp2p_buf_init(&ctl, NULL);
  lp2p_ctl_put_prune(&ctl, (const uint8_t *)"t", 1, 0, &px, 1);
  lp2p_rpc_put_control(b, ctl.data, ctl.len);
  lp2p_buf_free(&ctl);
}

static void check_limit(put_fn put, size_t offset, size_t limit) {
  lp2p_rpc_limits lim = {1 << 20, 1000, 1000, 1000, 1000, 1000, 64, 64};
  lp2p_rpc rpc;
  lp2p_buf b;
  lp2p_rpc_init(&rpc, NULL);
  lp2p_buf_init(&b, NULL);
  memcpy((uint8_t *)&lim + offset, &limit, sizeof(limit));
  for (size_t i = 0; i < limit; i++) {
    put(&b, i);
  }
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim), 0);
  assert_int_equal(rpc.truncated, 0);
  put(&b, limit);
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim), 0);
  assert_int_equal(rpc.truncated, 1);
  assert_int_equal(rpc.subs.len + rpc.msgs.len + rpc.graft.len + rpc.ids.len +
                       rpc.px.len,
                   limit);
  lp2p_rpc_free(&rpc);
  lp2p_buf_free(&b);
}

static void every_limit_and_one_past(void **state) {
  (void)state;
  check_limit(put_sub, offsetof(lp2p_rpc_limits, max_subscriptions), 37);
  check_limit(put_msg, offsetof(lp2p_rpc_limits, max_messages), 41);
  check_limit(put_graft, offsetof(lp2p_rpc_limits, max_control), 29);
  check_limit(put_ids, offsetof(lp2p_rpc_limits, max_ids), 33);
  check_limit(put_px, offsetof(lp2p_rpc_limits, max_px), 17);
  /* sizes: the whole RPC, a topic, an id */
  lp2p_rpc_limits lim = big_limits();
  lp2p_rpc rpc;
  lp2p_buf b;
  lp2p_rpc_init(&rpc, NULL);
  lp2p_buf_init(&b, NULL);
  uint8_t topic[65];
  memset(topic, 't', sizeof(topic));
  lp2p_rpc_put_sub(&b, true, topic, 64);
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim), 0);
  lim.max_rpc_size = b.len - 1;
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim),
                   LP2P_ERR_TOO_LARGE);
  lim = big_limits();
  lp2p_buf_truncate(&b, 0);
  lp2p_rpc_put_sub(&b, true, topic, 65);
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim),
                   LP2P_ERR_TOO_LARGE);
  lp2p_buf ctl;
  lp2p_buf_init(&ctl, NULL);
  lp2p_bytes id = {topic, 64};
  lp2p_buf_truncate(&b, 0);
  lp2p_ctl_put_ids(&ctl, LP2P_CTL_IDONTWANT, &id, 1);
  lp2p_rpc_put_control(&b, ctl.data, ctl.len);
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim), 0);
  id.len = 65;
  lp2p_buf_truncate(&b, 0);
  lp2p_buf_truncate(&ctl, 0);
  lp2p_ctl_put_ids(&ctl, LP2P_CTL_IDONTWANT, &id, 1);
  lp2p_rpc_put_control(&b, ctl.data, ctl.len);
  assert_int_equal(lp2p_rpc_decode(&rpc, b.data, b.len, &lim),
                   LP2P_ERR_TOO_LARGE);
  lp2p_buf_free(&ctl);
  lp2p_rpc_free(&rpc);
  lp2p_buf_free(&b);
}

static int decode_under(const lp2p_mem *mem, void *arg) {
  const lp2p_buf *b = arg;
  lp2p_rpc rpc;
  lp2p_rpc_limits lim = big_limits();
  lp2p_rpc_init(&rpc, mem);
  int rv = lp2p_rpc_decode(&rpc, b->data, b->len, &lim);
  if (rv == 0) {
    assert_int_equal(rpc.prune.len, 1);
  }
  lp2p_rpc_free(&rpc);
  return rv;
}

static void decode_under_failing_allocator(void **state) {
  (void)state;
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  build_full(&b);
  failmem_sweep(decode_under, &b);
  lp2p_buf_free(&b);
}

static int encode_under(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_buf b;
  lp2p_bytes ids[40];
  uint8_t store[40];
  lp2p_rpc_px px = {{(const uint8_t *)"p", 1}, {(const uint8_t *)"r", 1}};
  int rv = 0;
  for (int i = 0; i < 40; i++) {
    store[i] = (uint8_t)i;
    ids[i] = (lp2p_bytes){store + i, 1};
  }
  lp2p_buf_init(&b, mem);
  for (int round = 0; rv == 0 && round < 10; round++) {
    rv = lp2p_ctl_put_ihave(&b, (const uint8_t *)"topic", 5, ids, 40);
    if (rv == 0) {
      rv = lp2p_ctl_put_prune(&b, (const uint8_t *)"t", 1, 9, &px, 1);
    }
    if (rv == 0) {
      rv = lp2p_rpc_put_sub(&b, true, (const uint8_t *)"t", 1);
    }
  }
  lp2p_buf_free(&b);
  return rv;
}

static void encode_under_failing_allocator(void **state) {
  (void)state;
  failmem_sweep(encode_under, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(decodes_every_field),
      cmocka_unit_test(skips_unknown_fields),
      cmocka_unit_test(extensions_round_trip),
      cmocka_unit_test(extensions_merge_last_value_wins),
      cmocka_unit_test(partial_fields_round_trip),
      cmocka_unit_test(partial_topic_and_group_one_past_limit),
      cmocka_unit_test(rejects_malformed),
      cmocka_unit_test(every_limit_and_one_past),
      cmocka_unit_test(decode_under_failing_allocator),
      cmocka_unit_test(encode_under_failing_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
