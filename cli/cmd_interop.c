/* lp2p interop: a node of libp2p/test-plans' gossipsub-interop harness. It
 * runs the script of a params.json (initGossipSub, connect,
 * subscribeToTopic, setTopicValidationDelay, waitUntil, publish,
 * ifNodeIDEquals, and the partial-message instructions addPartialMessage
 * and publishPartial) and logs as the harness's contract requires: JSON
 * lines with time and msg, "PeerID" at start, "Received Message" for
 * every copy received, "All parts received" when a partial message's
 * group is complete. Messages are StrictNoSign; their id is their first 8
 * bytes, printed as a decimal big-endian integer. Partial messages use the
 * suite's shared application (partial_app.h). */
#include <arpa/inet.h>
#include <jansson.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "params.h"
#include "partial_app.h"

#define HARNESS_PORT 9000
#define MAX_DELAYS 16
#define DIAL_RETRIES 10

typedef struct delay {
  char topic[256];
  lp2p_tstamp ns;
} delay;

typedef struct interop {
  uv_loop_t loop;
  uv_timer_t timer;
  uv_signal_t sigint, sigterm;
  lp2p_privkey key;
  lp2p_peer_id peer_id;
  lp2p_node *node;
  int node_id;
  int base_port; /* 0: the harness's layout (node<N>:9000) */
  bool quic;     /* --transport quic: /udp/P/quic-v1 instead of /tcp/P */
  json_t *root, *script;
  size_t pc;
  lp2p_tstamp start;
  int pending_dials;
  delay delays[MAX_DELAYS];
  size_t ndelays;
  cli_partial_app partial;
  int status;
  bool stopping;
} interop;

/* ---- logging ------------------------------------------------------------ */

static void log_start(const char *msg) {
  struct timespec ts;
  struct tm tm;
  char when[64];
  timespec_get(&ts, TIME_UTC);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
  printf("{\"time\":\"%s.%09ldZ\",\"level\":\"INFO\",\"msg\":\"%s\"", when,
         ts.tv_nsec, msg);
}

static uint64_t be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    v = v << 8 | p[i];
  }
  return v;
}

static void on_received(lp2p_node *n, const lp2p_message *m, void *user) {
  (void)n;
  (void)user;
  char from[LP2P_PEER_ID_TEXT_MAX];
  cli_peer_text(m->received_from, from);
  log_start("Received Message");
  printf(",\"service\":\"gossipsub\",\"from\":\"%s\",\"topic\":", from);
  cli_json_string(stdout, m->topic.data, m->topic.len);
  printf(",\"id\":\"%llu\"}\n",
         (unsigned long long)(m->id.len == 8 ? be64(m->id.data) : 0));
  fflush(stdout);
}

/* As go's test application: "All parts received" once a group is
 * complete, whether the last parts came from a peer or the script. */
static void on_partial_event(const cli_partial_event *ev, void *user) {
  (void)user;
  if (ev->from && (ev->received || ev->invalid)) {
    char from[LP2P_PEER_ID_TEXT_MAX];
    cli_peer_text(ev->from, from);
    log_start("Received partial message");
    printf(",\"from\":\"%s\",\"group id\":%llu,\"parts\":%u,\"new\":%u,"
           "\"invalid\":%s}\n",
           from, (unsigned long long)ev->group, ev->received, ev->added,
           ev->invalid ? "true" : "false");
  }
  if (!ev->completed) {
    fflush(stdout);
    return;
  }
  log_start("All parts received");
  printf(",\"topic\":");
  cli_json_string(stdout, ev->topic.data, ev->topic.len);
  printf(",\"group id\":%llu}\n", (unsigned long long)ev->group);
  fflush(stdout);
}

static void on_partial(lp2p_node *n, const lp2p_partial_rpc *pm, void *user) {
  (void)n;
  interop *ix = user;
  cli_partial_on_rpc(&ix->partial, pm);
}

