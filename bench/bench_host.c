/* Host benchmarks, the lp2p side of bench/run-host.sh and run-node.sh:
 *   bench_host chacha               single-core ChaCha20-Poly1305 speed
 *                                   (libsodium), the bound of a stream, by
 *                                   the clock and by CPU time (cpu_MBps)
 *   bench_host ed25519              single-core Ed25519 signatures and
 *                                   verifications per second of 1 KiB
 *                                   messages (libsodium, as lp2p signs and
 *                                   verifies), the bound of a signed topic
 *   bench_host sink [--muxer M] [--listen MA]
 *                                   a host that reads and drops every byte
 *                                   of /bench/sink/1.0.0 streams, listening
 *                                   on MA (default /ip4/127.0.0.1/tcp/0;
 *                                   /ip4/127.0.0.1/udp/0/quic-v1 for QUIC);
 *                                   prints its listen address, then its RSS
 *                                   on SIGUSR1 and exits on SIGTERM
 *   bench_host send MA BYTES [--muxer M]
 *                                   one stream of BYTES to a sink (over
 *                                   the transport of MA), timed
 *                                   from the first write to the sink's end
 *                                   (and the sender's CPU seconds, cpu_s)
 *   bench_host conns MA N           N hosts (N identities) in this process,
 *                                   each connected to MA; prints the time
 *                                   until all are upgraded and identified
 *                                   or failed or closed by the listener
 *                                   ("lost"; at most 60 s: the rest are
 *                                   "pending"), then waits for SIGTERM
 * One JSON object per line on stdout. */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "lp2p/lp2p.h"

#define SINK_PROTOCOL "/bench/sink/1.0.0"

static double now_s(void) {
  return (double)uv_hrtime() / 1e9;
}

/* CPU seconds of this process (user + system): on a machine shared with
 * other work, what a run cost rather than how long it waited for a core. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof(line), f)) {
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) {
      break;
    }
  }
  if (f) {
    fclose(f);
  }
  return kib;
}

static lp2p_muxers parse_muxer(int argc, char **argv) {
  for (int i = 0; i + 1 < argc; i++) {
    if (strcmp(argv[i], "--muxer") == 0) {
      return strcmp(argv[i + 1], "mplex") == 0 ? LP2P_MUXERS_MPLEX
                                               : LP2P_MUXERS_YAMUX;
    }
  }
  return LP2P_MUXERS_YAMUX;
}

/* The sink's --listen address (the transport follows from it). */
static const char *parse_listen(int argc, char **argv) {
  for (int i = 0; i + 1 < argc; i++) {
    if (strcmp(argv[i], "--listen") == 0) {
      return argv[i + 1];
    }
  }
  return "/ip4/127.0.0.1/tcp/0";
}

static lp2p_host *new_host(uv_loop_t *loop, lp2p_muxers muxers,
                           const lp2p_host_callbacks *cb, void *user) {
  lp2p_privkey key;
  lp2p_host_settings s;
  lp2p_host *h;
  if (lp2p_privkey_generate(LP2P_KEY_ED25519, lp2p_host_rand, NULL, &key)) {
    return NULL;
  }
  lp2p_host_settings_default(&s);
  s.key = &key;
  s.muxers = muxers;
  s.max_connections = 100000;
  /* 1,000 connections from one process at once: no inbound, handshake or
   * trimming limit (loopback is not limited per IP) */
  s.max_inbound = s.max_handshakes = 100000;
  s.conns_high_water = 0;
  int rv = lp2p_host_new(&h, loop, &s, cb, NULL, user);
  lp2p_privkey_wipe(&key);
  return rv == 0 ? h : NULL;
}

/* ---- chacha ------------------------------------------------------------- */

static int run_chacha(void) {
  static uint8_t buf[65535], out[65535 + 16];
  uint8_t key[32] = {1}, nonce[12] = {0};
  unsigned long long outlen;
  size_t total = 0;
  double t0 = now_s(), c0 = cpu_s(), t;
  do {
    for (int i = 0; i < 256; i++) {
      nonce[0]++;
      crypto_aead_chacha20poly1305_ietf_encrypt(out, &outlen, buf, 65519, NULL,
                                                0, NULL, nonce, key);
      total += 65519;
    }
    t = now_s() - t0;
  } while (t < 2.0);
  printf("{\"chacha20poly1305_MBps\":%.1f,\"cpu_MBps\":%.1f}\n",
         (double)total / t / 1e6, (double)total / (cpu_s() - c0) / 1e6);
  return 0;
}

