/* The router's per-peer queues under the peer's memory budget
 * (lp2p_peer_info.budget): every byte queued is reserved first, a refusal
 * is a counted drop like a full queue's, and every byte is given back
 * when it is pulled or dropped or the peer goes. Test names say the
 * rule. */
#include "testutil_router.h"

#include "pb/rpc.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1

static void new_router(th_router *t) {
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_router_new(t, &s);
}

/* Adds peer `seed`, charged to `budget`, subscribed to TOPIC, and pulls
 * what adding it queued. */
static void add_budgeted(th_router *t, uint8_t seed, lp2p_budget *budget,
                         lp2p_peer_id *id) {
  lp2p_privkey key;
  lp2p_peer_info info = {LP2P_MESHSUB_12, false, false, {0}, NULL, budget};
  th_identity(seed, &key, id);
  assert_int_equal(lp2p_router_add_peer(t->r, id, &info, TH_T0), 0);
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  th_rpc_send(t, id, &m, TH_T0);
  th_drain_all(t, TH_T0);
}

static lp2p_router_stats stats(const th_router *t) {
  lp2p_router_stats st;
  lp2p_router_get_stats(t->r, &st);
  return st;
}

/* Publishes a message of 100 bytes numbered `i`; returns how many peers
 * it was queued for (or dropped for, as for a full queue). */
static int publish(th_router *t, uint8_t i) {
  uint8_t data[100] = {i};
  return lp2p_router_publish(t->r, T, data, sizeof(data), NULL, NULL, TH_T0);
}

/* What one published message reserves in a peer's budget. */
static uint64_t message_charge(void) {
  th_router t;
  lp2p_budget b;
  lp2p_peer_id id;
  lp2p_budget_init(&b, NULL, UINT64_MAX);
  new_router(&t);
  add_budgeted(&t, 10, &b, &id);
  assert_int_equal(publish(&t, 0), 1);
  uint64_t used = b.used;
  th_router_del(&t);
  return used;
}

static void queueing_stops_one_past_the_peer_budget(void **state) {
  (void)state;
  th_router t;
  lp2p_budget b;
  lp2p_peer_id id;
  th_out o;
  uint64_t each = message_charge();
  assert_true(each > 100);
  lp2p_budget_init(&b, NULL, 2 * each);
  new_router(&t);
  add_budgeted(&t, 10, &b, &id);
  publish(&t, 1);
  publish(&t, 2); /* fills the budget exactly: queued */
  assert_int_equal(b.used, 2 * each);
  assert_int_equal(stats(&t).queue_drop_messages, 0);
  publish(&t, 3); /* one past it: dropped and counted */
  assert_int_equal(b.used, 2 * each);
  assert_int_equal(b.refused, 1);
  assert_int_equal(stats(&t).queue_drop_messages, 1);
  assert_int_equal(stats(&t).queue_drop_budget, 1);
  th_drain(&t, &id, &o, TH_T0);
  assert_int_equal(o.msgs, 2);
  th_router_del(&t);
}

/* GRAFT, PRUNE and subscriptions are charged too: one that the budget
 * refuses is dropped and counted as control past its own bound is. */
static void control_refused_by_the_budget_is_dropped_and_counted(void **s) {
  (void)s;
  th_router t;
  lp2p_budget b;
  lp2p_peer_id id;
  th_out o;
  lp2p_budget_init(&b, NULL, UINT64_MAX);
  new_router(&t);
  add_budgeted(&t, 10, &b, &id);
  gs_peer *p = lp2p_gs_peer_find(t.r, &id);
  gs_topic *tp = lp2p_gs_topic_get(t.r, T, true);
  assert_int_equal(lp2p_gs_queue_graft(t.r, p, tp), 0);
  uint64_t graft = b.used;
  assert_true(graft > 0);
  b.limit = 2 * graft;
  assert_int_equal(lp2p_gs_queue_graft(t.r, p, tp), 0);
  assert_int_equal(lp2p_gs_queue_graft(t.r, p, tp), 0);
  assert_int_equal(b.used, 2 * graft);
  assert_int_equal(stats(&t).queue_drop_control, 1);
  assert_int_equal(stats(&t).queue_drop_budget, 1);
  th_drain(&t, &id, &o, TH_T0);
  assert_int_equal(o.grafts, 2);
  th_router_del(&t);
}

static void pull_gives_the_budget_back(void **state) {
  (void)state;
  th_router t;
  lp2p_budget b;
  lp2p_peer_id id;
  th_out o;
  lp2p_budget_init(&b, NULL, UINT64_MAX);
  new_router(&t);
  add_budgeted(&t, 10, &b, &id);
  assert_int_equal(b.used, 0); /* our subscriptions were pulled */
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0); /* GRAFT */
  for (uint8_t i = 0; i < 5; i++) {
    publish(&t, i);
  }
  assert_true(b.used > 5 * 100);
  th_drain(&t, &id, &o, TH_T0);
  assert_int_equal(o.msgs, 5);
  assert_int_equal(o.grafts, 1);
  assert_int_equal(b.used, 0);
  th_router_del(&t);
}

