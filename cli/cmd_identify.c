/* lp2p identify: dial a peer and print what it says about itself. */
#include <string.h>

#include "net.h"

typedef struct identify_run {
  cli_net net;
  lp2p_conn *conn;
  const char *target;
} identify_run;

static void on_identified(lp2p_host *h, lp2p_conn *c, void *user) {
  (void)h;
  identify_run *r = user;
  lp2p_identify id;
  if (c != r->conn || lp2p_conn_identify(c, &id) != 0) {
    return;
  }
  cli_print_identify(c, &id, NULL);
  cli_net_stop(&r->net, 0);
}

static void on_dial(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                    void *user) {
  (void)h;
  identify_run *r = user;
  if (err != 0 && r->net.stopping) {
    return; /* a timeout or a signal, already reported */
  }
  if (err != 0) {
    cli_fail("cannot reach %s: %s", r->target, msg);
    cli_net_stop(&r->net, 1);
    return;
  }
  r->conn = c;
  lp2p_identify id;
  if (lp2p_conn_identify(c, &id) == 0) { /* a reused connection */
    on_identified(h, c, r);
  }
}

static void on_disconnected(lp2p_host *h, lp2p_conn *c,
                            lp2p_disconnect_reason why, const char *msg,
                            void *user) {
  (void)h;
  identify_run *r = user;
  if (c == r->conn && !r->net.stopping) {
    cli_fail("connection to %s lost before it identified itself (%s): %s",
             r->target, lp2p_disconnect_reason_name(why), msg);
    cli_net_stop(&r->net, 1);
  }
}

static int run(int argc, char **argv) {
  identify_run r;
  memset(&r, 0, sizeof(r));
  cli_net_opts o = {.timeout_s = 30};
  for (int i = 0; i < argc; i++) {
    int rv = cli_net_option(&cli_cmd_identify, argc, argv, &i, &o);
    if (rv > 1) {
      return rv;
    }
    if (rv == 0 && argv[i][0] != '-' && !r.target) {
      r.target = argv[i];
    } else if (rv == 0) {
      return cli_usage_error(&cli_cmd_identify, "unexpected argument");
    }
  }
  if (!r.target) {
    return cli_usage_error(&cli_cmd_identify, "which peer? give its multiaddr");
  }
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  if (cli_parse_multiaddr(r.target, &ma) != 0) {
    return 1;
  }
  static const lp2p_host_callbacks cb = {.identified = on_identified,
                                         .disconnected = on_disconnected};
  if (cli_net_start(&r.net, &o, &cb, &r) != 0) {
    lp2p_buf_free(&ma);
    return 1;
  }
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

const cli_command cli_cmd_identify = {
    "identify",
    "print a peer's identify answer as JSON",
    "usage: lp2p identify MULTIADDR [--key FILE] [--muxer yamux|mplex|any]\n"
    "                     [--security noise|tls|any] [--timeout SECONDS]\n\n"
    "Dials MULTIADDR (/ip4|ip6/A/tcp/P or /ip4|ip6/A/udp/P/quic-v1 for\n"
    "QUIC v1, optionally with /p2p/ID) and prints the peer's\n"
    "/ipfs/id/1.0.0 answer as one\n"
    "JSON line: peer_id, agent_version, protocol_version, protocols,\n"
    "listen_addrs, observed_addr and whether its signed peer record\n"
    "verified. Fails when the peer does not answer within the timeout\n"
    "(default 30 s), or exits 128 + the signal when SIGINT or SIGTERM\n"
    "comes first. --security: Noise, libp2p TLS or either (default,\n"
    "Noise proposed first); QUIC is always libp2p TLS.\n",
    run,
    NULL,
};
