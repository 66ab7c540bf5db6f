/* Trace events encode as go-libp2p-pubsub v0.19 writes them: protobuf by
 * pb/trace.proto's field numbers (the bytes below are worked out by hand
 * from them), uvarint-delimited as PBTracer, JSON lines as JSONTracer. */
#include "testutil.h"
#include "testutil_trace.h"

#define BI(s)                                                                  \
  { (const uint8_t *)(s), sizeof(s) - 1 }
#define B(s) ((lp2p_bytes)BI(s))

/* self "me", peer "p1", peer2 "p2", message "id", topic "t", at 300 ns */
static const trace_fixture tiny = {.self = BI("me"),
                                   .peer = BI("p1"),
                                   .peer2 = BI("p2"),
                                   .message_id = BI("id"),
                                   .topic = BI("t"),
                                   .reason =
                                       BI(LP2P_TRACE_REJECT_VALIDATION_FAILED),
                                   .proto = BI("/meshsub/1.2.0"),
                                   .timestamp = 300,
                                   .write_duration_ns = 1000};

/* type 1, peerID 2 = "me", timestamp 3 = 300 (ac 02), then the payload */
#define HEAD(type) "08" type "12026d6518ac02"
#define JHEAD(type) "{\"type\":" type ",\"peerID\":\"bWU=\",\"timestamp\":300,"

typedef struct expected {
  const char *pb_hex;
  const char *json;
} expected;

static const expected per_type[LP2P_TRACE_TYPE_COUNT] = {
    /* publishMessage = 4: messageID 1, topic 2 */
    {HEAD("00") "2207"
                "0a026964"
                "120174",
     JHEAD("0") "\"publishMessage\":{\"messageID\":\"aWQ=\",\"topic\":\"t\"}}"},
    /* rejectMessage = 5: messageID 1, receivedFrom 2, reason 3, topic 4 */
    {HEAD("01") "2a1e"
                "0a026964"
                "12027031"
                "1a1176616c69646174696f6e206661696c6564"
                "220174",
     JHEAD("1") "\"rejectMessage\":{\"messageID\":\"aWQ=\",\"receivedFrom\":"
                "\"cDE=\",\"reason\":\"validation failed\",\"topic\":\"t\"}}"},
    /* duplicateMessage = 6: messageID 1, receivedFrom 2, topic 3 */
    {HEAD("02") "320b"
                "0a026964"
                "12027031"
                "1a0174",
     JHEAD("2") "\"duplicateMessage\":{\"messageID\":\"aWQ=\","
                "\"receivedFrom\":\"cDE=\",\"topic\":\"t\"}}"},
    /* deliverMessage = 7: messageID 1, topic 2, receivedFrom 3 */
    {HEAD("03") "3a0b"
                "0a026964"
                "120174"
                "1a027031",
     JHEAD("3") "\"deliverMessage\":{\"messageID\":\"aWQ=\",\"topic\":\"t\","
                "\"receivedFrom\":\"cDE=\"}}"},
    /* onNewOutboundStream = 8: peerID 1, proto 2 */
    {HEAD("04") "4214"
                "0a027031"
                "120e2f6d6573687375622f312e322e30",
     JHEAD("4") "\"onNewOutboundStream\":{\"peerID\":\"cDE=\","
                "\"proto\":\"/meshsub/1.2.0\"}}"},
    /* onClosedOutboundStream = 9: peerID 1 */
    {HEAD("05") "4a04"
                "0a027031",
     JHEAD("5") "\"onClosedOutboundStream\":{\"peerID\":\"cDE=\"}}"},
    /* recvRPC = 10: receivedFrom 1, meta 2 {messages 1 {messageID 1,
     * topic 2}, subscription 2 {subscribe 1, topic 2}} */
    {HEAD("06") "5216"
                "0a027031"
                "1210"
                "0a07"
                "0a026964"
                "120174"
                "1205"
                "0801"
                "120174",
     JHEAD("6") "\"recvRPC\":{\"receivedFrom\":\"cDE=\",\"meta\":{"
                "\"messages\":[{\"messageID\":\"aWQ=\",\"topic\":\"t\"}],"
                "\"subscription\":[{\"subscribe\":true,\"topic\":\"t\"}]}}}"},
    /* sendRPC = 11: sendTo 1, meta 2 {control 3 {ihave 1 {topic 1,
     * messageIDs 2}, iwant 2 {messageIDs 1}, graft 3 {topic 1}, prune 4
     * {topic 1, peers 2}, idontwant 5 {messageIDs 1}}} */
    {HEAD("07") "5a2b"
                "0a027031"
                "1225"
                "1a23"
                "0a07"
                "0a0174"
                "12026964"
                "1204"
                "0a026964"
                "1a03"
                "0a0174"
                "2207"
                "0a0174"
                "12027032"
                "2a04"
                "0a026964",
     JHEAD("7") "\"sendRPC\":{\"sendTo\":\"cDE=\",\"meta\":{\"control\":{"
                "\"ihave\":[{\"topic\":\"t\",\"messageIDs\":[\"aWQ=\"]}],"
                "\"iwant\":[{\"messageIDs\":[\"aWQ=\"]}],"
                "\"graft\":[{\"topic\":\"t\"}],"
                "\"prune\":[{\"topic\":\"t\",\"peers\":[\"cDI=\"]}],"
                "\"idontwant\":[{\"messageIDs\":[\"aWQ=\"]}]}}}}"},
    /* dropRPC = 12: sendTo 1, meta 2 present and empty, as go */
    {HEAD("08") "6206"
                "0a027031"
                "1200",
     JHEAD("8") "\"dropRPC\":{\"sendTo\":\"cDE=\",\"meta\":{}}}"},
    /* join = 13: topic 1 */
    {HEAD("09") "6a03"
                "0a0174",
     JHEAD("9") "\"join\":{\"topic\":\"t\"}}"},
    /* leave = 14: topic 2 (go's trace.proto skips 1 there) */
    {HEAD("0a") "7203"
                "120174",
     JHEAD("10") "\"leave\":{\"topic\":\"t\"}}"},
    /* graft = 15: peerID 1, topic 2 */
    {HEAD("0b") "7a07"
                "0a027031"
                "120174",
     JHEAD("11") "\"graft\":{\"peerID\":\"cDE=\",\"topic\":\"t\"}}"},
    /* prune = 16: a tag of two bytes (130) */
    {HEAD("0c") "820107"
                "0a027031"
                "120174",
     JHEAD("12") "\"prune\":{\"peerID\":\"cDE=\",\"topic\":\"t\"}}"},
    /* sendRPCCompleted = 17: sendTo 1, meta 2 {control 3 {}},
     * writeDurationNanos 3 = 1000 (e8 07) */
    {HEAD("0d") "8a010b"
                "0a027031"
                "12021a00"
                "18e807",
     JHEAD("13") "\"sendRPCCompleted\":{\"sendTo\":\"cDE=\",\"meta\":{"
                 "\"control\":{}},\"writeDurationNanos\":1000}}"},
};

