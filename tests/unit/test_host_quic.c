/* The libuv host over QUIC v1 (src/host/quic_io.c), lp2p to lp2p on
 * loopback: a /udp/0/quic-v1 listen address bound with its real port,
 * a dial to it, identify both ways with the QUIC listen address, ping,
 * echo streams, a wrong peer id refused, and the close reaching the
 * peer. */
#include "testutil.h"
#include "testutil_host.h"

#include "host/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef th_pair pair;

#define QUIC_ANY "/ip4/127.0.0.1/udp/0/quic-v1"

static void pair_connect(pair *p) {
  th_node_init(&p->a, 1, LP2P_KEY_ED25519);
  th_node_init(&p->b, 2, LP2P_KEY_SECP256K1);
  th_node_start(&p->a);
  th_node_start(&p->b);
  th_node_listen_on(&p->a, QUIC_ANY);
  th_serve_echo(&p->a);
  th_dial_start(&p->b, &p->a, &p->dial);
  th_run_until(th_dial_done, &p->dial, 5000);
  if (p->dial.err != 0) {
    fail_msg("dial failed: %s: %s", lp2p_strerror(p->dial.err), p->dial.msg);
  }
  th_run_until(th_pair_identified, p, 5000);
}

static void pair_close(pair *p) {
  th_node_close(&p->b);
  th_node_close(&p->a);
}

static bool has_addr(const lp2p_identify *id, const char *text) {
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  assert_int_equal(lp2p_multiaddr_parse(text, &ma, NULL), 0);
  bool found = false;
  for (size_t i = 0; i < id->naddrs; i++) {
    found |= id->listen_addrs[i].len == ma.len &&
             memcmp(id->listen_addrs[i].data, ma.data, ma.len) == 0;
  }
  lp2p_buf_free(&ma);
  return found;
}

static void quic_listen_address_has_the_bound_port(void **state) {
  (void)state;
  th_node a;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  th_node_start(&a);
  th_node_listen_on(&a, QUIC_ANY);
  char addr[128];
  th_node_addr_text(&a, addr, sizeof(addr));
  unsigned port = 0;
  assert_int_equal(sscanf(addr, "/ip4/127.0.0.1/udp/%u/quic-v1", &port), 1);
  assert_true(port > 0);
  assert_non_null(strstr(addr, "/quic-v1"));
  th_node_close(&a);
}

/* The kernel's count of datagrams dropped on the IPv4 UDP socket bound to
 * 127.0.0.1:port (the last column of /proc/net/udp), -1 when not found. */
static long udp_drops(unsigned port) {
  FILE *f = fopen("/proc/net/udp", "r");
  char line[512], local[32];
  long drops = -1;
  snprintf(local, sizeof(local), "0100007F:%04X", port);
  while (f && fgets(line, sizeof(line), f)) {
    size_t end = strlen(line);
    while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\n')) {
      line[--end] = '\0'; /* the lines end in spaces */
    }
    char *last = strrchr(line, ' ');
    if (strstr(line, local) && last) {
      drops = strtol(last + 1, NULL, 10);
    }
  }
  if (f) {
    fclose(f);
  }
  return drops;
}

static long sysctl_long(const char *path) {
  FILE *f = fopen(path, "r");
  long v = -1;
  if (f) {
    if (fscanf(f, "%ld", &v) != 1) {
      v = -1;
    }
    fclose(f);
  }
  return v;
}

/* As quic-go, the UDP socket asks for 7 MiB of buffer: a burst of
 * datagrams while the host is busy (here 600 full Initials' worth, before
 * the loop reads any; Linux's 208 KiB default holds under a hundred) is
 * not dropped by the kernel. Needs net.core.rmem_max >= 2 MiB. */
