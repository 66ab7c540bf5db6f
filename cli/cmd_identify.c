/* lp2p identify: dial a peer and print what it says about itself. */
#include <string.h>

#include "net.h"

typedef struct identify_run {
  cli_net net;
  lp2p_conn *conn;
  const char *target;
} identify_run;

static void print_list(const char *name, const lp2p_bytes *items, size_t n,
                       bool multiaddrs) {
  printf(",\"%s\":[", name);
  for (size_t i = 0; i < n; i++) {
    if (i > 0) {
      putchar(',');
    }
    if (multiaddrs) {
      cli_json_multiaddr(stdout, items[i].data, items[i].len);
    } else {
      cli_json_string(stdout, items[i].data, items[i].len);
    }
  }
  putchar(']');
}

static void print_identify(lp2p_conn *c, const lp2p_identify *id) {
  char peer[LP2P_PEER_ID_TEXT_MAX];
  cli_peer_text(lp2p_conn_peer_id(c), peer);
  printf("{\"peer_id\":\"%s\",\"agent_version\":", peer);
  cli_json_string(stdout, id->agent_version.data, id->agent_version.len);
  printf(",\"protocol_version\":");
  cli_json_string(stdout, id->protocol_version.data, id->protocol_version.len);
  print_list("protocols", id->protocols, id->nprotocols, false);
  print_list("listen_addrs", id->listen_addrs, id->naddrs, true);
  printf(",\"observed_addr\":");
  if (id->observed_addr.data) {
    cli_json_multiaddr(stdout, id->observed_addr.data, id->observed_addr.len);
  } else {
    printf("null");
  }
  lp2p_identify_verified v;
  bool signed_ok = lp2p_identify_verify(id, lp2p_conn_peer_id(c), &v) == 0 &&
                   v.has_record && v.record_error == 0;
  printf(",\"signed_peer_record\":%s}\n", signed_ok ? "true" : "false");
}

static void on_identified(lp2p_host *h, lp2p_conn *c, void *user) {
  (void)h;
  identify_run *r = user;
  lp2p_identify id;
  if (c != r->conn || lp2p_conn_identify(c, &id) != 0) {
    return;
  }
  print_identify(c, &id);
  cli_net_stop(&r->net, 0);
}

static void on_dial(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                    void *user) {
  (void)h;
  identify_run *r = user;
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
    "                     [--timeout SECONDS]\n\n"
    "Dials MULTIADDR and prints the peer's /ipfs/id/1.0.0 answer as one\n"
    "JSON line: peer_id, agent_version, protocol_version, protocols,\n"
    "listen_addrs, observed_addr and whether its signed peer record\n"
    "verified. Fails when the peer does not answer within the timeout\n"
    "(default 30 s).\n",
    run,
};
