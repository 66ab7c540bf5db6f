/* lp2p listen: run a host that answers identify and ping (and echo, for
 * tests), printing one JSON line per event. */
#include <stdlib.h>
#include <string.h>

#include "net.h"

#define ECHO_PROTOCOL "/echo/1.0.0"
#define MAX_LISTEN 16

typedef struct listen_run {
  cli_net net;
} listen_run;

static void print_peer_event(const char *event, lp2p_conn *c) {
  char peer[LP2P_PEER_ID_TEXT_MAX];
  cli_peer_text(lp2p_conn_peer_id(c), peer);
  printf("{\"event\":\"%s\",\"peer_id\":\"%s\"", event, peer);
}

static void on_connected(lp2p_host *h, lp2p_conn *c, void *user) {
  (void)h;
  (void)user;
  lp2p_conn_info info;
  lp2p_conn_info_get(c, &info);
  print_peer_event("connected", c);
  printf(",\"direction\":\"%s\",\"transport\":\"%s\",\"muxer\":\"%s\","
         "\"remote_addr\":",
         info.outbound ? "outbound" : "inbound", info.transport, info.muxer);
  cli_json_multiaddr(stdout, info.remote_addr.data, info.remote_addr.len);
  printf("}\n");
  fflush(stdout);
}

static void on_identified(lp2p_host *h, lp2p_conn *c, void *user) {
  (void)h;
  (void)user;
  lp2p_identify id;
  if (lp2p_conn_identify(c, &id) != 0) {
    return;
  }
  cli_print_identify(c, &id, "identify");
  fflush(stdout);
}

static void on_disconnected(lp2p_host *h, lp2p_conn *c,
                            lp2p_disconnect_reason why, const char *msg,
                            void *user) {
  (void)h;
  (void)user;
  print_peer_event("disconnected", c);
  printf(",\"reason\":\"%s\",\"message\":", lp2p_disconnect_reason_name(why));
  cli_json_string(stdout, msg, strlen(msg));
  printf("}\n");
  fflush(stdout);
}

static void on_handshake_failed(lp2p_host *h, bool outbound, int err,
                                const char *msg, void *user) {
  (void)h;
  (void)user;
  printf(
      "{\"event\":\"handshake_failed\",\"direction\":\"%s\",\"error\":\"%s\","
      "\"message\":",
      outbound ? "outbound" : "inbound", lp2p_strerror(err));
  cli_json_string(stdout, msg, strlen(msg));
  printf("}\n");
  fflush(stdout);
}

/* ---- echo --------------------------------------------------------------- */

typedef struct echo {
  uint64_t total;
  bool eof;
} echo;

/* Reads only what can be written back at once, so that a stream whose
 * peer does not read its answers costs no buffer here: its bytes stay in
 * the muxer, within the memory budgets (1,000 streams with a 16 KiB
 * buffer each would be 16 MB the budgets do not see). */
static void echo_pump(lp2p_stream *s, void *user) {
  static uint8_t buf[16384];
  echo *e = user;
  while (!e->eof) {
    size_t room = lp2p_stream_writable(s);
    if (room == 0) {
      return; /* writable follows */
    }
    bool eof;
    ssize_t n =
        lp2p_stream_read(s, buf, room < sizeof(buf) ? room : sizeof(buf), &eof);
    if (n == 0 && eof) {
      e->eof = true;
      (void)lp2p_stream_close(s); /* the peer's end, echoed */
    }
    if (n <= 0) {
      return;
    }
    if (lp2p_stream_write(s, buf, (size_t)n) != n) {
      (void)lp2p_stream_reset(s); /* cannot be: it was writable */
      return;
    }
    e->total += (uint64_t)n;
  }
}

static void echo_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  echo *e = user;
  if (why == LP2P_STREAM_END_CLOSED) {
    print_peer_event("echo_done", lp2p_stream_conn(s));
    printf(",\"bytes\":%llu}\n", (unsigned long long)e->total);
  } else if (why == LP2P_STREAM_END_RESET_REMOTE) {
    print_peer_event("stream_reset", lp2p_stream_conn(s));
    printf(",\"protocol\":\"%s\",\"bytes\":%llu}\n", ECHO_PROTOCOL,
           (unsigned long long)e->total);
  }
  fflush(stdout);
  free(e);
}

static void echo_handler(lp2p_stream *s, void *user) {
  (void)user;
  static const lp2p_stream_callbacks cb = {
      .readable = echo_pump, .writable = echo_pump, .closed = echo_closed};
  echo *e = calloc(1, sizeof(*e));
  if (!e) {
    (void)lp2p_stream_reset(s);
    return;
  }
  lp2p_stream_set_callbacks(s, &cb, e);
}

/* ---- the command -------------------------------------------------------- */

