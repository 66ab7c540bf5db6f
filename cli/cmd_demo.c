/* lp2p demo: a local GossipSub network of lp2p nodes on loopback TCP, in
 * one process: messages from random nodes, a progress bar, then delivery,
 * latency, duplicates, the mesh sizes over the network and one node's
 * mesh. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demo_graph.h"
#include "net.h"

#define TOPIC "lp2p-demo"
#define MAX_NODES 200
#define MAX_MESSAGES 100000

typedef struct demo demo;

typedef struct demo_node {
  demo *d;
  int index;
  int neighbours; /* connections dialed by or to it */
  lp2p_node *node;
  lp2p_privkey key;
  bool closed;
} demo_node;

struct demo {
  uv_loop_t loop;
  uv_timer_t timer;
  demo_node *nodes;
  int nnodes, degree, nmessages, published;
  int mesh_d, mesh_d_lo, mesh_d_hi; /* the router's D, Dlo and Dhi */
  bool *linked;      /* nnodes x nnodes: who dialed whom, either way */
  const char *graph; /* --graph FILE.svg, or NULL */
  FILE *graph_file;  /* opened before the run: a bad path costs no run */
  size_t size;
  uint64_t seed;
  uint64_t delivered, expected;
  double *latency_ms; /* one per delivery */
  size_t nlat;
  lp2p_tstamp start_publish, deadline;
  int phase; /* 0 meshing, 1 publishing, 2 draining, 3 closing */
  int closed;
  bool progress_tty;
  int last_fill, last_step; /* of the progress bar */
  bool graph_failed;
};

static uint64_t next_rand(demo *d) { /* xorshift64*: the demo's own dice */
  d->seed ^= d->seed >> 12;
  d->seed ^= d->seed << 25;
  d->seed ^= d->seed >> 27;
  return d->seed * 2685821657736338717ull;
}

/* Messages carry the publish time and their number in the first bytes. */
static void on_message(lp2p_node *n, const lp2p_message *m, void *user) {
  (void)n;
  demo_node *dn = user;
  demo *d = dn->d;
  if (m->data.len < 8) {
    return;
  }
  uint64_t t = 0;
  for (int i = 0; i < 8; i++) {
    t = t << 8 | m->data.data[i];
  }
  d->delivered++;
  if (d->nlat < d->expected) {
    d->latency_ms[d->nlat++] = (double)(lp2p_host_now() - t) / 1e6;
  }
}

/* On a terminal the bar is redrawn in place; in a log, a line every
 * quarter. */
