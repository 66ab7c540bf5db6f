/* lp2p node: a GossipSub node. Lines of stdin are published to the first
 * topic; delivered messages and events are JSON lines on stdout. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics_http.h"
#include "net.h"
#include "node_bench.h"
#include "node_output.h"
#include "node_partial.h"
#include "node_peers.h"
#include "node_scores.h"
#include "params.h"
#include "score_params.h"
#include "trace_file.h"

#define MAX_ADDRS 32
#define MAX_TOPICS 16
/* A line of stdin: a message up to the router's 1 MiB, hex-encoded. */
#define MAX_LINE (2u * 1024u * 1024u + 2)
/* Lines waiting for a slow stdout: a few seconds of a busy topic. */
#define OUTPUT_BUFFER_DEFAULT (4u << 20)
#define OUTPUT_BUFFER_MIN 4096u
#define OUTPUT_BUFFER_MAX (1u << 30)
#define OUTPUT_DRAIN_MS 2000
/* The most lines --batch publishes at once: the router's max_batch. */
#define MAX_BATCH 1024

typedef struct node_opts {
  const char *listen[MAX_ADDRS], *peers[MAX_ADDRS], *topics[MAX_TOPICS];
  size_t nlisten, npeers, ntopics;
  const char *key_path, *params_path, *metrics_addr;
  const char *trace_path; /* --trace FILE, or NULL */
  lp2p_sign_policy sign;
  lp2p_msg_id_fn msg_id;
  size_t output_buffer; /* bytes of stdout waiting for its reader */
  bool hex, events, px;
  bool test_extension;       /* advertise gossipsub v1.3's test extension */
  lp2p_partial_mode partial; /* --partial: every --topic in this mode */
  bool bench;  /* count deliveries, no message lines (node_bench.h) */
  bool fanout; /* publish to the topics without joining them */
  bool has_seed;
  uint32_t key_seed;
  size_t batch;      /* --batch N: lines published N at a time; 0: one by one */
  int flood_publish; /* -1: the router's default */
  lp2p_tstamp mesh_interval; /* 0: from the parameters */
  cli_connlimits limits;
  lp2p_security security;
  const char *score_path; /* --score-params */
  bool score_auto;        /* --score auto */
  double expected_rate;   /* --expected-rate, messages a second */
  /* score series of --metrics: --metrics-peers (-1: the node's default)
   * and each --metrics-topic */
  long metrics_peers;
  const char *metrics_topics[LP2P_NODE_MAX_METRICS_TOPICS];
  size_t nmetrics_topics;
} node_opts;

typedef struct node_run {
  node_opts o;
  uv_loop_t loop;
  lp2p_privkey key;
  lp2p_node *node;
  cli_metrics *metrics;
  node_peers peers;
  uv_signal_t sigint, sigterm, sigusr1, sigusr2;
  uv_stream_t *in; /* a pipe or a tty */
  union {
    uv_pipe_t pipe;
    uv_tty_t tty;
  } in_handle;
  uv_fs_t in_req; /* stdin as a file */
  char in_chunk[65536];
  int64_t in_offset;
  uv_timer_t resume; /* polls a congested node until it drained */
  /* Message lines are flushed once per loop iteration, before it waits,
   * not once each: an RPC of many messages costs one write. */
  uv_prepare_t flush;
  node_output out;
  node_bench bench;
  lp2p_buf line;
  bool line_too_long;
  /* --batch: the data of the lines taken so far, one after another, and
   * each line's length */
  lp2p_buf batch;
  size_t batch_len[MAX_BATCH];
  size_t batch_n;
  bool stopping;
  trace_file trace;     /* open when o.trace_path */
  node_partial partial; /* --partial */
} node_run;

/* ---- output ------------------------------------------------------------- */

static void print_from(FILE *f, const lp2p_bytes *from) {
  lp2p_peer_id id;
  char text[LP2P_PEER_ID_TEXT_MAX] = "";
  if (from->data && lp2p_peer_id_from_bytes(from->data, from->len, &id) == 0) {
    cli_peer_text(&id, text);
  }
  fprintf(f, "\"from\":\"%s\"", text);
}

static void print_seqno(FILE *f, const lp2p_bytes *seqno) {
  if (!seqno->data || seqno->len != 8) {
    fprintf(f, "\"seqno\":\"\"");
    return;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < 8; i++) {
    v = v << 8 | seqno->data[i];
  }
  fprintf(f, "\"seqno\":\"%llu\"", (unsigned long long)v);
}

static void on_message(lp2p_node *n, const lp2p_message *m, void *user) {
  (void)n;
  node_run *r = user;
  if (r->stopping) {
    return; /* the final stats line was the last */
  }
  r->peers.delivered++;
  if (r->o.bench) {
    node_bench_record(&r->bench, m->data.data, m->data.len,
                      node_bench_now_us());
    return;
  }
  FILE *f = node_output_line(&r->out);
  fprintf(f, "{\"event\":\"message\",\"topic\":");
  cli_json_string(f, m->topic.data, m->topic.len);
  fputc(',', f);
  print_from(f, &m->from);
  fputc(',', f);
  print_seqno(f, &m->seqno);
  fprintf(f, ",\"id\":");
  cli_json_hex(f, m->id.data, m->id.len);
  if (cli_is_utf8(m->data.data, m->data.len)) {
    fprintf(f, ",\"data\":");
    cli_json_string(f, m->data.data, m->data.len);
  } else {
    fprintf(f, ",\"data_hex\":");
    cli_json_hex(f, m->data.data, m->data.len);
  }
  fprintf(f, "}\n");
  node_output_end_line(&r->out, true);
}

