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
  gs_topic *tp = lp2p_gs_topic_find(t->r, T);
  assert_non_null(tp);
  return tp;
}

static bool in_fanout(th_router *t, const lp2p_peer_id *id) {
  return lp2p_gs_peers_has(&topic_of(t)->fanout, lp2p_gs_peer_find(t->r, id));
}

static bool in_mesh(th_router *t, const lp2p_peer_id *id) {
  return lp2p_gs_peers_has(&topic_of(t)->mesh, lp2p_gs_peer_find(t->r, id));
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

static void graft_candidates_are_chosen_at_random_not_by_score(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[12];
  new_router(&t, true);
  add_subscribed(&t, 10, 12, LP2P_MESHSUB_12, false, ids, TH_T0);
  /* half the topic scores 10, half 0: all are eligible (score >= 0) */
  for (int i = 0; i < 6; i++) {
    th_set_app_score(&t, &ids[i], 10);
  }
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_int_equal(topic_of(&t)->mesh.len, 6);
  /* as go's getPeers: a shuffle, so the low scorers are not always left
   * out (sorting by score would graft exactly the six that score 10) */
  size_t low = 0;
  for (int i = 6; i < 12; i++) {
    low += in_mesh(&t, &ids[i]);
  }
  assert_true(low > 0);
  th_router_del(&t);
}

/* A joined router with a mesh of exactly `nmesh` peers scoring
 * `mesh_scores` (D = Dlo = nmesh, no outbound quota) and `ncand` more
 * subscribers outside it scoring `cand_scores`; opportunistic grafting on
 * every heartbeat. */
static void mesh_with_scores(th_router *t, lp2p_peer_id *ids,
                             const double *mesh_scores, size_t nmesh,
                             const double *cand_scores, size_t ncand) {
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_score_settings(&s);
  s.params.opportunistic_graft_ticks = 1;
  th_router_new(t, &s);
  lp2p_mesh_params mp = {(int)nmesh, (int)nmesh, 12, 2, 0, 6};
  assert_int_equal(lp2p_router_set_topic_params(t->r, T, &mp), 0);
  add_subscribed(t, 10, nmesh, LP2P_MESHSUB_12, false, ids, TH_T0);
  assert_int_equal(lp2p_router_join(t->r, T, TH_T0), 0);
  assert_int_equal(topic_of(t)->mesh.len, nmesh);
  add_subscribed(t, 40, ncand, LP2P_MESHSUB_12, false, ids + nmesh, TH_T0);
  assert_int_equal(topic_of(t)->mesh.len, nmesh);
  for (size_t i = 0; i < nmesh; i++) {
    th_set_app_score(t, &ids[i], mesh_scores[i]);
  }
  for (size_t i = 0; i < ncand; i++) {
    th_set_app_score(t, &ids[nmesh + i], cand_scores[i]);
  }
}

static void opportunistic_median_of_even_mesh_is_upper_middle(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[5];
  /* threshold 3: the lower middle (1) is below it, the upper (5) is not */
  const double mesh[4] = {1, 1, 5, 5}, cand[1] = {6};
  mesh_with_scores(&t, ids, mesh, 4, cand, 1);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 3 * LP2P_SECONDS);
  /* as go: sorted ascending, plst[len / 2] = 5 >= 3, no graft */
  assert_false(in_mesh(&t, &ids[4]));
  assert_int_equal(topic_of(&t)->mesh.len, 4);
  th_router_del(&t);
}

static void opportunistic_graft_takes_peers_above_low_median(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[7];
  /* median (ascending, index 2) 1 < 3: peers scoring above 1 come in,
   * OpportunisticGraftPeers (2) at most, and not the one at 1 */
  const double mesh[4] = {1, 1, 1, 5}, cand[3] = {6, 7, 1};
  mesh_with_scores(&t, ids, mesh, 4, cand, 3);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 100 * LP2P_MILLISECONDS);
  assert_true(in_mesh(&t, &ids[4]));
  assert_true(in_mesh(&t, &ids[5]));
  assert_false(in_mesh(&t, &ids[6]));
  th_router_del(&t);
}

