/* metrics: what a node can tell about itself and about its peers.
 *
 * Three levels, from the coarsest:
 *  - lp2p_node_metrics: every counter and gauge in the Prometheus text
 *    format, with go-libp2p-pubsub's metric names, for a /metrics page;
 *  - lp2p_router_get_stats, lp2p_node_get_stats: the same counters as C
 *    structs, for the application's own decisions;
 *  - peer scores (GossipSub v1.1): with scoring on, each node scores each
 *    peer from what it saw the peer do, and stops gossiping with, then
 *    ignores, peers whose score falls too low. lp2p_router_peer_score_info
 *    gives the score with its components (P1 time in the mesh, P2 first
 *    deliveries, P3 mesh delivery deficit, P4 invalid messages, P5 the
 *    application's score, P6 peers sharing an IP, P7 misbehaviour) and
 *    lp2p_router_peer_topic_score the raw counters behind one topic's.
 *
 * Node 0 publishes 20 messages; node 1 prints its view. Exits 0 when node
 * 1 delivered all 20 and credited node 0 with 20 first deliveries. */
#include "example_pair.h"

#define MESSAGES 20

static ex_pair pair;
static int delivered;

static void on_message(lp2p_node *n, const lp2p_message *msg, void *user) {
  (void)n;
  (void)msg;
  (void)user;
  if (++delivered == MESSAGES) {
    ex_pair_stop(&pair);
  }
}

static void publish_all(ex_pair *p) {
  for (int i = 0; i < MESSAGES; i++) {
    char text[32];
    int len = snprintf(text, sizeof(text), "message %d", i);
    lp2p_node_publish(p->node[0], (const uint8_t *)EX_TOPIC, strlen(EX_TOPIC),
                      (const uint8_t *)text, (size_t)len, NULL, NULL);
  }
}

/* Scoring parameters derived from the traffic we expect (one message a
 * second on the topic), the way Ethereum clients derive theirs; the topic's
 * part is set on each router once the nodes exist. */
static lp2p_topic_score_params topic_score;

static int scoring_on(lp2p_node_settings *s) {
  lp2p_score_traffic t;
  lp2p_score_topic_traffic tt;
  lp2p_score_traffic_default(&t);
  lp2p_score_topic_traffic_default(&tt, &t, 1.0);
  s->router.scoring = true;
  return lp2p_score_params_derive(&t, &tt, 1, &s->router.score, &topic_score,
                                  NULL);
}

static void print_prometheus(lp2p_node *n) {
  lp2p_buf text;
  lp2p_buf_init(&text, NULL);
  if (lp2p_node_metrics(n, &text) == 0 && text.len > 0) {
    /* a few lines of it; a /metrics endpoint would serve all of it */
    const char *line = (const char *)text.data, *end = line + text.len;
    while (line < end) {
      const char *nl = memchr(line, '\n', (size_t)(end - line));
      size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
      if (strncmp(line, "libp2p_pubsub_messages_delivered_total", 38) == 0 ||
          strncmp(line, "libp2p_gossipsub_peers_per_topic_mesh", 37) == 0) {
        printf("  %.*s\n", (int)len, line);
      }
      line += len + 1;
    }
  }
  lp2p_buf_free(&text);
}

/* Node 1's view of node 0; returns node 0's P2 counter. */
static double print_peer(lp2p_node *n, const lp2p_peer_id *peer) {
  lp2p_router *r = lp2p_node_router(n);
  lp2p_peer_score_info si;
  lp2p_peer_topic_score ts = {0};
  if (lp2p_router_peer_score_info(r, peer, &si) != 0 ||
      lp2p_router_peer_topic_score(r, peer, (const uint8_t *)EX_TOPIC,
                                   strlen(EX_TOPIC), &ts) != 0) {
    return 0;
  }
  printf("score of node 0 %.3f = topics %.3f (P1 %.3f P2 %.3f P3 %.3f "
         "P3b %.3f P4 %.3f) + P5 %.3f + P6 %.3f + P7 %.3f\n",
         si.score, si.topics, si.p1, si.p2, si.p3, si.p3b, si.p4, si.p5, si.p6,
         si.p7);
  printf("  in mesh %s, first deliveries %.0f, mesh deliveries %.0f\n",
         ts.in_mesh ? "yes" : "no", ts.first_message_deliveries,
         ts.mesh_message_deliveries);
  return ts.first_message_deliveries;
}

int main(void) {
  lp2p_node_settings s;
  lp2p_node_settings_default(&s);
  lp2p_node_callbacks cb = {.message = on_message};
  void *users[2] = {NULL, NULL};
  if (scoring_on(&s) != 0) {
    return 1;
  }
  ex_pair_start(&pair, &s, &cb, users, publish_all);
  for (int i = 0; i < 2 && pair.node[i]; i++) {
    lp2p_router_set_topic_score_params(lp2p_node_router(pair.node[i]),
                                       (const uint8_t *)EX_TOPIC,
                                       strlen(EX_TOPIC), &topic_score, NULL);
  }
  ex_pair_run(&pair);

  double first = 0;
  if (!pair.failed) {
    lp2p_node *n1 = pair.node[1];
    lp2p_router_stats rs;
    lp2p_node_stats ns;
    lp2p_router_get_stats(lp2p_node_router(n1), &rs);
    lp2p_node_get_stats(n1, &ns);
    printf("node 1: %llu delivered, %llu duplicates, %llu RPCs in, %llu "
           "bytes in\n",
           (unsigned long long)rs.msgs_delivered,
           (unsigned long long)rs.msgs_duplicate,
           (unsigned long long)rs.rpcs_received,
           (unsigned long long)ns.bytes_received);
    print_prometheus(n1);
    first = print_peer(n1, lp2p_host_peer_id(lp2p_node_host(pair.node[0])));
  }
  ex_pair_close(&pair);
  return !pair.failed && delivered == MESSAGES && first == MESSAGES ? 0 : 1;
}