static void on_flush(uv_prepare_t *p) {
  node_run *r = p->data;
  node_output_flush(&r->out);
  if (r->o.trace_path) {
    trace_file_flush(&r->trace);
  }
}

static void on_trace(lp2p_node *n, const lp2p_trace_event *ev, void *user) {
  node_run *r = user;
  (void)n;
  trace_file_event(&r->trace, ev); /* past its bound: dropped, counted */
}

static void on_trace_closed(void *user) {
  (void)user;
}

static void on_peer(lp2p_node *n, const lp2p_peer_id *peer, bool up,
                    bool outbound, void *user) {
  (void)n;
  node_run *r = user;
  if (r->stopping) {
    return;
  }
  if (up) {
    node_peers_up(&r->peers, peer);
  } else {
    node_peers_down(&r->peers, peer);
  }
  if (!r->o.events) {
    return;
  }
  char id[LP2P_PEER_ID_TEXT_MAX];
  cli_peer_text(peer, id);
  FILE *f = node_output_line(&r->out);
  if (up) {
    fprintf(f,
            "{\"event\":\"peer_connected\",\"peer_id\":\"%s\","
            "\"direction\":\"%s\"}\n",
            id, outbound ? "outbound" : "inbound");
  } else {
    fprintf(f, "{\"event\":\"peer_disconnected\",\"peer_id\":\"%s\"}\n", id);
  }
  node_output_end_line(&r->out, false);
}

static void print_px(FILE *f, const lp2p_router_event *ev) {
  fprintf(f, ",\"peers\":[");
  for (size_t i = 0, k = 0; i < ev->npx; i++) {
    lp2p_peer_id id;
    char text[LP2P_PEER_ID_TEXT_MAX];
    if (lp2p_peer_id_from_bytes(ev->px[i].data, ev->px[i].len, &id) == 0) {
      cli_peer_text(&id, text);
      fprintf(f, "%s\"%s\"", k++ ? "," : "", text);
    }
  }
  fputc(']', f);
}

static void on_router_event(lp2p_node *n, const lp2p_router_event *ev,
                            void *user) {
  (void)n;
  node_run *r = user;
  static const char *const names[] = {"subscribed", "unsubscribed", "graft",
                                      "prune", "px"};
  if (!r->o.events || r->stopping ||
      (unsigned)ev->type > LP2P_EV_TEST_EXTENSION) {
    return;
  }
  char id[LP2P_PEER_ID_TEXT_MAX];
  cli_peer_text(ev->peer, id);
  FILE *f = node_output_line(&r->out);
  if (ev->type == LP2P_EV_TEST_EXTENSION) {
    fprintf(f, "{\"event\":\"test_extension\",\"peer_id\":\"%s\"}\n", id);
    node_output_end_line(&r->out, false);
    return;
  }
  fprintf(f, "{\"event\":\"%s\",\"%s\":\"%s\",\"topic\":", names[ev->type],
          ev->type == LP2P_EV_PX ? "from" : "peer_id", id);
  cli_json_string(f, ev->topic.data, ev->topic.len);
  if (ev->type == LP2P_EV_PX) {
    print_px(f, ev);
  }
  fprintf(f, "}\n");
  node_output_end_line(&r->out, false);
}

static void on_partial(lp2p_node *n, const lp2p_partial_rpc *pm, void *user) {
  (void)n;
  node_run *r = user;
  if (!r->stopping) {
    cli_partial_on_rpc(&r->partial.app, pm);
  }
}

static void on_partial_gossip(lp2p_node *n, lp2p_bytes topic, lp2p_bytes group,
                              const lp2p_peer_id *peers, size_t npeers,
                              void *user) {
  (void)n;
  node_run *r = user;
  if (!r->stopping) {
    cli_partial_on_gossip(&r->partial.app, topic, group, peers, npeers);
  }
}

static void print_listening(node_run *r) {
  lp2p_host *h = lp2p_node_host(r->node);
  FILE *f = node_output_line(&r->out);
  char peer[LP2P_PEER_ID_TEXT_MAX];
  cli_peer_text(lp2p_host_peer_id(h), peer);
  lp2p_buf addrs;
  lp2p_buf_init(&addrs, NULL);
  (void)lp2p_host_listen_addrs(h, true, &addrs);
  fprintf(f, "{\"event\":\"listening\",\"peer_id\":\"%s\",\"addrs\":[", peer);
  for (size_t off = 0, i = 0; off < addrs.len; i++) {
    uint64_t len;
    int k = lp2p_uvarint_decode(addrs.data + off, addrs.len - off, &len);
    fprintf(f, i ? "," : "");
    cli_json_multiaddr(f, addrs.data + off + k, (size_t)len);
    off += (size_t)k + (size_t)len;
  }
  fprintf(f, "]}\n");
  node_output_end_line(&r->out, false);
  lp2p_buf_free(&addrs);
}

/* ---- publishing stdin --------------------------------------------------- */

static int unhex_line(lp2p_buf *line) {
  size_t start = 0, end = line->len;
  while (start < end && strchr(" \t\r", line->data[start])) {
    start++;
  }
  while (end > start && strchr(" \t\r", line->data[end - 1])) {
    end--;
  }
  memmove(line->data, line->data + start, end - start);
  line->len = end - start;
  if (line->len % 2) {
    return -1;
  }
  for (size_t i = 0; i < line->len; i += 2) {
    char b[3] = {(char)line->data[i], (char)line->data[i + 1], 0};
    char *stop;
    long v = strtol(b, &stop, 16);
    if (*stop || !((b[0] >= '0' && b[0] <= '9') || (b[0] | 32) >= 'a')) {
      return -1;
    }
    line->data[i / 2] = (uint8_t)v;
  }
  line->len /= 2;
  return 0;
}

