/* The router's cost per received-and-forwarded message: one router with a
 * mesh of D peers receives N new messages from a peer outside its mesh and
 * forwards each to its D mesh peers; the loop includes decoding, the seen
 * and message caches, IDONTWANT, queueing and encoding the outgoing RPCs.
 * Run under callgrind with --toggle-collect=bench_loop to count
 * instructions (bench/run-router.sh does both). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp2p/lp2p.h"
#include "lp2p/sim.h"
#include "pb/rpc.h"

#define TOPIC "bench"

typedef struct bench {
  lp2p_router *r;
  lp2p_peer_id peers[64];
  int npeers, source;
  uint8_t **rpcs;
  size_t *rpc_len;
  size_t n;
  uint64_t forwarded;
} bench;

static void rand_zero(uint8_t *dest, size_t len, void *user) {
  uint64_t *ctr = user;
  for (size_t i = 0; i < len; i++) {
    *ctr = *ctr * 6364136223846793005u + 1442695040888963407u;
    dest[i] = (uint8_t)(*ctr >> 56);
  }
}

static int id_first8(lp2p_router *r, const lp2p_message *m, uint8_t *out,
                     size_t cap, void *user) {
  (void)r;
  (void)user;
  if (m->data.len < 8 || cap < 8) {
    return -1;
  }
  memcpy(out, m->data.data, 8);
  return 8;
}

static void make_key(uint8_t seed, lp2p_privkey *k, lp2p_peer_id *id) {
  uint8_t s[32] = {seed, 0x42};
  lp2p_pubkey pub;
  lp2p_privkey_from_seed(LP2P_KEY_ED25519, s, k);
  lp2p_privkey_public(k, &pub);
  lp2p_peer_id_from_pubkey(&pub, id);
}

/* One RPC carrying message `k`, signed by `author` when `sign`. */
static void make_rpc(bench *b, size_t k, size_t size, bool sign,
                     const lp2p_privkey *author, const lp2p_peer_id *aid) {
  uint8_t *data = calloc(1, size), seqno[8], sig[LP2P_SIG_MAX];
  size_t sig_len;
  lp2p_buf msg, rpc;
  lp2p_buf_init(&msg, NULL);
  lp2p_buf_init(&rpc, NULL);
  for (int i = 0; i < 8; i++) {
    data[i] = seqno[i] = (uint8_t)(k >> (56 - 8 * i));
  }
  lp2p_rpc_msg f = {0};
  f.data = (lp2p_bytes){data, size};
  f.topic = (lp2p_bytes){(const uint8_t *)TOPIC, strlen(TOPIC)};
  if (sign) {
    f.from = (lp2p_bytes){aid->bytes, aid->len};
    f.seqno = (lp2p_bytes){seqno, 8};
    lp2p_buf_append_str(&msg, "libp2p-pubsub:");
    lp2p_rpc_put_message_body(&msg, &f);
    lp2p_privkey_sign(author, msg.data, msg.len, sig, &sig_len);
    f.signature = (lp2p_bytes){sig, sig_len};
    lp2p_buf_truncate(&msg, 0);
  }
  lp2p_rpc_put_message_body(&msg, &f);
  lp2p_rpc_put_publish(&rpc, msg.data, msg.len);
  b->rpcs[k] = rpc.data;
  b->rpc_len[k] = rpc.len;
  lp2p_buf_free(&msg);
  free(data);
}

/* Writes whatever the router has, to whichever peer, as a host would. */
static void drain(bench *b, lp2p_tstamp now) {
  const lp2p_peer_id *peer;
  const uint8_t *out;
  void *peer_user;
  while (lp2p_router_pull_next(b->r, &peer, &peer_user, &out, now) > 0) {
  }
}

/* Scoring as the simulator's Ethereum-like defaults set it up. */
static void score_settings(lp2p_router_settings *s) {
  lp2p_topic_score_params tp;
  s->scoring = true;
  lp2p_sim_score_params_default(&s->score, &tp);
}

static void score_topic(lp2p_router *r, const char *topic) {
  lp2p_score_params p;
  lp2p_topic_score_params tp;
  lp2p_sim_score_params_default(&p, &tp);
  /* the mesh peers of the benchmark never send: P3 would prune them all
   * and change what is measured; its counters still run */
  tp.mesh_message_deliveries_weight = 0;
  tp.mesh_failure_penalty_weight = 0;
  lp2p_router_set_topic_score_params(r, (const uint8_t *)topic, strlen(topic),
                                     &tp, NULL);
}

static bool scoring;