static void assert_pb(const lp2p_trace_event *ev, const char *hex) {
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  assert_int_equal(lp2p_trace_encode_pb(&b, ev), 0);
  char got[1024];
  assert_true(b.len * 2 < sizeof got);
  tohex(b.data, b.len, got);
  assert_string_equal(got, hex);
  lp2p_buf_free(&b);
}

static void assert_json(const lp2p_trace_event *ev, const char *json) {
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  assert_int_equal(lp2p_trace_encode_json(&b, ev), 0);
  assert_int_equal(b.data[b.len - 1], '\n');
  b.data[b.len - 1] = 0;
  assert_string_equal((const char *)b.data, json);
  lp2p_buf_free(&b);
}

static void each_type_encodes_as_go_trace_proto(void **state) {
  (void)state;
  for (int t = 0; t < LP2P_TRACE_TYPE_COUNT; t++) {
    lp2p_trace_event ev;
    trace_fixture_event(&tiny, (lp2p_trace_type)t, &ev);
    assert_pb(&ev, per_type[t].pb_hex);
  }
}

static void each_type_encodes_as_go_encoding_json(void **state) {
  (void)state;
  for (int t = 0; t < LP2P_TRACE_TYPE_COUNT; t++) {
    lp2p_trace_event ev;
    trace_fixture_event(&tiny, (lp2p_trace_type)t, &ev);
    assert_json(&ev, per_type[t].json);
  }
}

static void delimited_event_is_prefixed_with_uvarint_length(void **state) {
  (void)state;
  lp2p_trace_event ev;
  trace_fixture_event(&tiny, LP2P_TRACE_JOIN, &ev);
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  assert_int_equal(lp2p_trace_encode_delimited(&b, &ev), 0);
  char got[64];
  tohex(b.data, b.len, got);
  assert_string_equal(got, "0e" HEAD("09") "6a030a0174");
  /* a 200-byte topic: the event is over 127 bytes, a 2-byte prefix */
  char topic[200];
  memset(topic, 'x', sizeof topic);
  ev.u.join.topic = (lp2p_bytes){(const uint8_t *)topic, sizeof topic};
  lp2p_buf_truncate(&b, 0);
  assert_int_equal(lp2p_trace_encode_delimited(&b, &ev), 0);
  /* 9 head + 3 (tag, 2-byte length) + 3 (tag, 2-byte length) + 200 */
  assert_int_equal(b.len, 2 + 215);
  assert_int_equal(b.data[0], 0xd7);
  assert_int_equal(b.data[1], 0x01);
  lp2p_buf_free(&b);
}

static void absent_bytes_omitted_set_empty_string_kept(void **state) {
  (void)state;
  /* go: a nil []byte is not written; a *string set to "" is, in protobuf
   * and in JSON (omitempty drops empty []byte but not a set pointer) */
  lp2p_trace_event ev = {.type = LP2P_TRACE_DELIVER_MESSAGE, .timestamp = 1};
  ev.u.deliver.topic = B("");
  ev.u.deliver.received_from = (lp2p_bytes){(const uint8_t *)"", 0};
  assert_pb(&ev, "0803"
                 "1801"
                 "3a04"
                 "1200"
                 "1a00");
  assert_json(&ev, "{\"type\":3,\"timestamp\":1,"
                   "\"deliverMessage\":{\"topic\":\"\"}}");
}