static void publish_error(node_run *r, const char *why) {
  FILE *f = node_output_line(&r->out);
  fprintf(f, "{\"event\":\"publish_error\",\"error\":");
  cli_json_string(f, why, strlen(why));
  fprintf(f, "}\n");
  node_output_end_line(&r->out, false);
}

/* Publishes the lines --batch collected, as one batch. */
static void publish_batch(node_run *r) {
  lp2p_batch_msg msgs[MAX_BATCH];
  int results[MAX_BATCH];
  const char *topic = r->o.topics[0];
  size_t off = 0;
  if (r->batch_n == 0) {
    return;
  }
  for (size_t i = 0; i < r->batch_n; i++) {
    msgs[i] = (lp2p_batch_msg){
        (const uint8_t *)topic, strlen(topic), r->batch.data + off,
        r->batch_len[i],        NULL,          NULL};
    off += r->batch_len[i];
  }
  int rv = lp2p_node_publish_batch(r->node, msgs, r->batch_n,
                                   LP2P_BATCH_RAREST_FIRST, results);
  for (size_t i = 0; rv >= 0 && i < r->batch_n; i++) {
    if (results[i] < 0) {
      publish_error(r, lp2p_strerror(results[i]));
    }
  }
  if (rv < 0) {
    publish_error(r, lp2p_strerror(rv));
  } else {
    r->peers.published += (uint64_t)rv;
  }
  r->batch_n = 0;
  lp2p_buf_truncate(&r->batch, 0);
}

/* --batch: the line joins the batch, published once it has N lines. */
static void batch_line(node_run *r) {
  if (lp2p_buf_append(&r->batch, r->line.data, r->line.len) != 0) {
    publish_error(r, lp2p_strerror(LP2P_ERR_NOMEM));
    return;
  }
  r->batch_len[r->batch_n++] = r->line.len;
  if (r->batch_n == r->o.batch) {
    publish_batch(r);
  }
}

static void publish_line(node_run *r) {
  lp2p_buf *line = &r->line;
  if (line->len > 0 && line->data[line->len - 1] == '\r') {
    line->len--;
  }
  if (r->o.hex && unhex_line(line) != 0) {
    publish_error(r, "the line is not hex");
    return;
  }
  if (r->o.batch) {
    batch_line(r);
    return;
  }
  const char *topic = r->o.topics[0];
  const char *err;
  if (node_partial_line(&r->partial, topic, line, &err)) {
    if (err) {
      publish_error(r, err);
    }
    return;
  }
  int rv = lp2p_node_publish(r->node, (const uint8_t *)topic, strlen(topic),
                             line->data, line->len, NULL, NULL);
  if (rv < 0) {
    publish_error(r, lp2p_strerror(rv));
  } else {
    r->peers.published++;
  }
}

static void take_input(node_run *r, const char *p, size_t n) {
  while (n > 0) {
    const char *nl = memchr(p, '\n', n);
    size_t part = nl ? (size_t)(nl - p) : n;
    if (!r->line_too_long && r->line.len + part > MAX_LINE) {
      r->line_too_long = true;
      lp2p_buf_free(&r->line);
    }
    if (!r->line_too_long &&
        lp2p_buf_append(&r->line, p, part) != 0) { /* out of memory */
      r->line_too_long = true;
    }
    if (!nl) {
      return;
    }
    if (r->line_too_long) {
      publish_error(r, "line too long");
    } else if (r->o.ntopics > 0 && !r->stopping) {
      publish_line(r);
    }
    r->line_too_long = false;
    lp2p_buf_truncate(&r->line, 0);
    p += part + 1;
    n -= part + 1;
  }
}

static void on_stdin_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* The end of stdin: a last batch shorter than --batch goes too. */
static void end_of_input(node_run *r) {
  if (!r->stopping) {
    publish_batch(r);
  }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  node_run *r = h->data;
  *buf = uv_buf_init(r->in_chunk, sizeof(r->in_chunk));
}

/* Backpressure for a producer faster than the network: stdin is not read
 * while most peers' queues are past half full (their data would be
 * dropped next). One stuck peer among others does not stop publishing:
 * its queue drops, as go-libp2p-pubsub's does. */
#define RESUME_POLL_MS 5

static bool congested(node_run *r) {
  lp2p_router_stats st;
  lp2p_router_get_stats(lp2p_node_router(r->node), &st);
  return st.peers_congested * 2 > st.peers;
}

static void on_file_read(uv_fs_t *req);

static void read_file_chunk(node_run *r) {
  uv_buf_t buf = uv_buf_init(r->in_chunk, sizeof(r->in_chunk));
  uv_fs_read(&r->loop, &r->in_req, 0, &buf, 1, r->in_offset, on_file_read);
}

static void on_resume(uv_timer_t *t) {
  node_run *r = t->data;
  if (r->stopping || congested(r)) {
    return;
  }
  uv_timer_stop(t);
  if (r->in) {
    uv_read_start(r->in, on_alloc, on_stdin_read);
  } else {
    read_file_chunk(r);
  }
}

