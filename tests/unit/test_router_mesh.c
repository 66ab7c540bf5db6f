/* Mesh maintenance rule by rule: pruning at Dhi, how graft candidates are
 * chosen, opportunistic grafting, score filters on the send paths, the
 * backoff table, the seen cache and the mesh-health statistics. */
#include "testutil_router.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1

/* Adds `n` peers (seeds base, base + 1, ...) subscribed to TOPIC. */
static void add_subscribed(th_router *t, uint8_t base, size_t n,
                           lp2p_pubsub_proto proto, bool outbound,
                           lp2p_peer_id *ids, lp2p_tstamp now) {
  for (size_t i = 0; i < n; i++) {
    th_rpc m;
    th_add_peer(t, (uint8_t)(base + i), proto, outbound, &ids[i]);
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_send(t, &ids[i], &m, now);
  }
}

static void send_graft(th_router *t, const lp2p_peer_id *from,
                       lp2p_tstamp now) {
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_graft(&m, TOPIC);
  th_rpc_send(t, from, &m, now);
}

static gs_topic *topic_of(th_router *t) {
  gs_topic *tp = gs_topic_find(t->r, T);
  assert_non_null(tp);
  return tp;
}

static void new_router(th_router *t, bool scoring) {
  lp2p_router_settings s;
  th_settings(&s, 1);
  if (scoring) {
    th_score_settings(&s);
  }
  th_router_new(t, &s);
}

static void mesh_at_exactly_dhi_is_pruned(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[14];
  th_out o;
  new_router(&t, false);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 10, 14, LP2P_MESHSUB_12, false, ids, TH_T0);
  /* all 14 GRAFT: inbound GRAFTs are taken while the mesh is below Dhi,
   * so it stops at exactly Dhi = 12 */
  for (int i = 0; i < 14; i++) {
    send_graft(&t, &ids[i], TH_T0);
  }
  assert_int_equal(topic_of(&t)->mesh.len, 12);
  th_drain_all(&t, TH_T0);
  /* as go (#589): the heartbeat prunes a mesh at Dhi back to D */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + LP2P_SECONDS);
  assert_int_equal(topic_of(&t)->mesh.len, 6);
  size_t prunes = 0;
  for (int i = 0; i < 14; i++) {
    th_drain(&t, &ids[i], &o, now);
    prunes += o.prunes;
  }
  assert_int_equal(prunes, 6);
  th_router_del(&t);
}

static void mesh_one_below_dhi_is_kept(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[11];
  new_router(&t, false);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 10, 11, LP2P_MESHSUB_12, false, ids, TH_T0);
  for (int i = 0; i < 11; i++) {
    send_graft(&t, &ids[i], TH_T0);
  }
  assert_int_equal(topic_of(&t)->mesh.len, 11);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + LP2P_SECONDS);
  assert_int_equal(topic_of(&t)->mesh.len, 11);
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mesh_at_exactly_dhi_is_pruned),
      cmocka_unit_test(mesh_one_below_dhi_is_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