/* Thresholds of th_score_settings: publish -20, graylist -30. A score of
 * -15 passes the publish threshold though it is negative; -25 does not
 * (and is not graylisted). */
#define PASSES (-15.0)
#define FAILS (-25.0)

static size_t msgs_queued(th_router *t, const lp2p_peer_id *id) {
  th_out o;
  th_drain(t, id, &o, TH_T0);
  return o.msgs;
}

static void fanout_takes_peers_at_or_above_publish_threshold(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[6];
  const double scores[6] = {0, 0, PASSES, PASSES, FAILS, FAILS};
  new_router(&t, true);
  add_subscribed(&t, 10, 6, LP2P_MESHSUB_12, false, ids, TH_T0);
  for (int i = 0; i < 6; i++) {
    th_set_app_score(&t, &ids[i], scores[i]);
  }
  /* as go: fanout peers pass publishThreshold, not 0 */
  int n =
      lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, NULL, NULL, TH_T0);
  assert_int_equal(n, 4);
  for (int i = 0; i < 6; i++) {
    assert_int_equal(in_fanout(&t, &ids[i]), i < 4);
    assert_int_equal(msgs_queued(&t, &ids[i]), i < 4 ? 1 : 0);
  }
  th_router_del(&t);
}

static void
fanout_peer_below_publish_threshold_dropped_at_heartbeat(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[8];
  new_router(&t, true);
  add_subscribed(&t, 10, 8, LP2P_MESHSUB_12, false, ids, TH_T0);
  int n =
      lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, NULL, NULL, TH_T0);
  assert_int_equal(n, 6);
  gs_topic *tp = topic_of(&t);
  lp2p_peer_id low = tp->fanout.items[0]->id;
  th_set_app_score(&t, &low, FAILS);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 100 * LP2P_MILLISECONDS);
  /* as go: dropped, and the fanout topped up to D with peers above it */
  assert_false(in_fanout(&t, &low));
  assert_int_equal(tp->fanout.len, 6);
  th_router_del(&t);
}

static void floodsub_peer_below_publish_threshold_gets_nothing(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id flood[2], mesh[1];
  lp2p_privkey author;
  lp2p_peer_id author_id;
  new_router(&t, true);
  add_subscribed(&t, 10, 2, LP2P_FLOODSUB, false, flood, TH_T0);
  add_subscribed(&t, 20, 1, LP2P_MESHSUB_12, false, mesh, TH_T0);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_set_app_score(&t, &flood[0], PASSES);
  th_set_app_score(&t, &flood[1], FAILS);
  th_drain_all(&t, TH_T0);
  /* our own message */
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, NULL, NULL, TH_T0),
      2);
  assert_int_equal(msgs_queued(&t, &flood[0]), 1);
  assert_int_equal(msgs_queued(&t, &flood[1]), 0);
  /* and one we forward: go's Publish serves both */
  th_identity(77, &author, &author_id);
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"b", 1, 1);
  th_rpc_send(&t, &mesh[0], &m, TH_T0);
  assert_int_equal(t.delivered, 2);
  assert_int_equal(msgs_queued(&t, &flood[0]), 1);
  assert_int_equal(msgs_queued(&t, &flood[1]), 0);
  th_router_del(&t);
}

static void send_prune(th_router *t, const lp2p_peer_id *from,
                       uint64_t backoff_s, lp2p_tstamp now) {
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_prune(&m, TOPIC, backoff_s, NULL, 0);
  th_rpc_send(t, from, &m, now);
}