static void pause_if_congested(node_run *r) {
  if (congested(r)) {
    if (r->in) {
      uv_read_stop(r->in);
    }
    uv_timer_start(&r->resume, on_resume, RESUME_POLL_MS, RESUME_POLL_MS);
  } else if (!r->in) {
    read_file_chunk(r);
  }
}

static void on_stdin_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  node_run *r = s->data;
  if (n > 0) {
    take_input(r, buf->base, (size_t)n);
    pause_if_congested(r);
  } else if (n < 0) {
    uv_read_stop(s); /* EOF: the node keeps running */
    end_of_input(r);
  }
}

static void on_file_read(uv_fs_t *req) {
  node_run *r = req->data;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  if (n <= 0 || r->stopping) {
    end_of_input(r);
    return;
  }
  take_input(r, r->in_chunk, (size_t)n);
  r->in_offset += n;
  pause_if_congested(r);
}

static void read_stdin(node_run *r) {
  uv_handle_type t = uv_guess_handle(0);
  uv_timer_init(&r->loop, &r->resume);
  r->resume.data = r;
  if (t == UV_FILE) {
    r->in_req.data = r;
    read_file_chunk(r);
    return;
  }
  if (t == UV_TTY) {
    uv_tty_init(&r->loop, &r->in_handle.tty, 0, 1);
  } else if (t == UV_NAMED_PIPE) {
    uv_pipe_init(&r->loop, &r->in_handle.pipe, 0);
    uv_pipe_open(&r->in_handle.pipe, 0);
  } else {
    return; /* no usable stdin */
  }
  r->in = (uv_stream_t *)&r->in_handle;
  r->in->data = r;
  uv_read_start(r->in, on_alloc, on_stdin_read);
}

/* ---- shutdown ----------------------------------------------------------- */

/* The signal handlers stay until the node is closed: a second SIGTERM
 * during the close is ignored rather than fatal. */
static void on_node_closed(void *user) {
  node_run *r = user;
  uv_close((uv_handle_t *)&r->sigusr1, NULL);
  uv_close((uv_handle_t *)&r->sigusr2, NULL);
  uv_close((uv_handle_t *)&r->sigint, NULL);
  uv_close((uv_handle_t *)&r->sigterm, NULL);
  cli_ignore_stop_signals();
  uv_close((uv_handle_t *)&r->flush, NULL);
  if (r->o.trace_path) {
    trace_file_close(&r->trace, on_trace_closed, r); /* every event written */
  }
  /* the last stats line is for a reader that keeps up; a stuck one does
   * not keep the node from exiting */
  node_output_close(&r->out, OUTPUT_DRAIN_MS, NULL, NULL);
}

static void stop(node_run *r) {
  if (r->stopping) {
    return;
  }
  r->stopping = true;
  node_dial_cancel_all();
  if (r->metrics) {
    cli_metrics_stop(r->metrics);
  }
  if (r->in) {
    uv_close((uv_handle_t *)r->in, NULL);
  }
  if (r->resume.data) {
    uv_close((uv_handle_t *)&r->resume, NULL);
  }
  lp2p_node_close(r->node, on_node_closed, r); /* PRUNE, flush, close */
}

static void print_stats(node_run *r) {
  node_peers_print_stats(&r->peers, r->node, r->o.topics, r->o.ntopics,
                         node_output_line(&r->out), r->out.dropped_messages,
                         r->o.bench ? &r->bench : NULL,
                         r->o.trace_path ? &r->trace : NULL);
  node_output_end_line(&r->out, false);
}

/* SIGUSR1 prints the stats; SIGUSR2 the score of every peer; SIGINT and
 * SIGTERM print the stats a last time and stop. */
static void on_signal(uv_signal_t *s, int signum) {
  node_run *r = s->data;
  if (r->stopping) {
    return;
  }
  if (signum == SIGUSR2) {
    if (node_scores_print(r->node, &r->out) < 0) {
      fprintf(stderr, "lp2p: no memory for the score dump\n");
    }
    return;
  }
  print_stats(r);
  if (signum != SIGUSR1) {
    stop(r);
  }
}

/* ---- setup -------------------------------------------------------------- */

static int bad_value(const char *opt, const char *accepted, const char *v) {
  fprintf(stderr, "lp2p node: %s takes %s, not '%s'\n", opt, accepted, v);
  return 2;
}

static int add_to(const char **list, size_t *n, size_t max, const char *opt,
                  const char *v) {
  if (*n == max) {
    fprintf(stderr, "lp2p node: at most %zu %s options\n", max, opt);
    return 2;
  }
  list[(*n)++] = v;
  return 0;
}

/* An option with a value; returns 0, 2 after printing why the value is
 * bad, or -1 when `a` is none of them. */
