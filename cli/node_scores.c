/* lp2p node's score dump: see node_scores.h. */
#include "node_scores.h"

#include "cli.h"
#include "net.h"

typedef struct dump {
  node_output *out;
  int peers;
} dump;

/* %.17g: a reader can check to the last bit that the parts add up */
static void num(FILE *f, const char *name, double v) {
  /* a zero weight times a negative counter is -0: print it as 0 */
  fprintf(f, ",\"%s\":%.17g", name, v == 0 ? 0.0 : v);
}

static void print_topic(FILE *f, const lp2p_topic_score_breakdown *t) {
  fprintf(f, "{\"topic\":");
  cli_json_string(f, t->topic, t->topic_len);
  fprintf(f, ",\"in_mesh\":%s,\"mesh_time_ms\":%llu",
          t->in_mesh ? "true" : "false",
          (unsigned long long)(t->mesh_time / LP2P_MILLISECONDS));
  fprintf(f, ",\"mesh_message_deliveries_active\":%s",
          t->mesh_message_deliveries_active ? "true" : "false");
  num(f, "time_in_mesh", t->time_in_mesh);
  num(f, "first_message_deliveries", t->first_message_deliveries);
  num(f, "mesh_message_deliveries", t->mesh_message_deliveries);
  num(f, "mesh_message_deliveries_deficit", t->mesh_message_deliveries_deficit);
  num(f, "mesh_failure_penalty", t->mesh_failure_penalty);
  num(f, "invalid_message_deliveries", t->invalid_message_deliveries);
  num(f, "p1", t->p1);
  num(f, "p2", t->p2);
  num(f, "p3", t->p3);
  num(f, "p3b", t->p3b);
  num(f, "p4", t->p4);
  num(f, "score", t->score);
  fputc('}', f);
}

static void print_peer(const lp2p_peer_score_breakdown *b,
                       const lp2p_topic_score_breakdown *topics, void *user) {
  dump *d = user;
  char id[LP2P_PEER_ID_TEXT_MAX];
  cli_peer_text(&b->peer, id);
  FILE *f = node_output_line(d->out);
  fprintf(f, "{\"event\":\"score\",\"peer_id\":\"%s\",\"connected\":%s", id,
          b->connected ? "true" : "false");
  num(f, "score", b->score);
  num(f, "topics_sum", b->topics_sum);
  num(f, "topics_capped", b->topics_capped);
  num(f, "app_specific", b->app_specific);
  num(f, "p5", b->p5);
  num(f, "ip_colocation", b->ip_colocation);
  fprintf(f, ",\"ip_peers\":%zu", b->ip_peers);
  num(f, "p6", b->p6);
  num(f, "behaviour_penalty", b->behaviour_penalty);
  num(f, "p7", b->p7);
  fprintf(f, ",\"topics\":[");
  for (size_t i = 0; i < b->ntopics; i++) {
    if (i) {
      fputc(',', f);
    }
    print_topic(f, &topics[i]);
  }
  fprintf(f, "]}\n");
  node_output_end_line(d->out, false);
  d->peers++;
}

int node_scores_print(lp2p_node *n, node_output *out) {
  dump d = {out, 0};
  int rv = lp2p_router_scores_each(lp2p_node_router(n), print_peer, &d);
  return rv ? rv : d.peers;
}
