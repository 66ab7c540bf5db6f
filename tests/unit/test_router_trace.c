/* The router's trace events: emitted where go-libp2p-pubsub v0.19's
 * tracer is called, with go's semantics (a duplicate is not a rejection,
 * rejections carry go's reason strings, a full queue traces DROP_RPC).
 * Test names say the rule. */
#include "testutil_router.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1

/* What the trace callback saw: per type, how many and the last one's
 * fields (copied: an event is valid during the call only). */
typedef struct seen_event {
  size_t count;
  char reason[64];
  lp2p_peer_id peer; /* received_from, send_to or peer */
  char topic[32];
  char proto[32];
  size_t n_messages, n_subs, n_graft, n_prune, n_ihave;
  bool has_control;
  int64_t timestamp;
  int64_t write_duration;
} seen_event;

static seen_event seen[LP2P_TRACE_TYPE_COUNT];
static lp2p_trace_type order[256];
static size_t norder;

static void copy_bytes(char *dst, size_t cap, lp2p_bytes b) {
  size_t n = b.len < cap - 1 ? b.len : cap - 1;
  memcpy(dst, b.data, n);
  dst[n] = 0;
}

static void copy_peer(lp2p_peer_id *dst, lp2p_bytes b) {
  assert_true(b.len <= sizeof(dst->bytes));
  dst->len = (uint8_t)b.len;
  memcpy(dst->bytes, b.data, b.len);
}

static void record_meta(seen_event *s, const lp2p_trace_rpc_meta *m) {
  s->n_messages = m->n_messages;
  s->n_subs = m->n_subscriptions;
  s->n_graft = m->n_graft;
  s->n_prune = m->n_prune;
  s->n_ihave = m->n_ihave;
  s->has_control = m->has_control;
  for (size_t i = 0; i < m->n_messages; i++) {
    assert_true(m->messages[i].message_id.len > 0);
  }
}

static void on_trace(lp2p_router *r, const lp2p_trace_event *ev, void *user) {
  (void)user;
  seen_event *s = &seen[ev->type];
  assert_int_equal(ev->peer_id.len, r->self.len); /* our own id */
  s->count++;
  s->timestamp = ev->timestamp;
  if (norder < 256) {
    order[norder++] = ev->type;
  }
  switch (ev->type) {
  case LP2P_TRACE_PUBLISH_MESSAGE:
    copy_bytes(s->topic, sizeof(s->topic), ev->u.publish.topic);
    break;
  case LP2P_TRACE_REJECT_MESSAGE:
    copy_bytes(s->reason, sizeof(s->reason), ev->u.reject.reason);
    copy_peer(&s->peer, ev->u.reject.received_from);
    break;
  case LP2P_TRACE_DUPLICATE_MESSAGE:
    copy_peer(&s->peer, ev->u.duplicate.received_from);
    break;
  case LP2P_TRACE_DELIVER_MESSAGE:
    copy_peer(&s->peer, ev->u.deliver.received_from);
    copy_bytes(s->topic, sizeof(s->topic), ev->u.deliver.topic);
    break;
  case LP2P_TRACE_ON_NEW_OUTBOUND_STREAM:
    copy_peer(&s->peer, ev->u.new_stream.peer);
    copy_bytes(s->proto, sizeof(s->proto), ev->u.new_stream.proto);
    break;
  case LP2P_TRACE_ON_CLOSED_OUTBOUND_STREAM:
    copy_peer(&s->peer, ev->u.closed_stream.peer);
    break;
  case LP2P_TRACE_SEND_RPC_COMPLETED:
    s->write_duration = ev->u.send_rpc_completed.write_duration_ns;
    copy_peer(&s->peer, ev->u.send_rpc_completed.send_to);
    record_meta(s, &ev->u.send_rpc_completed.meta);
    break;
  case LP2P_TRACE_RECV_RPC:
  case LP2P_TRACE_SEND_RPC:
  case LP2P_TRACE_DROP_RPC: /* the same layout */
    copy_peer(&s->peer, ev->u.recv_rpc.received_from);
    record_meta(s, &ev->u.recv_rpc.meta);
    break;
  case LP2P_TRACE_JOIN:
  case LP2P_TRACE_LEAVE:
    copy_bytes(s->topic, sizeof(s->topic), ev->u.join.topic);
    break;
  default: /* GRAFT, PRUNE */
    copy_peer(&s->peer, ev->u.graft.peer);
    copy_bytes(s->topic, sizeof(s->topic), ev->u.graft.topic);
    break;
  }
}

