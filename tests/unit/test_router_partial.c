/* Partial messages, the gossipsub v1.3 extension (partial.c): no partial
 * traffic before both sides advertise the extension; parts only to a
 * peer that requested them, metadata only to one that just supports
 * them; metadata gossip at the heartbeat to non-mesh requesters; peer
 * feedback into P2 and P4; group states bounded by TTL, per topic and per
 * peer; oversized parts refused; a requester still takes full messages.
 * Test names say the rule. */
#include "pb/wire.h"
#include "testutil_router.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1
#define G1 (const uint8_t *)"g1", 2

typedef void (*tweak_fn)(lp2p_router_settings *s);

/* A router with the extension on (and scoring, so that feedback shows),
 * settings changed by `tweak`. */
static void partial_router(th_router *t, tweak_fn tweak) {
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_score_settings(&s);
  s.extensions.partial_messages = true;
  if (tweak) {
    tweak(&s);
  }
  th_router_new(t, &s);
}

/* Peer `seed` (meshsub 1.3): its first RPC subscribes to TOPIC with the
 * given SubOpts bools and advertises the extension when `advertise`. */
static void partial_peer(th_router *t, uint8_t seed, bool advertise,
                         bool requests, bool supports, lp2p_peer_id *id) {
  th_rpc m;
  lp2p_rpc_sub sub = {{(const uint8_t *)TOPIC, 1}, true, requests, supports};
  lp2p_rpc_extensions ext = {advertise, false};
  th_add_peer(t, seed, LP2P_MESHSUB_13, true, id);
  th_rpc_init(&m);
  assert_int_equal(lp2p_rpc_put_sub_partial(&m.body, &sub), 0);
  assert_int_equal(lp2p_ctl_put_extensions(&m.ctl, &ext), 0);
  th_rpc_send(t, id, &m, TH_T0);
}

/* An RPC.partial from `from` for group `group` with `parts_len` bytes of
 * parts (none when 0) and `md_len` of metadata (none when 0). */
static void send_partial(th_router *t, const lp2p_peer_id *from,
                         const char *group, size_t parts_len, size_t md_len) {
  static uint8_t fill[1 << 12];
  th_rpc m;
  lp2p_rpc_partial pm = {{(const uint8_t *)TOPIC, 1},
                         {(const uint8_t *)group, strlen(group)},
                         {parts_len ? fill : NULL, parts_len},
                         {md_len ? fill : NULL, md_len}};
  th_rpc_init(&m);
  assert_int_equal(lp2p_rpc_put_partial(&m.body, &pm), 0);
  th_rpc_send(t, from, &m, TH_T0);
}

/* The application's action: parts and metadata for every peer. */
static bool parts_and_metadata(lp2p_router *r, const lp2p_partial_peer *peer,
                               lp2p_partial_action *out, void *arg) {
  (void)r;
  (void)peer;
  (void)arg;
  out->parts = (lp2p_bytes){(const uint8_t *)"PARTS", 5};
  out->metadata = (lp2p_bytes){(const uint8_t *)"\x0f", 1};
  return true;
}

static int publish_g1(th_router *t) {
  return lp2p_router_publish_partial(t->r, T, G1, NULL, 0, parts_and_metadata,
                                     NULL, TH_T0);
}

/* Publishes a full message; returns lp2p_router_publish's result. */
static int publish_full(th_router *t) {
  return lp2p_router_publish(t->r, T, (const uint8_t *)"full", 4, NULL, NULL,
                             TH_T0);
}

static lp2p_router_stats stats(th_router *t) {
  lp2p_router_stats st;
  lp2p_router_get_stats(t->r, &st);
  return st;
}

static void no_partial_traffic_before_both_advertise(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  th_out o;
  partial_router(&t, NULL);
  /* it requests parts but never advertised the extension */
  partial_peer(&t, 2, false, true, true, &a);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_REQUESTS, TH_T0), 0);
  th_drain(&t, &a, &o, TH_T0);
  assert_true(o.ext.partial_messages); /* we advertised it */
  assert_int_equal(publish_g1(&t), 0);
  send_partial(&t, &a, "g1", 5, 1);
  assert_int_equal(t.partials, 0);
  assert_int_equal(stats(&t).partial_ignored, 1);
  /* so it gets full messages, as any peer */
  assert_int_equal(publish_full(&t), 1);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.partials, 0);
  assert_int_equal(o.msgs, 1);
  th_router_del(&t);
}

static void join_partial_needs_the_extension(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_router_new(&t, &s);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_REQUESTS, TH_T0),
      LP2P_ERR_STATE);
  th_router_del(&t);
}