static void progress(demo *d) {
  int width = 40;
  double frac = d->expected ? (double)d->delivered / (double)d->expected : 0;
  int fill = (int)(frac * width), step = (int)(frac * 4);
  if (fill == d->last_fill && (d->progress_tty || step == d->last_step)) {
    return;
  }
  d->last_fill = fill;
  if (!d->progress_tty && step == d->last_step) {
    return;
  }
  d->last_step = step;
  fprintf(stderr, "\r[");
  for (int i = 0; i < width; i++) {
    fputc(i < fill ? '#' : '.', stderr);
  }
  fprintf(stderr, "] %3d%%  published %d/%d", (int)(frac * 100), d->published,
          d->nmessages);
  if (!d->progress_tty) {
    fputc('\n', stderr);
  }
  fflush(stderr);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void print_mesh(demo *d) {
  lp2p_node *n = d->nodes[0].node;
  char self[LP2P_PEER_ID_TEXT_MAX];
  cli_peer_text(lp2p_host_peer_id(lp2p_node_host(n)), self);
  lp2p_peer_id mesh[32];
  size_t k = lp2p_router_mesh_peers(lp2p_node_router(n), (const uint8_t *)TOPIC,
                                    strlen(TOPIC), mesh, 32);
  printf("mesh of node 0 (%s): %zu peers\n", self, k);
  for (size_t i = 0; i < k && i < 32; i++) {
    char id[LP2P_PEER_ID_TEXT_MAX];
    cli_peer_text(&mesh[i], id);
    for (int j = 0; j < d->nnodes; j++) {
      if (lp2p_peer_id_equal(
              &mesh[i], lp2p_host_peer_id(lp2p_node_host(d->nodes[j].node)))) {
        printf("  node %-3d %s\n", j, id);
      }
    }
  }
}

static size_t mesh_size(demo *d, int i) {
  lp2p_topic_stats ts;
  return lp2p_router_topic_stats(lp2p_node_router(d->nodes[i].node),
                                 (const uint8_t *)TOPIC, strlen(TOPIC),
                                 &ts) == 0
             ? ts.mesh
             : 0;
}

/* The mesh sizes over the network: whether meshes reached D. */
static void print_mesh_sizes(demo *d) {
  size_t lo = SIZE_MAX, hi = 0, sum = 0, conns = 0;
  for (int i = 0; i < d->nnodes; i++) {
    size_t m = mesh_size(d, i);
    lo = m < lo ? m : lo;
    hi = m > hi ? m : hi;
    sum += m;
    conns += (size_t)d->nodes[i].neighbours;
  }
  printf("connections/node    %.1f\n", (double)conns / (double)d->nnodes);
  printf("mesh size min/mean/max  %zu / %.1f / %zu (D = %d)\n", lo,
         (double)sum / (double)d->nnodes, hi, d->mesh_d);
}

/* The index of the node whose peer id is `id`, or -1. */
static int node_of(demo *d, const lp2p_peer_id *id) {
  for (int j = 0; j < d->nnodes; j++) {
    if (lp2p_peer_id_equal(
            id, lp2p_host_peer_id(lp2p_node_host(d->nodes[j].node)))) {
      return j;
    }
  }
  return -1;
}

/* Row i of `mesh`: the nodes in node i's mesh. */
static void mesh_row(demo *d, int i, bool *mesh, lp2p_peer_id *peers) {
  size_t n = (size_t)d->nnodes;
  size_t k =
      lp2p_router_mesh_peers(lp2p_node_router(d->nodes[i].node),
                             (const uint8_t *)TOPIC, strlen(TOPIC), peers, n);
  for (size_t m = 0; m < k && m < n; m++) {
    int j = node_of(d, &peers[m]);
    if (j >= 0) {
      mesh[(size_t)i * n + (size_t)j] = true;
    }
  }
}

/* --graph: the meshes as they stand at the end. */
static int write_graph(demo *d) {
  size_t n = (size_t)d->nnodes;
  bool *mesh = calloc(n * n, sizeof(bool));
  lp2p_peer_id *peers = calloc(n, sizeof(*peers));
  FILE *f = d->graph_file;
  int rv = mesh && peers ? 0 : cli_fail("out of memory");
  d->graph_file = NULL;
  if (rv == 0) {
    char title[96];
    snprintf(title, sizeof(title), "meshes of %d lp2p nodes in topic %s",
             d->nnodes, TOPIC);
    for (int i = 0; i < d->nnodes; i++) {
      mesh_row(d, i, mesh, peers);
    }
    demo_graph g = {
        n, d->linked, mesh, d->mesh_d, d->mesh_d_lo, d->mesh_d_hi, title};
    rv = demo_graph_write(f, &g);
  }
  if (fclose(f) != 0 || rv != 0) {
    rv = cli_fail("--graph %s: cannot write it", d->graph);
  }
  free(mesh);
  free(peers);
  if (rv == 0) {
    printf("mesh graph written to %s\n", d->graph);
  }
  return rv;
}

static void report(demo *d) {
  uint64_t dups = 0;
  for (int i = 0; i < d->nnodes; i++) {
    lp2p_router_stats st;
    lp2p_router_get_stats(lp2p_node_router(d->nodes[i].node), &st);
    dups += st.msgs_duplicate;
  }
  qsort(d->latency_ms, d->nlat, sizeof(double), cmp_double);
  double p50 = d->nlat ? d->latency_ms[d->nlat / 2] : NAN;
  double p99 =
      d->nlat ? d->latency_ms[(size_t)((double)(d->nlat - 1) * 0.99)] : NAN;
  printf("\n%d lp2p nodes on loopback TCP, each dialing %d others, %d "
         "messages of %zu bytes\n",
         d->nnodes, d->degree, d->nmessages, d->size);
  printf("delivery ratio      %.4f (%llu of %llu)\n",
         d->expected ? (double)d->delivered / (double)d->expected : 0.0,
         (unsigned long long)d->delivered, (unsigned long long)d->expected);
  printf("latency p50 / p99   %.2f ms / %.2f ms\n", p50, p99);
  printf("duplicates/message  %.2f per node\n",
         d->nmessages
             ? (double)dups / (double)d->nmessages / (double)(d->nnodes - 1)
             : 0.0);
  print_mesh_sizes(d);
  print_mesh(d);
  if (d->graph_file) {
    d->graph_failed = write_graph(d) != 0;
  }
  fflush(stdout);
}

/* ---- phases ------------------------------------------------------------- */

static void on_closed(void *user) {
  demo_node *dn = user;
  dn->closed = true;
  if (++dn->d->closed == dn->d->nnodes) {
    uv_close((uv_handle_t *)&dn->d->timer, NULL);
  }
}

static void close_all(demo *d) {
  d->phase = 3;
  uv_timer_stop(&d->timer);
  for (int i = 0; i < d->nnodes; i++) {
    lp2p_node_close(d->nodes[i].node, on_closed, &d->nodes[i]);
  }
}

/* Every mesh is at least Dlo, or every neighbour of a node with fewer:
 * the heartbeat grafts up to D below Dlo. */
static bool meshes_ready(demo *d) {
  for (int i = 0; i < d->nnodes; i++) {
    int want = d->nodes[i].neighbours < d->mesh_d_lo ? d->nodes[i].neighbours
                                                     : d->mesh_d_lo;
    if (mesh_size(d, i) < (size_t)want) {
      return false;
    }
  }
  return true;
}

static void publish_one(demo *d) {
  uint8_t *data = calloc(1, d->size);
  uint64_t now = lp2p_host_now();
  for (int i = 0; i < 8; i++) {
    data[i] = (uint8_t)(now >> (56 - 8 * i));
  }
  uint32_t seq = (uint32_t)d->published;
  memcpy(data + 8, &seq, sizeof(seq) <= d->size - 8 ? sizeof(seq) : 0);
  int from = (int)(next_rand(d) % (uint64_t)d->nnodes);
  (void)lp2p_node_publish(d->nodes[from].node, (const uint8_t *)TOPIC,
                          strlen(TOPIC), data, d->size, NULL, NULL);
  free(data);
  d->published++;
}

static void on_tick(uv_timer_t *t) {
  demo *d = t->data;
  lp2p_tstamp now = lp2p_host_now();
  if (d->phase == 0 && (meshes_ready(d) || now > d->deadline)) {
    d->phase = 1;
  }
  if (d->phase == 1) {
    publish_one(d);
    if (d->published == d->nmessages) {
      d->phase = 2;
      d->deadline = now + 10 * LP2P_SECONDS;
    }
  }
  progress(d);
  if (d->phase == 2 && (d->delivered >= d->expected || now > d->deadline)) {
    if (d->progress_tty) {
      fputc('\n', stderr);
    }
    report(d);
    close_all(d);
  }
}

/* ---- setup -------------------------------------------------------------- */

static int start_node(demo *d, int i) {
  static const lp2p_node_callbacks cb = {.message = on_message};
  demo_node *dn = &d->nodes[i];
  dn->d = d;
  dn->index = i;
  if (lp2p_privkey_generate(LP2P_KEY_ED25519, lp2p_host_rand, NULL, &dn->key) !=
      0) {
    return cli_fail("cannot make a key");
  }
  lp2p_node_settings s;
  lp2p_node_settings_default(&s);
  s.host.key = &dn->key;
  s.router.params.heartbeat_initial_delay = 100 * LP2P_MILLISECONDS;
  s.router.params.heartbeat_interval = 200 * LP2P_MILLISECONDS;
  d->mesh_d = s.router.params.mesh.d;
  d->mesh_d_lo = s.router.params.mesh.d_lo;
  d->mesh_d_hi = s.router.params.mesh.d_hi;
  lp2p_errdetail err;
  if (lp2p_node_new(&dn->node, &d->loop, &s, &cb, NULL, dn, &err) != 0) {
    return cli_fail("cannot start node %d: %s", i, err.msg);
  }
  lp2p_privkey_wipe(&dn->key);
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  int rv = lp2p_multiaddr_parse("/ip4/127.0.0.1/tcp/0", &ma, NULL);
  if (rv == 0) {
    rv = lp2p_host_listen(lp2p_node_host(dn->node), ma.data, ma.len, &err);
  }
  lp2p_buf_free(&ma);
  if (rv == 0) {
    rv = lp2p_node_subscribe(dn->node, (const uint8_t *)TOPIC, strlen(TOPIC));
  }
  return rv == 0 ? 0 : cli_fail("node %d: %s", i, lp2p_strerror(rv));
}

static void dial(demo *d, int from, int to) {
  lp2p_buf addrs;
  lp2p_buf_init(&addrs, NULL);
  uint64_t len;
  if (lp2p_host_listen_addrs(lp2p_node_host(d->nodes[to].node), true, &addrs) >
      0) {
    int hdr = lp2p_uvarint_decode(addrs.data, addrs.len, &len);
    (void)lp2p_node_connect(d->nodes[from].node, addrs.data + hdr, (size_t)len,
                            NULL);
  }
  lp2p_buf_free(&addrs);
  d->nodes[from].neighbours++;
  d->nodes[to].neighbours++;
}

/* Each node dials `degree` others it is not yet connected to (fewer when
 * there are not as many), so that every node has at least D connections
 * and meshes can reach D; the first dial of node i goes to node i - 1, so
 * that the network is connected. `linked` is an n x n matrix. */
static void connect_all(demo *d, bool *linked) {
  int n = d->nnodes;
  for (int i = 0; i < n; i++) {
    int dialed = 0, tries = 0;
    while (dialed < d->degree && dialed < n - 1 && tries++ < 64 * n) {
      /* i - 1 first unless it dialed us already: connected either way */
      int to = i > 0 && !linked[i * n + i - 1]
                   ? i - 1
                   : (int)(next_rand(d) % (uint64_t)n);
      if (to == i || linked[i * n + to]) {
        continue;
      }
      linked[i * n + to] = linked[to * n + i] = true;
      dial(d, i, to);
      dialed++;
    }
  }
}

static int parse(demo *d, int argc, char **argv) {
  d->nnodes = 20;
  d->degree = 6; /* D: with fewer connections meshes stay below it */
  d->nmessages = 100;
  d->size = 1024;
  d->seed = 0x9e3779b97f4a7c15ull ^ lp2p_host_now();
  for (int i = 0; i < argc; i += 2) {
    const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t n = 0;
    int rv;
    if (!v) {
      return cli_missing_value(&cli_cmd_demo, opt);
    } else if (strcmp(opt, "--nodes") == 0) {
      rv = cli_parse_uint(&cli_cmd_demo, opt, v, 2, MAX_NODES, &n);
      d->nnodes = (int)n;
    } else if (strcmp(opt, "--degree") == 0) {
      rv = cli_parse_uint(&cli_cmd_demo, opt, v, 1, MAX_NODES - 1, &n);
      d->degree = (int)n;
    } else if (strcmp(opt, "--messages") == 0) {
      rv = cli_parse_uint(&cli_cmd_demo, opt, v, 1, MAX_MESSAGES, &n);
      d->nmessages = (int)n;
    } else if (strcmp(opt, "--graph") == 0) {
      d->graph = v;
      rv = 0;
    } else if (strcmp(opt, "--size") == 0) {
      rv = cli_parse_uint(&cli_cmd_demo, opt, v, 16, 512 * 1024, &n);
      d->size = (size_t)n;
    } else {
      return cli_usage_error(&cli_cmd_demo, "unexpected argument");
    }
    if (rv != 0) {
      return rv;
    }
  }
  return 0;
}

static int run(int argc, char **argv) {
  demo *d = calloc(1, sizeof(*d));
  if (!d) {
    return cli_fail("out of memory");
  }
  int rv = parse(d, argc, argv);
  if (rv == 0 && d->graph && !(d->graph_file = fopen(d->graph, "w"))) {
    rv = cli_fail("--graph %s: %s", d->graph, strerror(errno));
  }
  if (rv != 0) {
    free(d);
    return rv;
  }
  d->expected = (uint64_t)d->nmessages * (uint64_t)(d->nnodes - 1);
  d->nodes = calloc((size_t)d->nnodes, sizeof(*d->nodes));
  d->latency_ms = calloc(d->expected, sizeof(double));
  d->progress_tty = uv_guess_handle(2) == UV_TTY;
  d->last_fill = d->last_step = -1;
  if (!d->nodes || !d->latency_ms || uv_loop_init(&d->loop) != 0) {
    free(d->nodes);
    free(d->latency_ms);
    free(d);
    return cli_fail("out of memory");
  }
  printf("starting %d lp2p nodes on 127.0.0.1...\n", d->nnodes);
  fflush(stdout);
  int started = 0;
  while (rv == 0 && started < d->nnodes) {
    rv = start_node(d, started);
    started += rv == 0;
  }
  uv_timer_init(&d->loop, &d->timer);
  d->timer.data = d;
  d->linked = rv == 0
                  ? calloc((size_t)d->nnodes * (size_t)d->nnodes, sizeof(bool))
                  : NULL;
  if (rv == 0 && !d->linked) {
    rv = cli_fail("out of memory");
  }
  if (rv == 0) {
    connect_all(d, d->linked);
    d->deadline = lp2p_host_now() + 5 * LP2P_SECONDS;
    uv_timer_start(&d->timer, on_tick, 20, 20);
  } else {
    d->nnodes = started;
    close_all(d);
    if (started == 0) {
      uv_close((uv_handle_t *)&d->timer, NULL);
    }
  }
  uv_run(&d->loop, UV_RUN_DEFAULT);
  uv_loop_close(&d->loop);
  if (d->graph_file) { /* the run ended before its report */
    fclose(d->graph_file);
  }
  bool complete = d->delivered >= d->expected && !d->graph_failed;
  free(d->linked);
  free(d->nodes);
  free(d->latency_ms);
  free(d);
  return rv != 0 ? rv : complete ? 0 : 1;
}

const cli_command cli_cmd_demo = {
    "demo",
    "run a local network of lp2p nodes and report on it",
    "usage: lp2p demo [--nodes N] [--degree K] [--messages M] [--size B]\n"
    "                 [--graph FILE.svg]\n\n"
    "Starts N lp2p nodes (default 20) in this process, each listening on\n"
    "127.0.0.1 and dialing K others it is not connected to yet (default 6,\n"
    "the mesh degree D, so that meshes reach D), all in one topic. Once the\n"
    "meshes form, M messages (default 100) of B bytes (default 1024) are\n"
    "published from random nodes, 20 ms apart, with a progress bar. Then it\n"
    "prints the delivery ratio, latency p50 / p99, duplicates per message,\n"
    "connections per node, the mesh sizes over the network (min / mean /\n"
    "max) and the mesh of node 0. Exits 0 when every message reached every\n"
    "node.\n\n"
    "--graph FILE.svg draws the network as it stands at the end: nodes on a\n"
    "circle, coloured by mesh size (below Dlo, within [Dlo, Dhi], above\n"
    "Dhi), their connections in grey and mesh links over them (solid where\n"
    "both nodes have each other in their mesh, dashed where one has).\n",
    run,
    NULL,
};
