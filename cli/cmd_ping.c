/* lp2p ping: dial a peer and measure round trips with /ipfs/ping/1.0.0. */
#include <stdlib.h>
#include <string.h>

#include "net.h"

typedef struct ping_run {
  cli_net net;
  lp2p_conn *conn;
  uv_timer_t interval;
  uint64_t count, sent, answered;
  uint64_t interval_ms;
  double min_ms, max_ms, sum_ms;
  const char *target;
} ping_run;

static void print_summary(ping_run *r) {
  printf("%llu pings, %llu answered", (unsigned long long)r->sent,
         (unsigned long long)r->answered);
  if (r->answered > 0) {
    printf(", rtt min/avg/max = %.3f/%.3f/%.3f ms", r->min_ms,
           r->sum_ms / (double)r->answered, r->max_ms);
  }
  printf("\n");
}

/* The stop path of every ending (the last pong, an error, the timeout, a
 * signal): the interval timer goes before the host frees the connection
 * it would ping. */
static void on_stop(void *user) {
  ping_run *r = user;
  uv_close((uv_handle_t *)&r->interval, NULL);
  r->conn = NULL;
  if (r->sent > 0) {
    print_summary(r);
  }
}

static void send_next(ping_run *r);
static void on_interval(uv_timer_t *t);

static void on_pong(lp2p_conn *c, lp2p_tstamp rtt, int err, void *user) {
  (void)c;
  ping_run *r = user;
  if (r->net.stopping) {
    return; /* the host aborts the ping it closes: the cause is reported */
  }
  if (err != 0) {
    cli_fail("ping %llu to %s failed: %s", (unsigned long long)r->sent,
             r->target,
             err == LP2P_ERR_UNSUPPORTED
                 ? "the peer does not support " LP2P_PING_PROTOCOL_ID
                 : lp2p_strerror(err));
    cli_net_stop(&r->net, 1);
    return;
  }
  double ms = (double)rtt / 1e6;
  r->answered++;
  r->sum_ms += ms;
  r->min_ms = r->answered == 1 || ms < r->min_ms ? ms : r->min_ms;
  r->max_ms = ms > r->max_ms ? ms : r->max_ms;
  printf("ping %llu: %.3f ms\n", (unsigned long long)r->sent, ms);
  fflush(stdout);
  if (r->sent == r->count) {
    cli_net_stop(&r->net, 0);
  } else if (r->interval_ms == 0) {
    send_next(r);
  } else {
    uv_timer_start(&r->interval, on_interval, r->interval_ms, 0);
  }
}

static void send_next(ping_run *r) {
  r->sent++;
  int rv = lp2p_conn_ping(r->conn, on_pong, r);
  if (rv != 0) {
    cli_fail("cannot ping %s: %s", r->target, lp2p_strerror(rv));
    cli_net_stop(&r->net, 1);
  }
}

static void on_interval(uv_timer_t *t) {
  send_next(t->data);
}

static void on_dial(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                    void *user) {
  (void)h;
  ping_run *r = user;
  if (err != 0) {
    if (!r->net.stopping) { /* else a timeout or a signal, reported */
      cli_fail("cannot reach %s: %s", r->target, msg);
    }
    cli_net_stop(&r->net, 1);
    return;
  }
  r->conn = c;
  send_next(r);
}

static void on_disconnected(lp2p_host *h, lp2p_conn *c,
                            lp2p_disconnect_reason why, const char *msg,
                            void *user) {
  (void)h;
  ping_run *r = user;
  if (c == r->conn && !r->net.stopping) {
    r->conn = NULL;
    cli_fail("connection to %s lost (%s): %s", r->target,
             lp2p_disconnect_reason_name(why), msg);
    cli_net_stop(&r->net, 1);
  }
}

#define MAX_COUNT 1000000
#define MAX_INTERVAL_S 3600