static void quic_listener_socket_takes_a_burst_of_datagrams(void **state) {
  (void)state;
  if (sysctl_long("/proc/sys/net/core/rmem_max") < (2 << 20)) {
    skip();
  }
  th_node a;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  th_node_start(&a);
  th_node_listen_on(&a, QUIC_ANY);
  char addr[128];
  th_node_addr_text(&a, addr, sizeof(addr));
  unsigned port = 0;
  assert_int_equal(sscanf(addr, "/ip4/127.0.0.1/udp/%u/quic-v1", &port), 1);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in to = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  static uint8_t junk[1200];
  memset(junk, 0x41, sizeof(junk)); /* a short header no connection has */
  for (int i = 0; i < 600; i++) {
    assert_int_equal(sendto(fd, junk, sizeof(junk), 0,
                            (const struct sockaddr *)&to, sizeof(to)),
                     (ssize_t)sizeof(junk));
  }
  close(fd);
  assert_int_equal(udp_drops(port), 0);
  th_node_close(&a);
}

static void quic_dial_connects_identifies_and_reports_quic_v1(void **state) {
  (void)state;
  pair p;
  pair_connect(&p);
  assert_int_equal(p.a.connected, 1);
  assert_int_equal(p.b.connected, 1);
  lp2p_conn *cb = p.dial.conn, *ca = p.a.last_conn;
  assert_true(
      lp2p_peer_id_equal(lp2p_conn_peer_id(cb), lp2p_host_peer_id(p.a.host)));
  assert_true(
      lp2p_peer_id_equal(lp2p_conn_peer_id(ca), lp2p_host_peer_id(p.b.host)));
  lp2p_conn_info ia, ib;
  lp2p_conn_info_get(ca, &ia);
  lp2p_conn_info_get(cb, &ib);
  /* as go's ConnectionState over QUIC: no security or muxer protocol */
  assert_string_equal(ia.transport, "quic-v1");
  assert_string_equal(ib.transport, "quic-v1");
  assert_string_equal(ia.security, "");
  assert_string_equal(ib.muxer, "");
  assert_false(ia.outbound);
  assert_true(ib.outbound);
  assert_int_equal(lp2p_peer_id_check_pubkey(lp2p_conn_peer_id(ca), &ia.pubkey),
                   0);
  /* b learns a's QUIC listen address; a sees b's source as /quic-v1 */
  char addr[128];
  th_node_addr_text(&p.a, addr, sizeof(addr));
  lp2p_identify id;
  assert_int_equal(lp2p_conn_identify(cb, &id), 0);
  assert_true(has_addr(&id, addr));
  lp2p_identify_verified v;
  assert_int_equal(lp2p_identify_verify(&id, lp2p_conn_peer_id(cb), &v), 0);
  assert_true(v.has_record);
  assert_int_equal(v.record_error, 0);
  lp2p_buf text;
  lp2p_buf_init(&text, NULL);
  assert_int_equal(lp2p_multiaddr_format(ia.remote_addr.data,
                                         ia.remote_addr.len, &text, NULL),
                   0);
  assert_non_null(strstr((const char *)text.data, "/udp/"));
  assert_non_null(strstr((const char *)text.data, "/quic-v1"));
  /* and tells b so: the observed address b's identify names is a's view
   * of it, /udp/P/quic-v1 */
  assert_int_equal(id.observed_addr.len, ia.remote_addr.len);
  assert_memory_equal(id.observed_addr.data, ia.remote_addr.data,
                      ia.remote_addr.len);
  /* a's signed peer record carries its QUIC listen address */
  bool in_record = false;
  for (size_t i = 0; i < v.record.naddrs; i++) {
    lp2p_buf_truncate(&text, 0);
    assert_int_equal(lp2p_multiaddr_format(v.record.addrs[i].bytes,
                                           v.record.addrs[i].len, &text, NULL),
                     0);
    in_record |= strcmp((const char *)text.data, addr) == 0;
  }
  assert_true(in_record);
  lp2p_buf_free(&text);
  pair_close(&p);
  assert_int_equal(p.a.disconnected, 1);
  assert_int_equal(p.b.disconnected, 1);
}

/* ---- ping and streams -----------------------------------------------------
 */

typedef struct pings {
  int done, want, errors;
  lp2p_tstamp last_rtt;
} pings;

static void on_ping(lp2p_conn *c, lp2p_tstamp rtt, int err, void *user) {
  pings *p = user;
  if (err != 0) {
    p->errors++;
    return;
  }
  p->last_rtt = rtt;
  if (++p->done < p->want) {
    assert_int_equal(lp2p_conn_ping(c, on_ping, p), 0);
  }
}

