/* validator: an application validator that gives its verdicts later.
 *
 * Before a GossipSub router hands a message to the application or forwards
 * it to its mesh peers, the application may validate it. The verdict is
 * ACCEPT (deliver and forward), REJECT (drop, and count it against the
 * peer that sent it: with peer scoring on, its score falls) or IGNORE (drop
 * without blame, e.g. a message that is merely stale). A check may take
 * time (a signature over the payload, a database lookup), so the validator
 * may answer PENDING and report the verdict later with
 * lp2p_router_report_validation; meanwhile the message is neither
 * delivered nor forwarded. Here a timer gives each verdict 50 ms later:
 * text starting with "ok" is accepted, "spam" rejected, the rest ignored.
 *
 * Node 0 publishes three messages; node 1 validates them. The program
 * exits 0 when node 1 delivered exactly the accepted one and its router
 * counted one rejection and one ignored message. */
#include <stdlib.h>

#include "example_pair.h"

#define MAX_PENDING 16 /* checks in flight; past it, messages are ignored */

typedef struct check {
  uv_timer_t timer;
  lp2p_node *node;
  uint8_t id[128]; /* the message id: the verdict names the message by it */
  size_t id_len;
  lp2p_validation verdict;
} check;

static ex_pair pair;
static check checks[MAX_PENDING];
static int nchecks, answered, delivered;

/* The timer of a check fired: report its verdict to the router, then let
 * the node send what the verdict queued (an accepted message is forwarded
 * to the mesh). */
static void on_verdict_due(uv_timer_t *t) {
  check *c = t->data;
  int rv = lp2p_router_report_validation(
      lp2p_node_router(c->node), c->id, c->id_len, c->verdict, lp2p_host_now());
  lp2p_node_flush(c->node);
  if (rv != 0) { /* it expired, or was answered already */
    fprintf(stderr, "verdict not taken: %s\n", lp2p_strerror(rv));
    pair.failed = 1;
  }
  uv_close((uv_handle_t *)t, NULL);
  if (++answered == 3) {
    ex_pair_stop(&pair);
  }
}

/* Called by the router for every new message from a peer. The views in
 * `msg` are valid only during the call: keep a copy of what the later
 * verdict needs. */
static lp2p_validation validate(lp2p_node *n, const lp2p_message *msg,
                                void *user) {
  (void)user;
  if (nchecks == MAX_PENDING || msg->id.len > sizeof(checks[0].id)) {
    return LP2P_VALIDATION_IGNORE; /* bounded: never queue without limit */
  }
  check *c = &checks[nchecks++];
  c->node = n;
  memcpy(c->id, msg->id.data, msg->id.len);
  c->id_len = msg->id.len;
  const char *text = (const char *)msg->data.data;
  size_t len = msg->data.len;
  c->verdict = len >= 2 && memcmp(text, "ok", 2) == 0 ? LP2P_VALIDATION_ACCEPT
               : len >= 4 && memcmp(text, "spam", 4) == 0
                   ? LP2P_VALIDATION_REJECT
                   : LP2P_VALIDATION_IGNORE;
  uv_timer_init(&pair.loop, &c->timer);
  c->timer.data = c;
  uv_timer_start(&c->timer, on_verdict_due, 50, 0);
  printf("node 1 checks \"%.*s\"...\n", (int)len, text);
  return LP2P_VALIDATION_PENDING;
}

static void on_message(lp2p_node *n, const lp2p_message *msg, void *user) {
  (void)n;
  (void)user;
  printf("node 1 delivers \"%.*s\"\n", (int)msg->data.len,
         (const char *)msg->data.data);
  delivered++;
}

static void publish_three(ex_pair *p) {
  static const char *const texts[] = {"ok: block 1", "spam: buy now",
                                      "late: block 0"};
  for (int i = 0; i < 3; i++) {
    int rv = lp2p_node_publish(p->node[0], (const uint8_t *)EX_TOPIC,
                               strlen(EX_TOPIC), (const uint8_t *)texts[i],
                               strlen(texts[i]), NULL, NULL);
    if (rv < 0) {
      fprintf(stderr, "publish: %s\n", lp2p_strerror(rv));
      p->failed = 1;
    }
  }
}

int main(void) {
  lp2p_node_settings s;
  lp2p_node_settings_default(&s);
  lp2p_node_callbacks cb = {.message = on_message, .validate = validate};
  void *users[2] = {NULL, NULL};
  ex_pair_start(&pair, &s, &cb, users, publish_three);
  ex_pair_run(&pair);

  lp2p_router_stats st = {0};
  if (pair.node[1]) {
    lp2p_router_get_stats(lp2p_node_router(pair.node[1]), &st);
  }
  for (int i = 0; i < nchecks; i++) { /* timers left by a failed run */
    if (!uv_is_closing((uv_handle_t *)&checks[i].timer)) {
      uv_close((uv_handle_t *)&checks[i].timer, NULL);
    }
  }
  ex_pair_close(&pair);
  printf("node 1: %d delivered, %llu rejected, %llu ignored\n", delivered,
         (unsigned long long)st.msgs_rejected,
         (unsigned long long)st.msgs_ignored);
  bool ok = !pair.failed && delivered == 1 && st.msgs_rejected == 1 &&
            st.msgs_ignored == 1;
  return ok ? 0 : 1;
}