static void on_partial_gossip(lp2p_node *n, lp2p_bytes topic, lp2p_bytes group,
                              const lp2p_peer_id *peers, size_t npeers,
                              void *user) {
  (void)n;
  interop *ix = user;
  cli_partial_on_gossip(&ix->partial, topic, group, peers, npeers);
}

/* The harness's message id: the first 8 bytes of the data. */
static int msg_id(lp2p_node *n, const lp2p_message *m, uint8_t *out, size_t cap,
                  void *user) {
  (void)n;
  (void)user;
  if (m->data.len < 8 || cap < 8) {
    return -1;
  }
  memcpy(out, m->data.data, 8);
  return 8;
}

/* ---- validation delays -------------------------------------------------- */

/* Close callback of handles whose data is the heap object that holds
 * them. */
static void free_data(uv_handle_t *h) {
  free(h->data);
}

typedef struct pending_validation {
  uv_timer_t timer;
  interop *ix;
  uint8_t id[8];
} pending_validation;

static const delay *delay_of(const interop *ix, const lp2p_bytes *topic) {
  for (size_t i = 0; i < ix->ndelays; i++) {
    if (strlen(ix->delays[i].topic) == topic->len &&
        memcmp(ix->delays[i].topic, topic->data, topic->len) == 0) {
      return &ix->delays[i];
    }
  }
  return NULL;
}

static void validation_done(uv_timer_t *t) {
  pending_validation *pv = t->data;
  interop *ix = pv->ix;
  if (ix->node && !ix->stopping) {
    (void)lp2p_router_report_validation(lp2p_node_router(ix->node), pv->id, 8,
                                        LP2P_VALIDATION_ACCEPT,
                                        lp2p_host_now());
    lp2p_node_flush(ix->node);
  }
  uv_close((uv_handle_t *)t, free_data);
}

static lp2p_validation validate(lp2p_node *n, const lp2p_message *m,
                                void *user) {
  (void)n;
  interop *ix = user;
  const delay *d = delay_of(ix, &m->topic);
  pending_validation *pv = d ? calloc(1, sizeof(*pv)) : NULL;
  if (!pv || m->id.len != 8) {
    free(pv);
    return LP2P_VALIDATION_ACCEPT;
  }
  pv->ix = ix;
  memcpy(pv->id, m->id.data, 8);
  uv_timer_init(&ix->loop, &pv->timer);
  pv->timer.data = pv;
  uv_timer_start(&pv->timer, validation_done, d->ns / LP2P_MILLISECONDS, 0);
  return LP2P_VALIDATION_PENDING;
}

/* ---- the node ----------------------------------------------------------- */

static int start_node(interop *ix, json_t *params) {
  static const lp2p_node_callbacks cb = {.validate = validate,
                                         .msg_id = msg_id,
                                         .received = on_received,
                                         .partial = on_partial,
                                         .partial_gossip = on_partial_gossip};
  lp2p_node_settings s;
  lp2p_node_settings_default(&s);
  s.host.key = &ix->key;
  s.host.max_connections = 4096;
  s.host.max_inbound = s.host.max_handshakes = 4096;
  s.host.conns_high_water = 0; /* the harness decides who connects */
  s.router.sign_policy = LP2P_STRICT_NO_SIGN;
  s.router.msg_id = LP2P_MSG_ID_CALLBACK;
  /* as the harness's go node: 10 MiB messages, 600 queued per peer */
  s.router.limits.max_rpc_size = 10u << 20;
  s.router.limits.max_message_size = (10u << 20) - 64;
  s.router.limits.queue_max_messages = 600;
  s.router.limits.queue_max_bytes = 64u << 20;
  /* as the suite's go node, which always has the extension */
  s.router.extensions.partial_messages = true;
  lp2p_errdetail err;
  if (params && cli_params_apply(params, &s.router.params, &err) != 0) {
    return cli_fail("initGossipSub: %s", err.msg);
  }
  if (lp2p_node_new(&ix->node, &ix->loop, &s, &cb, NULL, ix, &err) != 0) {
    return cli_fail("cannot start the node: %s", err.msg);
  }
  cli_partial_init(&ix->partial, ix->node, on_partial_event, ix);
  char text[64];
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  snprintf(text, sizeof(text), "/ip4/%s/%s/%d%s",
           ix->base_port ? "127.0.0.1" : "0.0.0.0", ix->quic ? "udp" : "tcp",
           ix->base_port ? ix->base_port + ix->node_id : HARNESS_PORT,
           ix->quic ? "/quic-v1" : "");
  int rv = lp2p_multiaddr_parse(text, &ma, NULL);
  if (rv == 0) {
    rv = lp2p_host_listen(lp2p_node_host(ix->node), ma.data, ma.len, &err);
  }
  lp2p_buf_free(&ma);
  return rv == 0 ? 0 : cli_fail("cannot listen on %s: %s", text, err.msg);
}