/* ---- ed25519 ----------------------------------------------------------- */

static int run_ed25519(void) {
  static uint8_t msg[1024];
  uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  uint8_t sig[crypto_sign_BYTES];
  crypto_sign_keypair(pk, sk);
  randombytes_buf(msg, sizeof(msg));
  unsigned long signs = 0, verifies = 0, bad = 0;
  double t0 = now_s(), ts, tv;
  do {
    for (int i = 0; i < 256; i++) {
      msg[i] ^= 1; /* a different message each time */
      crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
    }
    signs += 256;
    ts = now_s() - t0;
  } while (ts < 1.0);
  t0 = now_s();
  do {
    for (int i = 0; i < 256; i++) {
      bad += crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0;
    }
    verifies += 256;
    tv = now_s() - t0;
  } while (tv < 2.0);
  printf("{\"ed25519_sign_per_s\":%.0f,\"ed25519_verify_per_s\":%.0f,"
         "\"message_bytes\":%zu,\"failed\":%lu}\n",
         (double)signs / ts, (double)verifies / tv, sizeof(msg), bad);
  return bad ? 1 : 0;
}

/* ---- sink --------------------------------------------------------------- */

typedef struct sink_run {
  uv_loop_t loop;
  lp2p_host *host;
  uv_signal_t usr1, term;
  uint8_t buf[1 << 16];
} sink_run;

static void sink_readable(lp2p_stream *s, void *user) {
  sink_run *r = user;
  bool eof = false;
  while (lp2p_stream_read(s, r->buf, sizeof(r->buf), &eof) > 0) {
  }
  if (eof) {
    (void)lp2p_stream_close(s);
  }
}

static void sink_handler(lp2p_stream *s, void *user) {
  static const lp2p_stream_callbacks cb = {.readable = sink_readable};
  lp2p_stream_set_callbacks(s, &cb, user);
}

static void on_usr1(uv_signal_t *s, int sig) {
  (void)sig;
  sink_run *r = s->data;
  lp2p_host_stats st;
  lp2p_host_get_stats(r->host, &st);
  printf("{\"rss_kib\":%ld,\"conns\":%zu,\"identify_timeouts\":%llu,"
         "\"identify_failed\":%llu,\"quic_send_dropped\":%llu}\n",
         rss_kib(), lp2p_host_num_conns(r->host),
         (unsigned long long)st.identify_timeouts,
         (unsigned long long)st.identify_failed,
         (unsigned long long)st.quic_send_dropped);
  fflush(stdout);
}

static void on_term(uv_signal_t *s, int sig) {
  (void)sig;
  sink_run *r = s->data;
  uv_close((uv_handle_t *)&r->usr1, NULL);
  uv_close((uv_handle_t *)&r->term, NULL);
  lp2p_host_close(r->host, NULL, NULL);
}

static int run_sink(int argc, char **argv) {
  static sink_run r;
  uv_loop_init(&r.loop);
  r.host = new_host(&r.loop, parse_muxer(argc, argv), NULL, &r);
  lp2p_buf ma, addrs;
  lp2p_buf_init(&ma, NULL);
  lp2p_buf_init(&addrs, NULL);
  if (!r.host || lp2p_multiaddr_parse(parse_listen(argc, argv), &ma, NULL) ||
      lp2p_host_listen(r.host, ma.data, ma.len, NULL) ||
      lp2p_host_set_handler(r.host, SINK_PROTOCOL, sink_handler, &r) ||
      lp2p_host_listen_addrs(r.host, true, &addrs) < 1) {
    fprintf(stderr, "bench_host: cannot start the sink\n");
    return 1;
  }
  uint64_t len;
  int hdr = lp2p_uvarint_decode(addrs.data, addrs.len, &len);
  lp2p_buf text;
  lp2p_buf_init(&text, NULL);
  lp2p_multiaddr_format(addrs.data + hdr, (size_t)len, &text, NULL);
  printf("{\"addr\":\"%s\",\"rss_kib\":%ld}\n", (const char *)text.data,
         rss_kib());
  fflush(stdout);
  uv_signal_init(&r.loop, &r.usr1);
  uv_signal_init(&r.loop, &r.term);
  r.usr1.data = r.term.data = &r;
  uv_signal_start(&r.usr1, on_usr1, SIGUSR1);
  uv_signal_start(&r.term, on_term, SIGTERM);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  return 0;
}

/* ---- send --------------------------------------------------------------- */

