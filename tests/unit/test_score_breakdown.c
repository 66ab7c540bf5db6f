/* Score breakdowns (issue 13 item 3): every component per topic and per
 * peer, adding up to the score the router holds, over several topics with
 * TopicScoreCap off and on; every scored peer visited, connected and
 * retained; the counters go's PeerScoreSnapshot reports; and the score
 * metrics, bounded to the top and bottom N peers and allow-listed
 * topics. */
#include "host/node_internal.h"
#include "testutil_router.h"

#define S LP2P_SECONDS
#define MS LP2P_MILLISECONDS
#define NPEERS 4

static const char *const topic_names[3] = {"a", "b", "c"};

/* "a": P1, P2 and P4 at topic weight 0.5; "b": P3 and P3b at weight 2;
 * "c": P2 at weight 1. */
static lp2p_topic_score_params topic_params(int k) {
  lp2p_topic_score_params p = {0};
  p.topic_weight = k == 0 ? 0.5 : k == 1 ? 2 : 1;
  p.invalid_message_deliveries_decay = 0.5;
  if (k == 0 || k == 2) {
    p.first_message_deliveries_weight = k == 0 ? 2 : 1;
    p.first_message_deliveries_decay = 0.5;
    p.first_message_deliveries_cap = 20;
  }
  if (k == 0) {
    p.time_in_mesh_weight = 1;
    p.time_in_mesh_quantum = S;
    p.time_in_mesh_cap = 10;
    p.invalid_message_deliveries_weight = -1;
  }
  if (k == 1) {
    p.mesh_message_deliveries_weight = -1;
    p.mesh_message_deliveries_decay = 0.5;
    p.mesh_message_deliveries_cap = 10;
    p.mesh_message_deliveries_threshold = 4;
    p.mesh_message_deliveries_window = 10 * MS;
    p.mesh_message_deliveries_activation = 1 * S;
    p.mesh_failure_penalty_weight = -1;
    p.mesh_failure_penalty_decay = 0.5;
  }
  return p;
}

/* P6 and P7 on, beside th_score_settings' P5 weight of 1. */
static void peer_weights(lp2p_router_settings *s) {
  s->score.ip_colocation_factor_weight = -1;
  s->score.ip_colocation_factor_threshold = 1;
  s->score.behaviour_penalty_weight = -1;
  s->score.behaviour_penalty_threshold = 1;
  s->score.behaviour_penalty_decay = 0.5;
}

static void add_at(th_router *t, uint8_t seed, uint8_t ip_last,
                   lp2p_peer_id *id) {
  lp2p_privkey k;
  lp2p_peer_info info = {LP2P_MESHSUB_12, true, false, {0}, NULL, NULL};
  info.ip[10] = info.ip[11] = 0xff;
  info.ip[12] = 1;
  info.ip[13] = 2;
  info.ip[14] = 3;
  info.ip[15] = ip_last;
  th_identity(seed, &k, id);
  assert_int_equal(lp2p_router_add_peer(t->r, id, &info, TH_T0), 0);
}

/* A scored router with three scored topics joined and NPEERS peers, each
 * at its own address, in every mesh. */
static void scored_net(th_router *t, lp2p_peer_id *ids) {
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_score_settings(&s);
  peer_weights(&s);
  th_router_new(t, &s);
  for (int k = 0; k < 3; k++) {
    lp2p_topic_score_params p = topic_params(k);
    lp2p_errdetail err;
    if (lp2p_router_set_topic_score_params(
            t->r, (const uint8_t *)topic_names[k], 1, &p, &err) != 0) {
      fail_msg("topic params: %s", err.msg);
    }
  }
  for (int i = 0; i < NPEERS; i++) {
    add_at(t, (uint8_t)(10 + i), (uint8_t)(4 + i), &ids[i]);
    th_rpc m;
    th_rpc_init(&m);
    for (int k = 0; k < 3; k++) {
      th_rpc_sub(&m, topic_names[k], true);
    }
    th_rpc_send(t, &ids[i], &m, TH_T0);
  }
  for (int k = 0; k < 3; k++) {
    assert_int_equal(
        lp2p_router_join(t->r, (const uint8_t *)topic_names[k], 1, TH_T0), 0);
  }
  th_drain_all(t, TH_T0);
}

