/* Batch publishing (lp2p_router_publish_batch): every first copy of a
 * batch leaves before any second copy, and each pull for a peer takes the
 * message with the fewest copies pulled for any peer; each message is
 * published as by lp2p_router_publish, with its own result; a batch over
 * max_batch is refused whole; messages outside batches stay first in
 * first out. */
#include <string.h>

#include "testutil_router.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1
#define NPEERS 3

static void subscribe(th_router *t, uint8_t seed, lp2p_peer_id *id) {
  th_rpc m;
  th_add_peer(t, seed, LP2P_MESHSUB_12, false, id);
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  th_rpc_send(t, id, &m, TH_T0);
}

/* An unsigned publisher (the data is the message: SHA-256 ids) with
 * `npeers` subscribers it reaches by its fanout, nothing queued yet. */
static void publisher(th_router *t, lp2p_router_settings *s,
                      lp2p_peer_id *peers, size_t npeers) {
  s->sign_policy = LP2P_STRICT_NO_SIGN;
  s->msg_id = LP2P_MSG_ID_SHA256;
  th_router_new(t, s);
  for (size_t i = 0; i < npeers; i++) {
    subscribe(t, (uint8_t)(10 + i), &peers[i]);
  }
  th_drain_all(t, TH_T0);
}

/* A batch of one-letter messages on TOPIC, from `letters`. */
static int publish_letters(th_router *t, const char *letters,
                           lp2p_batch_order order, int *results) {
  lp2p_batch_msg msgs[16];
  size_t n = strlen(letters);
  for (size_t i = 0; i < n; i++) {
    msgs[i] = (lp2p_batch_msg){T, (const uint8_t *)letters + i, 1, NULL, NULL};
  }
  return lp2p_router_publish_batch(t->r, msgs, n, order, results, TH_T0);
}

/* The data of the messages of one RPC, a letter each, into `out`. */
static void rpc_letters(const uint8_t *framed, ptrdiff_t n, char *out) {
  size_t len;
  const uint8_t *in = th_unframe(framed, (size_t)n, &len);
  lp2p_rpc rpc;
  lp2p_rpc_limits lim = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX,
                         SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
  lp2p_rpc_init(&rpc, NULL);
  assert_int_equal(lp2p_rpc_decode(&rpc, in, len, &lim), 0);
  for (size_t i = 0; i < rpc.msgs.len; i++) {
    assert_int_equal(rpc.msgs.items[i].data.len, 1);
    *out++ = (char)rpc.msgs.items[i].data.data[0];
  }
  *out = 0;
  lp2p_rpc_free(&rpc);
}

/* The letters of the next RPC pulled for `peer` ("" when none). */
static const char *pull(th_router *t, const lp2p_peer_id *peer, char *buf) {
  const uint8_t *out;
  ptrdiff_t n = lp2p_router_pull(t->r, peer, &out, TH_T0);
  assert_true(n >= 0);
  buf[0] = 0;
  if (n > 0) {
    rpc_letters(out, n, buf);
  }
  return buf;
}

static void batch_first_copies_all_go_out_before_any_second(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id peers[NPEERS];
  int results[4];
  th_settings(&s, 1);
  publisher(&t, &s, peers, NPEERS);
  assert_int_equal(
      publish_letters(&t, "abcd", LP2P_BATCH_RAREST_FIRST, results), 4);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(results[i], NPEERS);
  }
  /* the host writes to every peer in turn: after each pull, no message
   * has two copies more than another */
  size_t copies[4] = {0}, pulls = 0;
  const lp2p_peer_id *peer;
  void *user;
  const uint8_t *out;
  ptrdiff_t n;
  while ((n = lp2p_router_pull_next(t.r, &peer, &user, &out, TH_T0)) > 0) {
    char letters[8];
    rpc_letters(out, n, letters);
    assert_int_equal(strlen(letters), 1); /* one batch message per RPC */
    size_t k = (size_t)(letters[0] - 'a');
    assert_true(k < 4);
    assert_int_equal(copies[k], pulls / 4); /* round pulls/4 of copies */
    copies[k]++;
    pulls++;
  }
  assert_int_equal(pulls, 4 * NPEERS);
  th_router_del(&t);
}

static void batch_rarest_first_across_peers(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id p[2];
  int results[4];
  char b[8];
  th_settings(&s, 1);
  publisher(&t, &s, p, 2);
  assert_int_equal(
      publish_letters(&t, "abcd", LP2P_BATCH_RAREST_FIRST, results), 4);
  /* p[0] writes three times while p[1] waits: the three rarest */
  assert_string_equal(pull(&t, &p[0], b), "a");
  assert_string_equal(pull(&t, &p[0], b), "b");
  assert_string_equal(pull(&t, &p[0], b), "c");
  /* p[1] then takes d, the one no peer has, not its queue's first */
  assert_string_equal(pull(&t, &p[1], b), "d");
  /* d and a-c now one copy each: a first, in batch order */
  assert_string_equal(pull(&t, &p[1], b), "a");
  assert_string_equal(pull(&t, &p[0], b), "d");
  assert_string_equal(pull(&t, &p[1], b), "b");
  assert_string_equal(pull(&t, &p[1], b), "c");
  assert_string_equal(pull(&t, &p[0], b), "");
  assert_string_equal(pull(&t, &p[1], b), "");
  th_router_del(&t);
}

