/* The router's per-peer queues under the memory budgets: what is a
 * peer's own (entries, a message's header and slot) in the peer's budget
 * (lp2p_peer_info.budget), a message's body once in the router's
 * (lp2p_router_settings.budget) however many queues hold it. Every byte
 * is reserved first, a refusal is a counted drop like a full queue's, and
 * every byte is given back when it is pulled or dropped or the peer goes.
 * Test names say the rule. */
#include "testutil_router.h"

#include "pb/rpc.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1

static void new_router(th_router *t) {
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_router_new(t, &s);
}

/* A router whose message bodies are charged to `budget`; it publishes to
 * every subscriber (flood_publish), so that one message is queued for
 * them all. */
static void new_router_budgeted(th_router *t, lp2p_budget *budget) {
  lp2p_router_settings s;
  th_settings(&s, 1);
  s.params.flood_publish = true;
  s.budget = budget;
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

/* The body of the message whose id is `mid`, as the router holds it. */
static uint64_t body_len(const th_router *t, const uint8_t *mid, size_t len) {
  gs_msg *m = lp2p_gs_mcache_get(t->r, lp2p_gs_id_hash(t->r, mid, len));
  assert_non_null(m);
  return m->f.raw.len;
}

/* Publishes a message of 100 bytes numbered `i`; returns its body. */
static uint64_t publish_body(th_router *t, uint8_t i, int peers) {
  uint8_t data[100] = {i}, mid[64];
  size_t mid_len = sizeof(mid);
  assert_int_equal(
      lp2p_router_publish(t->r, T, data, sizeof(data), mid, &mid_len, TH_T0),
      peers);
  return body_len(t, mid, mid_len);
}

/* What one published message reserves in a peer's budget: its header
 * and queue slot, not its body. */
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
  assert_true(each > 0 && each < 100);
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
  assert_true(b.used > 5 * message_charge());
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
  /* and deleting the router gives back what its peers held: the peer,
   * back, is grafted at the next heartbeat, and the GRAFT pulled */
  add_budgeted(&t, 10, &b, &id);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + LP2P_SECONDS);
  th_drain_all(&t, now);
  assert_int_equal(b.used, 0);
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
  assert_int_equal(publish(&t, 1), LP2P_ERR_NOT_SENT); /* no silent drop */
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

/* One body, however many queues hold it: 30 peers' queues charge the
 * router's scope one message, and each peer's scope only its own
 * header and slot. */
static void message_queued_for_30_peers_is_charged_once(void **state) {
  (void)state;
  th_router t;
  lp2p_budget router, peer[30];
  lp2p_peer_id ids[30];
  uint64_t own = message_charge();
  lp2p_budget_init(&router, NULL, UINT64_MAX);
  new_router_budgeted(&t, &router);
  for (uint8_t i = 0; i < 30; i++) {
    lp2p_budget_init(&peer[i], NULL, UINT64_MAX);
    add_budgeted(&t, (uint8_t)(10 + i), &peer[i], &ids[i]);
  }
  uint64_t body = publish_body(&t, 1, 30);
  assert_true(body > 100);
  assert_int_equal(router.used, body);
  for (size_t i = 0; i < 30; i++) {
    assert_int_equal(peer[i].used, own);
  }
  publish_body(&t, 2, 30);
  assert_int_equal(router.used, 2 * body);
  th_router_del(&t);
  assert_int_equal(router.used, 0);
}

/* The body stays charged while any queue holds it: a pull, an IDONTWANT
 * drop and a removed peer each let go of one, the last gives it back. */
static void message_body_released_when_the_last_queue_lets_go(void **state) {
  (void)state;
  th_router t;
  lp2p_budget router;
  lp2p_peer_id ids[3];
  th_out o;
  lp2p_budget_init(&router, NULL, UINT64_MAX);
  new_router_budgeted(&t, &router);
  for (uint8_t i = 0; i < 3; i++) {
    add_budgeted(&t, (uint8_t)(10 + i), NULL, &ids[i]);
  }
  uint8_t data[100] = {7}, mid[64];
  size_t mid_len = sizeof(mid);
  assert_int_equal(
      lp2p_router_publish(t.r, T, data, sizeof(data), mid, &mid_len, TH_T0), 3);
  uint64_t body = body_len(&t, mid, mid_len);
  th_drain(&t, &ids[0], &o, TH_T0); /* pulled */
  assert_int_equal(o.msgs, 1);
  assert_int_equal(router.used, body);
  th_rpc m;
  lp2p_bytes idw[1] = {{mid, mid_len}};
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IDONTWANT, idw, 1);
  th_rpc_send(&t, &ids[1], &m, TH_T0);
  th_drain(&t, &ids[1], &o, TH_T0); /* dropped as unwanted */
  assert_int_equal(o.msgs, 0);
  assert_int_equal(router.used, body);
  assert_int_equal(lp2p_router_remove_peer(t.r, &ids[2], TH_T0), 0);
  assert_int_equal(router.used, 0);
  th_router_del(&t);
}

/* The router's scope one past its limit: the message is queued for no
 * peer, each drop counted as a full queue's and as the budget's. */
static void router_budget_one_past_its_limit_drops_and_counts(void **state) {
  (void)state;
  th_router t;
  lp2p_budget router;
  lp2p_peer_id ids[2];
  th_out o;
  lp2p_budget_init(&router, NULL, UINT64_MAX);
  new_router_budgeted(&t, &router);
  for (uint8_t i = 0; i < 2; i++) {
    add_budgeted(&t, (uint8_t)(10 + i), NULL, &ids[i]);
  }
  uint64_t body = publish_body(&t, 1, 2);
  router.limit = 2 * body;
  publish_body(&t, 2, 2); /* fills the scope exactly: queued */
  assert_int_equal(router.used, 2 * body);
  assert_int_equal(stats(&t).queue_drop_messages, 0);
  /* one past it: dropped for both, so not published at all */
  assert_int_equal(publish(&t, 3), LP2P_ERR_NOT_SENT);
  assert_int_equal(stats(&t).publish_not_sent, 1);
  assert_int_equal(router.used, 2 * body);
  assert_int_equal(stats(&t).queue_drop_messages, 2);
  assert_int_equal(stats(&t).queue_drop_budget, 2);
  assert_int_equal(router.refused, 2);
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.msgs, 2);
  th_router_del(&t);
  assert_int_equal(router.used, 0);
}

/* A peer scope that refuses a message's header leaves the body
 * uncharged when no other queue holds it. */
static void peer_refusal_leaves_the_body_uncharged(void **state) {
  (void)state;
  th_router t;
  lp2p_budget router, peer;
  lp2p_peer_id id;
  lp2p_budget_init(&router, NULL, UINT64_MAX);
  lp2p_budget_init(&peer, NULL, 0);
  new_router_budgeted(&t, &router);
  add_budgeted(&t, 10, &peer, &id);
  assert_int_equal(publish(&t, 1), LP2P_ERR_NOT_SENT);
  assert_int_equal(stats(&t).queue_drop_budget, 1);
  assert_int_equal(router.used, 0);
  th_router_del(&t);
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
      cmocka_unit_test(message_queued_for_30_peers_is_charged_once),
      cmocka_unit_test(message_body_released_when_the_last_queue_lets_go),
      cmocka_unit_test(router_budget_one_past_its_limit_drops_and_counts),
      cmocka_unit_test(peer_refusal_leaves_the_body_uncharged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