static void deliver(th_router *t, const lp2p_peer_id *from, const char *topic,
                    uint64_t seqno, lp2p_tstamp now) {
  lp2p_privkey k;
  lp2p_peer_id author;
  th_identity(77, &k, &author);
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_msg(&m, &k, topic, (const uint8_t *)"payload", 7, seqno);
  th_rpc_send(t, from, &m, now);
}

/* An unsigned message: invalid under StrictSign (P4). */
static void deliver_invalid(th_router *t, const lp2p_peer_id *from,
                            const char *topic, lp2p_tstamp now) {
  lp2p_rpc_msg f = {0};
  f.data = (lp2p_bytes){(const uint8_t *)"x", 1};
  f.topic = (lp2p_bytes){(const uint8_t *)topic, strlen(topic)};
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_raw_msg(&m, &f);
  th_rpc_send(t, from, &m, now);
}

static void near(double got, double want) {
  if (got < want - 1e-9 || got > want + 1e-9) {
    fail_msg("got %.9f, want %.9f", got, want);
  }
}

typedef struct visit {
  lp2p_router *r;
  double cap;
  size_t peers, retained, capped;
  bool seen[8]; /* P1, P2, P3, P3b, P4, P5, P6, P7 were not 0 */
} visit;

static void note_seen(visit *v, const lp2p_peer_score_breakdown *b,
                      const lp2p_topic_score_breakdown *tb) {
  const double part[8] = {
      tb ? tb->p1 : 0, tb ? tb->p2 : 0, tb ? tb->p3 : 0, tb ? tb->p3b : 0,
      tb ? tb->p4 : 0, b->p5,           b->p6,           b->p7};
  for (int k = 0; k < 8; k++) {
    v->seen[k] = v->seen[k] || part[k] != 0;
  }
}

/* The parts of one peer add up, in the documented order, to the score
 * the router holds. */
static void check_sums(const lp2p_peer_score_breakdown *b,
                       const lp2p_topic_score_breakdown *topics, void *user) {
  visit *v = user;
  double sum = 0;
  for (size_t i = 0; i < b->ntopics; i++) {
    const lp2p_topic_score_breakdown *tb = &topics[i];
    assert_true(tb->score == tb->p1 + tb->p2 + tb->p3 + tb->p3b + tb->p4);
    sum += tb->score;
    note_seen(v, b, tb);
  }
  assert_true(b->topics_sum == sum);
  double capped = v->cap > 0 && sum > v->cap ? v->cap : sum;
  assert_true(b->topics_capped == capped);
  assert_true(b->score == b->topics_capped + b->p5 + b->p6 + b->p7);
  assert_true(b->score == lp2p_router_peer_score(v->r, &b->peer));
  note_seen(v, b, NULL);
  v->peers++;
  v->retained += !b->connected;
  v->capped += b->topics_capped < b->topics_sum;
}

/* Checks every peer; what was seen accumulates in `all`. */
static visit check_all(th_router *t, visit *all) {
  visit v = {t->r, t->r->score.p.topic_score_cap, 0, 0, 0, {false}};
  assert_int_equal(lp2p_router_scores_each(t->r, check_sums, &v), 0);
  for (int k = 0; k < 8; k++) {
    all->seen[k] = all->seen[k] || v.seen[k];
  }
  return v;
}

static void breakdown_of(th_router *t, const lp2p_peer_id *id,
                         lp2p_peer_score_breakdown *b,
                         lp2p_topic_score_breakdown topics[3]) {
  assert_int_equal(lp2p_router_peer_score_breakdown(t->r, id, b, topics, 3), 0);
  assert_int_equal(b->ntopics, 3);
}

static const lp2p_topic_score_breakdown *
topic_of(const lp2p_topic_score_breakdown topics[3], const char *name) {
  for (int i = 0; i < 3; i++) {
    if (topics[i].topic_len == 1 && topics[i].topic[0] == name[0]) {
      return &topics[i];
    }
  }
  fail_msg("no topic %s", name);
  return NULL;
}

/* A history touching every component: first deliveries on "a" and "c",
 * an invalid message on "a", mesh deliveries falling short on "b" and a
 * PRUNE there, shared addresses, behaviour penalties, application
 * scores; then TopicScoreCap turned on, and a peer leaving. */