static int setup(bench *b, int degree, size_t n, size_t size, bool sign) {
  static uint64_t ctr = 7;
  lp2p_router_settings s;
  lp2p_router_callbacks cb = {0};
  lp2p_peer_id self;
  lp2p_router_settings_default(&s);
  make_key(1, &s.key, &self);
  s.rand_fn = rand_zero;
  s.rand_user = &ctr;
  s.params.mesh.d = degree;
  s.params.mesh.d_lo = degree;
  s.params.mesh.d_hi = 2 * degree;
  s.params.mesh.d_score = degree / 2;
  s.params.mesh.d_out = degree / 4;
  s.sign_policy = sign ? LP2P_STRICT_SIGN : LP2P_STRICT_NO_SIGN;
  s.msg_id = sign ? LP2P_MSG_ID_FROM_SEQNO : LP2P_MSG_ID_CALLBACK;
  cb.msg_id = id_first8;
  if (scoring) {
    score_settings(&s);
  }
  if (lp2p_router_new(&b->r, &s, &cb, NULL, b, 0, NULL) != 0) {
    return -1;
  }
  if (scoring) {
    score_topic(b->r, TOPIC);
  }
  /* setup traffic (subscriptions, grafts) is not measured */
  b->npeers = degree + 1;
  for (int i = 0; i < b->npeers; i++) {
    lp2p_privkey k;
    lp2p_peer_info info = {LP2P_MESHSUB_12,     i % 2 == 0, false, {0},
                           (void *)(intptr_t)i, NULL};
    make_key((uint8_t)(10 + i), &k, &b->peers[i]);
    lp2p_router_add_peer(b->r, &b->peers[i], &info, 0);
    lp2p_buf sub;
    lp2p_buf_init(&sub, NULL);
    lp2p_rpc_put_sub(&sub, true, (const uint8_t *)TOPIC, strlen(TOPIC));
    lp2p_router_recv_rpc(b->r, &b->peers[i], sub.data, sub.len, 0);
    lp2p_buf_free(&sub);
  }
  lp2p_router_join(b->r, (const uint8_t *)TOPIC, strlen(TOPIC), 0);
  /* the source is the one peer left out of the mesh */
  lp2p_peer_id mesh[64];
  size_t nm = lp2p_router_mesh_peers(b->r, (const uint8_t *)TOPIC,
                                     strlen(TOPIC), mesh, 64);
  for (int i = 0; i < b->npeers; i++) {
    bool in = false;
    for (size_t j = 0; j < nm; j++) {
      in = in || lp2p_peer_id_equal(&mesh[j], &b->peers[i]);
    }
    if (!in) {
      b->source = i;
    }
  }
  drain(b, 0);
  b->n = n;
  b->rpcs = calloc(n, sizeof(*b->rpcs));
  b->rpc_len = calloc(n, sizeof(*b->rpc_len));
  lp2p_privkey author;
  lp2p_peer_id aid;
  make_key(200, &author, &aid);
  for (size_t k = 0; k < n; k++) {
    make_rpc(b, k, size, sign, &author, &aid);
  }
  return nm == (size_t)degree ? 0 : -1;
}

/* The measured loop: receive, forward, encode. One heartbeat per second
 * of virtual time keeps the caches at their steady size. */
__attribute__((noinline)) void bench_loop(bench *b);
__attribute__((noinline)) void bench_loop(bench *b) {
  for (size_t k = 0; k < b->n; k++) {
    lp2p_tstamp now = (lp2p_tstamp)k * LP2P_MILLISECONDS;
    lp2p_router_recv_rpc(b->r, &b->peers[b->source], b->rpcs[k], b->rpc_len[k],
                         now);
    drain(b, now);
    if (lp2p_router_expiry(b->r) <= now) {
      lp2p_router_handle_expiry(b->r, now);
      drain(b, now);
    }
  }
}