static void backoff_of_departed_peers_is_purged_when_it_ends(void **state) {
  (void)state;
  th_router t;
  new_router(&t, false);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  /* peers that come, PRUNE with a backoff and go, each under a new id */
  for (uint8_t i = 0; i < 50; i++) {
    lp2p_peer_id id;
    add_subscribed(&t, (uint8_t)(100 + i), 1, LP2P_MESHSUB_12, false, &id,
                   TH_T0);
    send_prune(&t, &id, 10, TH_T0);
    assert_int_equal(lp2p_router_remove_peer(t.r, &id, TH_T0), 0);
  }
  gs_topic *tp = topic_of(&t);
  assert_int_equal(tp->backoff.count, 50);
  assert_int_equal(t.r->nbackoff, 50);
  /* the backoff holds while it lasts, for a peer that is gone too */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 10 * LP2P_SECONDS);
  assert_int_equal(tp->backoff.count, 50);
  /* 10 s plus a heartbeat of slack: then the heartbeat forgets them */
  th_run(&t, &now, TH_T0 + 12 * LP2P_SECONDS);
  assert_int_equal(tp->backoff.count, 0);
  assert_int_equal(t.r->nbackoff, 0);
  th_router_del(&t);
}

static void backoff_table_is_bounded_by_max_backoffs(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[6];
  lp2p_router_stats st;
  th_settings(&s, 1);
  s.limits.max_backoffs = 4;
  th_router_new(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 10, 6, LP2P_MESHSUB_12, false, ids, TH_T0);
  for (int i = 0; i < 6; i++) {
    send_prune(&t, &ids[i], 60, TH_T0);
  }
  /* one past the limit and beyond: dropped, counted */
  assert_int_equal(topic_of(&t)->backoff.count, 4);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.backoffs_dropped, 2);
  /* a kept entry still grows (never shrinks) in place */
  const lp2p_peer_id *kept = NULL;
  for (int i = 0; i < 6 && !kept; i++) {
    if (lp2p_gs_backoff_until(topic_of(&t), &ids[i])) {
      kept = &ids[i];
    }
  }
  assert_non_null(kept);
  lp2p_tstamp before = lp2p_gs_backoff_until(topic_of(&t), kept);
  send_prune(&t, kept, 120, TH_T0);
  assert_true(lp2p_gs_backoff_until(topic_of(&t), kept) > before);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.backoffs_dropped, 2);
  th_router_del(&t);
}

static void subscribe_to(th_router *t, uint8_t seed, bool outbound,
                         const char *topic, lp2p_peer_id *id) {
  th_rpc m;
  th_add_peer(t, seed, LP2P_MESHSUB_12, outbound, id);
  th_rpc_init(&m);
  th_rpc_sub(&m, topic, true);
  th_rpc_send(t, id, &m, TH_T0);
}

static void mesh_health_sorts_joined_topics_by_mesh_size(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id id;
  lp2p_router_stats st;
  new_router(&t, false);
  static const char *const names[5] = {"empty", "low", "ok", "high", "out"};
  /* low: 2 outbound peers (1 to Dlo - 1, Dout met); ok: D = 6, all
   * inbound, both grafted as we join; high: 13 in the mesh, as GRAFTs
   * in a race would put them; out: exactly Dhi = 12, healthy */
  subscribe_to(&t, 10, true, "low", &id);
  subscribe_to(&t, 11, true, "low", &id);
  for (uint8_t i = 0; i < 6; i++) {
    subscribe_to(&t, (uint8_t)(20 + i), false, "ok", &id);
  }
  for (int i = 0; i < 5; i++) {
    assert_int_equal(lp2p_router_join(t.r, (const uint8_t *)names[i],
                                      strlen(names[i]), TH_T0),
                     0);
  }
  gs_topic *high = lp2p_gs_topic_find(t.r, (const uint8_t *)"high", 4);
  gs_topic *full = lp2p_gs_topic_find(t.r, (const uint8_t *)"out", 3);
  for (uint8_t i = 0; i < 13; i++) {
    subscribe_to(&t, (uint8_t)(40 + i), false, "high", &id);
    assert_int_equal(
        lp2p_gs_mesh_add(t.r, high, lp2p_gs_peer_find(t.r, &id), TH_T0), 0);
    if (i < 12) {
      subscribe_to(&t, (uint8_t)(60 + i), i < 2, "out", &id);
      assert_int_equal(
          lp2p_gs_mesh_add(t.r, full, lp2p_gs_peer_find(t.r, &id), TH_T0), 0);
    }
  }
  assert_int_equal(high->mesh.len, 13);
  assert_int_equal(full->mesh.len, 12);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.topics_mesh_empty, 1);
  assert_int_equal(st.topics_mesh_low, 1);
  assert_int_equal(st.topics_mesh_healthy, 2);
  assert_int_equal(st.topics_mesh_high, 1);
  /* empty, ok and high have no outbound mesh peer; low and out have 2 */
  assert_int_equal(st.topics_mesh_under_dout, 3);
  /* the heartbeat prunes both meshes at and above Dhi back to D */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 100 * LP2P_MILLISECONDS);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.topics_mesh_high, 0);
  assert_int_equal(st.topics_mesh_healthy, 3);
  th_router_del(&t);
}