/* A harness router given the trace callback, as an application gives it
 * to lp2p_router_new (`verdict` -1: no validator), with nothing seen
 * yet. */
static void traced(th_router *t, lp2p_router_settings *s,
                   lp2p_validation verdict, bool verify_hook) {
  memset(seen, 0, sizeof(seen));
  norder = 0;
  th_router_new_traced(t, s, verdict, verify_hook, on_trace);
}

static void new_traced(th_router *t, lp2p_router_settings *s) {
  traced(t, s, (lp2p_validation)-1, false);
}

static void add_subscribed(th_router *t, size_t n, lp2p_peer_id *ids) {
  for (size_t i = 0; i < n; i++) {
    th_rpc m;
    th_add_peer(t, (uint8_t)(10 + i), LP2P_MESHSUB_12, false, &ids[i]);
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_send(t, &ids[i], &m, TH_T0);
  }
}

static void send_msg(th_router *t, const lp2p_peer_id *from, uint8_t author,
                     uint64_t seqno) {
  lp2p_privkey k;
  lp2p_peer_id aid;
  th_rpc m;
  th_identity(author, &k, &aid);
  th_rpc_init(&m);
  th_rpc_msg(&m, &k, TOPIC, (const uint8_t *)"payload", 7, seqno);
  th_rpc_send(t, from, &m, TH_T0);
}

static bool same_peer(const lp2p_peer_id *a, const lp2p_peer_id *b) {
  return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

static void publish_traces_publish_then_deliver_from_self(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  th_settings(&s, 1);
  lp2p_peer_id ids[1];
  new_traced(&t, &s);
  add_subscribed(&t, 1, ids); /* someone to publish to */
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  norder = 0;
  assert_true(lp2p_router_publish(t.r, T, (const uint8_t *)"x", 1, NULL, NULL,
                                  TH_T0 + 7) > 0);
  assert_int_equal(seen[LP2P_TRACE_PUBLISH_MESSAGE].count, 1);
  assert_string_equal(seen[LP2P_TRACE_PUBLISH_MESSAGE].topic, TOPIC);
  assert_int_equal(seen[LP2P_TRACE_PUBLISH_MESSAGE].timestamp, TH_T0 + 7);
  assert_int_equal(seen[LP2P_TRACE_DELIVER_MESSAGE].count, 1);
  assert_true(same_peer(&seen[LP2P_TRACE_DELIVER_MESSAGE].peer, &t.id));
  assert_int_equal(order[0], LP2P_TRACE_PUBLISH_MESSAGE);
  assert_int_equal(order[norder - 1], LP2P_TRACE_DELIVER_MESSAGE);
  th_router_del(&t);
}

static void valid_message_traces_deliver_with_its_sender(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_settings(&s, 1);
  new_traced(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 1, ids);
  send_msg(&t, &ids[0], 77, 1);
  assert_int_equal(t.delivered, 1);
  assert_int_equal(seen[LP2P_TRACE_DELIVER_MESSAGE].count, 1);
  assert_true(same_peer(&seen[LP2P_TRACE_DELIVER_MESSAGE].peer, &ids[0]));
  assert_int_equal(seen[LP2P_TRACE_REJECT_MESSAGE].count, 0);
  th_router_del(&t);
}

static void duplicate_traces_duplicate_not_reject(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[2];
  th_settings(&s, 1);
  new_traced(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 2, ids);
  send_msg(&t, &ids[0], 77, 1);
  send_msg(&t, &ids[1], 77, 1);
  assert_int_equal(seen[LP2P_TRACE_DUPLICATE_MESSAGE].count, 1);
  assert_true(same_peer(&seen[LP2P_TRACE_DUPLICATE_MESSAGE].peer, &ids[1]));
  assert_int_equal(seen[LP2P_TRACE_REJECT_MESSAGE].count, 0);
  assert_int_equal(seen[LP2P_TRACE_DELIVER_MESSAGE].count, 1);
  th_router_del(&t);
}

static void bad_signature_traces_reject_invalid_signature(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_settings(&s, 1);
  traced(&t, &s, (lp2p_validation)-1, true);
  t.verify_refuses = true;
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 1, ids);
  send_msg(&t, &ids[0], 77, 1);
  assert_int_equal(seen[LP2P_TRACE_REJECT_MESSAGE].count, 1);
  assert_string_equal(seen[LP2P_TRACE_REJECT_MESSAGE].reason,
                      LP2P_TRACE_REJECT_INVALID_SIGNATURE);
  assert_true(same_peer(&seen[LP2P_TRACE_REJECT_MESSAGE].peer, &ids[0]));
  assert_int_equal(seen[LP2P_TRACE_DELIVER_MESSAGE].count, 0);
  th_router_del(&t);
}