static bool pings_done(void *arg) {
  pings *p = arg;
  return p->done == p->want || p->errors > 0;
}

static void quic_ping_is_answered_between_hosts(void **state) {
  (void)state;
  pair p;
  pair_connect(&p);
  pings pg = {.want = 20};
  assert_int_equal(lp2p_conn_ping(p.dial.conn, on_ping, &pg), 0);
  th_run_until(pings_done, &pg, 10000);
  assert_int_equal(pg.errors, 0);
  assert_int_equal(pg.done, 20);
  assert_true(pg.last_rtt > 0);
  pair_close(&p);
}

#define ECHO_STREAMS 8
#define ECHO_BYTES (256u * 1024u)

typedef struct echo_client {
  size_t sent, received;
  uint32_t seed;
  bool ok, closed, mismatch;
  int open_err;
} echo_client;

static uint8_t pattern(uint32_t seed, size_t i) {
  return (uint8_t)((i * 2654435761u + seed) >> 13);
}

static void client_pump(lp2p_stream *s, void *user) {
  echo_client *e = user;
  while (e->sent < ECHO_BYTES) {
    uint8_t buf[8192];
    size_t n =
        ECHO_BYTES - e->sent < sizeof(buf) ? ECHO_BYTES - e->sent : sizeof(buf);
    for (size_t i = 0; i < n; i++) {
      buf[i] = pattern(e->seed, e->sent + i);
    }
    ssize_t w = lp2p_stream_write(s, buf, n);
    assert_true(w >= 0);
    e->sent += (size_t)w;
    if ((size_t)w < n) {
      break;
    }
    if (e->sent == ECHO_BYTES) {
      assert_int_equal(lp2p_stream_close(s), 0);
    }
  }
  for (;;) {
    uint8_t buf[8192];
    bool eof;
    ssize_t n = lp2p_stream_read(s, buf, sizeof(buf), &eof);
    assert_true(n >= 0);
    if (n == 0) {
      if (eof) {
        e->ok = e->received == ECHO_BYTES && !e->mismatch;
      }
      return;
    }
    for (ssize_t i = 0; i < n; i++) {
      e->mismatch |= buf[i] != pattern(e->seed, e->received + (size_t)i);
    }
    e->received += (size_t)n;
  }
}

static void client_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  echo_client *e = user;
  e->closed = true;
  e->ok &= why == LP2P_STREAM_END_CLOSED;
}

static void on_echo_open(lp2p_conn *c, lp2p_stream *s, int err, void *user) {
  (void)c;
  static const lp2p_stream_callbacks cb = {.readable = client_pump,
                                           .writable = client_pump,
                                           .closed = client_closed};
  echo_client *e = user;
  e->open_err = err;
  if (err != 0) {
    e->closed = true;
    return;
  }
  assert_string_equal(lp2p_stream_protocol(s), ECHO_PROTOCOL);
  lp2p_stream_set_callbacks(s, &cb, e);
  client_pump(s, e);
}

static bool all_closed(void *arg) {
  echo_client *e = arg;
  for (int i = 0; i < ECHO_STREAMS; i++) {
    if (!e[i].closed) {
      return false;
    }
  }
  return true;
}

static const char *const echo_protocols[] = {ECHO_PROTOCOL};

static void quic_echo_streams_carry_data_both_ways(void **state) {
  (void)state;
  pair p;
  pair_connect(&p);
  echo_client *e = calloc(ECHO_STREAMS, sizeof(*e));
  for (int i = 0; i < ECHO_STREAMS; i++) {
    e[i].seed = (uint32_t)i * 7919u;
    assert_int_equal(lp2p_conn_open_stream(p.dial.conn, echo_protocols, 1,
                                           on_echo_open, &e[i]),
                     0);
  }
  th_run_until(all_closed, e, 30000);
  for (int i = 0; i < ECHO_STREAMS; i++) {
    assert_int_equal(e[i].open_err, 0);
    assert_false(e[i].mismatch);
    assert_int_equal(e[i].received, ECHO_BYTES);
    assert_true(e[i].ok);
  }
  free(e);
  pair_close(&p);
}