static int parse_valued(const char *a, const char *v, node_opts *o) {
  uint64_t num;
  int rv = 0;
  if (strcmp(a, "--listen") == 0) {
    return add_to(o->listen, &o->nlisten, MAX_ADDRS, a, v);
  } else if (strcmp(a, "--peer") == 0) {
    return add_to(o->peers, &o->npeers, MAX_ADDRS, a, v);
  } else if (strcmp(a, "--topic") == 0) {
    return add_to(o->topics, &o->ntopics, MAX_TOPICS, a, v);
  } else if (strcmp(a, "--key") == 0) {
    o->key_path = v;
  } else if (strcmp(a, "--params") == 0) {
    o->params_path = v;
  } else if (strcmp(a, "--security") == 0) {
    if (cli_parse_security(v, &o->security) != 0) {
      return bad_value(a, "noise, tls or any", v);
    }
  } else if (strcmp(a, "--metrics") == 0) {
    o->metrics_addr = v;
  } else if (strcmp(a, "--sign") == 0) {
    if (strcmp(v, "strict") != 0 && strcmp(v, "none") != 0) {
      return bad_value(a, "strict or none", v);
    }
    o->sign = v[0] == 's' ? LP2P_STRICT_SIGN : LP2P_STRICT_NO_SIGN;
  } else if (strcmp(a, "--msg-id") == 0) {
    if (strcmp(v, "default") == 0) {
      o->msg_id = LP2P_MSG_ID_FROM_SEQNO;
    } else if (strcmp(v, "sha256") == 0) {
      o->msg_id = LP2P_MSG_ID_SHA256;
    } else if (strcmp(v, "rust") == 0) {
      o->msg_id = LP2P_MSG_ID_RUST;
    } else {
      return bad_value(a, "default, sha256 or rust", v);
    }
  } else if (strcmp(a, "--flood-publish") == 0) {
    if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
      return bad_value(a, "on or off", v);
    }
    o->flood_publish = v[1] == 'n';
  } else if (strcmp(a, "--key-seed") == 0) {
    rv = cli_parse_uint(&cli_cmd_node, a, v, 0, UINT32_MAX, &num);
    o->has_seed = rv == 0;
    o->key_seed = (uint32_t)num;
  } else if (strcmp(a, "--mesh-interval-ms") == 0) {
    rv = cli_parse_uint(&cli_cmd_node, a, v, 1, 3599999, &num);
    o->mesh_interval = (lp2p_tstamp)num * LP2P_MILLISECONDS;
  } else if (strcmp(a, "--output-buffer") == 0) {
    rv = cli_parse_uint(&cli_cmd_node, a, v, OUTPUT_BUFFER_MIN,
                        OUTPUT_BUFFER_MAX, &num);
    o->output_buffer = (size_t)num;
  } else if (strcmp(a, "--score-params") == 0) {
    o->score_path = v;
  } else if (strcmp(a, "--score") == 0) {
    if (strcmp(v, "auto") != 0) {
      return bad_value(a, "auto", v);
    }
    o->score_auto = true;
  } else if (strcmp(a, "--trace") == 0) {
    o->trace_path = v;
  } else if (strcmp(a, "--partial") == 0) {
    return node_partial_mode(v, &o->partial) == 0
               ? 0
               : bad_value(a, "requests or supports", v);
  } else if (strcmp(a, "--metrics-topic") == 0) {
    return add_to(o->metrics_topics, &o->nmetrics_topics,
                  LP2P_NODE_MAX_METRICS_TOPICS, a, v);
  } else if (strcmp(a, "--batch") == 0) {
    rv = cli_parse_uint(&cli_cmd_node, a, v, 1, MAX_BATCH, &num);
    o->batch = (size_t)num;
  } else if (strcmp(a, "--metrics-peers") == 0) {
    rv = cli_parse_uint(&cli_cmd_node, a, v, 0, LP2P_NODE_MAX_METRICS_PEERS,
                        &num);
    o->metrics_peers = (long)num;
  } else if (strcmp(a, "--expected-rate") == 0) {
    rv = cli_parse_decimal(&cli_cmd_node, a, v, 1e-6, 1e9, &o->expected_rate);
  } else {
    return -1;
  }
  return rv;
}

static bool takes_value(const char *opt) {
  static const char *const valued[] = {"--listen",
                                       "--peer",
                                       "--topic",
                                       "--key",
                                       "--params",
                                       "--metrics",
                                       "--sign",
                                       "--msg-id",
                                       "--key-seed",
                                       "--flood-publish",
                                       "--mesh-interval-ms",
                                       "--output-buffer",
                                       "--score-params",
                                       "--score",
                                       "--expected-rate",
                                       "--trace",
                                       "--metrics-topic",
                                       "--metrics-peers",
                                       "--batch",
                                       "--security",
                                       "--partial"};
  for (size_t i = 0; i < sizeof(valued) / sizeof(valued[0]); i++) {
    if (strcmp(opt, valued[i]) == 0) {
      return true;
    }
  }
  return false;
}

static int unexpected(const char *arg) {
  char what[128];
  snprintf(what, sizeof(what), "unexpected argument '%.100s'", arg);
  return cli_usage_error(&cli_cmd_node, what);
}

static int parse(int argc, char **argv, node_opts *o) {
  o->flood_publish = -1;
  o->metrics_peers = -1;
  o->output_buffer = OUTPUT_BUFFER_DEFAULT;
  for (int i = 0; i < argc; i++) {
    int limit = cli_connlimit_option(&cli_cmd_node, argc, argv, &i, &o->limits);
    if (limit != 0) {
      if (limit > 1) {
        return limit;
      }
      continue;
    }
    const char *a = argv[i];
    if (strcmp(a, "--hex") == 0) {
      o->hex = true;
    } else if (strcmp(a, "--events") == 0) {
      o->events = true;
    } else if (strcmp(a, "--px") == 0) {
      o->px = true;
    } else if (strcmp(a, "--test-extension") == 0) {
      o->test_extension = true;
    } else if (strcmp(a, "--bench") == 0) {
      o->bench = true;
    } else if (strcmp(a, "--fanout") == 0) {
      o->fanout = true;
    } else {
      int rv = i + 1 < argc ? parse_valued(a, argv[i + 1], o) : -1;
      if (i + 1 == argc && takes_value(a)) {
        return cli_missing_value(&cli_cmd_node, a);
      }
      if (rv != 0) {
        return rv < 0 ? unexpected(a) : rv;
      }
      i++;
    }
  }
  if (o->nlisten == 0) {
    o->listen[o->nlisten++] = "/ip4/0.0.0.0/tcp/0";
  }
  if (o->msg_id == LP2P_MSG_ID_RUST && o->sign == LP2P_STRICT_NO_SIGN) {
    /* no author, no seqno: rust's id would be one for every message */
    return cli_usage_error(&cli_cmd_node, "--msg-id rust needs --sign strict");
  }
  if ((o->score_path && o->score_auto) ||
      o->score_auto != (o->expected_rate > 0)) {
    return cli_usage_error(&cli_cmd_node, "--score auto needs --expected-rate "
                                          "R, and no --score-params");
  }
  return cli_connlimits_check(&cli_cmd_node, &o->limits);
}