static void score_breakdown_sums_to_score(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[NPEERS + 1];
  visit all = {0};
  scored_net(&t, ids);
  /* after the meshes formed: a fifth peer at peer 0's address (P6), and a
   * behaviour penalty for peer 1 (P7) */
  add_at(&t, 20, 4, &ids[NPEERS]);
  lp2p_gs_score_penalty(t.r, lp2p_gs_peer_find(t.r, &ids[1]), 3);
  for (uint64_t k = 1; k <= 3; k++) {
    deliver(&t, &ids[0], "a", k, TH_T0);
  }
  deliver(&t, &ids[1], "c", 10, TH_T0);
  deliver(&t, &ids[1], "b", 11, TH_T0);
  deliver_invalid(&t, &ids[2], "a", TH_T0);
  th_set_app_score(&t, &ids[0], 2);
  th_set_app_score(&t, &ids[3], -1.5);
  visit v = check_all(&t, &all);
  assert_int_equal(v.peers, NPEERS + 1);
  /* the parts are the components, hand-computed */
  lp2p_peer_score_breakdown b;
  lp2p_topic_score_breakdown topics[3];
  breakdown_of(&t, &ids[0], &b, topics);
  near(topic_of(topics, "a")->first_message_deliveries, 3);
  near(topic_of(topics, "a")->p2, 0.5 * 2 * 3);
  near(b.app_specific, 2);
  near(b.p5, 2);
  near(b.ip_colocation, 1); /* two peers at 1.2.3.4, threshold 1 */
  near(b.p6, -1);
  assert_int_equal(b.ip_peers, 2);
  near(b.score, 3 + 2 - 1);
  breakdown_of(&t, &ids[1], &b, topics);
  near(b.behaviour_penalty, 3);
  near(b.p7, -4);
  near(topic_of(topics, "c")->p2, 1);
  breakdown_of(&t, &ids[2], &b, topics);
  near(topic_of(topics, "a")->invalid_message_deliveries, 1);
  near(topic_of(topics, "a")->p4, -0.5);

  /* time passes: P1 counts, P3 activates on "b", the heartbeat prunes
   * the peers it makes negative (P3b) */
  lp2p_tstamp now = TH_T0;
  for (lp2p_tstamp until = TH_T0 + S; until <= TH_T0 + 4 * S; until += S) {
    th_run(&t, &now, until);
    check_all(&t, &all);
  }
  breakdown_of(&t, &ids[0], &b, topics);
  const lp2p_topic_score_breakdown *tb = topic_of(topics, "b");
  near(tb->p3, 2 * tb->mesh_message_deliveries_deficit * -1);
  near(tb->p3b, 2 * tb->mesh_failure_penalty * -1);
  if (!tb->in_mesh) {
    assert_int_equal(tb->mesh_time, 0); /* as go: only while in the mesh */
  }

  /* peer 0 delivers enough on "b" and "c" to score positively there */
  for (uint64_t k = 100; k < 120; k++) {
    deliver(&t, &ids[0], k < 110 ? "b" : "c", k, now);
  }
  check_all(&t, &all);
  /* TopicScoreCap below peer 0's topic score: capped, still adding up */
  t.r->score.p.topic_score_cap = 1;
  for (int i = 0; i <= NPEERS; i++) {
    lp2p_gs_peer_find(t.r, &ids[i])->sp->dirty = true;
  }
  v = check_all(&t, &all);
  assert_true(v.capped >= 1);
  breakdown_of(&t, &ids[0], &b, topics);
  assert_true(b.topics_sum > 1);
  near(b.topics_capped, 1);

  /* peer 2 (negative) leaves: retained, visited, still adding up */
  lp2p_router_remove_peer(t.r, &ids[2], now);
  v = check_all(&t, &all);
  assert_int_equal(v.peers, NPEERS + 1);
  assert_int_equal(v.retained, 1);
  breakdown_of(&t, &ids[2], &b, topics);
  assert_false(b.connected);
  /* the history moved every component */
  for (int k = 0; k < 8; k++) {
    if (!all.seen[k]) {
      fail_msg("component %d was always 0", k);
    }
  }
  th_router_del(&t);
}

static void count_peers(const lp2p_peer_score_breakdown *b,
                        const lp2p_topic_score_breakdown *topics, void *user) {
  (void)b;
  (void)topics;
  (*(size_t *)user)++;
}