static void batch_reports_errors_per_message(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id peers[NPEERS];
  static uint8_t big[(1 << 20) + 1];
  uint8_t ids[2][64];
  size_t id_lens[2] = {0, 0};
  int results[6];
  th_settings(&s, 1);
  publisher(&t, &s, peers, NPEERS);
  const lp2p_batch_msg msgs[6] = {
      {T, (const uint8_t *)"a", 1, ids[0], &id_lens[0]},
      {T, big, sizeof(big), NULL, NULL},        /* over max_message_size */
      {T, (const uint8_t *)"a", 1, NULL, NULL}, /* a's id again */
      {(const uint8_t *)"", 0, (const uint8_t *)"c", 1, NULL, NULL},
      {(const uint8_t *)"nobody", 6, (const uint8_t *)"d", 1, NULL, NULL},
      {T, (const uint8_t *)"b", 1, ids[1], &id_lens[1]},
  };
  assert_int_equal(lp2p_router_publish_batch(
                       t.r, msgs, 6, LP2P_BATCH_RAREST_FIRST, results, TH_T0),
                   2);
  assert_int_equal(results[0], NPEERS);
  assert_int_equal(results[1], LP2P_ERR_TOO_LARGE);
  assert_int_equal(results[2], LP2P_ERR_STATE);
  assert_int_equal(results[3], LP2P_ERR_INVALID_ARG);
  assert_int_equal(results[4], LP2P_ERR_NOT_SENT);
  assert_int_equal(results[5], NPEERS);
  assert_int_equal(id_lens[0], 32); /* SHA-256 of the message */
  assert_int_equal(id_lens[1], 32);
  assert_memory_not_equal(ids[0], ids[1], 32);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.msgs_published, 2);
  assert_int_equal(st.publish_not_sent, 1);
  assert_int_equal(st.batches_published, 1);
  /* the one refused as a repeat within the batch is seen now: a repeat */
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, NULL, NULL, TH_T0),
      LP2P_ERR_STATE);
  th_out o;
  th_drain(&t, &peers[0], &o, TH_T0);
  assert_int_equal(o.msgs, 2);
  th_router_del(&t);
}

static void batch_over_max_batch_is_refused_whole(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id peers[NPEERS];
  int results[4] = {7, 7, 7, 7};
  th_settings(&s, 1);
  s.limits.max_batch = 3;
  publisher(&t, &s, peers, NPEERS);
  assert_int_equal(
      publish_letters(&t, "abcd", LP2P_BATCH_RAREST_FIRST, results),
      LP2P_ERR_TOO_LARGE);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.batches_refused, 1);
  assert_int_equal(st.msgs_published, 0);
  assert_int_equal(results[0], 7); /* nothing done, nothing said */
  assert_false(lp2p_router_has_pending(t.r));
  /* at the limit, it goes */
  assert_int_equal(publish_letters(&t, "abc", LP2P_BATCH_RAREST_FIRST, results),
                   3);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.batches_refused, 1);
  assert_int_equal(st.msgs_published, 3);
  th_router_del(&t);
}

static void batch_of_nothing_is_invalid(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id peers[1];
  int results[1];
  th_settings(&s, 1);
  publisher(&t, &s, peers, 1);
  assert_int_equal(publish_letters(&t, "", LP2P_BATCH_RAREST_FIRST, results),
                   LP2P_ERR_INVALID_ARG);
  assert_int_equal(publish_letters(&t, "a", (lp2p_batch_order)2, results),
                   LP2P_ERR_INVALID_ARG);
  th_router_del(&t);
}

static void messages_outside_batches_stay_first_in_first_out(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id p[2];
  int results[2];
  char b[8];
  th_settings(&s, 1);
  publisher(&t, &s, p, 2);
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"x", 1, NULL, NULL, TH_T0),
      2);
  assert_int_equal(publish_letters(&t, "ab", LP2P_BATCH_RAREST_FIRST, results),
                   2);
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"y", 1, NULL, NULL, TH_T0),
      2);
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"z", 1, NULL, NULL, TH_T0),
      2);
  /* x before the batch, y and z after it, together as before */
  assert_string_equal(pull(&t, &p[0], b), "x");
  assert_string_equal(pull(&t, &p[0], b), "a");
  assert_string_equal(pull(&t, &p[0], b), "b");
  assert_string_equal(pull(&t, &p[0], b), "yz");
  /* the other peer: the batch reordered within its place, x and y kept */
  assert_string_equal(pull(&t, &p[1], b), "x");
  assert_string_equal(pull(&t, &p[1], b), "a");
  assert_string_equal(pull(&t, &p[1], b), "b");
  assert_string_equal(pull(&t, &p[1], b), "yz");
  th_router_del(&t);
}

static void round_robin_batch_keeps_each_queue_in_its_order(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id p[2];
  int results[4];
  char b[8];
  th_settings(&s, 1);
  publisher(&t, &s, p, 2);
  assert_int_equal(publish_letters(&t, "abcd", LP2P_BATCH_ROUND_ROBIN, results),
                   4);
  /* go's order: each peer's queue as queued, one message per RPC, so a
   * peer pulling alone sends its whole order whatever others have */
  char first[5] = {0}, second[5] = {0};
  for (int i = 0; i < 4; i++) {
    first[i] = pull(&t, &p[0], b)[0];
    assert_int_equal(strlen(b), 1);
  }
  for (int i = 0; i < 4; i++) {
    second[i] = pull(&t, &p[1], b)[0];
  }
  /* in rounds: both peers hold every message once */
  for (char c = 'a'; c <= 'd'; c++) {
    assert_non_null(strchr(first, c));
    assert_non_null(strchr(second, c));
  }
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(batch_first_copies_all_go_out_before_any_second),
      cmocka_unit_test(batch_rarest_first_across_peers),
      cmocka_unit_test(batch_reports_errors_per_message),
      cmocka_unit_test(batch_over_max_batch_is_refused_whole),
      cmocka_unit_test(batch_of_nothing_is_invalid),
      cmocka_unit_test(messages_outside_batches_stay_first_in_first_out),
      cmocka_unit_test(round_robin_batch_keeps_each_queue_in_its_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