static int parse_number(const char *opt, const char *text, ping_run *r) {
  if (opt[1] == 'c') {
    return cli_parse_uint(&cli_cmd_ping, opt, text, 1, MAX_COUNT, &r->count);
  }
  double s;
  int rv = cli_parse_decimal(&cli_cmd_ping, opt, text, 0, MAX_INTERVAL_S, &s);
  r->interval_ms = rv == 0 ? (uint64_t)(s * 1000) : r->interval_ms;
  return rv;
}

static int run(int argc, char **argv) {
  ping_run r;
  memset(&r, 0, sizeof(r));
  cli_net_opts o = {.timeout_s = 0};
  r.count = 5;
  r.interval_ms = 1000;
  for (int i = 0; i < argc; i++) {
    int rv = cli_net_option(&cli_cmd_ping, argc, argv, &i, &o);
    if (rv > 1) {
      return rv;
    }
    if (rv == 1) {
      continue;
    }
    if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-i") == 0) {
      rv = i + 1 < argc ? parse_number(argv[i], argv[i + 1], &r)
                        : cli_missing_value(&cli_cmd_ping, argv[i]);
      if (rv != 0) {
        return rv;
      }
      i++;
    } else if (argv[i][0] != '-' && !r.target) {
      r.target = argv[i];
    } else {
      return cli_usage_error(&cli_cmd_ping, "unexpected argument");
    }
  }
  if (!r.target) {
    return cli_usage_error(&cli_cmd_ping, "which peer? give its multiaddr");
  }
  if (o.timeout_s == 0) {
    o.timeout_s = 30 + (double)(r.count * r.interval_ms) / 1e3;
  }
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  if (cli_parse_multiaddr(r.target, &ma) != 0) {
    return 1;
  }
  static const lp2p_host_callbacks cb = {.disconnected = on_disconnected};
  if (cli_net_start(&r.net, &o, &cb, &r) != 0) {
    lp2p_buf_free(&ma);
    return 1;
  }
  uv_timer_init(&r.net.loop, &r.interval);
  r.interval.data = &r;
  r.net.on_stop = on_stop;
  r.net.user = &r;
  r.net.interrupted_fails = true;
  lp2p_errdetail err;
  int rv = lp2p_host_dial(r.net.host, ma.data, ma.len, on_dial, &r, &err);
  lp2p_buf_free(&ma);
  if (rv != 0) {
    cli_fail("cannot dial %s: %s", r.target, err.msg);
    cli_net_stop(&r.net, 1);
  }
  return cli_net_run(&r.net);
}

const cli_command cli_cmd_ping = {
    "ping",
    "measure round trips to a peer with /ipfs/ping/1.0.0",
    "usage: lp2p ping MULTIADDR [-c N] [-i SECONDS] [--key FILE]\n"
    "                 [--muxer yamux|mplex|any] [--security noise|tls|any]\n"
    "                 [--timeout SECONDS]\n\n"
    "Dials MULTIADDR (/ip4|ip6/A/tcp/P or, over QUIC v1,\n"
    "/ip4|ip6/A/udp/P/quic-v1; with /p2p/ID to check who answers)\n"
    "and pings it N times (default 5), SECONDS apart (default 1; 0 sends\n"
    "each ping when the last one is answered). Prints one round-trip time\n"
    "per line, then a summary; exits 0 when every ping was answered\n"
    "(N is at most 1000000, SECONDS at most 3600). Interrupted by SIGINT\n"
    "or SIGTERM it prints the summary and exits 128 + the signal; a second\n"
    "signal ends it at once.\n"
    "Without --key it uses a fresh Ed25519 identity. --security chooses\n"
    "the secure channel: Noise, libp2p TLS (/tls/1.0.0, TLS 1.3) or\n"
    "either (default: Noise proposed first, then TLS); over QUIC it is\n"
    "always libp2p TLS, and --muxer does not apply.\n",
    run,
    NULL,
};