typedef struct send_run {
  uv_loop_t loop;
  lp2p_host *host;
  lp2p_stream *s;
  uint64_t total, sent;
  double t0, t1, c0, c1; /* wall and CPU time */
  uint8_t chunk[1 << 16];
  int err;
} send_run;

static void send_pump(lp2p_stream *s, void *user) {
  send_run *r = user;
  while (r->sent < r->total) {
    uint64_t left = r->total - r->sent;
    size_t n = left < sizeof(r->chunk) ? (size_t)left : sizeof(r->chunk);
    ssize_t w = lp2p_stream_write(s, r->chunk, n);
    if (w <= 0) {
      return;
    }
    r->sent += (uint64_t)w;
  }
  (void)lp2p_stream_close(s);
}

static void send_readable(lp2p_stream *s, void *user) {
  (void)user;
  uint8_t b[64];
  while (lp2p_stream_read(s, b, sizeof(b), NULL) > 0) {
  }
}

static void send_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  send_run *r = user;
  r->t1 = now_s();
  r->c1 = cpu_s();
  r->err = why == LP2P_STREAM_END_CLOSED ? 0 : 1;
  lp2p_host_close(r->host, NULL, NULL);
}

static void send_open(lp2p_conn *c, lp2p_stream *s, int err, void *user) {
  (void)c;
  static const lp2p_stream_callbacks cb = {
      .readable = send_readable, .writable = send_pump, .closed = send_closed};
  send_run *r = user;
  if (err) {
    r->err = err;
    lp2p_host_close(r->host, NULL, NULL);
    return;
  }
  r->s = s;
  lp2p_stream_set_callbacks(s, &cb, r);
  r->t0 = now_s();
  r->c0 = cpu_s();
  send_pump(s, r);
}

static void send_dialed(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                        void *user) {
  (void)h;
  send_run *r = user;
  static const char *const protos[] = {SINK_PROTOCOL};
  if (err || lp2p_conn_open_stream(c, protos, 1, send_open, r) != 0) {
    fprintf(stderr, "bench_host: %s\n", err ? msg : "cannot open a stream");
    r->err = 1;
    lp2p_host_close(r->host, NULL, NULL);
  }
}

static int run_send(int argc, char **argv) {
  static send_run r;
  if (argc < 2) {
    return 2;
  }
  r.total = strtoull(argv[1], NULL, 10);
  memset(r.chunk, 0x5a, sizeof(r.chunk));
  uv_loop_init(&r.loop);
  r.host = new_host(&r.loop, parse_muxer(argc, argv), NULL, &r);
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  if (!r.host || lp2p_multiaddr_parse(argv[0], &ma, NULL) ||
      lp2p_host_dial(r.host, ma.data, ma.len, send_dialed, &r, NULL)) {
    fprintf(stderr, "bench_host: cannot dial %s\n", argv[0]);
    return 1;
  }
  uv_run(&r.loop, UV_RUN_DEFAULT);
  if (r.err) {
    return 1;
  }
  double secs = r.t1 - r.t0;
  printf("{\"bytes\":%llu,\"seconds\":%.4f,\"MBps\":%.1f,\"cpu_s\":%.4f}\n",
         (unsigned long long)r.sent, secs, (double)r.sent / secs / 1e6,
         r.c1 - r.c0);
  return 0;
}

/* ---- conns -------------------------------------------------------------- */

typedef struct conns_run {
  uv_loop_t loop;
  lp2p_host **hosts;
  int n, identified, failed, dialed;
  int lost; /* dialed, then closed before identify (by the listener) */
  bool printed;
  double t0;
  uv_signal_t term;
  uv_timer_t deadline;
} conns_run;

/* Dials neither identified nor failed by then are reported as pending
 * (a dial that hangs must not hang the benchmark). */
#define CONNS_DEADLINE_MS 60000

/* Prints the line once every dial is identified or failed (a failed one
 * is never identified: waiting for all would never end). */
static void conns_print(conns_run *r) {
  /* pending: dialed (connected, or not yet) but not identified; what
   * the dialers' hosts counted says why */
  uint64_t id_timeouts = 0, id_failed = 0, dropped = 0;
  for (int i = 0; i < r->n; i++) {
    lp2p_host_stats st;
    lp2p_host_get_stats(r->hosts[i], &st);
    id_timeouts += st.identify_timeouts;
    id_failed += st.identify_failed;
    dropped += st.quic_send_dropped;
  }
  printf("{\"connections\":%d,\"seconds\":%.3f,\"failed\":%d,"
         "\"lost\":%d,\"pending\":%d,\"pending_connected\":%d,"
         "\"identify_timeouts\":%llu,\"identify_failed\":%llu,"
         "\"quic_send_dropped\":%llu}\n",
         r->identified, now_s() - r->t0, r->failed, r->lost,
         r->n - r->identified - r->failed - r->lost,
         r->dialed - r->identified - r->lost, (unsigned long long)id_timeouts,
         (unsigned long long)id_failed, (unsigned long long)dropped);
  fflush(stdout);
  r->printed = true;
  uv_timer_stop(&r->deadline);
}

