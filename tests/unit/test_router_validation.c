/* Per-topic validation limits (lp2p_router_set_topic_validation) beside
 * the router-wide bound, and publications no peer takes
 * (LP2P_ERR_NOT_SENT): what a busy topic or a publisher with nobody to
 * send to sees. */
#include <math.h>
#include <string.h>

#include "testutil_router.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1
#define OTHER "u"

static lp2p_privkey author;
static lp2p_peer_id author_id;

static void subscribe(th_router *t, uint8_t seed, lp2p_peer_id *id,
                      const char *topic) {
  th_rpc m;
  th_add_peer(t, seed, LP2P_MESHSUB_12, false, id);
  th_rpc_init(&m);
  th_rpc_sub(&m, topic, true);
  th_rpc_send(t, id, &m, TH_T0);
}

/* A router whose validator answers later, joined to TOPIC and OTHER, and
 * one peer subscribed to both that sends us messages. */
static void pending_router(th_router *t, lp2p_peer_id *peer) {
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_score_settings(&s);
  th_router_new_validating(t, &s, LP2P_VALIDATION_PENDING);
  assert_int_equal(lp2p_router_join(t->r, T, TH_T0), 0);
  assert_int_equal(lp2p_router_join(t->r, (const uint8_t *)OTHER, 1, TH_T0), 0);
  subscribe(t, 10, peer, TOPIC);
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_sub(&m, OTHER, true);
  th_rpc_send(t, peer, &m, TH_T0);
  th_identity(77, &author, &author_id);
}

static void send_msg(th_router *t, const lp2p_peer_id *from, const char *topic,
                     uint64_t seqno, lp2p_tstamp now) {
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, topic, (const uint8_t *)"x", 1, seqno);
  th_rpc_send(t, from, &m, now);
}

static lp2p_topic_stats tstats(const th_router *t, const char *topic) {
  lp2p_topic_stats ts;
  assert_int_equal(
      lp2p_router_topic_stats(t->r, (const uint8_t *)topic, strlen(topic), &ts),
      0);
  return ts;
}

static lp2p_router_stats rstats(const th_router *t) {
  lp2p_router_stats st;
  lp2p_router_get_stats(t->r, &st);
  return st;
}

static void topic_max_pending_one_past_is_throttled(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id peer;
  pending_router(&t, &peer);
  lp2p_topic_validation v = {.max_pending = 2};
  assert_int_equal(lp2p_router_set_topic_validation(t.r, T, &v), 0);
  for (uint64_t i = 1; i <= 3; i++) {
    send_msg(&t, &peer, TOPIC, i, TH_T0);
  }
  lp2p_topic_stats ts = tstats(&t, TOPIC);
  assert_int_equal(ts.pending_validations, 2);
  assert_int_equal(ts.validation_dropped_pending, 1);
  assert_int_equal(ts.validation_dropped_full, 0);
  assert_int_equal(rstats(&t).validation_throttled, 1);
  assert_int_equal(t.validated, 2); /* the third never reached it */
  /* as go: throttled is not the sender's fault */
  lp2p_peer_score_info info;
  assert_int_equal(lp2p_router_peer_score_info(t.r, &peer, &info), 0);
  assert_true(info.p4 == 0);
  /* an answer frees a slot: the third, not marked seen, gets in */
  uint8_t id[64];
  size_t id_len = th_msg_id(&author, 1, id);
  assert_int_equal(lp2p_router_report_validation(t.r, id, id_len,
                                                 LP2P_VALIDATION_ACCEPT, TH_T0),
                   0);
  assert_int_equal(tstats(&t, TOPIC).pending_validations, 1);
  send_msg(&t, &peer, TOPIC, 3, TH_T0);
  assert_int_equal(tstats(&t, TOPIC).pending_validations, 2);
  assert_int_equal(t.validated, 3);
  th_router_del(&t);
}

static void busy_topic_does_not_throttle_another(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id peer;
  pending_router(&t, &peer);
  lp2p_topic_validation v = {.max_pending = 1};
  assert_int_equal(lp2p_router_set_topic_validation(t.r, T, &v), 0);
  send_msg(&t, &peer, TOPIC, 1, TH_T0);
  send_msg(&t, &peer, TOPIC, 2, TH_T0); /* throttled */
  send_msg(&t, &peer, OTHER, 3, TH_T0);
  send_msg(&t, &peer, OTHER, 4, TH_T0);
  assert_int_equal(tstats(&t, TOPIC).validation_dropped_pending, 1);
  assert_int_equal(tstats(&t, OTHER).pending_validations, 2);
  assert_int_equal(tstats(&t, OTHER).validation_dropped_pending, 0);
  assert_int_equal(rstats(&t).pending_validations, 3);
  th_router_del(&t);
}

static void topic_rate_admits_a_burst_then_refills(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id peer;
  pending_router(&t, &peer);
  lp2p_topic_validation v = {.rate = 10, .burst = 2};
  assert_int_equal(lp2p_router_set_topic_validation(t.r, T, &v), 0);
  for (uint64_t i = 1; i <= 3; i++) {
    send_msg(&t, &peer, TOPIC, i, TH_T0);
  }
  assert_int_equal(t.validated, 2);
  assert_int_equal(tstats(&t, TOPIC).validation_dropped_rate, 1);
  /* 99 ms later: not yet a whole token */
  send_msg(&t, &peer, TOPIC, 3, TH_T0 + 99 * LP2P_MILLISECONDS);
  assert_int_equal(tstats(&t, TOPIC).validation_dropped_rate, 2);
  /* 100 ms after the burst, one token (10 per second) */
  send_msg(&t, &peer, TOPIC, 3, TH_T0 + 100 * LP2P_MILLISECONDS);
  assert_int_equal(t.validated, 3);
  assert_int_equal(rstats(&t).validation_throttled, 2);
  th_router_del(&t);
}