/* ---- connecting --------------------------------------------------------- */

typedef struct dial {
  interop *ix;
  int target;
  int tries;
  uv_timer_t retry;
} dial;

static void step(interop *ix);
static void dial_now(dial *d);

static void dial_finished(dial *d) {
  interop *ix = d->ix;
  uv_close((uv_handle_t *)&d->retry, free_data);
  if (--ix->pending_dials == 0) {
    step(ix);
  }
}

static void on_retry(uv_timer_t *t) {
  dial_now(t->data);
}

static void on_dialed(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                      void *user) {
  (void)h;
  (void)c;
  dial *d = user;
  if (err != 0 && ++d->tries < DIAL_RETRIES && !d->ix->stopping) {
    uv_timer_start(&d->retry, on_retry, 1000, 0); /* not up yet? */
    return;
  }
  if (err != 0) {
    fprintf(stderr, "lp2p: cannot connect to node%d: %s\n", d->target, msg);
  }
  dial_finished(d);
}

/* The address of node N: node<N>:9000 resolved, or 127.0.0.1:base+N. */
static int target_addr(const interop *ix, int target, char *ip, size_t cap) {
  if (ix->base_port) {
    snprintf(ip, cap, "127.0.0.1");
    return ix->base_port + target;
  }
  char host[32];
  snprintf(host, sizeof(host), "node%d", target);
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res;
  if (getaddrinfo(host, NULL, &hints, &res) != 0) {
    return -1;
  }
  inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip,
            (socklen_t)cap);
  freeaddrinfo(res);
  return HARNESS_PORT;
}

static void peer_of(int node_id, lp2p_privkey *key, lp2p_peer_id *id) {
  lp2p_pubkey pub;
  cli_key_from_seed((uint32_t)node_id, key);
  (void)lp2p_privkey_public(key, &pub);
  (void)lp2p_peer_id_from_pubkey(&pub, id);
}

static void dial_now(dial *d) {
  interop *ix = d->ix;
  char ip[64], text[256], pid[LP2P_PEER_ID_TEXT_MAX];
  lp2p_privkey k;
  lp2p_peer_id id;
  peer_of(d->target, &k, &id);
  lp2p_privkey_wipe(&k);
  cli_peer_text(&id, pid);
  int port = target_addr(ix, d->target, ip, sizeof(ip));
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  snprintf(text, sizeof(text), "/ip4/%s/%s/%d%s/p2p/%s", ip,
           ix->quic ? "udp" : "tcp", port, ix->quic ? "/quic-v1" : "", pid);
  lp2p_errdetail err;
  int rv =
      port < 0 ? LP2P_ERR_NOT_FOUND : lp2p_multiaddr_parse(text, &ma, &err);
  if (rv == 0) {
    rv = lp2p_host_dial(lp2p_node_host(ix->node), ma.data, ma.len, on_dialed, d,
                        &err);
  }
  lp2p_buf_free(&ma);
  if (rv != 0) {
    on_dialed(NULL, NULL, rv, port < 0 ? "cannot resolve it" : err.msg, d);
  }
}

