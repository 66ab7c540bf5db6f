/* gossipsub v1.3 rules (extensions.c, queue.c): ControlExtensions in the
 * first RPC of our stream only, and only to 1.3 peers; the peer's first
 * RPC fixes what it advertises; a repeated ControlExtensions costs 10 on
 * the behaviour penalty (as go); unknown extensions are ignored; the test
 * extension runs only once both sides advertised it. Test names say the
 * rule. */
#include "pb/wire.h"
#include "testutil_router.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1

/* A router advertising the test extension (or not), scoring on so that
 * penalties show in the score. */
static void v13_router(th_router *t, bool test_extension) {
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_score_settings(&s);
  s.extensions.test_extension = test_extension;
  th_router_new(t, &s);
}

/* Appends a ControlExtensions advertising what `e` sets to `m`. */
static void rpc_ext(th_rpc *m, bool test_extension) {
  lp2p_rpc_extensions e = {false, test_extension};
  assert_int_equal(lp2p_ctl_put_extensions(&m->ctl, &e), 0);
}

/* Sends one RPC from `id`: a subscription to TOPIC, with a
 * ControlExtensions when `ext` (advertising the test extension when
 * `test_ext`) and an RPC.testExtension when `test_msg`. */
static void send(th_router *t, const lp2p_peer_id *id, bool ext, bool test_ext,
                 bool test_msg) {
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  if (ext) {
    rpc_ext(&m, test_ext);
  }
  if (test_msg) {
    assert_int_equal(lp2p_rpc_put_test_extension(&m.body), 0);
  }
  th_rpc_send(t, id, &m, TH_T0);
}

static double behaviour(th_router *t, const lp2p_peer_id *id) {
  return lp2p_gs_peer_find(t->r, id)->sp->behaviour;
}

static void extensions_only_in_first_rpc(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  th_out o;
  v13_router(&t, true);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_add_peer(&t, 2, LP2P_MESHSUB_13, true, &a);
  th_drain(&t, &a, &o, TH_T0);
  /* one RPC: our subscriptions and our ControlExtensions together */
  assert_int_equal(o.rpcs, 1);
  assert_int_equal(o.subs, 1);
  assert_true(o.ext_in_first);
  assert_true(o.ext.test_extension && !o.ext.partial_messages);
  /* later RPCs carry none */
  assert_int_equal(lp2p_router_join(t.r, (const uint8_t *)"u", 1, TH_T0), 0);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.subs, 1);
  assert_int_equal(o.ext_rpcs, 0);
  th_router_del(&t);
}

/* An IDONTWANT queued before the first pull must not overtake the RPC
 * that carries our ControlExtensions (IDONTWANTs are otherwise pulled
 * first). */
static void extensions_go_before_a_queued_idontwant(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  th_out o;
  v13_router(&t, true);
  th_add_peer(&t, 2, LP2P_MESHSUB_13, true, &a);
  lp2p_bytes id = {(const uint8_t *)"0123456789", 10};
  gs_peer *p = lp2p_gs_peer_find(t.r, &a);
  uint8_t ctl[64];
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  size_t n = 0;
  assert_int_equal(lp2p_gs_put_idontwants(t.r, &b, &id, 1, &n), 0);
  assert_true(b.len <= sizeof(ctl));
  memcpy(ctl, b.data, b.len);
  assert_int_equal(lp2p_gs_queue_idontwants(t.r, p, ctl, b.len, n, 1), 0);
  lp2p_buf_free(&b);
  const uint8_t *out;
  ptrdiff_t len = lp2p_router_pull(t.r, &a, &out, TH_T0);
  assert_true(len > 0);
  size_t rpc_len;
  const uint8_t *rpc = th_unframe(out, (size_t)len, &rpc_len);
  lp2p_rpc dec;
  lp2p_rpc_limits lim = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX,
                         SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
  lp2p_rpc_init(&dec, NULL);
  assert_int_equal(lp2p_rpc_decode(&dec, rpc, rpc_len, &lim), 0);
  assert_true(dec.has_extensions);
  lp2p_rpc_free(&dec);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.idontwant_ids, 1);
  assert_int_equal(o.ext_rpcs, 0);
  th_router_del(&t);
}

static void meshsub_12_peer_gets_no_extensions(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  th_out o;
  v13_router(&t, true);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_add_peer(&t, 2, LP2P_MESHSUB_12, true, &a);
  /* even when it advertises the test extension itself */
  send(&t, &a, true, true, true);
  th_drain(&t, &a, &o, TH_T0);
  assert_true(o.rpcs >= 1);
  assert_int_equal(o.ext_rpcs, 0);
  assert_int_equal(o.test_exts, 0);
  assert_int_equal(t.events[LP2P_EV_TEST_EXTENSION], 0);
  th_router_del(&t);
}

static void no_extensions_sent_when_none_advertised(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  th_out o;
  v13_router(&t, false);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_add_peer(&t, 2, LP2P_MESHSUB_13, true, &a);
  send(&t, &a, true, true, false);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.subs, 1);
  assert_int_equal(o.ext_rpcs, 0);
  assert_int_equal(o.test_exts, 0);
  th_router_del(&t);
}

