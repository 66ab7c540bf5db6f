/* lp2p node's peer bookkeeping, stats line and retried dials: see
 * node_peers.h. */
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "node_peers.h"

#define RETRY_MS 250
#define RETRY_FOR (20 * LP2P_SECONDS)

void node_peers_up(node_peers *p, const lp2p_peer_id *id) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 16;
    lp2p_peer_id *ids = realloc(p->ids, cap * sizeof(*ids));
    if (!ids) {
      return; /* only the stats line misses it */
    }
    p->ids = ids;
    p->cap = cap;
  }
  p->ids[p->n++] = *id;
}

void node_peers_down(node_peers *p, const lp2p_peer_id *id) {
  for (size_t i = 0; i < p->n; i++) {
    if (lp2p_peer_id_equal(&p->ids[i], id)) {
      p->ids[i] = p->ids[--p->n];
      return;
    }
  }
}

void node_peers_free(node_peers *p) {
  free(p->ids);
  memset(p, 0, sizeof(*p));
}

/* ---- the stats line ----------------------------------------------------- */

typedef char id_text[LP2P_PEER_ID_TEXT_MAX];

static int cmp_text(const void *a, const void *b) {
  return strcmp(*(const id_text *)a, *(const id_text *)b);
}

/* Sorted base58 texts of `n` peer ids (caller frees). */
static id_text *sorted_texts(const lp2p_peer_id *ids, size_t n) {
  id_text *t = calloc(n ? n : 1, sizeof(*t));
  for (size_t i = 0; t && i < n; i++) {
    cli_peer_text(&ids[i], t[i]);
  }
  if (t) {
    qsort(t, n, sizeof(*t), cmp_text);
  }
  return t;
}

static void print_list(FILE *f, id_text *t, size_t n) {
  fputc('[', f);
  for (size_t i = 0; t && i < n; i++) {
    fprintf(f, "%s\"%s\"", i ? "," : "", t[i]);
  }
  fputc(']', f);
}

static void print_meshes(FILE *f, lp2p_node *node, const char *const *topics,
                         size_t ntopics) {
  lp2p_router *r = lp2p_node_router(node);
  fprintf(f, ",\"mesh\":{");
  for (size_t i = 0; i < ntopics; i++) {
    const uint8_t *t = (const uint8_t *)topics[i];
    size_t len = strlen(topics[i]);
    size_t n = lp2p_router_mesh_peers(r, t, len, NULL, 0);
    lp2p_peer_id *mesh = calloc(n ? n : 1, sizeof(*mesh));
    n = mesh ? lp2p_router_mesh_peers(r, t, len, mesh, n) : 0;
    id_text *texts = sorted_texts(mesh, n);
    fprintf(f, i ? "," : "");
    cli_json_string(f, topics[i], len);
    fputc(':', f);
    print_list(f, texts, n);
    free(texts);
    free(mesh);
  }
  fputc('}', f);
}

/* Which per-peer IDONTWANT counter a stats field prints. */
typedef enum { COUNT_SENT, COUNT_RECEIVED, COUNT_SAVED } count_kind;

static uint64_t count_of(const lp2p_router_peer_counters *c, count_kind k) {
  switch (k) {
  case COUNT_SENT:
    return c->idontwant_sent;
  case COUNT_RECEIVED:
    return c->idontwant_received;
  default:
    return c->idontwant_saved;
  }
}

static void print_counts(FILE *f, lp2p_node *node, const node_peers *p,
                         count_kind kind) {
  static const char *const names[] = {"sent", "received", "saved"};
  id_text *texts = sorted_texts(p->ids, p->n);
  fprintf(f, ",\"idontwant_%s\":{", names[kind]);
  for (size_t i = 0, k = 0; texts && i < p->n; i++) {
    lp2p_peer_id id;
    lp2p_router_peer_counters c;
    if (lp2p_peer_id_parse(texts[i], strlen(texts[i]), &id) != 0 ||
        lp2p_router_peer_counters_get(lp2p_node_router(node), &id, &c) != 0) {
      continue;
    }
    fprintf(f, "%s\"%s\":%llu", k++ ? "," : "", texts[i],
            (unsigned long long)count_of(&c, kind));
  }
  fputc('}', f);
  free(texts);
}