static void unsigned_message_traces_reject_missing_signature(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1], aid;
  lp2p_privkey author;
  th_rpc m;
  th_settings(&s, 1);
  new_traced(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 1, ids);
  th_identity(77, &author, &aid);
  lp2p_rpc_msg f = {0};
  f.from = (lp2p_bytes){aid.bytes, aid.len};
  f.data = (lp2p_bytes){(const uint8_t *)"x", 1};
  f.seqno = (lp2p_bytes){(const uint8_t *)"12345678", 8};
  f.topic = (lp2p_bytes){(const uint8_t *)TOPIC, 1};
  th_rpc_init(&m);
  th_rpc_raw_msg(&m, &f);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(seen[LP2P_TRACE_REJECT_MESSAGE].count, 1);
  assert_string_equal(seen[LP2P_TRACE_REJECT_MESSAGE].reason,
                      LP2P_TRACE_REJECT_MISSING_SIGNATURE);
  th_router_del(&t);
}

static void validator_verdicts_trace_go_reasons(void **state) {
  (void)state;
  static const struct {
    lp2p_validation verdict;
    const char *reason;
  } cases[] = {{LP2P_VALIDATION_REJECT, LP2P_TRACE_REJECT_VALIDATION_FAILED},
               {LP2P_VALIDATION_IGNORE, LP2P_TRACE_REJECT_VALIDATION_IGNORED}};
  for (size_t i = 0; i < 2; i++) {
    th_router t;
    lp2p_router_settings s;
    lp2p_peer_id ids[1];
    th_settings(&s, 1);
    traced(&t, &s, cases[i].verdict, false);
    assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
    add_subscribed(&t, 1, ids);
    send_msg(&t, &ids[0], 77, 1);
    assert_int_equal(seen[LP2P_TRACE_REJECT_MESSAGE].count, 1);
    assert_string_equal(seen[LP2P_TRACE_REJECT_MESSAGE].reason,
                        cases[i].reason);
    assert_int_equal(seen[LP2P_TRACE_DELIVER_MESSAGE].count, 0);
    th_router_del(&t);
  }
}

static void message_claiming_our_id_traces_reject_self_origin(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_rpc m;
  th_settings(&s, 1);
  new_traced(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 1, ids);
  th_rpc_init(&m);
  th_rpc_msg(&m, &s.key, TOPIC, (const uint8_t *)"forged", 6, 99);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(seen[LP2P_TRACE_REJECT_MESSAGE].count, 1);
  assert_string_equal(seen[LP2P_TRACE_REJECT_MESSAGE].reason,
                      LP2P_TRACE_REJECT_SELF_ORIGIN);
  th_router_del(&t);
}