static void requester_peer_gets_parts_not_full_messages(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  th_out o;
  partial_router(&t, NULL);
  partial_peer(&t, 2, true, true, true, &a);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_SUPPORTS, TH_T0), 0);
  assert_true(lp2p_gs_peers_has(&lp2p_gs_topic_find(t.r, T)->mesh,
                                lp2p_gs_peer_find(t.r, &a)));
  th_drain(&t, &a, &o, TH_T0);
  /* our subscription says we support sending parts, not want them */
  assert_int_equal(o.sub_supports, 1);
  assert_int_equal(o.sub_requests, 0);
  /* its only peer wants parts: the full message goes to nobody, and the
   * publisher is told so */
  assert_int_equal(publish_full(&t), LP2P_ERR_NOT_SENT);
  assert_int_equal(publish_g1(&t), 1);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.msgs, 0);
  assert_int_equal(o.partials, 1);
  assert_int_equal(o.partial_parts, 1);
  assert_int_equal(o.partial_metadata, 1);
  /* we asked for no parts: the application gets its metadata only */
  send_partial(&t, &a, "g1", 5, 1);
  assert_int_equal(t.partials, 1);
  assert_int_equal(t.partial_parts, 0);
  assert_int_equal(t.partial_metadata, 1);
  th_router_del(&t);
}

/* As go: a message another peer sends us is not forwarded whole to a
 * mesh peer that asked for parts. */
static void requester_peer_gets_no_forwarded_full_message(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a, b;
  lp2p_privkey key;
  lp2p_peer_id author;
  th_out o;
  th_rpc m;
  partial_router(&t, NULL);
  partial_peer(&t, 2, true, true, true, &a);
  partial_peer(&t, 3, true, false, false, &b); /* full messages only */
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_SUPPORTS, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  th_identity(7, &key, &author);
  th_rpc_init(&m);
  th_rpc_msg(&m, &key, TOPIC, (const uint8_t *)"whole", 5, 1);
  th_rpc_send(&t, &b, &m, TH_T0);
  assert_int_equal(t.delivered, 1);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.msgs, 0);
  th_router_del(&t);
}

/* As go: when we request parts, a mesh peer that sends them gets no
 * IDONTWANT (a peer without partial messages still does). */
static void no_idontwant_to_partial_senders_when_we_request(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a, b, c;
  lp2p_privkey key;
  lp2p_peer_id author;
  th_out o;
  th_rpc m;
  static uint8_t big[2048];
  partial_router(&t, NULL);
  partial_peer(&t, 2, true, false, true, &a);  /* sends parts */
  partial_peer(&t, 3, true, false, false, &b); /* full messages only */
  partial_peer(&t, 4, true, false, false, &c); /* the sender */
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_REQUESTS, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  th_identity(7, &key, &author);
  th_rpc_init(&m);
  th_rpc_msg(&m, &key, TOPIC, big, sizeof(big), 1);
  th_rpc_send(&t, &c, &m, TH_T0);
  th_drain(&t, &b, &o, TH_T0);
  assert_int_equal(o.idontwant_ids, 1);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.idontwant_ids, 0);
  th_router_del(&t);
}

static void supports_only_peer_gets_metadata_and_full_messages(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  th_out o;
  partial_router(&t, NULL);
  partial_peer(&t, 2, true, false, true, &a);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_REQUESTS, TH_T0), 0);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.sub_requests, 1);
  assert_int_equal(publish_g1(&t), 1);
  assert_int_equal(publish_full(&t), 1);
  th_drain(&t, &a, &o, TH_T0);
  /* the spec: parts omitted for a peer that did not request them */
  assert_int_equal(o.partials, 1);
  assert_int_equal(o.partial_parts, 0);
  assert_int_equal(o.partial_metadata, 1);
  assert_int_equal(o.msgs, 1);
  /* and what it sends us, who asked, reaches the application whole */
  send_partial(&t, &a, "g1", 5, 1);
  assert_int_equal(t.partials, 1);
  assert_int_equal(t.partial_parts, 1);
  assert_int_equal(t.last_parts_len, 5);
  th_router_del(&t);
}

/* One mesh peer at most, so that later subscribers stay out of it. */
static void mesh_of_one(th_router *t) {
  lp2p_mesh_params mp = {1, 1, 1, 1, 0, 6};
  assert_int_equal(lp2p_router_set_topic_params(t->r, T, &mp), 0);
}

/* As go's PublishPartial on a topic joined but not subscribed: the
 * fanout, chosen at the publication. */