static void router_wide_bound_is_counted_per_topic(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id peer;
  th_settings(&s, 1);
  s.limits.max_pending_validations = 1;
  th_router_new_validating(&t, &s, LP2P_VALIDATION_PENDING);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  subscribe(&t, 10, &peer, TOPIC);
  th_identity(77, &author, &author_id);
  send_msg(&t, &peer, TOPIC, 1, TH_T0);
  send_msg(&t, &peer, TOPIC, 2, TH_T0);
  assert_int_equal(tstats(&t, TOPIC).validation_dropped_full, 1);
  assert_int_equal(rstats(&t).validation_overflow, 1);
  assert_int_equal(rstats(&t).validation_throttled, 0);
  th_router_del(&t);
}

static void
unanswered_validation_frees_its_topic_slot_when_it_expires(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id peer;
  pending_router(&t, &peer);
  lp2p_topic_validation v = {.max_pending = 1};
  assert_int_equal(lp2p_router_set_topic_validation(t.r, T, &v), 0);
  send_msg(&t, &peer, TOPIC, 1, TH_T0);
  assert_int_equal(tstats(&t, TOPIC).pending_validations, 1);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 300 * LP2P_SECONDS); /* past the seen TTL */
  assert_int_equal(tstats(&t, TOPIC).pending_validations, 0);
  send_msg(&t, &peer, TOPIC, 2, now);
  assert_int_equal(tstats(&t, TOPIC).pending_validations, 1);
  th_router_del(&t);
}

static void bad_topic_validation_settings_are_refused(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_router_new(&t, &s);
  lp2p_topic_validation bad[] = {{.rate = -1},
                                 {.rate = NAN},
                                 {.rate = INFINITY},
                                 {.rate = 5, .burst = 0.5}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(lp2p_router_set_topic_validation(t.r, T, &bad[i]),
                     LP2P_ERR_INVALID_ARG);
  }
  lp2p_topic_validation ok = {.max_pending = 4};
  assert_int_equal(
      lp2p_router_set_topic_validation(t.r, (const uint8_t *)"", 0, &ok),
      LP2P_ERR_INVALID_ARG);
  assert_int_equal(lp2p_router_set_topic_validation(t.r, T, NULL),
                   LP2P_ERR_INVALID_ARG);
  /* limits keep the topic known, joined or not; clearing lets it go */
  assert_int_equal(lp2p_router_set_topic_validation(t.r, T, &ok), 0);
  lp2p_topic_stats ts;
  assert_int_equal(lp2p_router_topic_stats(t.r, T, &ts), 0);
  lp2p_topic_validation none = {0};
  assert_int_equal(lp2p_router_set_topic_validation(t.r, T, &none), 0);
  assert_int_equal(lp2p_router_topic_stats(t.r, T, &ts), LP2P_ERR_NOT_FOUND);
  th_router_del(&t);
}

/* ---- publications no peer takes ------------------------------------------
 */

static void publish_with_nobody_to_send_to_is_not_sent(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id peer;
  th_settings(&s, 1);
  s.sign_policy = LP2P_STRICT_NO_SIGN;
  s.msg_id = LP2P_MSG_ID_SHA256; /* the same data is the same message */
  th_router_new(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, NULL, NULL, TH_T0),
      LP2P_ERR_NOT_SENT);
  assert_int_equal(rstats(&t).publish_not_sent, 1);
  assert_int_equal(rstats(&t).msgs_published, 0);
  assert_int_equal(t.delivered, 0); /* nothing happened */
  /* once someone is there, the same message goes: it was never seen */
  subscribe(&t, 10, &peer, TOPIC);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 2 * LP2P_SECONDS); /* the heartbeat grafts it */
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, NULL, NULL, now), 1);
  assert_int_equal(t.delivered, 1);
  th_router_del(&t);
}

static void publish_to_full_queues_only_is_not_sent(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id peers[2];
  th_settings(&s, 1);
  s.limits.queue_max_messages = 1;
  th_router_new(&t, &s);
  subscribe(&t, 10, &peers[0], TOPIC);
  subscribe(&t, 11, &peers[1], TOPIC);
  th_drain_all(&t, TH_T0);
  /* not joined: the fanout takes both */
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, NULL, NULL, TH_T0),
      2);
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"b", 1, NULL, NULL, TH_T0),
      LP2P_ERR_NOT_SENT);
  lp2p_router_stats st = rstats(&t);
  assert_int_equal(st.queue_drop_messages, 2);
  assert_int_equal(st.publish_not_sent, 1);
  assert_int_equal(st.msgs_published, 1);
  /* one peer drained: the next goes to it alone, and says so */
  th_out o;
  th_drain(&t, &peers[0], &o, TH_T0);
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"c", 1, NULL, NULL, TH_T0),
      1);
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(topic_max_pending_one_past_is_throttled),
      cmocka_unit_test(busy_topic_does_not_throttle_another),
      cmocka_unit_test(topic_rate_admits_a_burst_then_refills),
      cmocka_unit_test(router_wide_bound_is_counted_per_topic),
      cmocka_unit_test(
          unanswered_validation_frees_its_topic_slot_when_it_expires),
      cmocka_unit_test(bad_topic_validation_settings_are_refused),
      cmocka_unit_test(publish_with_nobody_to_send_to_is_not_sent),
      cmocka_unit_test(publish_to_full_queues_only_is_not_sent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