static void test_extension_rpc_sent_once_both_advertised(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  th_out o;
  v13_router(&t, true);
  th_add_peer(&t, 2, LP2P_MESHSUB_13, true, &a);
  th_drain(&t, &a, &o, TH_T0); /* our first RPC, ControlExtensions only */
  assert_int_equal(o.rpcs, 1);
  assert_true(o.ext_in_first);
  assert_int_equal(o.test_exts, 0);
  send(&t, &a, true, true, false);
  th_drain(&t, &a, &o, TH_T0);
  /* one RPC of its own, as go sends it */
  assert_int_equal(o.test_exts, 1);
  assert_int_equal(o.test_ext_alone, 1);
  send(&t, &a, false, false, false);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.test_exts, 0);
  th_router_del(&t);
}

static void test_extension_reported_once_per_peer(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  v13_router(&t, true);
  th_add_peer(&t, 2, LP2P_MESHSUB_13, true, &a);
  /* go may put it in the same RPC as its ControlExtensions */
  send(&t, &a, true, true, true);
  assert_int_equal(t.events[LP2P_EV_TEST_EXTENSION], 1);
  send(&t, &a, false, false, true);
  assert_int_equal(t.events[LP2P_EV_TEST_EXTENSION], 1);
  th_router_del(&t);
}

static void no_test_extension_before_both_advertised(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a, b;
  th_out o;
  v13_router(&t, true);
  th_add_peer(&t, 2, LP2P_MESHSUB_13, true, &a);
  /* before the peer's first RPC: ours went, not the test RPC */
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.test_exts, 0);
  /* its first RPC advertises nothing: the extension stays off, even
   * when it sends a TestExtension or advertises later */
  send(&t, &a, false, false, true);
  send(&t, &a, true, true, true);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.test_exts, 0);
  assert_int_equal(t.events[LP2P_EV_TEST_EXTENSION], 0);
  /* a router that does not advertise it ignores a peer's */
  th_router_del(&t);
  v13_router(&t, false);
  th_add_peer(&t, 3, LP2P_MESHSUB_13, true, &b);
  send(&t, &b, true, true, true);
  th_drain(&t, &b, &o, TH_T0);
  assert_int_equal(o.test_exts, 0);
  assert_int_equal(t.events[LP2P_EV_TEST_EXTENSION], 0);
  th_router_del(&t);
}

static void repeated_extensions_cost_10_behaviour_penalty(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a, b;
  lp2p_router_stats st;
  v13_router(&t, true);
  th_add_peer(&t, 2, LP2P_MESHSUB_13, true, &a);
  th_add_peer(&t, 3, LP2P_MESHSUB_13, true, &b);
  send(&t, &a, true, true, false);
  assert_true(behaviour(&t, &a) == 0);
  send(&t, &a, true, true, false);
  assert_true(behaviour(&t, &a) == 10);
  /* as go: after a first RPC without one, too */
  send(&t, &b, false, false, false);
  send(&t, &b, true, false, false);
  assert_true(behaviour(&t, &b) == 10);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.extensions_repeated, 2);
  /* the rest of the RPC still counts */
  lp2p_topic_stats ts;
  assert_int_equal(lp2p_router_topic_stats(t.r, T, &ts), 0);
  assert_int_equal(ts.peers, 2);
  th_router_del(&t);
}

static void unknown_extension_is_ignored(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  th_out o;
  v13_router(&t, true);
  th_add_peer(&t, 2, LP2P_MESHSUB_13, true, &a);
  th_drain(&t, &a, &o, TH_T0);
  /* ControlExtensions{777777: true, 12345: "x", testExtension: true} */
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  lp2p_buf ext;
  lp2p_buf_init(&ext, NULL);
  assert_int_equal(lp2p_pb_put_varint(&ext, 777777, 1), 0);
  assert_int_equal(lp2p_pb_put_bytes(&ext, 12345, "x", 1), 0);
  assert_int_equal(lp2p_pb_put_varint(&ext, LP2P_EXT_TEST, 1), 0);
  assert_int_equal(
      lp2p_pb_put_bytes(&m.ctl, LP2P_CTL_EXTENSIONS, ext.data, ext.len), 0);
  lp2p_buf_free(&ext);
  th_rpc_send(&t, &a, &m, TH_T0);
  assert_true(behaviour(&t, &a) == 0);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.test_exts, 1);
  lp2p_topic_stats ts;
  assert_int_equal(lp2p_router_topic_stats(t.r, T, &ts), 0);
  assert_int_equal(ts.peers, 1);
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(extensions_only_in_first_rpc),
      cmocka_unit_test(extensions_go_before_a_queued_idontwant),
      cmocka_unit_test(meshsub_12_peer_gets_no_extensions),
      cmocka_unit_test(no_extensions_sent_when_none_advertised),
      cmocka_unit_test(test_extension_rpc_sent_once_both_advertised),
      cmocka_unit_test(test_extension_reported_once_per_peer),
      cmocka_unit_test(no_test_extension_before_both_advertised),
      cmocka_unit_test(repeated_extensions_cost_10_behaviour_penalty),
      cmocka_unit_test(unknown_extension_is_ignored),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
