/* The node's metrics in the Prometheus text format. Names follow
 * nim-libp2p's (libp2p_gossipsub_*, libp2p_pubsub_*), whose meanings match
 * go-libp2p-pubsub's tracer counters. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "host/node_internal.h"

/* Longest topic name put in a label; longer ones are cut. */
#define TOPIC_LABEL_MAX 120

typedef struct out {
  lp2p_buf *buf;
  int err;
} out;

static void put(out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(out *o, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (o->err == 0 && n > 0) {
    o->err = lp2p_buf_append(
        o->buf, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
  }
}

static void metric(out *o, const char *name, const char *type, const char *help,
                   uint64_t v) {
  put(o, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
      (unsigned long long)v);
}

/* Topic names go in label values: escape backslash, quote and newline. */
static void label(char *dst, size_t cap, const char *topic) {
  size_t j = 0;
  for (size_t i = 0; topic[i] && j + 3 < cap; i++) {
    char c = topic[i];
    if (c == '\\' || c == '"' || c == '\n') {
      dst[j++] = '\\';
      c = c == '\n' ? 'n' : c;
    }
    dst[j++] = c;
  }
  dst[j] = 0;
}

static void topics(out *o, lp2p_node *n) {
  static const char *const names[3] = {
      "libp2p_gossipsub_peers_per_topic_mesh",
      "libp2p_gossipsub_peers_per_topic_fanout",
      "libp2p_gossipsub_peers_per_topic_gossipsub"};
  for (int k = 0; k < 3; k++) {
    put(o, "# TYPE %s gauge\n", names[k]);
    for (size_t i = 0; i < n->ntopics; i++) {
      lp2p_topic_stats ts;
      if (lp2p_router_topic_stats(n->router, (const uint8_t *)n->topics[i],
                                  n->topic_lens[i], &ts) != 0) {
        continue;
      }
      char l[256];
      label(l, sizeof(l), n->topics[i]);
      size_t v = k == 0 ? ts.mesh : k == 1 ? ts.fanout : ts.peers;
      put(o, "%s{topic=\"%s\"} %zu\n", names[k], l, v);
    }
  }
}

/* Received messages of our topics dropped before validation, by reason
 * (lp2p_topic_stats). */
static void validation_drops(out *o, lp2p_node *n) {
  put(o, "# TYPE libp2p_gossipsub_validation_dropped_total counter\n");
  for (size_t i = 0; i < n->ntopics; i++) {
    lp2p_topic_stats ts;
    if (lp2p_router_topic_stats(n->router, (const uint8_t *)n->topics[i],
                                n->topic_lens[i], &ts) != 0) {
      continue;
    }
    char l[256];
    label(l, sizeof(l), n->topics[i]);
    const char *reasons[3] = {"queue_full", "topic_pending", "topic_rate"};
    uint64_t v[3] = {ts.validation_dropped_full, ts.validation_dropped_pending,
                     ts.validation_dropped_rate};
    for (int k = 0; k < 3; k++) {
      put(o,
          "libp2p_gossipsub_validation_dropped_total{topic=\"%s\","
          "reason=\"%s\"} %llu\n",
          l, reasons[k], (unsigned long long)v[k]);
    }
  }
}

static void scores(out *o, lp2p_node *n) {
  static const double bounds[] = {-1000, -100, -10, -1, 0, 1, 10, 100, 1000};
  enum { NB = sizeof(bounds) / sizeof(bounds[0]) };
  uint64_t counts[NB + 1] = {0}, total = 0;
  double sum = 0;
  for (node_peer *np = n->peers; np; np = np->next) {
    if (!np->added) {
      continue;
    }
    double s = lp2p_router_peer_score(n->router, &np->id);
    size_t b = 0;
    while (b < NB && s > bounds[b]) {
      b++;
    }
    counts[b]++;
    total++;
    sum += s;
  }
  put(o, "# HELP libp2p_gossipsub_peers_scores the router's peer scores\n"
         "# TYPE libp2p_gossipsub_peers_scores histogram\n");
  uint64_t cum = 0;
  for (size_t b = 0; b < NB; b++) {
    cum += counts[b];
    put(o, "libp2p_gossipsub_peers_scores_bucket{le=\"%g\"} %llu\n", bounds[b],
        (unsigned long long)cum);
  }
  put(o,
      "libp2p_gossipsub_peers_scores_bucket{le=\"+Inf\"} %llu\n"
      "libp2p_gossipsub_peers_scores_sum %g\n"
      "libp2p_gossipsub_peers_scores_count %llu\n",
      (unsigned long long)total, sum, (unsigned long long)total);
}

/* ---- per-peer score series, bounded ------------------------------------ */

typedef struct ranked {
  lp2p_peer_id id;
  double score;
} ranked;

typedef struct ranking {
  ranked *peers;
  size_t n, cap;
  int err;
} ranking;

/* Only connected peers are ranked: a retained record is one the operator
 * can no longer act on, and its series would linger. */
static void rank_peer(const lp2p_peer_score_breakdown *b,
                      const lp2p_topic_score_breakdown *topics, void *user) {
  ranking *rk = user;
  (void)topics;
  if (!b->connected || rk->err) {
    return;
  }
  if (rk->n == rk->cap) {
    size_t cap = rk->cap ? rk->cap * 2 : 64;
    ranked *a = lp2p_reallocarray(NULL, rk->peers, cap, sizeof(*a));
    if (!a) {
      rk->err = LP2P_ERR_NOMEM;
      return;
    }
    rk->peers = a;
    rk->cap = cap;
  }
  rk->peers[rk->n++] = (ranked){b->peer, b->score};
}

/* Highest first; ties by id, so that the series chosen do not flap. */
static int by_score(const void *pa, const void *pb) {
  const ranked *a = pa, *b = pb;
  if (a->score != b->score) {
    return a->score > b->score ? -1 : 1;
  }
  int c = memcmp(a->id.bytes, b->id.bytes,
                 a->id.len < b->id.len ? a->id.len : b->id.len);
  return c ? c : (int)a->id.len - (int)b->id.len;
}

/* A zero weight times a negative counter is -0: shown as 0. */
static double plain_zero(double v) {
  return v == 0 ? 0.0 : v;
}

/* One shown peer: its breakdown and its topics. */
typedef struct shown {
  lp2p_peer_score_breakdown b;
  lp2p_topic_score_breakdown *topics;
  char label[LP2P_PEER_ID_TEXT_MAX];
} shown;

static int show(lp2p_router *r, const ranked *rp, shown *sh) {
  sh->topics = NULL;
  if (lp2p_peer_id_to_base58(&rp->id, sh->label, sizeof(sh->label)) < 0) {
    strcpy(sh->label, "?");
  }
  if (lp2p_router_peer_score_breakdown(r, &rp->id, &sh->b, NULL, 0) != 0) {
    return 0; /* cannot happen: the record was just visited */
  }
  if (sh->b.ntopics == 0) {
    return 0;
  }
  sh->topics =
      lp2p_reallocarray(NULL, NULL, sh->b.ntopics, sizeof(*sh->topics));
  if (!sh->topics) {
    return LP2P_ERR_NOMEM;
  }
  return lp2p_router_peer_score_breakdown(r, &rp->id, &sh->b, sh->topics,
                                          sh->b.ntopics);
}

static bool topic_allowed(const lp2p__score_metrics *m,
                          const lp2p_topic_score_breakdown *t) {
  for (size_t i = 0; i < m->ntopics; i++) {
    if (strlen(m->topics[i]) == t->topic_len &&
        memcmp(m->topics[i], t->topic, t->topic_len) == 0) {
      return true;
    }
  }
  return false;
}

static void topic_components(out *o, const lp2p__score_metrics *m,
                             const shown *sh) {
  for (size_t k = 0; k < sh->b.ntopics; k++) {
    const lp2p_topic_score_breakdown *t = &sh->topics[k];
    if (!topic_allowed(m, t)) {
      continue;
    }
    char l[256];
    char name[TOPIC_LABEL_MAX + 1];
    size_t len =
        t->topic_len < TOPIC_LABEL_MAX ? t->topic_len : TOPIC_LABEL_MAX;
    memcpy(name, t->topic, len);
    name[len] = 0;
    label(l, sizeof(l), name);
    const double v[5] = {t->p1, t->p2, t->p3, t->p3b, t->p4};
    static const char *const names[5] = {"p1", "p2", "p3", "p3b", "p4"};
    for (int c = 0; c < 5; c++) {
      put(o,
          "libp2p_gossipsub_peer_topic_score_component{peer=\"%s\","
          "topic=\"%s\",component=\"%s\"} %.9g\n",
          sh->label, l, names[c], plain_zero(v[c]));
    }
  }
}

static void score_series(out *o, const lp2p__score_metrics *m, const shown *sh,
                         size_t n) {
  put(o, "# HELP libp2p_gossipsub_peer_score the score of the highest and "
         "lowest scored peers\n"
         "# TYPE libp2p_gossipsub_peer_score gauge\n");
  for (size_t i = 0; i < n; i++) {
    put(o, "libp2p_gossipsub_peer_score{peer=\"%s\"} %.9g\n", sh[i].label,
        plain_zero(sh[i].b.score));
  }
  put(o, "# HELP libp2p_gossipsub_peer_score_component their score's parts: "
         "the topics' sum before and after TopicScoreCap, P5, P6, P7\n"
         "# TYPE libp2p_gossipsub_peer_score_component gauge\n");
  static const char *const names[5] = {"topics_sum", "topics", "p5", "p6",
                                       "p7"};
  for (size_t i = 0; i < n; i++) {
    const lp2p_peer_score_breakdown *b = &sh[i].b;
    const double v[5] = {b->topics_sum, b->topics_capped, b->p5, b->p6, b->p7};
    for (int c = 0; c < 5; c++) {
      put(o,
          "libp2p_gossipsub_peer_score_component{peer=\"%s\","
          "component=\"%s\"} %.9g\n",
          sh[i].label, names[c], plain_zero(v[c]));
    }
  }
  if (m->ntopics == 0) {
    return;
  }
  put(o, "# HELP libp2p_gossipsub_peer_topic_score_component their weighted "
         "P1 to P4 in the chosen topics\n"
         "# TYPE libp2p_gossipsub_peer_topic_score_component gauge\n");
  for (size_t i = 0; i < n; i++) {
    topic_components(o, m, &sh[i]);
  }
}

int lp2p__score_metrics_write(lp2p_router *r, const lp2p__score_metrics *m,
                              lp2p_buf *buf) {
  out o = {buf, 0};
  ranking rk = {0};
  if (m->top_n == 0) {
    return 0;
  }
  int rv = lp2p_router_scores_each(r, rank_peer, &rk);
  rv = rv ? rv : rk.err;
  /* the top_n highest and the top_n lowest: all of them when they overlap */
  size_t n = rk.n <= 2 * m->top_n ? rk.n : 2 * m->top_n;
  shown *sh = rv || n == 0 ? NULL : calloc(n, sizeof(*sh));
  if (rv == 0 && n > 0 && !sh) {
    rv = LP2P_ERR_NOMEM;
  }
  if (sh) {
    qsort(rk.peers, rk.n, sizeof(*rk.peers), by_score);
    for (size_t i = 0; i < n && rv == 0; i++) {
      size_t at = i < m->top_n || rk.n <= 2 * m->top_n ? i : rk.n - (n - i);
      rv = show(r, &rk.peers[at], &sh[i]);
    }
  }
  if (rv == 0 && n > 0) {
    score_series(&o, m, sh, n);
    rv = o.err;
  }
  for (size_t i = 0; sh && i < n; i++) {
    free(sh[i].topics);
  }
  free(sh);
  free(rk.peers);
  return rv;
}

void lp2p__score_metrics_free(lp2p__score_metrics *m, const lp2p_mem *mem) {
  for (size_t i = 0; i < m->ntopics; i++) {
    lp2p_free(mem, m->topics[i]);
  }
  m->ntopics = 0;
}

int lp2p_node_set_score_metrics(lp2p_node *n, size_t top_n,
                                const char *const *topics, size_t ntopics) {
  if (top_n > LP2P_NODE_MAX_METRICS_PEERS ||
      ntopics > LP2P_NODE_MAX_METRICS_TOPICS) {
    return LP2P_ERR_INVALID_ARG;
  }
  lp2p__score_metrics next = {top_n, {NULL}, 0};
  for (size_t i = 0; i < ntopics; i++) {
    size_t len = strlen(topics[i]);
    if (len == 0) {
      lp2p__score_metrics_free(&next, n->mem);
      return LP2P_ERR_INVALID_ARG;
    }
    next.topics[i] = lp2p_malloc(n->mem, len + 1);
    if (!next.topics[i]) {
      lp2p__score_metrics_free(&next, n->mem);
      return LP2P_ERR_NOMEM;
    }
    memcpy(next.topics[i], topics[i], len + 1);
    next.ntopics++;
  }
  lp2p__score_metrics_free(&n->score_metrics, n->mem);
  n->score_metrics = next;
  return 0;
}

static void connections(out *o, lp2p_node *n) {
  uint64_t conns = 0, streams = 0;
  for (node_peer *np = n->peers; np; np = np->next) {
    lp2p_conn_info info;
    lp2p_conn_info_get(np->conn, &info);
    conns++;
    streams += info.num_streams;
  }
  metric(o, "libp2p_host_connections", "gauge", "open connections", conns);
  metric(o, "libp2p_host_streams", "gauge", "open streams", streams);
}

/* The host's connection manager: what is open, what was refused and
 * why, and the limits it runs with. */
static void connmgr(out *o, const lp2p_node *n) {
  lp2p_host_stats st;
  lp2p_host_get_stats(n->host, &st);
  const lp2p_host_settings *hs = &n->settings.host;
  put(o,
      "# HELP libp2p_connmgr_connections connections open, by kind\n"
      "# TYPE libp2p_connmgr_connections gauge\n"
      "libp2p_connmgr_connections{kind=\"all\"} %llu\n"
      "libp2p_connmgr_connections{kind=\"inbound\"} %llu\n"
      "libp2p_connmgr_connections{kind=\"handshaking\"} %llu\n"
      "libp2p_connmgr_connections{kind=\"upgraded\"} %llu\n",
      (unsigned long long)st.conns, (unsigned long long)st.conns_inbound,
      (unsigned long long)st.handshakes, (unsigned long long)st.conns_upgraded);
  put(o,
      "# HELP libp2p_connmgr_refused_total connections refused, by the "
      "limit\n# TYPE libp2p_connmgr_refused_total counter\n"
      "libp2p_connmgr_refused_total{limit=\"total\"} %llu\n"
      "libp2p_connmgr_refused_total{limit=\"inbound\"} %llu\n"
      "libp2p_connmgr_refused_total{limit=\"handshakes\"} %llu\n"
      "libp2p_connmgr_refused_total{limit=\"per_ip\"} %llu\n"
      "libp2p_connmgr_refused_total{limit=\"dial\"} %llu\n",
      (unsigned long long)st.refused_total,
      (unsigned long long)st.refused_inbound,
      (unsigned long long)st.refused_handshakes,
      (unsigned long long)st.refused_per_ip,
      (unsigned long long)st.dials_refused);
  metric(o, "libp2p_connmgr_trimmed_total", "counter",
         "connections closed above high water", st.trimmed);
  metric(o, "libp2p_connmgr_idle_closed_total", "counter",
         "connections closed for having no stream", st.closed_idle);
  metric(o, "libp2p_connmgr_handshake_timeouts_total", "counter",
         "inbound upgrades that timed out", st.handshake_timeouts);
  metric(o, "libp2p_connmgr_handshakes_evicted_total", "counter",
         "stalled inbound upgrades closed to make room", st.handshakes_evicted);
  put(o,
      "# HELP libp2p_services_streams_reset_total identify and ping streams "
      "reset, by reason\n# TYPE libp2p_services_streams_reset_total counter\n"
      "libp2p_services_streams_reset_total{reason=\"identify_refused\"} %llu\n"
      "libp2p_services_streams_reset_total{reason=\"identify_timeout\"} %llu\n"
      "libp2p_services_streams_reset_total{reason=\"ping_flood\"} %llu\n"
      "libp2p_services_streams_reset_total{reason=\"ping_idle\"} %llu\n",
      (unsigned long long)st.identify_refused,
      (unsigned long long)st.identify_timeouts,
      (unsigned long long)st.ping_streams_reset,
      (unsigned long long)st.ping_idle_resets);
  metric(o, "libp2p_identify_failed_total", "counter",
         "our identify requests that ended without an answer",
         st.identify_failed);
  const struct {
    const char *name;
    uint32_t value;
  } limits[] = {{"max_conns", hs->max_connections},
                {"reserved_outbound", hs->reserved_outbound},
                {"max_inbound", hs->max_inbound},
                {"max_handshakes", hs->max_handshakes},
                {"max_conns_per_ip", hs->max_conns_per_ip},
                {"low_water", hs->conns_low_water},
                {"high_water", hs->conns_high_water}};
  put(o, "# HELP libp2p_connmgr_limit the connection manager's settings\n"
         "# TYPE libp2p_connmgr_limit gauge\n");
  for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
    put(o, "libp2p_connmgr_limit{limit=\"%s\"} %u\n", limits[i].name,
        limits[i].value);
  }
}

/* Memory budgets: what peers make the host hold, and every refusal. */
static void budgets(out *o, lp2p_node *n) {
  lp2p_host_budget_stats b;
  lp2p_host_budget_stats_get(n->host, &b);
  const lp2p_budget *r = &n->router_budget;
  metric(o, "libp2p_rcmgr_memory_bytes", "gauge",
         "bytes reserved for buffers peers can fill", b.used);
  metric(o, "libp2p_rcmgr_memory_limit_bytes", "gauge",
         "the host's memory budget", b.limit);
  metric(o, "libp2p_rcmgr_peer_memory_max_bytes", "gauge",
         "bytes reserved now by the peer that holds the most", b.peer_used_max);
  metric(o, "libp2p_rcmgr_peer_memory_limit_bytes", "gauge",
         "each peer's memory budget", b.peer_limit);
  metric(o, "libp2p_rcmgr_router_memory_bytes", "gauge",
         "bytes of messages the router queues for peers, each charged once",
         r->used);
  metric(o, "libp2p_rcmgr_router_memory_limit_bytes", "gauge",
         "the router queues' memory budget", r->limit);
  put(o,
      "# HELP libp2p_rcmgr_blocked_resources_total memory reservations "
      "refused, by the scope that was full\n"
      "# TYPE libp2p_rcmgr_blocked_resources_total counter\n"
      "libp2p_rcmgr_blocked_resources_total{scope=\"system\"} %llu\n"
      "libp2p_rcmgr_blocked_resources_total{scope=\"peer\"} %llu\n"
      "libp2p_rcmgr_blocked_resources_total{scope=\"connection\"} %llu\n"
      "libp2p_rcmgr_blocked_resources_total{scope=\"router\"} %llu\n"
      "libp2p_rcmgr_blocked_resources_total{scope=\"stream\"} %llu\n",
      (unsigned long long)b.refused_host, (unsigned long long)b.refused_peer,
      (unsigned long long)b.refused_conn, (unsigned long long)r->refused,
      (unsigned long long)(b.refused - b.refused_host - b.refused_peer -
                           b.refused_conn - r->refused));
  put(o,
      "# HELP libp2p_rcmgr_refusals_total what a refused reservation cost\n"
      "# TYPE libp2p_rcmgr_refusals_total counter\n"
      "libp2p_rcmgr_refusals_total{action=\"stream_reset\"} %llu\n"
      "libp2p_rcmgr_refusals_total{action=\"stream_write_held\"} %llu\n"
      "libp2p_rcmgr_refusals_total{action=\"write_held\"} %llu\n",
      (unsigned long long)b.streams_reset,
      (unsigned long long)b.stream_writes_held,
      (unsigned long long)b.writes_held);
}

static void control(out *o, const char *what, uint64_t sent, uint64_t recv) {
  put(o,
      "# TYPE libp2p_pubsub_broadcast_%s_total counter\n"
      "libp2p_pubsub_broadcast_%s_total %llu\n"
      "# TYPE libp2p_pubsub_received_%s_total counter\n"
      "libp2p_pubsub_received_%s_total %llu\n",
      what, what, (unsigned long long)sent, what, what,
      (unsigned long long)recv);
}

/* Mesh health as nim-libp2p names it (its *_peers_topics gauges), with
 * lp2p's above-Dhi gauge beside them. */
static void mesh_health(out *o, const lp2p_router_stats *s) {
  metric(o, "libp2p_gossipsub_no_peers_topics", "gauge",
         "joined topics whose mesh is empty", s->topics_mesh_empty);
  metric(o, "libp2p_gossipsub_low_peers_topics", "gauge",
         "joined topics with at least one mesh peer but below Dlo",
         s->topics_mesh_low);
  metric(o, "libp2p_gossipsub_healthy_peers_topics", "gauge",
         "joined topics with Dlo to Dhi mesh peers", s->topics_mesh_healthy);
  metric(o, "libp2p_gossipsub_above_dhigh_topics", "gauge",
         "joined topics with more than Dhi mesh peers", s->topics_mesh_high);
  metric(o, "libp2p_gossipsub_under_dout_topics", "gauge",
         "joined topics with fewer than Dout outbound mesh peers",
         s->topics_mesh_under_dout);
  metric(o, "libp2p_gossipsub_cache_window_size", "gauge",
         "messages in the gossip windows of the message cache",
         s->mcache_gossip_messages);
  metric(o, "libp2p_gossipsub_mcache_messages", "gauge",
         "messages in the message cache", s->mcache_messages);
  metric(o, "libp2p_gossipsub_backoffs", "gauge",
         "PRUNE backoffs kept over all topics", s->backoff_entries);
  metric(o, "libp2p_gossipsub_backoffs_dropped_total", "counter",
         "backoffs not kept: the table was full", s->backoffs_dropped);
  metric(o, "libp2p_gossipsub_extensions_repeated_total", "counter",
         "ControlExtensions after a peer's first RPC (penalised)",
         s->extensions_repeated);
  /* nim's kinds: correct (answered from the cache), unknown (not in it),
   * notsent (retransmission budget spent), skipped (past the peer's
   * invalid-IWANT budget) */
  static const char *const kinds[4] = {"correct", "unknown", "notsent",
                                       "skipped"};
  const uint64_t counts[4] = {s->iwant_answered, s->iwant_not_found,
                              s->iwant_over_retransmission, s->iwant_skipped};
  put(o, "# HELP libp2p_gossipsub_received_iwants_total IWANT message ids "
         "received, by what became of them\n"
         "# TYPE libp2p_gossipsub_received_iwants_total counter\n");
  for (int k = 0; k < 4; k++) {
    put(o, "libp2p_gossipsub_received_iwants_total{kind=\"%s\"} %llu\n",
        kinds[k], (unsigned long long)counts[k]);
  }
}

/* Partial messages (gossipsub v1.3): RPC.partial in and out by outcome,
 * and the group states held. */
static void partial(out *o, const lp2p_router_stats *s) {
  put(o,
      "# TYPE libp2p_gossipsub_partial_rpcs_total counter\n"
      "libp2p_gossipsub_partial_rpcs_total{outcome=\"received\"} %llu\n"
      "libp2p_gossipsub_partial_rpcs_total{outcome=\"sent\"} %llu\n"
      "libp2p_gossipsub_partial_rpcs_total{outcome=\"ignored\"} %llu\n"
      "libp2p_gossipsub_partial_rpcs_total{outcome=\"too_large\"} %llu\n"
      "libp2p_gossipsub_partial_rpcs_total{outcome=\"queue_full\"} %llu\n",
      (unsigned long long)s->partial_received,
      (unsigned long long)s->partial_sent,
      (unsigned long long)s->partial_ignored,
      (unsigned long long)s->partial_too_large,
      (unsigned long long)s->queue_drop_partial);
  put(o,
      "# TYPE libp2p_gossipsub_partial_groups_total counter\n"
      "libp2p_gossipsub_partial_groups_total{outcome=\"dropped\"} %llu\n"
      "libp2p_gossipsub_partial_groups_total{outcome=\"expired\"} %llu\n",
      (unsigned long long)s->partial_groups_dropped,
      (unsigned long long)s->partial_groups_expired);
  metric(o, "libp2p_gossipsub_partial_groups", "gauge",
         "partial-message group states held", s->partial_groups);
}

/* PX without signed records (rust's), and the address book it is dialed
 * from. */
static void px_and_addrbook(out *o, const lp2p_node *n) {
  lp2p_node_stats st;
  lp2p_node_get_stats(n, &st);
  put(o,
      "# HELP libp2p_gossipsub_px_unrecorded_total PX entries without a "
      "signed record, by what became of them\n"
      "# TYPE libp2p_gossipsub_px_unrecorded_total counter\n"
      "libp2p_gossipsub_px_unrecorded_total{outcome=\"dialed_from_book\"} "
      "%llu\n"
      "libp2p_gossipsub_px_unrecorded_total{outcome=\"unknown_addr\"} %llu\n",
      (unsigned long long)st.px_dialed_from_book,
      (unsigned long long)st.px_unknown_addr);
  metric(o, "libp2p_px_dials_cancelled_total", "counter",
         "PX dials cancelled once another dial of the peer connected",
         st.dials_cancelled);
  metric(o, "libp2p_px_addrs_dropped_total", "counter",
         "addresses of a PX entry past the 16 dialled", st.px_addrs_dropped);
  metric(o, "libp2p_addrbook_peers", "gauge",
         "peers with addresses in the address book", st.addrbook_peers);
  put(o,
      "# HELP libp2p_addrbook_dropped_total what the address book's bounds "
      "dropped\n"
      "# TYPE libp2p_addrbook_dropped_total counter\n"
      "libp2p_addrbook_dropped_total{reason=\"peer_evicted\"} %llu\n"
      "libp2p_addrbook_dropped_total{reason=\"addr_replaced\"} %llu\n"
      "libp2p_addrbook_dropped_total{reason=\"addr_rejected\"} %llu\n"
      "libp2p_addrbook_dropped_total{reason=\"addr_expired\"} %llu\n",
      (unsigned long long)st.addrbook_peers_evicted,
      (unsigned long long)st.addrbook_addrs_replaced,
      (unsigned long long)st.addrbook_addrs_rejected,
      (unsigned long long)st.addrbook_addrs_expired);
}

int lp2p_node_metrics(lp2p_node *n, lp2p_buf *buf) {
  out o = {buf, 0};
  lp2p_router_stats s;
  lp2p_router_get_stats(n->router, &s);
  metric(&o, "libp2p_pubsub_peers", "gauge", "peers speaking pubsub", s.peers);
  metric(&o, "libp2p_pubsub_topics", "gauge", "topics tracked", s.topics);
  metric(&o, "libp2p_pubsub_received_messages_total", "counter",
         "first copies of messages received", s.msgs_received);
  metric(&o, "libp2p_pubsub_messages_delivered_total", "counter",
         "messages delivered to the application", s.msgs_delivered);
  metric(&o, "libp2p_gossipsub_duplicate_total", "counter",
         "duplicate copies received", s.msgs_duplicate);
  metric(&o, "libp2p_pubsub_validation_reject_total", "counter",
         "messages rejected", s.msgs_rejected);
  metric(&o, "libp2p_pubsub_validation_ignore_total", "counter",
         "messages ignored", s.msgs_ignored);
  metric(&o, "libp2p_pubsub_invalid_signature_total", "counter",
         "messages with invalid signatures", s.msgs_invalid_signature);
  metric(&o, "libp2p_pubsub_published_total", "counter", "messages published",
         s.msgs_published);
  metric(&o, "libp2p_gossipsub_publish_not_sent_total", "counter",
         "publications no peer could take (none, or every queue full)",
         s.publish_not_sent);
  metric(&o, "libp2p_gossipsub_batches_published_total", "counter",
         "batches with a message sent", s.batches_published);
  metric(&o, "libp2p_gossipsub_batches_refused_total", "counter",
         "batches refused whole: over max_batch", s.batches_refused);
  metric(&o, "libp2p_pubsub_rpcs_received_total", "counter", "RPCs received",
         s.rpcs_received);
  metric(&o, "libp2p_pubsub_rpcs_sent_total", "counter", "RPCs sent",
         s.rpcs_sent);
  metric(&o, "libp2p_gossipsub_queued_bytes", "gauge",
         "bytes queued for peers by the router (a message once per peer)",
         s.queued_bytes);
  metric(&o, "libp2p_pubsub_rpcs_malformed_total", "counter",
         "RPCs dropped as malformed or over a limit", s.rpcs_malformed);
  control(&o, "ihave", s.ihave_sent, s.ihave_received);
  control(&o, "iwant", s.iwant_sent, s.iwant_received);
  control(&o, "idontwant", s.idontwant_sent, s.idontwant_received);
  control(&o, "graft", s.graft_sent, s.graft_received);
  control(&o, "prune", s.prune_sent, s.prune_received);
  /* budget: the data and control (and gossip) drops the peer's memory
   * budget refused, counted under their kind too */
  put(&o,
      "# TYPE libp2p_gossipsub_queue_drops_total counter\n"
      "libp2p_gossipsub_queue_drops_total{reason=\"data\"} %llu\n"
      "libp2p_gossipsub_queue_drops_total{reason=\"control\"} %llu\n"
      "libp2p_gossipsub_queue_drops_total{reason=\"rpc_oversized\"} %llu\n"
      "libp2p_gossipsub_queue_drops_total{reason=\"budget\"} %llu\n",
      (unsigned long long)s.queue_drop_messages,
      (unsigned long long)s.queue_drop_control,
      (unsigned long long)n->stats.rpcs_oversized,
      (unsigned long long)s.queue_drop_budget);
  put(&o,
      "# TYPE libp2p_gossipsub_copies_unsent_total counter\n"
      "libp2p_gossipsub_copies_unsent_total{reason=\"idontwant\"} %llu\n"
      "libp2p_gossipsub_copies_unsent_total{reason=\"crossed\"} %llu\n"
      "# TYPE libp2p_gossipsub_idontwant_unsent_total counter\n"
      "libp2p_gossipsub_idontwant_unsent_total %llu\n",
      (unsigned long long)s.idontwant_saved,
      (unsigned long long)s.copies_crossed,
      (unsigned long long)s.idontwant_crossed);
  partial(&o, &s);
  mesh_health(&o, &s);
  topics(&o, n);
  validation_drops(&o, n);
  scores(&o, n);
  if (o.err == 0 && n->settings.router.scoring) {
    o.err = lp2p__score_metrics_write(n->router, &n->score_metrics, buf);
  }
  connections(&o, n);
  connmgr(&o, n);
  budgets(&o, n);
  px_and_addrbook(&o, n);
  return o.err;
}