/* Scoring from --score-params or --score auto, after the router
 * parameters are final (auto takes their heartbeat and D). */
static int score_setup(const node_opts *o, lp2p_router_settings *rs,
                       cli_score *sc) {
  int rv = 0;
  if (o->score_path) {
    rv = cli_score_load(o->score_path, sc);
  } else if (o->score_auto) {
    rv = cli_score_auto(o->expected_rate, &rs->params, o->topics, o->ntopics,
                        sc);
  } else {
    return 0;
  }
  rs->scoring = rv == 0;
  rs->score = sc->peer;
  return rv;
}

static int make_node(node_run *r) {
  lp2p_node_callbacks cb = {
      .message = on_message, .peer = on_peer, .router_event = on_router_event};
  if (r->o.has_seed) {
    cli_key_from_seed(r->o.key_seed, &r->key);
  } else if (r->o.key_path
                 ? cli_load_key(r->o.key_path, &r->key) != 0
                 : lp2p_privkey_generate(LP2P_KEY_ED25519, lp2p_host_rand, NULL,
                                         &r->key) != 0) {
    return r->o.key_path ? 1 : cli_fail("cannot make a key");
  }
  lp2p_node_settings s;
  lp2p_node_settings_default(&s);
  s.host.key = &r->key;
  cli_connlimits_set(&r->o.limits, &s.host);
  s.host.security = r->o.security;
  s.router.sign_policy = r->o.sign;
  /* without from and seqno the default id would collide: hash the data */
  s.router.msg_id =
      r->o.sign == LP2P_STRICT_NO_SIGN ? LP2P_MSG_ID_SHA256 : r->o.msg_id;
  int rv = r->o.params_path
               ? cli_params_load(r->o.params_path, &s.router.params)
               : 0;
  if (rv != 0) {
    lp2p_privkey_wipe(&r->key);
    return rv;
  }
  if (r->o.flood_publish >= 0) {
    s.router.params.flood_publish = r->o.flood_publish;
  }
  s.router.extensions.test_extension = r->o.test_extension;
  r->partial.mode = r->o.partial;
  node_partial_settings(&r->partial, &s);
  if (r->o.partial != LP2P_PARTIAL_OFF) {
    cb.partial = on_partial;
    cb.partial_gossip = on_partial_gossip;
  }
  if (r->o.px) {
    s.router.params.do_px = true;
  }
  if (r->o.mesh_interval) {
    s.router.params.heartbeat_interval = r->o.mesh_interval;
  }
  cli_score score = {0};
  if (score_setup(&r->o, &s.router, &score) != 0) {
    cli_score_free(&score);
    lp2p_privkey_wipe(&r->key);
    return 1;
  }
  if (r->o.trace_path) {
    rv = trace_file_open(&r->trace, r->o.trace_path, &r->loop, 0);
    if (rv != 0) {
      cli_score_free(&score);
      lp2p_privkey_wipe(&r->key);
      return cli_fail("--trace %s: %s", r->o.trace_path, uv_strerror(rv));
    }
    cb.trace = on_trace;
  }
  lp2p_errdetail err;
  rv = lp2p_node_new(&r->node, &r->loop, &s, &cb, NULL, r, &err);
  lp2p_privkey_wipe(&r->key);
  if (rv != 0) {
    cli_score_free(&score);
    return cli_fail("cannot start the node: %s", err.msg);
  }
  node_partial_start(&r->partial, r->node, &r->out, r->o.events);
  rv = cli_score_set_topics(lp2p_node_router(r->node), &score);
  cli_score_free(&score);
  if (rv == 0 && (r->o.metrics_peers >= 0 || r->o.nmetrics_topics > 0)) {
    size_t peers = r->o.metrics_peers >= 0 ? (size_t)r->o.metrics_peers : 5;
    rv = lp2p_node_set_score_metrics(r->node, peers, r->o.metrics_topics,
                                     r->o.nmetrics_topics);
    rv = rv ? cli_fail("--metrics-topic: %s", lp2p_strerror(rv)) : 0;
  }
  return rv;
}

static int each_addr(node_run *r, const char *const *list, size_t n,
                     bool listen) {
  for (size_t i = 0; i < n; i++) {
    lp2p_buf ma;
    lp2p_buf_init(&ma, NULL);
    if (cli_parse_multiaddr(list[i], &ma) != 0) {
      return 1;
    }
    lp2p_errdetail err;
    int rv = listen ? lp2p_host_listen(lp2p_node_host(r->node), ma.data, ma.len,
                                       &err)
                    : lp2p_node_connect(r->node, ma.data, ma.len, &err);
    lp2p_buf_free(&ma);
    if (rv != 0) {
      return cli_fail("cannot %s %s: %s", listen ? "listen on" : "dial",
                      list[i], err.msg);
    }
  }
  return 0;
}