static bool a_disconnected(void *arg) {
  return ((pair *)arg)->a.disconnected > 0;
}

/* ---- memory budgets ------------------------------------------------------ */

#define HOLD_PROTOCOL "/hold/1.0.0"

/* A handler that reads nothing: the stream's bytes stay held. */
static void hold_readable(lp2p_stream *s, void *user) {
  (void)s;
  (void)user;
}

static void hold_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  lp2p_stream_end *last = user;
  *last = why;
}

static void hold_handler(lp2p_stream *s, void *user) {
  static const lp2p_stream_callbacks cb = {.readable = hold_readable,
                                           .closed = hold_closed};
  lp2p_stream_set_callbacks(s, &cb, user);
}

typedef struct pusher {
  size_t total, sent;
  bool closed;
} pusher;

static void pusher_pump(lp2p_stream *s, void *user) {
  pusher *p = user;
  static uint8_t buf[16384];
  while (p->sent < p->total) {
    size_t want =
        p->total - p->sent < sizeof(buf) ? p->total - p->sent : sizeof(buf);
    ssize_t w = lp2p_stream_write(s, buf, want);
    if (w < 0) {
      return; /* reset by the peer: closed follows */
    }
    p->sent += (size_t)w;
    if ((size_t)w < want) {
      return; /* writable follows */
    }
  }
}

static void pusher_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  (void)why;
  ((pusher *)user)->closed = true;
}

static void on_open_pusher(lp2p_conn *c, lp2p_stream *s, int err, void *user) {
  (void)c;
  static const lp2p_stream_callbacks cb = {.writable = pusher_pump,
                                           .closed = pusher_closed};
  assert_int_equal(err, 0);
  lp2p_stream_set_callbacks(s, &cb, user);
  pusher_pump(s, user);
}

static uint64_t budget_used(const th_node *n) {
  lp2p_host_budget_stats st;
  lp2p_host_budget_stats_get(n->host, &st);
  return st.used;
}

static bool holds_300k(void *arg) {
  return budget_used(arg) >= 300 * 1024;
}

static bool budget_reset_one(void *arg) {
  lp2p_host_budget_stats st;
  lp2p_host_budget_stats_get(((th_node *)arg)->host, &st);
  return st.streams_reset >= 1;
}

/* The host hands a QUIC connection its conn's budget as it does a TCP
 * one's: unread stream bytes are held in it (under the peer's and the
 * host's scopes), a stream past it is reset and counted, and it is all
 * given back once the connection ends. */
static void
quic_conn_budget_holds_unread_bytes_and_resets_past_it(void **state) {
  (void)state;
  static const char *const protocols[] = {HOLD_PROTOCOL};
  pair p;
  lp2p_stream_end why = LP2P_STREAM_END_CLOSED;
  th_node_init(&p.a, 1, LP2P_KEY_ED25519);
  th_node_init(&p.b, 2, LP2P_KEY_ED25519);
  p.a.settings.max_conn_memory = 1u << 20;
  th_node_start(&p.a);
  th_node_start(&p.b);
  th_node_listen_on(&p.a, QUIC_ANY);
  assert_int_equal(
      lp2p_host_set_handler(p.a.host, HOLD_PROTOCOL, hold_handler, &why), 0);
  th_dial_start(&p.b, &p.a, &p.dial);
  th_run_until(th_dial_done, &p.dial, 5000);
  assert_int_equal(p.dial.err, 0);
  pusher first = {.total = 300 * 1024}, second = {.total = 2u << 20};
  assert_int_equal(
      lp2p_conn_open_stream(p.dial.conn, protocols, 1, on_open_pusher, &first),
      0);
  th_run_until(holds_300k, &p.a, 5000);
  assert_int_equal(
      lp2p_conn_open_stream(p.dial.conn, protocols, 1, on_open_pusher, &second),
      0);
  th_run_until(budget_reset_one, &p.a, 5000);
  assert_int_equal(why, LP2P_STREAM_END_OVERFLOW);
  lp2p_host_budget_stats st;
  lp2p_host_budget_stats_get(p.a.host, &st);
  assert_true(st.refused_conn >= 1);
  assert_true(st.used <= (1u << 20) + 80 * 1024);
  th_node_close(&p.b);
  th_run_until(a_disconnected, &p, 5000);
  assert_int_equal(budget_used(&p.a), 0);
  th_node_close(&p.a);
}