static void scores_each_drops_records_past_retain_score(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[NPEERS];
  scored_net(&t, ids);
  deliver_invalid(&t, &ids[2], "a", TH_T0);
  lp2p_router_remove_peer(t.r, &ids[2], TH_T0);
  deliver(&t, &ids[3], "c", 1, TH_T0);
  lp2p_router_remove_peer(t.r, &ids[3], TH_T0); /* positive: forgotten */
  size_t n = 0;
  assert_int_equal(lp2p_router_scores_each(t.r, count_peers, &n), 0);
  assert_int_equal(n, 3);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 11 * S); /* RetainScore is 10 s */
  n = 0;
  assert_int_equal(lp2p_router_scores_each(t.r, count_peers, &n), 0);
  assert_int_equal(n, 2);
  lp2p_peer_score_breakdown b;
  assert_int_equal(lp2p_router_peer_score_breakdown(t.r, &ids[2], &b, NULL, 0),
                   LP2P_ERR_NOT_FOUND);
  th_router_del(&t);
}

/* Changed topic parameters apply at once to the score the router holds
 * (it kept the old one until a counter moved), so the breakdown, computed
 * with them, still adds up to it. */
static void new_topic_params_rescore_every_peer_at_once(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[NPEERS];
  scored_net(&t, ids);
  for (uint64_t k = 1; k <= 3; k++) {
    deliver(&t, &ids[0], "c", k, TH_T0);
  }
  near(lp2p_router_peer_score(t.r, &ids[0]), 3);
  lp2p_topic_score_params p = topic_params(2);
  p.first_message_deliveries_weight = 2;
  assert_int_equal(lp2p_router_set_topic_score_params(t.r, (const uint8_t *)"c",
                                                      1, &p, NULL),
                   0);
  near(lp2p_router_peer_score(t.r, &ids[0]), 6);
  visit all = {0};
  check_all(&t, &all);
  th_router_del(&t);
}

/* The one allocation of lp2p_router_scores_each failing: an error, and
 * no peer half visited. */
static void scores_each_without_memory_visits_no_peer(void **state) {
  (void)state;
  failmem fm;
  failmem_init(&fm, 0);
  th_router t;
  memset(&t, 0, sizeof(t));
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_score_settings(&s);
  lp2p_router_callbacks cb = {0};
  assert_int_equal(lp2p_router_new(&t.r, &s, &cb, &fm.mem, &t, TH_T0, NULL), 0);
  lp2p_topic_score_params p = topic_params(0);
  assert_int_equal(lp2p_router_set_topic_score_params(t.r, (const uint8_t *)"a",
                                                      1, &p, NULL),
                   0);
  lp2p_peer_id id;
  add_at(&t, 10, 4, &id);
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_sub(&m, "a", true);
  th_rpc_send(&t, &id, &m, TH_T0);
  assert_int_equal(lp2p_router_join(t.r, (const uint8_t *)"a", 1, TH_T0), 0);
  fm.fail_at = fm.count + 1;
  fm.sticky = 1;
  size_t n = 0;
  assert_int_equal(lp2p_router_scores_each(t.r, count_peers, &n),
                   LP2P_ERR_NOMEM);
  assert_int_equal(n, 0);
  fm.fail_at = 0;
  assert_int_equal(lp2p_router_scores_each(t.r, count_peers, &n), 0);
  assert_int_equal(n, 1);
  lp2p_router_del(t.r);
  assert_int_equal(fm.live, 0);
}

static void score_breakdown_copies_at_most_cap_topics(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[NPEERS];
  scored_net(&t, ids);
  deliver(&t, &ids[0], "a", 1, TH_T0);
  lp2p_peer_score_breakdown b;
  lp2p_topic_score_breakdown topics[2];
  memset(topics, 0xab, sizeof(topics));
  assert_int_equal(
      lp2p_router_peer_score_breakdown(t.r, &ids[0], &b, topics, 1), 0);
  assert_int_equal(b.ntopics, 3);
  assert_non_null(topics[0].topic);
  const uint8_t *untouched = (const uint8_t *)&topics[1];
  assert_int_equal(untouched[0], 0xab);
  /* the topics left out still count */
  assert_true(b.score == lp2p_router_peer_score(t.r, &ids[0]));
  near(b.topics_sum, 1);
  th_router_del(&t);
}

/* ---- score metrics ------------------------------------------------------ */

static const char *metrics_of(th_router *t, size_t top_n, const char *topic,
                              lp2p_buf *text) {
  lp2p__score_metrics cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.top_n = top_n;
  char name[8];
  if (topic) {
    snprintf(name, sizeof(name), "%s", topic);
    cfg.topics[0] = name;
    cfg.ntopics = 1;
  }
  lp2p_buf_init(text, NULL);
  assert_int_equal(lp2p__score_metrics_write(t->r, &cfg, text), 0);
  assert_int_equal(lp2p_buf_append(text, "", 1), 0);
  return (const char *)text->data;
}