static void publish_partial_goes_to_the_fanout_when_not_joined(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  th_out o;
  partial_router(&t, NULL);
  partial_peer(&t, 2, true, true, true, &a);
  assert_int_equal(publish_g1(&t), LP2P_ERR_STATE); /* no mode yet */
  assert_int_equal(lp2p_router_set_topic_partial(t.r, T, LP2P_PARTIAL_SUPPORTS),
                   0);
  assert_int_equal(publish_g1(&t), 1);
  th_drain(&t, &a, &o, TH_T0);
  assert_int_equal(o.subs, 0); /* not joined: no subscription */
  assert_int_equal(o.partials, 1);
  assert_int_equal(o.partial_parts, 1);
  th_router_del(&t);
}

/* The spec's publish-to list: a peer outside the mesh gets it, the
 * mesh does not. */
static void publish_partial_to_listed_peers_only(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id m, n;
  th_out o;
  partial_router(&t, NULL);
  mesh_of_one(&t);
  partial_peer(&t, 2, true, true, true, &m);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_SUPPORTS, TH_T0), 0);
  partial_peer(&t, 3, true, true, true, &n);
  th_drain_all(&t, TH_T0);
  assert_int_equal(lp2p_router_publish_partial(t.r, T, G1, &n, 1,
                                               parts_and_metadata, NULL, TH_T0),
                   1);
  th_drain(&t, &n, &o, TH_T0);
  assert_int_equal(o.partials, 1);
  th_drain(&t, &m, &o, TH_T0);
  assert_int_equal(o.partials, 0);
  th_router_del(&t);
}

static void
metadata_gossip_at_heartbeat_to_non_mesh_requesters_only(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id m, n, f;
  th_out o;
  lp2p_tstamp now = TH_T0;
  partial_router(&t, NULL);
  mesh_of_one(&t);
  partial_peer(&t, 2, true, true, true, &m);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_SUPPORTS, TH_T0), 0);
  partial_peer(&t, 3, true, true, true, &n);  /* requests: gossiped */
  partial_peer(&t, 4, true, false, true, &f); /* supports only: not */
  assert_int_equal(publish_g1(&t), 1);        /* to the mesh peer m */
  th_drain_all(&t, now);
  th_run(&t, &now, now + LP2P_SECONDS);
  assert_int_equal(t.gossip_calls, 1);
  assert_int_equal(t.gossip_peers, 1);
  assert_true(lp2p_peer_id_equal(&t.last_gossip_peer, &n));
  /* nor a requester that knows the group already (now tracked) */
  th_run(&t, &now, now + LP2P_SECONDS);
  assert_int_equal(t.gossip_calls, 1);
  /* as go: the requester got no IHAVE for it either; f got no metadata */
  th_drain(&t, &f, &o, now);
  assert_int_equal(o.partials, 0);
  th_router_del(&t);
}

/* When we request parts, a non-mesh peer that supports sending them is
 * offered our groups' metadata too (rust's and the spec's reading; go
 * offers requesters only), and still gets IHAVE: it wants full
 * messages. */
static void metadata_gossip_offers_supporters_when_we_request(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id m, f;
  lp2p_tstamp now = TH_T0;
  partial_router(&t, NULL);
  mesh_of_one(&t);
  partial_peer(&t, 2, true, true, true, &m);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_REQUESTS, TH_T0), 0);
  partial_peer(&t, 4, true, false, true, &f); /* supports only */
  assert_int_equal(publish_g1(&t), 1);
  th_drain_all(&t, now);
  th_run(&t, &now, now + LP2P_SECONDS);
  assert_int_equal(t.gossip_calls, 1);
  assert_true(lp2p_peer_id_equal(&t.last_gossip_peer, &f));
  th_router_del(&t);
}

static lp2p_topic_score_params feedback_topic(void) {
  lp2p_topic_score_params p = {0};
  p.topic_weight = 1;
  p.first_message_deliveries_weight = 1;
  p.first_message_deliveries_decay = 0.5;
  p.first_message_deliveries_cap = 10;
  p.invalid_message_deliveries_weight = -1;
  p.invalid_message_deliveries_decay = 0.5;
  return p;
}