static void conns_settled(conns_run *r) {
  if (!r->printed && r->identified + r->failed + r->lost == r->n) {
    conns_print(r);
  }
}

static void conns_deadline(uv_timer_t *t) {
  conns_run *r = t->data;
  if (!r->printed) {
    conns_print(r);
  }
}

static void conns_identified(lp2p_host *h, lp2p_conn *c, void *user) {
  (void)h;
  (void)c;
  conns_run *r = user;
  r->identified++;
  conns_settled(r);
}

/* A connection the listener closed before identify completed (go's QUIC
 * listener closes handshakes that exceed its 5 s handshake timeout, which
 * our side already counted as dialed). */
static void conns_disconnected(lp2p_host *h, lp2p_conn *c,
                               lp2p_disconnect_reason why, const char *msg,
                               void *user) {
  (void)h;
  (void)why;
  conns_run *r = user;
  lp2p_identify id;
  if (r->printed || lp2p_conn_identify(c, &id) == 0) {
    return;
  }
  r->lost++;
  if (r->lost <= 3) {
    fprintf(stderr, "bench_host: closed before identify: %s\n", msg);
  }
  conns_settled(r);
}

static void conns_dialed(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                         void *user) {
  (void)h;
  (void)c;
  conns_run *r = user;
  if (err) {
    r->failed++;
    fprintf(stderr, "bench_host: %s\n", msg);
    conns_settled(r);
  } else {
    r->dialed++;
  }
}

static void conns_term(uv_signal_t *s, int sig) {
  (void)sig;
  conns_run *r = s->data;
  uv_close((uv_handle_t *)&r->term, NULL);
  uv_close((uv_handle_t *)&r->deadline, NULL);
  for (int i = 0; i < r->n; i++) {
    lp2p_host_close(r->hosts[i], NULL, NULL);
  }
}

static int run_conns(int argc, char **argv) {
  static conns_run r;
  static const lp2p_host_callbacks cb = {.identified = conns_identified,
                                         .disconnected = conns_disconnected};
  if (argc < 2) {
    return 2;
  }
  r.n = atoi(argv[1]);
  r.hosts = calloc((size_t)r.n, sizeof(*r.hosts));
  uv_loop_init(&r.loop);
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  if (lp2p_multiaddr_parse(argv[0], &ma, NULL) != 0) {
    return 1;
  }
  uv_timer_init(&r.loop, &r.deadline);
  r.deadline.data = &r;
  uv_timer_start(&r.deadline, conns_deadline, CONNS_DEADLINE_MS, 0);
  r.t0 = now_s();
  for (int i = 0; i < r.n; i++) {
    r.hosts[i] = new_host(&r.loop, LP2P_MUXERS_YAMUX, &cb, &r);
    if (!r.hosts[i] ||
        lp2p_host_dial(r.hosts[i], ma.data, ma.len, conns_dialed, &r, NULL)) {
      fprintf(stderr, "bench_host: dial %d failed\n", i);
      return 1;
    }
  }
  uv_signal_init(&r.loop, &r.term);
  r.term.data = &r;
  uv_signal_start(&r.term, conns_term, SIGTERM);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  return 0;
}

int main(int argc, char **argv) {
  if (sodium_init() < 0 || argc < 2) {
    fprintf(stderr, "usage: bench_host chacha | ed25519 | sink | "
                    "send MA BYTES | conns MA N\n");
    return 2;
  }
  if (strcmp(argv[1], "chacha") == 0) {
    return run_chacha();
  }
  if (strcmp(argv[1], "ed25519") == 0) {
    return run_ed25519();
  }
  if (strcmp(argv[1], "sink") == 0) {
    return run_sink(argc - 2, argv + 2);
  }
  if (strcmp(argv[1], "send") == 0) {
    return run_send(argc - 2, argv + 2);
  }
  if (strcmp(argv[1], "conns") == 0) {
    return run_conns(argc - 2, argv + 2);
  }
  return 2;
}
