/* example_pair.h: two lp2p nodes in one process on loopback TCP, for the
 * examples that are about something else (validation, message ids,
 * metrics). chat.c shows the same steps for one node without this header.
 *
 * Node 0 listens on 127.0.0.1, node 1 dials it, both join EX_TOPIC. A
 * GossipSub node sends a topic's messages to the peers in its "mesh" for
 * that topic, which the router fills as it learns of the topic's peers
 * and keeps in shape at its heartbeat; once each node has the other in
 * its mesh, `ready` runs and the example starts. */
#ifndef LP2P_EXAMPLE_PAIR_H
#define LP2P_EXAMPLE_PAIR_H

#include <lp2p/lp2p.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define EX_TOPIC "example"

typedef struct ex_pair {
  uv_loop_t loop;
  uv_timer_t timer; /* checks the meshes, then bounds the whole run */
  lp2p_node *node[2];
  void (*ready)(struct ex_pair *p);
  lp2p_tstamp deadline;
  int failed; /* set when the run timed out or a step failed */
} ex_pair;

static inline bool ex_in_mesh(lp2p_node *n) {
  lp2p_topic_stats ts;
  return lp2p_router_topic_stats(lp2p_node_router(n), (const uint8_t *)EX_TOPIC,
                                 strlen(EX_TOPIC), &ts) == 0 &&
         ts.mesh > 0;
}

static inline void ex_tick(uv_timer_t *t) {
  ex_pair *p = t->data;
  if (p->ready && ex_in_mesh(p->node[0]) && ex_in_mesh(p->node[1])) {
    void (*ready)(ex_pair *) = p->ready;
    p->ready = NULL; /* once */
    ready(p);
  } else if (lp2p_host_now() > p->deadline) {
    fprintf(stderr, "timed out\n");
    p->failed = 1;
    uv_stop(&p->loop);
  }
}

/* A node with a fresh Ed25519 identity (its peer id), listening on a free
 * port of 127.0.0.1 and subscribed to EX_TOPIC. */
static inline int ex_node_start(ex_pair *p, int i, lp2p_node_settings *s,
                                const lp2p_node_callbacks *cb, void *user) {
  lp2p_privkey key;
  lp2p_errdetail err = {{0}};
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  int rv = lp2p_privkey_generate(LP2P_KEY_ED25519, lp2p_host_rand, NULL, &key);
  s->host.key = &key; /* copied by lp2p_node_new */
  if (rv == 0) {
    rv = lp2p_node_new(&p->node[i], &p->loop, s, cb, NULL, user, &err);
  }
  lp2p_privkey_wipe(&key);
  if (rv == 0 &&
      (rv = lp2p_multiaddr_parse("/ip4/127.0.0.1/tcp/0", &ma, &err)) == 0) {
    rv = lp2p_host_listen(lp2p_node_host(p->node[i]), ma.data, ma.len, &err);
  }
  lp2p_buf_free(&ma);
  if (rv == 0) {
    rv = lp2p_node_subscribe(p->node[i], (const uint8_t *)EX_TOPIC,
                             strlen(EX_TOPIC));
  }
  if (rv != 0) {
    fprintf(stderr, "node %d: %s %s\n", i, lp2p_strerror(rv), err.msg);
  }
  return rv;
}

/* Node 1 dials the first address node 0 listens on. The addresses come as
 * uvarint(length) followed by a binary multiaddr ending in /p2p/<peer id>,
 * so the dialer checks it reached that peer. */
static inline int ex_connect(ex_pair *p) {
  lp2p_buf addrs;
  lp2p_buf_init(&addrs, NULL);
  uint64_t len = 0;
  int rv = lp2p_host_listen_addrs(lp2p_node_host(p->node[0]), true, &addrs);
  int hdr = rv > 0 ? lp2p_uvarint_decode(addrs.data, addrs.len, &len) : -1;
  rv = hdr > 0
           ? lp2p_node_connect(p->node[1], addrs.data + hdr, (size_t)len, NULL)
           : LP2P_ERR_NOT_FOUND;
  lp2p_buf_free(&addrs);
  return rv;
}

/* Starts both nodes with the same settings and callbacks (each gets its
 * index's `users[i]`); `ready` runs once the meshes have formed. */
static inline int ex_pair_start(ex_pair *p, lp2p_node_settings *s,
                                const lp2p_node_callbacks *cb, void *users[2],
                                void (*ready)(ex_pair *)) {
  memset(p, 0, sizeof(*p));
  if (uv_loop_init(&p->loop) != 0) {
    return LP2P_ERR_IO;
  }
  int rv = ex_node_start(p, 0, s, cb, users[0]);
  rv = rv ? rv : ex_node_start(p, 1, s, cb, users[1]);
  rv = rv ? rv : ex_connect(p);
  p->ready = ready;
  p->deadline = lp2p_host_now() + 10 * LP2P_SECONDS;
  uv_timer_init(&p->loop, &p->timer);
  p->timer.data = p;
  uv_timer_start(&p->timer, ex_tick, 10, 10);
  if (rv != 0) {
    p->failed = 1;
    uv_stop(&p->loop); /* ex_pair_run only closes what was started */
  }
  return rv;
}

/* Runs the loop until ex_pair_stop (or the deadline). */
static inline void ex_pair_run(ex_pair *p) {
  uv_run(&p->loop, UV_RUN_DEFAULT);
}

/* Closes both nodes (they leave the topic and tell the peer), then the
 * loop; the application closes its own handles first. */
static inline void ex_pair_close(ex_pair *p) {
  uv_close((uv_handle_t *)&p->timer, NULL);
  for (int i = 0; i < 2; i++) {
    if (p->node[i]) {
      lp2p_node_close(p->node[i], NULL, NULL);
    }
  }
  uv_run(&p->loop, UV_RUN_DEFAULT); /* until every handle is closed */
  uv_loop_close(&p->loop);
}

static inline void ex_pair_stop(ex_pair *p) {
  uv_stop(&p->loop);
}

#endif