static int connect_to(interop *ix, json_t *list) {
  size_t i;
  json_t *v;
  if (!json_is_array(list)) {
    return cli_fail("connect: connectTo must be a list of node ids");
  }
  json_array_foreach(list, i, v) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
      return cli_fail("connect: node ids are non-negative integers");
    }
  }
  json_array_foreach(list, i, v) {
    dial *d = calloc(1, sizeof(*d));
    if (!d) {
      return cli_fail("out of memory");
    }
    d->ix = ix;
    d->target = (int)json_integer_value(v);
    uv_timer_init(&ix->loop, &d->retry);
    d->retry.data = d;
    ix->pending_dials++;
    dial_now(d);
  }
  return 0;
}

/* ---- the script --------------------------------------------------------- */

enum { DONE = 0, WAIT = 1, FAILED = -1 };

static int publish(interop *ix, json_t *in) {
  json_int_t mid = json_integer_value(json_object_get(in, "messageID"));
  json_int_t size = json_integer_value(json_object_get(in, "messageSizeBytes"));
  const char *topic = json_string_value(json_object_get(in, "topicID"));
  if (!topic || size < 8 || size > (10 << 20) - 64) {
    return cli_fail("publish: needs topicID and 8 <= messageSizeBytes"), FAILED;
  }
  uint8_t *data = calloc(1, (size_t)size);
  if (!data) {
    return FAILED;
  }
  for (int i = 0; i < 8; i++) {
    data[i] = (uint8_t)((uint64_t)mid >> (56 - 8 * i));
  }
  int rv = lp2p_node_publish(ix->node, (const uint8_t *)topic, strlen(topic),
                             data, (size_t)size, NULL, NULL);
  free(data);
  if (rv < 0) {
    fprintf(stderr, "lp2p: publish %lld: %s\n", (long long)mid,
            lp2p_strerror(rv));
  }
  return DONE;
}

static int subscribe(interop *ix, json_t *in) {
  const char *t = json_string_value(json_object_get(in, "topicID"));
  if (!t) {
    return cli_fail("subscribeToTopic: bad topicID"), FAILED;
  }
  int rv = 0;
  if (json_is_true(json_object_get(in, "partial"))) {
    /* as go's RequestPartialMessages: the mode goes out in the
     * subscription */
    rv = lp2p_router_set_topic_partial(lp2p_node_router(ix->node),
                                       (const uint8_t *)t, strlen(t),
                                       LP2P_PARTIAL_REQUESTS);
  }
  if (rv == 0) {
    rv = lp2p_node_subscribe(ix->node, (const uint8_t *)t, strlen(t));
  }
  return rv == 0 ? DONE
                 : (cli_fail("subscribeToTopic %s: %s", t, lp2p_strerror(rv)),
                    FAILED);
}

/* groupID and parts of a partial-message instruction: the suite's group
 * ids are u64, parts a one-byte bitmap. */
static const char *partial_args(json_t *in, uint64_t *group, int *parts) {
  const char *topic = json_string_value(json_object_get(in, "topicID"));
  json_t *g = json_object_get(in, "groupID");
  json_t *p = json_object_get(in, "parts");
  if (!topic || !json_is_integer(g) || json_integer_value(g) < 0 ||
      (p && (!json_is_integer(p) || json_integer_value(p) < 0 ||
             json_integer_value(p) > (json_int_t)CLI_PARTIAL_ALL))) {
    return NULL;
  }
  *group = (uint64_t)json_integer_value(g);
  *parts = p ? (int)json_integer_value(p) : 0;
  return topic;
}