static void negative_timestamp_is_ten_byte_varint(void **state) {
  (void)state;
  lp2p_trace_event ev = {.type = LP2P_TRACE_JOIN, .timestamp = -1};
  ev.u.join.topic = B("t");
  assert_pb(&ev, "0809"
                 "18ffffffffffffffffff01"
                 "6a030a0174");
  assert_json(&ev, "{\"type\":9,\"timestamp\":-1,\"join\":{\"topic\":\"t\"}}");
}

static void json_strings_escaped_as_go(void **state) {
  (void)state;
  /* Go escapes " \ and control bytes (\b \f \n \r \t short), < > & as
   * \u003c.., U+2028/9, and each byte of invalid UTF-8 as \ufffd; valid
   * multi-byte UTF-8 stays as it is */
  lp2p_trace_event ev = {.type = LP2P_TRACE_JOIN, .timestamp = 0};
  ev.u.join.topic = B("a\"\\\b\f\n\r\t\x01\x1f<>&\x7f\xc3\xa9\xe2\x80\xa8"
                      "\xe2\x80\xa9\xff\xc3\xed\xa0\x80\xf0\x9f\x98\x80");
  assert_json(&ev, "{\"type\":9,\"timestamp\":0,\"join\":{\"topic\":"
                   "\"a\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\\u003c\\u003e"
                   "\\u0026\x7f\xc3\xa9\\u2028\\u2029\\ufffd\\ufffd"
                   "\\ufffd\\ufffd\\ufffd\xf0\x9f\x98\x80\"}}");
}

static void base64_pads_as_go_std_encoding(void **state) {
  (void)state;
  lp2p_trace_event ev = {.type = LP2P_TRACE_ON_CLOSED_OUTBOUND_STREAM};
  const char *want[] = {"YQ==", "YWI=", "YWJj", "YWJjZA=="};
  for (size_t n = 1; n <= 4; n++) {
    ev.u.closed_stream.peer = (lp2p_bytes){(const uint8_t *)"abcd", n};
    char json[128];
    snprintf(json, sizeof json,
             "{\"type\":5,\"timestamp\":0,"
             "\"onClosedOutboundStream\":{\"peerID\":\"%s\"}}",
             want[n - 1]);
    assert_json(&ev, json);
  }
}

static void unknown_type_is_refused_and_buffer_unchanged(void **state) {
  (void)state;
  lp2p_trace_event ev = {.type = (lp2p_trace_type)LP2P_TRACE_TYPE_COUNT};
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  assert_int_equal(lp2p_buf_append(&b, "x", 1), 0);
  assert_int_equal(lp2p_trace_encode_pb(&b, &ev), LP2P_ERR_INVALID_ARG);
  assert_int_equal(lp2p_trace_encode_delimited(&b, &ev), LP2P_ERR_INVALID_ARG);
  assert_int_equal(lp2p_trace_encode_json(&b, &ev), LP2P_ERR_INVALID_ARG);
  assert_int_equal(b.len, 1);
  assert_string_equal(lp2p_trace_type_name(ev.type), "UNKNOWN");
  assert_string_equal(lp2p_trace_type_name(LP2P_TRACE_SEND_RPC_COMPLETED),
                      "SEND_RPC_COMPLETED");
  lp2p_buf_free(&b);
}

/* each encoder under every allocation failure: NOMEM and `out` as it was */
static int encode_all(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_buf b;
  lp2p_buf_init(&b, mem);
  int rv = lp2p_buf_append(&b, "x", 1);
  for (int t = 0; rv == 0 && t < LP2P_TRACE_TYPE_COUNT; t++) {
    lp2p_trace_event ev;
    trace_fixture_event(&tiny, (lp2p_trace_type)t, &ev);
    size_t before = b.len;
    rv = lp2p_trace_encode_delimited(&b, &ev);
    if (rv == 0) {
      before = b.len;
      rv = lp2p_trace_encode_json(&b, &ev);
    }
    if (rv != 0) {
      assert_int_equal(b.len, before);
    }
  }
  lp2p_buf_free(&b);
  return rv;
}

static void out_of_memory_leaves_buffer_as_it_was(void **state) {
  (void)state;
  failmem_sweep(encode_all, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(each_type_encodes_as_go_trace_proto),
      cmocka_unit_test(each_type_encodes_as_go_encoding_json),
      cmocka_unit_test(delimited_event_is_prefixed_with_uvarint_length),
      cmocka_unit_test(absent_bytes_omitted_set_empty_string_kept),
      cmocka_unit_test(negative_timestamp_is_ten_byte_varint),
      cmocka_unit_test(json_strings_escaped_as_go),
      cmocka_unit_test(base64_pads_as_go_std_encoding),
      cmocka_unit_test(unknown_type_is_refused_and_buffer_unchanged),
      cmocka_unit_test(out_of_memory_leaves_buffer_as_it_was),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