static void received_rpc_traces_recv_rpc_with_its_meta(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id id;
  th_rpc m;
  th_settings(&s, 1);
  new_traced(&t, &s);
  th_add_peer(&t, 10, LP2P_MESHSUB_12, false, &id);
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  th_rpc_graft(&m, "other");
  th_rpc_send(&t, &id, &m, TH_T0 + 3);
  seen_event *e = &seen[LP2P_TRACE_RECV_RPC];
  assert_int_equal(e->count, 1);
  assert_true(same_peer(&e->peer, &id));
  assert_int_equal(e->n_subs, 1);
  assert_true(e->has_control);
  assert_int_equal(e->n_graft, 1);
  assert_int_equal(e->n_messages, 0);
  assert_int_equal(e->timestamp, TH_T0 + 3);
  th_router_del(&t);
}

static void pulled_rpc_traces_send_rpc_with_its_meta(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_out o;
  th_settings(&s, 1);
  new_traced(&t, &s);
  add_subscribed(&t, 1, ids);
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_int_equal(seen[LP2P_TRACE_SEND_RPC].count, 0); /* queued only */
  th_drain(&t, &ids[0], &o, TH_T0);
  seen_event *e = &seen[LP2P_TRACE_SEND_RPC];
  assert_int_equal(e->count, o.rpcs);
  assert_true(same_peer(&e->peer, &ids[0]));
  assert_int_equal(e->n_subs, 1);
  assert_int_equal(e->n_graft, 1);
  assert_true(e->has_control);
  th_router_del(&t);
}

static void full_queue_traces_drop_rpc(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_settings(&s, 1);
  s.limits.queue_max_messages = 2;
  new_traced(&t, &s);
  add_subscribed(&t, 1, ids);
  for (uint8_t i = 0; i < 5; i++) { /* fanout: all to the one peer */
    int rv = lp2p_router_publish(t.r, T, &i, 1, NULL, NULL, TH_T0);
    assert_int_equal(rv, i < 2 ? 1 : LP2P_ERR_NOT_SENT); /* then full */
  }
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.queue_drop_messages, 3);
  seen_event *e = &seen[LP2P_TRACE_DROP_RPC];
  assert_int_equal(e->count, 3);
  assert_true(same_peer(&e->peer, &ids[0]));
  assert_int_equal(e->n_messages, 1);
  th_router_del(&t);
}

static void join_and_leave_trace_topic_around_graft_and_prune(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_settings(&s, 1);
  new_traced(&t, &s);
  add_subscribed(&t, 1, ids);
  norder = 0;
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_int_equal(seen[LP2P_TRACE_JOIN].count, 1);
  assert_string_equal(seen[LP2P_TRACE_JOIN].topic, TOPIC);
  assert_int_equal(seen[LP2P_TRACE_GRAFT].count, 1);
  assert_true(same_peer(&seen[LP2P_TRACE_GRAFT].peer, &ids[0]));
  assert_string_equal(seen[LP2P_TRACE_GRAFT].topic, TOPIC);
  assert_int_equal(order[0], LP2P_TRACE_JOIN); /* as go: join, then grafts */
  norder = 0;
  assert_int_equal(lp2p_router_leave(t.r, T, TH_T0), 0);
  assert_int_equal(seen[LP2P_TRACE_LEAVE].count, 1);
  assert_int_equal(seen[LP2P_TRACE_PRUNE].count, 1);
  assert_true(same_peer(&seen[LP2P_TRACE_PRUNE].peer, &ids[0]));
  assert_int_equal(order[0], LP2P_TRACE_LEAVE);
  th_router_del(&t);
}