static void iwant_ids_are_counted_by_outcome(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id peer;
  lp2p_router_stats st;
  uint8_t known[64], unknown[30][8];
  size_t known_len = 0;
  lp2p_peer_id listener;
  new_router(&t, false);
  add_subscribed(&t, 40, 1, LP2P_MESHSUB_12, false, &listener, TH_T0);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_true(lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, known,
                                  &known_len, TH_T0) > 0);
  th_add_peer(&t, 10, LP2P_MESHSUB_12, false, &peer);
  lp2p_bytes ids[30];
  for (int i = 0; i < 30; i++) {
    memset(unknown[i], i + 1, sizeof(unknown[i]));
    ids[i] = (lp2p_bytes){unknown[i], sizeof(unknown[i])};
  }
  lp2p_bytes k = {known, known_len};
  /* GossipRetransmission (3) answers per peer, then refusals */
  for (int i = 0; i < 4; i++) {
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_ids(&m, LP2P_CTL_IWANT, &k, 1);
    th_rpc_send(&t, &peer, &m, TH_T0);
  }
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.iwant_answered, 3);
  assert_int_equal(st.iwant_over_retransmission, 1);
  assert_int_equal(st.iwant_not_found, 0);
  /* a fresh heartbeat budget: 21 unknown ids are looked up (the check is
   * "more than max_invalid_iwants = 20 so far"), the other 9 skipped */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 100 * LP2P_MILLISECONDS);
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IWANT, ids, 10);
  th_rpc_ids(&m, LP2P_CTL_IWANT, ids + 10, 20);
  th_rpc_send(&t, &peer, &m, now);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.iwant_not_found, 21);
  assert_int_equal(st.iwant_skipped, 9);
  assert_int_equal(st.iwant_invalid, 22);
  th_router_del(&t);
}

static void mcache_gossip_window_counts_advertised_messages(void **state) {
  (void)state;
  th_router t;
  lp2p_router_stats st;
  lp2p_peer_id listener;
  new_router(&t, false);
  add_subscribed(&t, 40, 1, LP2P_MESHSUB_12, false, &listener, TH_T0);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  for (int i = 0; i < 2; i++) {
    uint8_t d = (uint8_t)i;
    assert_true(lp2p_router_publish(t.r, T, &d, 1, NULL, NULL, TH_T0) > 0);
  }
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.mcache_gossip_messages, 2);
  assert_int_equal(st.mcache_messages, 2);
  /* HistoryGossip = 3 heartbeats advertised, HistoryLength = 5 kept */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 2500 * LP2P_MILLISECONDS);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.mcache_gossip_messages, 0);
  assert_int_equal(st.mcache_messages, 2);
  th_run(&t, &now, TH_T0 + 4500 * LP2P_MILLISECONDS);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.mcache_messages, 0);
  th_router_del(&t);
}

/* A router joined to TOPIC with one peer that relays messages of
 * `author`. */