/* The heartbeat with `npeers` peers in `ntopics` topics, all joined. */
static lp2p_router *heartbeat_setup(int npeers, int ntopics) {
  static uint64_t ctr = 9;
  lp2p_router_settings s;
  lp2p_router_callbacks cb = {0};
  lp2p_router *r;
  lp2p_peer_id self;
  lp2p_router_settings_default(&s);
  make_key(1, &s.key, &self);
  s.rand_fn = rand_zero;
  s.rand_user = &ctr;
  if (scoring) {
    score_settings(&s);
  }
  if (lp2p_router_new(&r, &s, &cb, NULL, NULL, 0, NULL) != 0) {
    return NULL;
  }
  for (int t = 0; t < ntopics; t++) {
    char topic[16];
    snprintf(topic, sizeof(topic), "topic-%d", t);
    if (scoring) {
      score_topic(r, topic);
    }
    lp2p_router_join(r, (const uint8_t *)topic, strlen(topic), 0);
  }
  for (int i = 0; i < npeers; i++) {
    lp2p_privkey k;
    lp2p_peer_id id;
    lp2p_peer_info info = {LP2P_MESHSUB_12, i % 3 == 0, false, {0}, NULL, NULL};
    lp2p_buf sub;
    make_key((uint8_t)(i % 250), &k, &id);
    id.bytes[id.len - 1] ^= (uint8_t)(i / 250); /* distinct past 250 */
    lp2p_router_add_peer(r, &id, &info, 0);
    lp2p_buf_init(&sub, NULL);
    for (int t = 0; t < ntopics; t++) {
      char topic[16];
      snprintf(topic, sizeof(topic), "topic-%d", t);
      lp2p_rpc_put_sub(&sub, true, (const uint8_t *)topic, strlen(topic));
    }
    lp2p_router_recv_rpc(r, &id, sub.data, sub.len, 0);
    lp2p_buf_free(&sub);
  }
  return r;
}

__attribute__((noinline)) void bench_heartbeats(lp2p_router *r, int beats);
__attribute__((noinline)) void bench_heartbeats(lp2p_router *r, int beats) {
  for (int i = 0; i < beats; i++) {
    lp2p_tstamp now = lp2p_router_expiry(r);
    lp2p_router_handle_expiry(r, now);
    const lp2p_peer_id *peer;
    const uint8_t *out;
    void *user;
    while (lp2p_router_pull_next(r, &peer, &user, &out, now) > 0) {
    }
  }
}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The hashing a message id of sha2-256 would add, reported apart. */
static double sha256_ns(size_t size) {
  uint8_t *data = calloc(1, size), h[32];
  double t0 = seconds();
  for (int i = 0; i < 100000; i++) {
    data[0] = (uint8_t)i;
    crypto_hash_sha256(h, data, size);
  }
  double ns = (seconds() - t0) * 1e9 / 100000;
  free(data);
  return ns;
}

int main(int argc, char **argv) {
  bench b = {0};
  size_t n = 20000, size = 1024;
  int degree = 8, heartbeats = 0;
  bool sign = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--sign") == 0) {
      sign = true;
    } else if (strcmp(argv[i], "--score") == 0) {
      scoring = true;
    } else if (strcmp(argv[i], "--heartbeats") == 0 && i + 1 < argc) {
      heartbeats = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc) {
      n = strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
      size = strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--degree") == 0 && i + 1 < argc) {
      degree = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: bench_router [--sign] [--score] [--messages N] "
                      "[--size BYTES] [--degree D] [--heartbeats N]\n");
      return 2;
    }
  }
  if (heartbeats > 0) {
    /* 200 peers in 10 topics: the cost of one heartbeat */
    lp2p_router *r = heartbeat_setup(200, 10);
    if (!r) {
      return 1;
    }
    bench_heartbeats(r, 5); /* meshes form first */
    double t0 = seconds();
    bench_heartbeats(r, heartbeats);
    double dt = seconds() - t0;
    printf("{\"heartbeats\":%d,\"peers\":200,\"topics\":10,\"score\":%s,"
           "\"us_per_heartbeat\":%.1f}\n",
           heartbeats, scoring ? "true" : "false", dt * 1e6 / heartbeats);
    lp2p_router_del(r);
    return 0;
  }
  if (sodium_init() < 0 || degree < 4 || degree > 60 || size < 8 ||
      setup(&b, degree, n, size, sign) != 0) {
    fprintf(stderr, "bench_router: setup failed\n");
    return 1;
  }
  double t0 = seconds();
  bench_loop(&b);
  double dt = seconds() - t0;
  lp2p_router_stats st;
  lp2p_router_get_stats(b.r, &st);
  printf("{\"messages\":%zu,\"size\":%zu,\"degree\":%d,\"sign\":%s,"
         "\"score\":%s,"
         "\"forwarded\":%llu,\"ns_per_message\":%.0f,"
         "\"ns_per_forward\":%.1f,\"sha256_ns\":%.0f}\n",
         n, size, degree, sign ? "true" : "false", scoring ? "true" : "false",
         (unsigned long long)st.msgs_forwarded, dt * 1e9 / (double)n,
         dt * 1e9 / (double)st.msgs_forwarded, sha256_ns(size));
  for (size_t k = 0; k < n; k++) {
    free(b.rpcs[k]);
  }
  free(b.rpcs);
  free(b.rpc_len);
  lp2p_router_del(b.r);
  return st.msgs_forwarded == (uint64_t)n * (uint64_t)degree ? 0 : 1;
}