static int add_partial(interop *ix, json_t *in) {
  uint64_t group;
  int parts;
  const char *topic = partial_args(in, &group, &parts);
  if (!topic) {
    return cli_fail("addPartialMessage: needs topicID, groupID and parts "
                    "(0..255)"),
           FAILED;
  }
  int rv = cli_partial_add(&ix->partial, (const uint8_t *)topic, strlen(topic),
                           group, (uint8_t)parts);
  return rv == 0
             ? DONE
             : (cli_fail("addPartialMessage: %s", lp2p_strerror(rv)), FAILED);
}

#define MAX_PUBLISH_TO 64

static int publish_partial(interop *ix, json_t *in) {
  uint64_t group;
  int parts;
  const char *topic = partial_args(in, &group, &parts);
  json_t *to = json_object_get(in, "publishToNodeIDs");
  if (!topic || (to && !json_is_null(to) && !json_is_array(to)) ||
      json_array_size(to) > MAX_PUBLISH_TO) {
    return cli_fail("publishPartial: needs topicID, groupID and at most %d "
                    "publishToNodeIDs",
                    MAX_PUBLISH_TO),
           FAILED;
  }
  lp2p_peer_id peers[MAX_PUBLISH_TO];
  size_t n = 0, i;
  json_t *v;
  json_array_foreach(to, i, v) {
    lp2p_privkey k;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > INT32_MAX) {
      return cli_fail("publishPartial: node ids are integers"), FAILED;
    }
    peer_of((int)json_integer_value(v), &k, &peers[n++]);
    lp2p_privkey_wipe(&k);
  }
  int rv = cli_partial_publish(&ix->partial, (const uint8_t *)topic,
                               strlen(topic), group, peers, n);
  if (rv < 0) {
    fprintf(stderr, "lp2p: publishPartial %llu: %s\n",
            (unsigned long long)group, lp2p_strerror(rv));
  }
  return DONE;
}

static void on_wait(uv_timer_t *t) {
  step(t->data);
}

static int wait_until(interop *ix, json_t *in) {
  json_int_t s = json_integer_value(json_object_get(in, "elapsedSeconds"));
  lp2p_tstamp at = ix->start + (lp2p_tstamp)s * LP2P_SECONDS;
  lp2p_tstamp now = lp2p_host_now();
  if (at <= now) {
    return DONE;
  }
  uv_timer_start(&ix->timer, on_wait, (at - now) / LP2P_MILLISECONDS + 1, 0);
  return WAIT;
}

static int set_delay(interop *ix, json_t *in) {
  const char *topic = json_string_value(json_object_get(in, "topicID"));
  double secs = json_number_value(json_object_get(in, "delaySeconds"));
  if (!topic || strlen(topic) >= sizeof(ix->delays[0].topic) || secs < 0 ||
      ix->ndelays == MAX_DELAYS) {
    return cli_fail("setTopicValidationDelay: bad topicID or delaySeconds"),
           FAILED;
  }
  delay *d = &ix->delays[ix->ndelays++];
  snprintf(d->topic, sizeof(d->topic), "%s", topic);
  d->ns = (lp2p_tstamp)(secs * 1e9);
  return DONE;
}

static int run_one(interop *ix, json_t *in) {
  const char *type = json_string_value(json_object_get(in, "type"));
  if (!type) {
    return cli_fail("a script instruction without a type"), FAILED;
  }
  if (strcmp(type, "initGossipSub") == 0) {
    return ix->node                                                 ? DONE
           : start_node(ix, json_object_get(in, "gossipSubParams")) ? FAILED
                                                                    : DONE;
  }
  if (strcmp(type, "ifNodeIDEquals") == 0) {
    /* before the node check: the suite wraps each node's initGossipSub
     * in one (its spread heartbeat delays) */
    json_int_t id = json_integer_value(json_object_get(in, "nodeID"));
    return id == ix->node_id ? run_one(ix, json_object_get(in, "instruction"))
                             : DONE;
  }
  if (!ix->node) {
    return cli_fail("'%s' before initGossipSub", type), FAILED;
  }
  if (strcmp(type, "connect") == 0) {
    if (connect_to(ix, json_object_get(in, "connectTo")) != 0) {
      return FAILED;
    }
    return ix->pending_dials ? WAIT : DONE;
  }
  if (strcmp(type, "subscribeToTopic") == 0) {
    return subscribe(ix, in);
  }
  if (strcmp(type, "addPartialMessage") == 0) {
    return add_partial(ix, in);
  }
  if (strcmp(type, "publishPartial") == 0) {
    return publish_partial(ix, in);
  }
  if (strcmp(type, "publish") == 0) {
    return publish(ix, in);
  }
  if (strcmp(type, "waitUntil") == 0) {
    return wait_until(ix, in);
  }
  if (strcmp(type, "setTopicValidationDelay") == 0) {
    return set_delay(ix, in);
  }
  return cli_fail("unsupported instruction '%s'", type), FAILED;
}