/* Every --peer parses before the listening line: a script that waits for
 * that line must see the error instead. */
static int check_peer_addrs(const node_opts *o) {
  for (size_t i = 0; i < o->npeers; i++) {
    lp2p_buf ma;
    lp2p_buf_init(&ma, NULL);
    if (cli_parse_multiaddr(o->peers[i], &ma) != 0) {
      return 1;
    }
    lp2p_buf_free(&ma);
  }
  return 0;
}

static int start(node_run *r) {
  int rv = check_peer_addrs(&r->o);
  if (rv == 0) {
    rv = each_addr(r, r->o.listen, r->o.nlisten, true);
  }
  for (size_t i = 0; rv == 0 && !r->o.fanout && i < r->o.ntopics; i++) {
    const char *t = r->o.topics[i];
    int err = node_partial_topic(&r->partial, t);
    if (err == 0) {
      err = lp2p_node_subscribe(r->node, (const uint8_t *)t, strlen(t));
    }
    rv = err ? cli_fail("cannot join '%s': %s", t, lp2p_strerror(err)) : 0;
  }
  if (rv == 0 && r->o.metrics_addr) {
    r->metrics =
        cli_metrics_start(&r->loop, r->node, &r->out, r->o.metrics_addr);
    rv = r->metrics ? 0 : 1;
  }
  if (rv == 0) {
    print_listening(r);
  }
  for (size_t i = 0; rv == 0 && i < r->o.npeers; i++) {
    rv = node_dial_retrying(&r->loop, r->node, r->o.peers[i]);
  }
  return rv;
}