static void peer_added_and_removed_trace_stream_not_prune(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_settings(&s, 1);
  new_traced(&t, &s);
  add_subscribed(&t, 1, ids);
  /* join grafts the subscriber at once (a later one waits for the
   * heartbeat, as go) */
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  seen_event *e = &seen[LP2P_TRACE_ON_NEW_OUTBOUND_STREAM];
  assert_int_equal(e->count, 1);
  assert_true(same_peer(&e->peer, &ids[0]));
  assert_string_equal(e->proto, "/meshsub/1.2.0");
  assert_int_equal(seen[LP2P_TRACE_GRAFT].count, 1);
  assert_int_equal(lp2p_router_remove_peer(t.r, &ids[0], TH_T0), 0);
  assert_int_equal(seen[LP2P_TRACE_ON_CLOSED_OUTBOUND_STREAM].count, 1);
  /* as go's RemovePeer: the mesh forgets it without a PRUNE trace */
  assert_int_equal(seen[LP2P_TRACE_PRUNE].count, 0);
  th_router_del(&t);
}

/* As go v0.19: SEND_RPC when the RPC leaves the router's queue, then
 * SEND_RPC_COMPLETED with the same RPC's meta once the host wrote it all,
 * with how long the write took. */
static void written_rpc_traces_send_rpc_completed(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_settings(&s, 1);
  new_traced(&t, &s);
  add_subscribed(&t, 1, ids);
  th_drain_all(&t, TH_T0);
  assert_true(lp2p_router_publish(t.r, T, (const uint8_t *)"x", 1, NULL, NULL,
                                  TH_T0) == 1);
  const uint8_t *out;
  ptrdiff_t n = lp2p_router_pull(t.r, &ids[0], &out, TH_T0);
  assert_true(n > 0);
  assert_int_equal(seen[LP2P_TRACE_SEND_RPC].n_messages, 1);
  assert_int_equal(seen[LP2P_TRACE_SEND_RPC_COMPLETED].count, 0);
  lp2p_buf copy; /* what a host keeps of an RPC written in several calls */
  lp2p_buf_init(&copy, NULL);
  assert_int_equal(lp2p_buf_append(&copy, out, (size_t)n), 0);
  lp2p_router_trace_written(t.r, &ids[0], copy.data, copy.len,
                            3 * LP2P_MILLISECONDS,
                            TH_T0 + 3 * LP2P_MILLISECONDS);
  seen_event *e = &seen[LP2P_TRACE_SEND_RPC_COMPLETED];
  assert_int_equal(e->count, 1);
  assert_true(same_peer(&e->peer, &ids[0]));
  assert_int_equal(e->n_messages, 1);
  assert_int_equal(e->write_duration, 3 * LP2P_MILLISECONDS);
  assert_int_equal(e->timestamp, TH_T0 + 3 * LP2P_MILLISECONDS);
  /* bytes that are not one framed RPC trace nothing */
  lp2p_router_trace_written(t.r, &ids[0], copy.data, copy.len - 1, 0, TH_T0);
  assert_int_equal(e->count, 1);
  lp2p_buf_free(&copy);
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(publish_traces_publish_then_deliver_from_self),
      cmocka_unit_test(valid_message_traces_deliver_with_its_sender),
      cmocka_unit_test(duplicate_traces_duplicate_not_reject),
      cmocka_unit_test(bad_signature_traces_reject_invalid_signature),
      cmocka_unit_test(unsigned_message_traces_reject_missing_signature),
      cmocka_unit_test(validator_verdicts_trace_go_reasons),
      cmocka_unit_test(message_claiming_our_id_traces_reject_self_origin),
      cmocka_unit_test(received_rpc_traces_recv_rpc_with_its_meta),
      cmocka_unit_test(pulled_rpc_traces_send_rpc_with_its_meta),
      cmocka_unit_test(full_queue_traces_drop_rpc),
      cmocka_unit_test(written_rpc_traces_send_rpc_completed),
      cmocka_unit_test(join_and_leave_trace_topic_around_graft_and_prune),
      cmocka_unit_test(peer_added_and_removed_trace_stream_not_prune),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