static size_t lines_with(const char *text, const char *what) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, what)) != NULL; p++) {
    n += p == text || p[-1] == '\n';
  }
  return n;
}

static bool peer_shown(const char *text, const lp2p_peer_id *id) {
  char want[LP2P_PEER_ID_TEXT_MAX + 64], idtext[LP2P_PEER_ID_TEXT_MAX];
  assert_true(lp2p_peer_id_to_base58(id, idtext, sizeof(idtext)) > 0);
  snprintf(want, sizeof(want), "libp2p_gossipsub_peer_score{peer=\"%s\"}",
           idtext);
  return strstr(text, want) != NULL;
}

/* 2N + 1 connected peers, distinct scores: the N highest and N lowest
 * have series, the middle one none; a retained record none either. */
static void score_metrics_show_only_top_and_bottom_n_peers(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[NPEERS + 1];
  scored_net(&t, ids);
  add_at(&t, 20, 20, &ids[NPEERS]);
  const double app[NPEERS + 1] = {5, -3, 1, 9, -7};
  for (int i = 0; i <= NPEERS; i++) {
    th_set_app_score(&t, &ids[i], app[i]);
  }
  lp2p_buf text;
  const char *m = metrics_of(&t, 2, NULL, &text);
  assert_int_equal(lines_with(m, "libp2p_gossipsub_peer_score{"), 4);
  assert_false(peer_shown(m, &ids[2])); /* app score 1: the middle */
  assert_true(peer_shown(m, &ids[3]) && peer_shown(m, &ids[0]));
  assert_true(peer_shown(m, &ids[4]) && peer_shown(m, &ids[1]));
  /* each shown peer has its components: topics, p5, p6, p7 */
  assert_int_equal(lines_with(m, "libp2p_gossipsub_peer_score_component{"),
                   4 * 5);
  /* no topic allowed: no per-topic series */
  assert_int_equal(lines_with(m, "libp2p_gossipsub_peer_topic_score"), 0);
  lp2p_buf_free(&text);

  /* fewer than 2N + 1: every peer once */
  m = metrics_of(&t, 3, NULL, &text);
  assert_int_equal(lines_with(m, "libp2p_gossipsub_peer_score{"), 5);
  lp2p_buf_free(&text);
  m = metrics_of(&t, 0, NULL, &text);
  assert_int_equal(lines_with(m, "libp2p_gossipsub_peer_score{"), 0);
  lp2p_buf_free(&text);

  /* retained records are not ranked: they cannot be acted on */
  lp2p_router_remove_peer(t.r, &ids[4], TH_T0);
  m = metrics_of(&t, 2, NULL, &text);
  assert_false(peer_shown(m, &ids[4]));
  assert_int_equal(lines_with(m, "libp2p_gossipsub_peer_score{"), 4);
  lp2p_buf_free(&text);
  th_router_del(&t);
}

static void score_metrics_break_down_only_allowed_topics(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[NPEERS];
  scored_net(&t, ids);
  for (uint64_t k = 1; k <= 3; k++) {
    deliver(&t, &ids[0], "a", k, TH_T0);
  }
  lp2p_buf text;
  const char *m = metrics_of(&t, 1, "a", &text);
  /* two peers shown, five components each in "a", none in "b" or "c" */
  assert_int_equal(
      lines_with(m, "libp2p_gossipsub_peer_topic_score_component{"), 2 * 5);
  assert_null(strstr(m, "topic=\"b\""));
  assert_null(strstr(m, "topic=\"c\""));
  assert_non_null(strstr(m, "topic=\"a\",component=\"p2\"} 3\n"));
  lp2p_buf_free(&text);
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(score_breakdown_sums_to_score),
      cmocka_unit_test(scores_each_drops_records_past_retain_score),
      cmocka_unit_test(score_breakdown_copies_at_most_cap_topics),
      cmocka_unit_test(scores_each_without_memory_visits_no_peer),
      cmocka_unit_test(new_topic_params_rescore_every_peer_at_once),
      cmocka_unit_test(score_metrics_show_only_top_and_bottom_n_peers),
      cmocka_unit_test(score_metrics_break_down_only_allowed_topics),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