static void relay_setup(th_router *t, const lp2p_router_settings *s,
                        lp2p_peer_id *peer, lp2p_privkey *author) {
  lp2p_peer_id author_id;
  th_router_new(t, s);
  assert_int_equal(lp2p_router_join(t->r, T, TH_T0), 0);
  add_subscribed(t, 10, 1, LP2P_MESHSUB_12, false, peer, TH_T0);
  th_identity(77, author, &author_id);
}

static void relay_msg(th_router *t, const lp2p_peer_id *peer,
                      const lp2p_privkey *author, uint64_t seqno,
                      lp2p_tstamp now) {
  th_rpc m;
  uint8_t d = (uint8_t)seqno;
  th_rpc_init(&m);
  th_rpc_msg(&m, author, TOPIC, &d, 1, seqno);
  th_rpc_send(t, peer, &m, now);
}

static void seen_entry_is_forgotten_after_seen_ttl(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id peer;
  lp2p_privkey author;
  th_settings(&s, 1);
  s.params.seen_ttl = 5 * LP2P_SECONDS;
  relay_setup(&t, &s, &peer, &author);
  relay_msg(&t, &peer, &author, 1, TH_T0);
  assert_int_equal(t.delivered, 1);
  /* within SeenTTL a copy is a duplicate */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 4900 * LP2P_MILLISECONDS);
  relay_msg(&t, &peer, &author, 1, now);
  assert_int_equal(t.delivered, 1);
  /* the heartbeat after SeenTTL forgets the id: delivered again */
  th_run(&t, &now, TH_T0 + 5200 * LP2P_MILLISECONDS);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.seen_entries, 0);
  assert_int_equal(st.seen_evicted, 0); /* expiry is not eviction */
  relay_msg(&t, &peer, &author, 1, now);
  assert_int_equal(t.delivered, 2);
  th_router_del(&t);
}

static void seen_past_max_seen_evicts_oldest_and_counts(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id peer;
  lp2p_privkey author;
  lp2p_router_stats st;
  th_settings(&s, 1);
  s.limits.max_seen = 3;
  relay_setup(&t, &s, &peer, &author);
  for (uint64_t i = 1; i <= 4; i++) {
    relay_msg(&t, &peer, &author, i, TH_T0);
  }
  assert_int_equal(t.delivered, 4);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.seen_entries, 3);
  assert_int_equal(st.seen_evicted, 1);
  /* the newest is still known; the oldest (1) was evicted and is new
   * again, which evicts the next oldest (2) */
  relay_msg(&t, &peer, &author, 4, TH_T0);
  assert_int_equal(t.delivered, 4);
  relay_msg(&t, &peer, &author, 1, TH_T0);
  assert_int_equal(t.delivered, 5);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.seen_entries, 3);
  assert_int_equal(st.seen_evicted, 2);
  relay_msg(&t, &peer, &author, 3, TH_T0);
  assert_int_equal(t.delivered, 5);
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mesh_at_exactly_dhi_is_pruned),
      cmocka_unit_test(mesh_one_below_dhi_is_kept),
      cmocka_unit_test(graft_candidates_are_chosen_at_random_not_by_score),
      cmocka_unit_test(opportunistic_median_of_even_mesh_is_upper_middle),
      cmocka_unit_test(opportunistic_graft_takes_peers_above_low_median),
      cmocka_unit_test(fanout_takes_peers_at_or_above_publish_threshold),
      cmocka_unit_test(
          fanout_peer_below_publish_threshold_dropped_at_heartbeat),
      cmocka_unit_test(floodsub_peer_below_publish_threshold_gets_nothing),
      cmocka_unit_test(backoff_of_departed_peers_is_purged_when_it_ends),
      cmocka_unit_test(backoff_table_is_bounded_by_max_backoffs),
      cmocka_unit_test(mesh_health_sorts_joined_topics_by_mesh_size),
      cmocka_unit_test(iwant_ids_are_counted_by_outcome),
      cmocka_unit_test(mcache_gossip_window_counts_advertised_messages),
      cmocka_unit_test(seen_entry_is_forgotten_after_seen_ttl),
      cmocka_unit_test(seen_past_max_seen_evicts_oldest_and_counts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