static void feedback_useful_raises_p2_and_invalid_raises_p4(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  lp2p_peer_topic_score ts;
  lp2p_topic_score_params tp = feedback_topic();
  partial_router(&t, NULL);
  assert_int_equal(lp2p_router_set_topic_score_params(t.r, T, &tp, NULL), 0);
  partial_peer(&t, 2, true, false, true, &a);
  assert_int_equal(
      lp2p_router_partial_feedback(t.r, T, &a, LP2P_PARTIAL_USEFUL), 0);
  assert_int_equal(lp2p_router_peer_topic_score(t.r, &a, T, &ts), 0);
  assert_true(ts.first_message_deliveries == 1.0);
  assert_true(ts.invalid_message_deliveries == 0.0);
  assert_int_equal(
      lp2p_router_partial_feedback(t.r, T, &a, LP2P_PARTIAL_INVALID), 0);
  assert_int_equal(lp2p_router_peer_topic_score(t.r, &a, T, &ts), 0);
  assert_true(ts.invalid_message_deliveries == 1.0);
  lp2p_peer_id stranger;
  lp2p_privkey key;
  th_identity(9, &key, &stranger);
  assert_int_equal(
      lp2p_router_partial_feedback(t.r, T, &stranger, LP2P_PARTIAL_USEFUL),
      LP2P_ERR_NOT_FOUND);
  th_router_del(&t);
}

static void ttl_of_one(lp2p_router_settings *s) {
  s->extensions.partial_group_ttl = 1;
}

/* A TTL below go's minimum (3 heartbeats) counts as the minimum. */
static void group_state_expires_after_its_ttl(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  lp2p_tstamp now = TH_T0;
  partial_router(&t, ttl_of_one);
  partial_peer(&t, 2, true, true, true, &a);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_SUPPORTS, TH_T0), 0);
  assert_int_equal(publish_g1(&t), 1);
  assert_int_equal(stats(&t).partial_groups, 1);
  /* the first heartbeat is 100 ms in, then one a second: TTL 3 lasts
   * three of them (as go), the fourth drops it */
  th_run(&t, &now, TH_T0 + 2500 * LP2P_MILLISECONDS);
  assert_int_equal(stats(&t).heartbeats, 3);
  assert_int_equal(stats(&t).partial_groups, 1);
  th_run(&t, &now, TH_T0 + 3500 * LP2P_MILLISECONDS);
  assert_int_equal(stats(&t).partial_groups, 0);
  assert_int_equal(stats(&t).partial_groups_expired, 1);
  th_router_del(&t);
}

/* Peer `seed` (meshsub 1.3) advertising the extension, subscribed to
 * nothing: a publisher that never joins the topic. */
static void unsubscribed_partial_peer(th_router *t, uint8_t seed,
                                      lp2p_peer_id *id) {
  th_rpc m;
  lp2p_rpc_extensions ext = {true, false};
  th_add_peer(t, seed, LP2P_MESHSUB_13, true, id);
  th_rpc_init(&m);
  assert_int_equal(lp2p_ctl_put_extensions(&m.ctl, &ext), 0);
  th_rpc_send(t, id, &m, TH_T0);
}

/* As go's HandleRPC: a peer's parts count whether or not it subscribed
 * (the test-plans fanout scenario's publisher never does). */
static void partial_from_a_peer_not_subscribed_is_delivered(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  partial_router(&t, NULL);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_REQUESTS, TH_T0), 0);
  unsubscribed_partial_peer(&t, 2, &a);
  send_partial(&t, &a, "g1", 5, 1);
  assert_int_equal(t.partials, 1);
  assert_int_equal(stats(&t).partial_ignored, 0);
  th_router_del(&t);
}

/* The state such a peer's RPC made goes with it: the group then tracks
 * no peer and the next heartbeat drops it, not its TTL. */
static void unsubscribed_peer_gone_leaves_no_group_state(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  lp2p_tstamp now = TH_T0;
  partial_router(&t, NULL);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_REQUESTS, TH_T0), 0);
  unsubscribed_partial_peer(&t, 2, &a);
  send_partial(&t, &a, "g1", 5, 1);
  assert_int_equal(stats(&t).partial_groups, 1);
  assert_int_equal(lp2p_router_remove_peer(t.r, &a, TH_T0), 0);
  th_run(&t, &now, TH_T0 + 200 * LP2P_MILLISECONDS); /* one heartbeat */
  assert_int_equal(stats(&t).heartbeats, 1);
  assert_int_equal(stats(&t).partial_groups, 0);
  th_router_del(&t);
}

static void two_groups_a_topic(lp2p_router_settings *s) {
  s->limits.max_partial_groups_per_topic = 2;
}