static void finish(interop *ix, int status) {
  if (ix->stopping) {
    return;
  }
  ix->stopping = true;
  ix->status = status;
  uv_close((uv_handle_t *)&ix->timer, NULL);
  uv_close((uv_handle_t *)&ix->sigint, NULL);
  uv_close((uv_handle_t *)&ix->sigterm, NULL);
  cli_ignore_stop_signals();
  if (ix->node) {
    lp2p_node_close(ix->node, NULL, NULL);
  }
}

static void step(interop *ix) {
  while (!ix->stopping && ix->pc < json_array_size(ix->script)) {
    int rv = run_one(ix, json_array_get(ix->script, ix->pc++));
    if (rv == FAILED) {
      finish(ix, 1);
      return;
    }
    if (rv == WAIT) {
      return; /* a timer or the dials resume the script */
    }
  }
  finish(ix, 0);
}

/* ---- setup -------------------------------------------------------------- */

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  finish(s->data, 0);
}

static int parse(interop *ix, int argc, char **argv, const char **params) {
  ix->node_id = -1;
  for (int i = 0; i + 1 < argc; i += 2) {
    const char *opt = argv[i], *v = argv[i + 1];
    uint64_t n = 0;
    int rv = 0;
    if (strcmp(opt, "--params") == 0) {
      *params = v;
    } else if (strcmp(opt, "--node-id") == 0) {
      rv = cli_parse_uint(&cli_cmd_interop, opt, v, 0, 999999, &n);
      ix->node_id = (int)n;
    } else if (strcmp(opt, "--local-base-port") == 0) {
      rv = cli_parse_uint(&cli_cmd_interop, opt, v, 1, 59999, &n);
      ix->base_port = (int)n;
    } else if (strcmp(opt, "--transport") == 0) {
      ix->quic = strcmp(v, "quic") == 0;
      if (!ix->quic && strcmp(v, "tcp") != 0) {
        return cli_usage_error(&cli_cmd_interop, "--transport is tcp or quic");
      }
    } else {
      return cli_usage_error(&cli_cmd_interop, "unexpected argument");
    }
    if (rv != 0) {
      return rv;
    }
  }
  if (argc % 2 || !*params) {
    return cli_usage_error(&cli_cmd_interop, "--params FILE is required");
  }
  char host[256];
  if (ix->node_id < 0 && (gethostname(host, sizeof(host)) != 0 ||
                          sscanf(host, "node%d", &ix->node_id) != 1)) {
    return cli_fail("no --node-id, and the hostname is not node<N>");
  }
  return 0;
}

static int load(interop *ix, const char *path) {
  json_error_t jerr;
  ix->root = json_load_file(path, 0, &jerr);
  if (!ix->root) {
    return cli_fail("'%s': %s (line %d)", path, jerr.text, jerr.line);
  }
  ix->script = json_object_get(ix->root, "script");
  if (!json_is_array(ix->script)) {
    return cli_fail("'%s': no script list", path);
  }
  return 0;
}