static int print_listening(lp2p_host *h) {
  char peer[LP2P_PEER_ID_TEXT_MAX];
  cli_peer_text(lp2p_host_peer_id(h), peer);
  lp2p_buf addrs;
  lp2p_buf_init(&addrs, NULL);
  if (lp2p_host_listen_addrs(h, true, &addrs) < 0) {
    return cli_fail("out of memory");
  }
  printf("{\"event\":\"listening\",\"peer_id\":\"%s\",\"addrs\":[", peer);
  size_t off = 0;
  for (int i = 0; off < addrs.len; i++) {
    uint64_t len;
    int n = lp2p_uvarint_decode(addrs.data + off, addrs.len - off, &len);
    printf(i ? "," : "");
    cli_json_multiaddr(stdout, addrs.data + off + n, (size_t)len);
    off += (size_t)n + (size_t)len;
  }
  printf("]}\n");
  fflush(stdout);
  lp2p_buf_free(&addrs);
  return 0;
}

static int listen_all(lp2p_host *h, const char **addrs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    lp2p_buf ma;
    lp2p_buf_init(&ma, NULL);
    if (cli_parse_multiaddr(addrs[i], &ma) != 0) {
      return 1;
    }
    lp2p_errdetail err;
    int rv = lp2p_host_listen(h, ma.data, ma.len, &err);
    lp2p_buf_free(&ma);
    if (rv != 0) {
      return cli_fail("cannot listen on %s: %s", addrs[i], err.msg);
    }
  }
  return 0;
}

static int run(int argc, char **argv) {
  listen_run r;
  cli_net_opts o = {.timeout_s = 0};
  const char *addrs[MAX_LISTEN];
  size_t naddrs = 0;
  bool serve_echo = false;
  for (int i = 0; i < argc; i++) {
    int rv = cli_net_option(&cli_cmd_listen, argc, argv, &i, &o);
    if (rv > 1) {
      return rv;
    }
    if (rv == 0) {
      rv = cli_connlimit_option(&cli_cmd_listen, argc, argv, &i, &o.limits);
    }
    if (rv > 1) {
      return rv;
    }
    if (rv == 1) {
      continue;
    }
    if (strcmp(argv[i], "--listen") == 0 && i + 1 == argc) {
      return cli_missing_value(&cli_cmd_listen, argv[i]);
    } else if (strcmp(argv[i], "--listen") == 0 && naddrs == MAX_LISTEN) {
      fprintf(stderr, "lp2p listen: at most %d --listen options\n", MAX_LISTEN);
      return 2;
    } else if (strcmp(argv[i], "--listen") == 0) {
      addrs[naddrs++] = argv[++i];
    } else if (strcmp(argv[i], "--echo") == 0) {
      serve_echo = true;
    } else {
      return cli_usage_error(&cli_cmd_listen, "unexpected argument");
    }
  }
  if (naddrs == 0) {
    addrs[naddrs++] = "/ip4/0.0.0.0/tcp/0";
  }
  if (cli_connlimits_check(&cli_cmd_listen, &o.limits) != 0) {
    return 2;
  }
  static const lp2p_host_callbacks cb = {
      .connected = on_connected,
      .identified = on_identified,
      .disconnected = on_disconnected,
      .handshake_failed = on_handshake_failed,
  };
  if (cli_net_start(&r.net, &o, &cb, &r) != 0) {
    return 1;
  }
  int rv = listen_all(r.net.host, addrs, naddrs);
  if (rv == 0 && serve_echo) {
    rv = lp2p_host_set_handler(r.net.host, ECHO_PROTOCOL, echo_handler, NULL)
             ? cli_fail("cannot serve echo")
             : 0;
  }
  if (rv == 0) {
    rv = print_listening(r.net.host);
  }
  if (rv != 0) {
    cli_net_stop(&r.net, rv);
  }
  return cli_net_run(&r.net);
}

const cli_command cli_cmd_listen = {
    "listen",
    "run a host that answers identify and ping",
    "usage: lp2p listen [--listen MULTIADDR]... [--key FILE]\n"
    "                   [--muxer yamux|mplex|any] [--security noise|tls|any]\n"
    "                   [--echo]\n"
    "                   [connection limits]\n\n"
    "Listens on each MULTIADDR (default /ip4/0.0.0.0/tcp/0) and answers\n"
    "identify and ping until SIGINT or SIGTERM: /ip4|ip6/A/tcp/P for TCP\n"
    "(Noise or TLS, yamux or mplex), /ip4|ip6/A/udp/P/quic-v1 for QUIC v1\n"
    "(libp2p TLS and QUIC's own streams; --muxer and --security do not\n"
    "apply); port 0 picks a free one. Its first stdout line is\n"
    "{\"event\":\"listening\",\"peer_id\":...,\"addrs\":[...]}; then one JSON\n"
    "line per event: connected (with the transport, tcp or quic-v1),\n"
    "identify, disconnected (with the reason)\n"
    "and handshake_failed. --echo also serves /echo/1.0.0, which writes\n"
    "back every byte and reports echo_done and stream_reset events: a\n"
    "test protocol for connectivity and throughput.\n"
    "Without --key it uses a fresh Ed25519 identity. --security: the\n"
    "secure channels accepted, Noise, libp2p TLS (/tls/1.0.0) or both\n"
    "(default).\n" CLI_CONNLIMITS_USAGE,
    run,
    NULL,
};