/* ---- byte counts ----------------------------------------------------------
 */

static bool echo_closed(void *arg) {
  return ((echo_client *)arg)->closed;
}

static uint64_t diff(uint64_t x, uint64_t y) {
  return x > y ? x - y : y - x;
}

/* lp2p_conn_info's byte counts over QUIC are the UDP payloads of the
 * connection's datagrams: more than the stream bytes they carried, and
 * what one side sent the other received, once nothing is in flight. */
static void quic_conn_info_counts_the_connections_datagram_bytes(void **state) {
  (void)state;
  pair p;
  pair_connect(&p);
  echo_client e = {.seed = 1};
  assert_int_equal(
      lp2p_conn_open_stream(p.dial.conn, echo_protocols, 1, on_echo_open, &e),
      0);
  th_run_until(echo_closed, &e, 30000);
  assert_true(e.ok);
  pings pg = {.want = 5};
  assert_int_equal(lp2p_conn_ping(p.dial.conn, on_ping, &pg), 0);
  th_run_until(pings_done, &pg, 10000);
  th_run_for(300); /* the last ACKs land (ngtcp2 delays them 25 ms) */
  lp2p_conn_info ia, ib;
  lp2p_conn_info_get(p.a.last_conn, &ia);
  lp2p_conn_info_get(p.dial.conn, &ib);
  /* the echo's bytes each way, and headers, encryption and handshake */
  assert_true(ib.bytes_sent > ECHO_BYTES);
  assert_true(ib.bytes_received > ECHO_BYTES);
  assert_true(ia.bytes_sent > ECHO_BYTES);
  assert_true(ia.bytes_received > ECHO_BYTES);
  /* one side's out is the other's in, but for a datagram or two the
   * kernel may have dropped or still hold (QUIC sent it again) */
  assert_true(diff(ib.bytes_sent, ia.bytes_received) <= 2 * 1500);
  assert_true(diff(ia.bytes_sent, ib.bytes_received) <= 2 * 1500);
  pair_close(&p);
}

/* ---- refusals and the end ------------------------------------------------ */

static void quic_dial_to_another_peer_id_is_refused(void **state) {
  (void)state;
  th_node a, b, c;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  th_node_init(&b, 2, LP2P_KEY_ED25519);
  th_node_init(&c, 3, LP2P_KEY_ED25519);
  th_node_start(&a);
  th_node_start(&b);
  th_node_start(&c);
  th_node_listen_on(&a, QUIC_ANY);
  char addr[128], text[256], id[LP2P_PEER_ID_TEXT_MAX];
  th_node_addr_text(&a, addr, sizeof(addr));
  assert_true(
      lp2p_peer_id_to_base58(lp2p_host_peer_id(c.host), id, sizeof(id)) > 0);
  snprintf(text, sizeof(text), "%s/p2p/%s", addr, id);
  th_dial d;
  th_dial_text(&b, text, &d);
  th_run_until(th_dial_done, &d, 5000);
  assert_int_equal(d.err, LP2P_ERR_PEER_ID_MISMATCH);
  assert_int_equal(lp2p_host_num_conns(b.host), 0);
  th_node_close(&c);
  th_node_close(&b);
  th_node_close(&a);
}

static bool handshake_failed(void *arg) {
  return ((th_node *)arg)->handshake_failed > 0;
}

/* The connection manager admits a QUIC client's Initial as it does an
 * accepted TCP connection: one past max_inbound is refused
 * (CONNECTION_REFUSED), and the connection already there lives on. */