static int run(int argc, char **argv) {
  interop *ix = calloc(1, sizeof(*ix));
  const char *params = NULL;
  if (!ix) {
    return cli_fail("out of memory");
  }
  ix->start = lp2p_host_now();
  int rv = parse(ix, argc, argv, &params);
  if (rv == 0) {
    rv = load(ix, params);
  }
  if (rv == 0 && uv_loop_init(&ix->loop) != 0) {
    rv = cli_fail("cannot start the event loop");
  }
  if (rv == 0) {
    peer_of(ix->node_id, &ix->key, &ix->peer_id);
    char id[LP2P_PEER_ID_TEXT_MAX];
    cli_peer_text(&ix->peer_id, id);
    log_start("PeerID");
    printf(",\"id\":\"%s\",\"node_id\":%d}\n", id, ix->node_id);
    fflush(stdout);
    uv_timer_init(&ix->loop, &ix->timer);
    ix->timer.data = ix;
    uv_signal_init(&ix->loop, &ix->sigint);
    uv_signal_init(&ix->loop, &ix->sigterm);
    ix->sigint.data = ix->sigterm.data = ix;
    uv_signal_start(&ix->sigint, on_signal, SIGINT);
    uv_signal_start(&ix->sigterm, on_signal, SIGTERM);
    /* the node listens from the start, so that peers may connect before
     * this node reaches its own initGossipSub */
    json_t *first = json_array_get(ix->script, 0);
    const char *type = json_string_value(json_object_get(first, "type"));
    if (type && strcmp(type, "initGossipSub") == 0) {
      if (run_one(ix, first) == FAILED) {
        finish(ix, 1);
      }
    }
    step(ix);
    uv_run(&ix->loop, UV_RUN_DEFAULT);
    uv_loop_close(&ix->loop);
    cli_partial_free(&ix->partial);
    rv = ix->status;
  }
  lp2p_privkey_wipe(&ix->key);
  json_decref(ix->root);
  free(ix);
  return rv;
}

const cli_command cli_cmd_interop = {
    "interop",
    "run a node of the gossipsub-interop test harness",
    "usage: lp2p interop --params FILE [--node-id N]\n"
    "                    [--local-base-port PORT] [--transport tcp|quic]\n\n"
    "Runs the script of a libp2p/test-plans gossipsub-interop params.json\n"
    "(initGossipSub, connect, subscribeToTopic, setTopicValidationDelay,\n"
    "waitUntil, publish, ifNodeIDEquals, addPartialMessage, publishPartial)\n"
    "as node N (default: from the hostname node<N>), with the Ed25519 key\n"
    "whose seed is N as a little-endian int32. Listens on\n"
    "/ip4/0.0.0.0/tcp/9000 and reaches node M at node<M>:9000, as under\n"
    "Shadow; --local-base-port runs every node on 127.0.0.1 instead, node M\n"
    "on PORT + M. --transport quic (default tcp) listens and dials over\n"
    "QUIC v1 instead, /udp/9000/quic-v1 (or /udp/PORT+M/quic-v1): every\n"
    "node of a run must be given the same transport. Logs JSON lines on\n"
    "stdout: \"PeerID\" at start and \"Received Message\" (id, from,\n"
    "topic) for every copy of a message received. Exits when the script\n"
    "ends.\n\n"
    "Partial messages (subscribeToTopic with partial: true) follow the\n"
    "suite's test application: 8 parts of 1024 bytes, a one-byte bitmap as\n"
    "metadata, an 8-byte big-endian group id, parts sent as\n"
    "[bitmap][parts][group id]. A node merges the parts it gets, tells its\n"
    "mesh when it has more, and answers a peer whose bitmap differs with\n"
    "the parts it lacks; publishPartial with publishToNodeIDs sends those\n"
    "peers every part at once (the fanout scenario). \"All parts\n"
    "received\" (topic, group id) is logged when a group is complete.\n",
    run,
    NULL,
};