void node_peers_print_stats(const node_peers *p, lp2p_node *node,
                            const char *const *topics, size_t ntopics, FILE *f,
                            uint64_t output_dropped, const node_bench *bench,
                            const trace_file *trace) {
  char self[LP2P_PEER_ID_TEXT_MAX];
  cli_peer_text(lp2p_host_peer_id(lp2p_node_host(node)), self);
  fprintf(f, "{\"event\":\"stats\",\"peer_id\":\"%s\"", self);
  print_meshes(f, node, topics, ntopics);
  id_text *texts = sorted_texts(p->ids, p->n);
  fprintf(f, ",\"connected\":");
  print_list(f, texts, p->n);
  free(texts);
  print_counts(f, node, p, COUNT_SENT);
  print_counts(f, node, p, COUNT_RECEIVED);
  print_counts(f, node, p, COUNT_SAVED);
  fprintf(f, ",\"published\":%llu,\"delivered\":%llu,\"output_dropped\":%llu",
          (unsigned long long)p->published, (unsigned long long)p->delivered,
          (unsigned long long)output_dropped);
  if (bench) {
    node_bench_print(bench, f);
  }
  if (trace) {
    lp2p_router_stats rs;
    lp2p_router_get_stats(lp2p_node_router(node), &rs);
    fprintf(f,
            ",\"trace\":{\"events\":%llu,\"dropped\":%llu,"
            "\"write_errors\":%llu,\"lost\":%llu}",
            (unsigned long long)trace->events,
            (unsigned long long)trace->dropped,
            (unsigned long long)trace->write_errors,
            (unsigned long long)rs.trace_events_lost);
  }
  fprintf(f, "}\n");
}

/* ---- retried dials ------------------------------------------------------ */

typedef struct retry {
  uv_timer_t timer;
  struct retry *next; /* every retry not yet done, for cancelling */
  lp2p_node *node;
  lp2p_buf ma;
  char *text;
  lp2p_tstamp until;
  bool in_flight;
} retry;

static retry *retries;

static void unlink_retry(retry *d) {
  for (retry **p = &retries; *p; p = &(*p)->next) {
    if (*p == d) {
      *p = d->next;
      return;
    }
  }
}

static void free_retry(uv_handle_t *h) {
  retry *d = h->data;
  lp2p_buf_free(&d->ma);
  free(d->text);
  free(d);
}

static void done(retry *d) {
  unlink_retry(d);
  uv_close((uv_handle_t *)&d->timer, free_retry);
}

static void dial(retry *d);

static void on_timer(uv_timer_t *t) {
  dial(t->data);
}

static void on_dialed(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                      void *user) {
  (void)h;
  (void)c;
  retry *d = user;
  d->in_flight = false;
  if (err != 0 && err != LP2P_ERR_STATE && lp2p_host_now() < d->until) {
    uv_timer_start(&d->timer, on_timer, RETRY_MS, 0);
    return;
  }
  if (err != 0 && err != LP2P_ERR_STATE) { /* STATE: the node is closing */
    fprintf(stderr, "lp2p: cannot reach %s: %s\n", d->text, msg);
  }
  done(d);
}

static void dial(retry *d) {
  lp2p_errdetail err;
  int rv = lp2p_host_dial(lp2p_node_host(d->node), d->ma.data, d->ma.len,
                          on_dialed, d, &err);
  if (rv == LP2P_ERR_TOO_LARGE) { /* too many dials pending: later */
    uv_timer_start(&d->timer, on_timer, RETRY_MS, 0);
  } else if (rv != 0) {
    fprintf(stderr, "lp2p: cannot dial %s: %s\n", d->text, err.msg);
    done(d);
  } else {
    d->in_flight = true;
  }
}

int node_dial_retrying(uv_loop_t *loop, lp2p_node *node, const char *ma) {
  retry *d = calloc(1, sizeof(*d));
  if (!d || !(d->text = strdup(ma))) {
    free(d);
    return cli_fail("out of memory");
  }
  lp2p_buf_init(&d->ma, NULL);
  if (cli_parse_multiaddr(ma, &d->ma) != 0) {
    free(d->text);
    free(d);
    return 1;
  }
  d->node = node;
  d->until = lp2p_host_now() + RETRY_FOR;
  uv_timer_init(loop, &d->timer);
  d->timer.data = d;
  d->next = retries;
  retries = d;
  dial(d);
  return 0;
}

void node_dial_cancel_all(void) {
  retry *d = retries;
  while (d) {
    retry *next = d->next;
    if (!d->in_flight) { /* in flight: the closing host fails it */
      done(d);
    }
    d = next;
  }
}