/* A message the peer said it does not want is dropped from its queue at
 * the next pull: its bytes go back too. */
static void idontwant_dropped_message_gives_the_budget_back(void **state) {
  (void)state;
  th_router t;
  lp2p_budget b;
  lp2p_peer_id id;
  th_out o;
  lp2p_budget_init(&b, NULL, UINT64_MAX);
  new_router(&t);
  add_budgeted(&t, 10, &b, &id);
  uint8_t data[100] = {7}, mid[64];
  size_t mid_len = sizeof(mid);
  assert_int_equal(
      lp2p_router_publish(t.r, T, data, sizeof(data), mid, &mid_len, TH_T0), 1);
  assert_true(b.used > 0);
  th_rpc m;
  lp2p_bytes ids[1] = {{mid, mid_len}};
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IDONTWANT, ids, 1);
  th_rpc_send(&t, &id, &m, TH_T0);
  th_drain(&t, &id, &o, TH_T0);
  assert_int_equal(o.msgs, 0);
  assert_int_equal(stats(&t).idontwant_saved, 1);
  assert_int_equal(b.used, 0);
  th_router_del(&t);
}

/* IHAVEs a peer did not take by the next heartbeat are dropped there,
 * and their bytes given back. */
static void stale_ihave_dropped_at_heartbeat_gives_the_budget_back(void **s) {
  (void)s;
  th_router t;
  lp2p_budget b;
  lp2p_peer_id id;
  lp2p_buf ihave;
  lp2p_budget_init(&b, NULL, UINT64_MAX);
  new_router(&t);
  add_budgeted(&t, 10, &b, &id);
  uint8_t mid[20] = {1};
  lp2p_bytes ids[1] = {{mid, sizeof(mid)}};
  lp2p_buf_init(&ihave, NULL);
  assert_int_equal(lp2p_ctl_put_ihave(&ihave, T, ids, 1), 0);
  uint64_t sent = 0;
  assert_int_equal(lp2p_gs_queue_encoded(t.r, lp2p_gs_peer_find(t.r, &id),
                                         ihave.data, ihave.len, &sent),
                   0);
  assert_int_equal(b.used, ihave.len);
  lp2p_buf_free(&ihave);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, lp2p_router_expiry(t.r));
  assert_int_equal(stats(&t).queue_drop_gossip, 1);
  assert_int_equal(b.used, 0);
  th_router_del(&t);
}

static void remove_peer_gives_the_budget_back(void **state) {
  (void)state;
  th_router t;
  lp2p_budget b;
  lp2p_peer_id id;
  lp2p_budget_init(&b, NULL, UINT64_MAX);
  new_router(&t);
  add_budgeted(&t, 10, &b, &id);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  for (uint8_t i = 0; i < 5; i++) {
    publish(&t, i);
  }
  assert_true(b.used > 0);
  assert_int_equal(lp2p_router_remove_peer(t.r, &id, TH_T0), 0);
  assert_int_equal(b.used, 0);
  /* and deleting the router gives back what its peers held */
  add_budgeted(&t, 10, &b, &id);
  publish(&t, 9);
  assert_true(b.used > 0);
  th_router_del(&t);
  assert_int_equal(b.used, 0);
}

/* The peers' scopes share the host's: when it is full, no peer's queue
 * takes anything, however much room its own scope has; once it has room
 * again they all do. */
static void full_host_scope_refuses_every_peer(void **state) {
  (void)state;
  th_router t;
  lp2p_budget host, peer[2];
  lp2p_peer_id ids[2];
  lp2p_budget_init(&host, NULL, 1u << 20);
  new_router(&t);
  for (uint8_t i = 0; i < 2; i++) {
    lp2p_budget_init(&peer[i], &host, 1u << 20);
    add_budgeted(&t, (uint8_t)(10 + i), &peer[i], &ids[i]);
  }
  /* the host's memory taken by something else (streams, connections) */
  assert_int_equal(lp2p_budget_reserve(&host, host.limit), 0);
  assert_int_equal(publish(&t, 1), 2);
  assert_int_equal(stats(&t).queue_drop_messages, 2);
  assert_int_equal(stats(&t).queue_drop_budget, 2);
  assert_int_equal(host.refused, 2);
  assert_int_equal(peer[0].used + peer[1].used, 0);
  lp2p_budget_release(&host, host.limit);
  publish(&t, 2);
  assert_true(peer[0].used > 0 && peer[1].used > 0);
  assert_int_equal(host.used, peer[0].used + peer[1].used);
  th_router_del(&t);
  assert_int_equal(host.used, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(queueing_stops_one_past_the_peer_budget),
      cmocka_unit_test(control_refused_by_the_budget_is_dropped_and_counted),
      cmocka_unit_test(pull_gives_the_budget_back),
      cmocka_unit_test(idontwant_dropped_message_gives_the_budget_back),
      cmocka_unit_test(stale_ihave_dropped_at_heartbeat_gives_the_budget_back),
      cmocka_unit_test(remove_peer_gives_the_budget_back),
      cmocka_unit_test(full_host_scope_refuses_every_peer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