static void quic_inbound_one_past_max_inbound_is_refused(void **state) {
  (void)state;
  th_node a, b, c;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  a.settings.max_inbound = 1;
  th_node_init(&b, 2, LP2P_KEY_ED25519);
  th_node_init(&c, 3, LP2P_KEY_ED25519);
  th_node_start(&a);
  th_node_start(&b);
  th_node_start(&c);
  th_node_listen_on(&a, QUIC_ANY);
  th_dial first, second;
  th_dial_start(&b, &a, &first);
  th_run_until(th_dial_done, &first, 5000);
  assert_int_equal(first.err, 0);
  th_dial_start(&c, &a, &second);
  th_run_until(th_dial_done, &second, 5000);
  assert_int_not_equal(second.err, 0);
  assert_non_null(strstr(second.msg, "0x2")); /* CONNECTION_REFUSED */
  th_run_until(handshake_failed, &a, 5000);
  assert_int_equal(a.last_handshake_err, LP2P_ERR_TOO_LARGE);
  lp2p_host_stats st;
  lp2p_host_get_stats(a.host, &st);
  assert_int_equal(st.refused_inbound, 1);
  assert_int_equal(lp2p_host_num_conns(a.host), 1);
  pings pg = {.want = 1};
  assert_int_equal(lp2p_conn_ping(first.conn, on_ping, &pg), 0);
  th_run_until(pings_done, &pg, 5000);
  assert_int_equal(pg.errors, 0);
  th_node_close(&c);
  th_node_close(&b);
  th_node_close(&a);
}

static void quic_close_by_the_dialer_reaches_the_listener(void **state) {
  (void)state;
  pair p;
  pair_connect(&p);
  assert_int_equal(lp2p_conn_close(p.dial.conn), 0);
  th_run_until(a_disconnected, &p, 5000);
  assert_int_equal(p.a.last_reason, LP2P_DISCONNECT_REMOTE); /* clean */
  assert_int_equal(lp2p_host_num_conns(p.a.host), 0);
  pair_close(&p);
}

/* A dial the caller abandons (lp2p_host_dial_cancel, as the node does
 * with a peer's other dials once one connected): its connection, still
 * in the handshake with an address that never answers, is closed at
 * once, and its callback is never called. */
static void cancelled_quic_dial_is_closed_and_never_answered(void **state) {
  (void)state;
  th_check_dial_cancel(true);
}

/* The TLS sessions a burst of QUIC handshakes freed are given back to the
 * system: 64 handshakes make a trim due though the heap's free resident
 * bytes grew under a quarter of those in use (1,000 connections: an
 * eighth), or not visibly at all; the quarter rule stands alone. */
static void quic_handshake_burst_makes_a_trim_due(void **state) {
  (void)state;
  size_t mib = (size_t)1 << 20;
  assert_false(lp2p__host_release_due(13 * mib, 100 * mib, 0));
  assert_true(lp2p__host_release_due(13 * mib, 100 * mib, 64));
  assert_false(lp2p__host_release_due(0, 100 * mib, 63));
  assert_true(lp2p__host_release_due(0, 100 * mib, 64));
  assert_true(lp2p__host_release_due(30 * mib, 100 * mib, 0));
  assert_false(lp2p__host_release_due(mib / 2, mib, 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(quic_listen_address_has_the_bound_port),
      cmocka_unit_test(quic_handshake_burst_makes_a_trim_due),
      cmocka_unit_test(quic_dial_connects_identifies_and_reports_quic_v1),
      cmocka_unit_test(quic_ping_is_answered_between_hosts),
      cmocka_unit_test(quic_echo_streams_carry_data_both_ways),
      cmocka_unit_test(quic_conn_info_counts_the_connections_datagram_bytes),
      cmocka_unit_test(quic_dial_to_another_peer_id_is_refused),
      cmocka_unit_test(quic_inbound_one_past_max_inbound_is_refused),
      cmocka_unit_test(quic_close_by_the_dialer_reaches_the_listener),
      cmocka_unit_test(cancelled_quic_dial_is_closed_and_never_answered),
      cmocka_unit_test(quic_listener_socket_takes_a_burst_of_datagrams),
      cmocka_unit_test(quic_conn_budget_holds_unread_bytes_and_resets_past_it),
  };
  return cmocka_run_group_tests(tests, th_setup, th_teardown);
}