static int run(int argc, char **argv) {
  node_run *r = calloc(1, sizeof(*r));
  if (!r) {
    return cli_fail("out of memory");
  }
  int rv = parse(argc, argv, &r->o);
  if (rv == 0 && uv_loop_init(&r->loop) != 0) {
    rv = cli_fail("cannot start the event loop");
  }
  if (rv != 0) {
    free(r);
    return rv;
  }
  lp2p_buf_init(&r->line, NULL);
  lp2p_buf_init(&r->batch, NULL);
  rv = make_node(r);
  if (rv == 0 && node_output_open(&r->out, &r->loop, r->o.output_buffer)) {
    rv = 1; /* out of memory: nothing of the output is open */
    lp2p_node_close(r->node, NULL, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
  } else if (rv == 0) {
    uv_signal_init(&r->loop, &r->sigint);
    uv_signal_init(&r->loop, &r->sigterm);
    uv_signal_init(&r->loop, &r->sigusr1);
    uv_signal_init(&r->loop, &r->sigusr2);
    r->sigint.data = r->sigterm.data = r->sigusr1.data = r->sigusr2.data = r;
    uv_signal_start(&r->sigint, on_signal, SIGINT);
    uv_signal_start(&r->sigterm, on_signal, SIGTERM);
    uv_signal_start(&r->sigusr1, on_signal, SIGUSR1);
    uv_signal_start(&r->sigusr2, on_signal, SIGUSR2);
    uv_prepare_init(&r->loop, &r->flush);
    r->flush.data = r;
    uv_prepare_start(&r->flush, on_flush);
    rv = start(r);
    if (rv == 0) {
      read_stdin(r);
    } else {
      stop(r);
    }
    uv_run(&r->loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&r->loop);
  node_output_free(&r->out);
  lp2p_buf_free(&r->line);
  lp2p_buf_free(&r->batch);
  node_peers_free(&r->peers);
  node_partial_free(&r->partial);
  free(r);
  return rv;
}

const cli_command cli_cmd_node = {
    "node",
    "run a GossipSub node",
    "usage: lp2p node [--listen MA]... [--peer MA]... [--topic T]...\n"
    "                 [--key FILE | --key-seed N] [--sign strict|none]\n"
    "                 [--msg-id default|sha256|rust] [--params FILE]\n"
    "                 [--flood-publish on|off] [--mesh-interval-ms N]\n"
    "                 [--score-params FILE | --score auto --expected-rate R]\n"
    "                 [--metrics HOST:PORT [--metrics-peers N]\n"
    "                 [--metrics-topic T]...] [--hex] [--events] [--px]\n"
    "                 [--test-extension] [--output-buffer BYTES] [--bench]\n"
    "                 [--trace FILE] [--batch N] [--security S]\n"
    "                 [--partial requests|supports] [--fanout]\n"
    "                 [connection limits]\n\n"
    "Runs a GossipSub node (meshsub 1.3, 1.2, 1.1, 1.0 and floodsub)\n"
    "listening on each --listen address (default /ip4/0.0.0.0/tcp/0),\n"
    "dialing each --peer and joining each --topic. Its first stdout line is\n"
    "{\"event\":\"listening\",\"peer_id\":...,\"addrs\":[...]}. Each line of\n"
    "stdin is published to the first topic (hex-decoded with --hex); each\n"
    "delivered message is a line {\"event\":\"message\",\"topic\",\"from\",\n"
    "\"seqno\",\"id\",\"data\"} (\"data_hex\" when the data is not UTF-8).\n"
    "--events adds peer_connected, peer_disconnected, subscribed,\n"
    "unsubscribed, graft, prune, px and test_extension lines.\n"
    "--test-extension advertises gossipsub v1.3's test extension (with\n"
    "--events, a test_extension line when a peer's arrives).\n"
    "\n"
    "--sign strict signs every message and requires valid signatures\n"
    "(default); none sends and accepts only unsigned messages, identified\n"
    "by the SHA-256 of their data. --msg-id sha256 uses that id with\n"
    "signing too; --msg-id rust, rust-libp2p's default id: an\n"
    "author's base58 peer id then the decimal seqno.\n"
    "--params FILE takes router parameters as JSON with\n"
    "go-libp2p-pubsub's GossipSubParams names (durations in nanoseconds).\n"
    "--score-params FILE turns peer scoring on with go's names:\n"
    "{\"PeerScoreParams\": {..., \"Topics\": {\"T\": {TopicScoreParams}}},\n"
    "\"PeerScoreThresholds\": {...}} (fields not given are 0, as in go).\n"
    "--score auto --expected-rate R derives them, as Ethereum clients do,\n"
    "for R messages a second on each --topic (12 s slots, 32 an epoch).\n"
    "--metrics serves Prometheus metrics at http://HOST:PORT/metrics,\n"
    "with the scores of the N (5) highest and N lowest peers, per topic\n"
    "in each --metrics-topic. SIGUSR2 prints a {\"event\":\"score\"} line\n"
    "per peer: P1-P4 per topic, P5-P7, the score they add up to (on\n"
    "demand: each peer every heartbeat would crowd out the messages).\n"
    "--flood-publish sends our own messages to every subscriber (default\n"
    "off, as go-libp2p-pubsub); --mesh-interval-ms sets the heartbeat.\n"
    "--px attaches peer exchange to our PRUNEs (off by default, as go:\n"
    "only a bootstrapper should tell its peers whom to dial).\n"
    "Stdout is never waited for: lines wait in --output-buffer BYTES\n"
    "(4 MiB); messages that do not fit are dropped, counted\n"
    "(\"output_dropped\", libp2p_node_output_dropped_total) and reported\n"
    "on stderr, as go drops to a slow subscriber.\n"
    "--peer dials are retried for 20 s. SIGUSR1 prints a stats line\n"
    "(meshes, peers, IDONTWANT ids per peer, published, delivered,\n"
    "output_dropped); SIGINT and SIGTERM print it a last time, leave\n"
    "every topic (PRUNE with backoff, and PX with --px), flush (giving a\n"
    "slow stdout 2 s) and exit 0. Without --key it uses a fresh\n"
    "Ed25519 identity; --key-seed N the key whose seed is N as a\n"
    "little-endian uint32 (the interop harnesses' "
    "convention).\n" CLI_CONNLIMITS_USAGE,
    run,
    "--listen and --peer take /ip4|ip6/A/tcp/P and, for QUIC v1,\n"
    "/ip4|ip6/A/udp/P/quic-v1 (libp2p TLS and QUIC's own streams: --muxer\n"
    "and --security do not apply); the transport is chosen from the\n"
    "address, and dials over QUIC go out from the QUIC listen socket.\n"
    "--trace FILE: go's trace format (docs/tracing.md).\n"
    "--fanout publishes to the first --topic without joining any (go's\n"
    "fanout: the message goes to D subscribers, none is delivered here).\n"
    "--security S: the secure channels offered and accepted: noise, tls\n"
    "(libp2p TLS, /tls/1.0.0, TLS 1.3) or any (default: Noise proposed\n"
    "first, then TLS).\n"
    "--batch N publishes stdin N lines at a time, as one batch\n"
    "(lp2p_router_publish_batch): each write to a peer sends the message\n"
    "of the batch with the fewest copies sent so far, so that every\n"
    "message is out once before any goes twice (at most 1024; the lines\n"
    "left at the end of stdin go as a shorter batch). A line the batch\n"
    "could not publish is a publish_error line, as without --batch.\n"
    "\n--bench (for bench/run-network.sh) prints no message lines; the\n"
    "stats line counts them in \"bench\", with a histogram of the latency\n"
    "of data that begins \"t=<unix microseconds> \" (cli/node_bench.h).\n"
    "\nPartial messages (gossipsub v1.3, docs/partial-messages.md):\n"
    "--partial requests joins every --topic asking peers for parts of\n"
    "messages (full messages are still taken); --partial supports only\n"
    "offers to send them. Parts follow libp2p/test-plans' interop\n"
    "application: a group (a decimal u64) is 8 parts of 1024 bytes, part\n"
    "i holding big-endian u64s from GROUP + 128 i; peers exchange one-byte\n"
    "bitmaps of the parts they have. A stdin line \"partial GROUP PARTS\"\n"
    "adds the parts of bitmap PARTS (0-255) of the group and publishes\n"
    "what we have of it on the first topic; \"partial GROUP PARTS ID...\"\n"
    "sends every part to the peers named (at most 64; test-plans'\n"
    "publishToNodeIDs, with --fanout its fanout scenario). Other lines are\n"
    "published as usual. The node merges the parts it gets, tells its mesh "
    "when it has\n"
    "more and sends a peer the parts it lacks. A line\n"
    "{\"event\":\"partial_complete\",\"topic\",\"group\"} reports a group\n"
    "with every part; --events adds a line {\"event\":\"partial\",\n"
    "\"peer_id\",\"topic\",\"group\",\"parts\",\"new\",\"have\",\"metadata\",\n"
    "\"invalid\"} per RPC.partial taken (bitmaps as numbers; metadata null\n"
    "when the peer sent none).\n",
};