static void peer_groups_per_topic_one_past_the_limit_dropped(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a, b;
  partial_router(&t, two_groups_a_topic);
  partial_peer(&t, 2, true, true, true, &a);
  partial_peer(&t, 3, true, true, true, &b);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_REQUESTS, TH_T0), 0);
  send_partial(&t, &a, "g1", 0, 1);
  send_partial(&t, &b, "g2", 0, 1);
  send_partial(&t, &b, "g3", 0, 1); /* one past: from any peer */
  assert_int_equal(t.partials, 2);
  assert_int_equal(stats(&t).partial_groups_dropped, 1);
  /* a known group is no new state */
  send_partial(&t, &a, "g2", 0, 1);
  assert_int_equal(t.partials, 3);
  /* groups we publish do not count: ours is not refused */
  assert_true(lp2p_router_publish_partial(t.r, T, (const uint8_t *)"g4", 2,
                                          NULL, 0, parts_and_metadata, NULL,
                                          TH_T0) >= 0);
  assert_int_equal(stats(&t).partial_groups, 3);
  th_router_del(&t);
}

static void two_groups_a_peer(lp2p_router_settings *s) {
  s->limits.max_partial_groups_per_peer = 2;
}

static void peer_groups_per_peer_one_past_the_limit_dropped(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a, b;
  partial_router(&t, two_groups_a_peer);
  partial_peer(&t, 2, true, true, true, &a);
  partial_peer(&t, 3, true, true, true, &b);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_REQUESTS, TH_T0), 0);
  send_partial(&t, &a, "g1", 0, 1);
  send_partial(&t, &a, "g2", 0, 1);
  send_partial(&t, &a, "g3", 0, 1); /* one past for a */
  assert_int_equal(t.partials, 2);
  assert_int_equal(stats(&t).partial_groups_dropped, 1);
  send_partial(&t, &b, "g3", 0, 1); /* b has its own allowance */
  assert_int_equal(t.partials, 3);
  th_router_del(&t);
}

static void small_messages(lp2p_router_settings *s) {
  s->limits.max_message_size = 1000;
  s->limits.max_partial_metadata = 100;
}

static void oversized_partial_message_refused(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  partial_router(&t, small_messages);
  partial_peer(&t, 2, true, true, true, &a);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_REQUESTS, TH_T0), 0);
  send_partial(&t, &a, "g1", 1000, 100); /* at the limits */
  assert_int_equal(t.partials, 1);
  send_partial(&t, &a, "g1", 1001, 1); /* parts one past */
  send_partial(&t, &a, "g1", 1, 101);  /* metadata one past */
  assert_int_equal(t.partials, 1);
  assert_int_equal(stats(&t).partial_too_large, 2);
  th_router_del(&t);
}

static void requester_accepts_a_full_message(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id a;
  lp2p_privkey key;
  th_rpc m;
  partial_router(&t, NULL);
  partial_peer(&t, 2, true, false, true, &a);
  assert_int_equal(
      lp2p_router_join_partial(t.r, T, LP2P_PARTIAL_REQUESTS, TH_T0), 0);
  lp2p_peer_id author;
  th_identity(2, &key, &author);
  th_rpc_init(&m);
  th_rpc_msg(&m, &key, TOPIC, (const uint8_t *)"whole", 5, 1);
  th_rpc_send(&t, &a, &m, TH_T0);
  assert_int_equal(t.delivered, 1);
  assert_memory_equal(t.last_data, "whole", 5);
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(no_partial_traffic_before_both_advertise),
      cmocka_unit_test(join_partial_needs_the_extension),
      cmocka_unit_test(requester_peer_gets_parts_not_full_messages),
      cmocka_unit_test(requester_peer_gets_no_forwarded_full_message),
      cmocka_unit_test(no_idontwant_to_partial_senders_when_we_request),
      cmocka_unit_test(supports_only_peer_gets_metadata_and_full_messages),
      cmocka_unit_test(publish_partial_goes_to_the_fanout_when_not_joined),
      cmocka_unit_test(publish_partial_to_listed_peers_only),
      cmocka_unit_test(
          metadata_gossip_at_heartbeat_to_non_mesh_requesters_only),
      cmocka_unit_test(metadata_gossip_offers_supporters_when_we_request),
      cmocka_unit_test(feedback_useful_raises_p2_and_invalid_raises_p4),
      cmocka_unit_test(group_state_expires_after_its_ttl),
      cmocka_unit_test(peer_groups_per_topic_one_past_the_limit_dropped),
      cmocka_unit_test(peer_groups_per_peer_one_past_the_limit_dropped),
      cmocka_unit_test(oversized_partial_message_refused),
      cmocka_unit_test(requester_accepts_a_full_message),
      cmocka_unit_test(partial_from_a_peer_not_subscribed_is_delivered),
      cmocka_unit_test(unsubscribed_peer_gone_leaves_no_group_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
