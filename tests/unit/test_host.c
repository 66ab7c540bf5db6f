/* The libuv host, lp2p to lp2p on loopback: upgrade with each muxer and key
 * type, identify both ways, ping, concurrent echo streams, half-close and
 * reset, dial errors, limits, timeouts, duplicate connections and clean
 * shutdown. Peers of other implementations are in tests/interop. */
#include "testutil.h"
#include "testutil_host.h"

#include <stdlib.h>
#include <unistd.h>

typedef th_pair pair;

/* Starts a (listening, echo) and b, and connects b to a. */
/* What the listener of the next pair accepts, and the protocol its
 * connection must agree. */
static lp2p_security pair_security = LP2P_SECURITY_ALL;
static const char *want_security = LP2P_NOISE_PROTOCOL_ID;

static void pair_connect(pair *p, lp2p_key_type ta, lp2p_muxers ma,
                         lp2p_key_type tb, lp2p_muxers mb) {
  th_node_init(&p->a, 1, ta);
  th_node_init(&p->b, 2, tb);
  p->a.settings.muxers = ma;
  p->b.settings.muxers = mb;
  p->a.settings.security = pair_security;
  th_node_start(&p->a);
  th_node_start(&p->b);
  th_node_listen(&p->a);
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

/* ---- upgrade and identify ----------------------------------------------- */

static void check_identify(const th_node *self, const th_node *remote,
                           lp2p_conn *c) {
  lp2p_identify id;
  assert_int_equal(lp2p_conn_identify(c, &id), 0);
  char agent[64];
  snprintf(agent, sizeof(agent), "%.*s", (int)id.agent_version.len,
           (const char *)id.agent_version.data);
  assert_string_equal(agent, "lp2p/" LP2P_VERSION);
  bool ping = false, echo = false;
  for (size_t i = 0; i < id.nprotocols; i++) {
    ping |= id.protocols[i].len == strlen(LP2P_PING_PROTOCOL_ID) &&
            memcmp(id.protocols[i].data, LP2P_PING_PROTOCOL_ID,
                   id.protocols[i].len) == 0;
    echo |=
        id.protocols[i].len == strlen(ECHO_PROTOCOL) &&
        memcmp(id.protocols[i].data, ECHO_PROTOCOL, id.protocols[i].len) == 0;
  }
  assert_true(ping);
  (void)echo;
  /* the observed address is the one we see ourselves from */
  lp2p_conn_info info;
  lp2p_conn_info_get(c, &info);
  assert_non_null(id.observed_addr.data);
  assert_int_equal(id.observed_addr.len, info.local_addr.len);
  assert_memory_equal(id.observed_addr.data, info.local_addr.data,
                      info.local_addr.len);
  /* the signed peer record is the remote's */
  lp2p_identify_verified v;
  assert_int_equal(lp2p_identify_verify(&id, lp2p_conn_peer_id(c), &v), 0);
  assert_true(v.has_pubkey);
  assert_true(v.has_record);
  assert_int_equal(v.record_error, 0);
  assert_true(
      lp2p_peer_id_equal(&v.record.peer_id, lp2p_host_peer_id(remote->host)));
  (void)self;
}

static void test_connect_identify(lp2p_key_type ta, lp2p_muxers ma,
                                  lp2p_key_type tb, lp2p_muxers mb,
                                  const char *want_muxer) {
  pair p;
  pair_connect(&p, ta, ma, tb, mb);
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
  assert_string_equal(ia.muxer, want_muxer);
  assert_string_equal(ib.muxer, want_muxer);
  assert_string_equal(ia.security, want_security);
  assert_string_equal(ib.security, want_security);
  assert_false(ia.outbound);
  assert_true(ib.outbound);
  /* the peer's key comes from the session (the host keeps no copy) */
  assert_int_equal(lp2p_peer_id_check_pubkey(lp2p_conn_peer_id(ca), &ia.pubkey),
                   0);
  assert_int_equal(lp2p_peer_id_check_pubkey(lp2p_conn_peer_id(cb), &ib.pubkey),
                   0);
  check_identify(&p.b, &p.a, cb);
  check_identify(&p.a, &p.b, ca);
  assert_int_equal(lp2p_host_num_conns(p.a.host), 1);
  assert_ptr_equal(lp2p_host_conn(p.b.host, lp2p_host_peer_id(p.a.host)), cb);
  pair_close(&p);
  assert_int_equal(p.a.disconnected, 1);
  assert_int_equal(p.b.disconnected, 1);
}

static void test_upgrade_yamux(void **state) {
  (void)state;
  test_connect_identify(LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
                        LP2P_MUXERS_ALL, LP2P_YAMUX_PROTOCOL_ID);
}

/* A listener that takes only TLS: the dialer, offering Noise first,
 * agrees TLS, and both connections say so. */
static void test_upgrade_tls(void **state) {
  (void)state;
  pair_security = LP2P_SECURITY_TLS;
  want_security = LP2P_TLS_PROTOCOL_ID;
  test_connect_identify(LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
                        LP2P_MUXERS_ALL, LP2P_YAMUX_PROTOCOL_ID);
  pair_security = LP2P_SECURITY_ALL;
  want_security = LP2P_NOISE_PROTOCOL_ID;
}

static void test_upgrade_mplex(void **state) {
  (void)state;
  test_connect_identify(LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_SECP256K1,
                        LP2P_MUXERS_MPLEX, LP2P_MPLEX_PROTOCOL_ID);
}

static void test_upgrade_secp256k1(void **state) {
  (void)state;
  test_connect_identify(LP2P_KEY_SECP256K1, LP2P_MUXERS_YAMUX,
                        LP2P_KEY_SECP256K1, LP2P_MUXERS_ALL,
                        LP2P_YAMUX_PROTOCOL_ID);
}

/* ---- ping --------------------------------------------------------------- */

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

static void test_ping(void **state) {
  (void)state;
  pair p;
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
               LP2P_MUXERS_ALL);
  pings pg = {.want = 100};
  assert_int_equal(lp2p_conn_ping(p.dial.conn, on_ping, &pg), 0);
  assert_int_equal(lp2p_conn_ping(p.dial.conn, on_ping, &pg), LP2P_ERR_STATE);
  th_run_until(pings_done, &pg, 10000);
  assert_int_equal(pg.errors, 0);
  assert_int_equal(pg.done, 100);
  assert_true(pg.last_rtt > 0);
  pair_close(&p);
}

/* ---- echo streams ------------------------------------------------------- */

#define ECHO_STREAMS 64
#define ECHO_BYTES (1u << 20)

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

static void run_echo(lp2p_muxers m) {
  pair p;
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519, m);
  echo_client *e = calloc(ECHO_STREAMS, sizeof(*e));
  for (int i = 0; i < ECHO_STREAMS; i++) {
    e[i].seed = (uint32_t)i * 7919u;
    assert_int_equal(lp2p_conn_open_stream(p.dial.conn, echo_protocols, 1,
                                           on_echo_open, &e[i]),
                     0);
  }
  th_run_until(all_closed, e, 60000);
  for (int i = 0; i < ECHO_STREAMS; i++) {
    assert_int_equal(e[i].open_err, 0);
    assert_false(e[i].mismatch);
    assert_int_equal(e[i].received, ECHO_BYTES);
    assert_true(e[i].ok);
  }
  free(e);
  pair_close(&p);
}

static void test_echo_yamux(void **state) {
  (void)state;
  run_echo(LP2P_MUXERS_YAMUX);
}

static void test_echo_mplex(void **state) {
  (void)state;
  run_echo(LP2P_MUXERS_MPLEX);
}

/* ---- reset -------------------------------------------------------------- */

typedef struct sink {
  int closed;
  lp2p_stream_end why;
  size_t received;
} sink;

static void sink_readable(lp2p_stream *s, void *user) {
  sink *k = user;
  uint8_t buf[4096];
  ssize_t n;
  while ((n = lp2p_stream_read(s, buf, sizeof(buf), NULL)) > 0) {
    k->received += (size_t)n;
  }
}

static void sink_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  sink *k = user;
  k->closed++;
  k->why = why;
}

static const lp2p_stream_callbacks sink_cb = {.readable = sink_readable,
                                              .closed = sink_closed};

/* Holds every stream open and records how each ended. */
static void sink_handler(lp2p_stream *s, void *user) {
  lp2p_stream_set_callbacks(s, &sink_cb, user);
}

typedef struct opener {
  int ok, failed, last_err;
  lp2p_stream *last;
  sink *k;
} opener;

static void on_open_sink(lp2p_conn *c, lp2p_stream *s, int err, void *user) {
  (void)c;
  opener *o = user;
  if (err != 0) {
    o->failed++;
    o->last_err = err;
    return;
  }
  o->ok++;
  o->last = s;
  lp2p_stream_set_callbacks(s, &sink_cb, o->k);
}

static bool opener_done(void *arg) {
  opener *o = arg;
  return o->ok + o->failed > 0;
}

static const char *const sink_protocols[] = {"/sink/1.0.0"};

static bool sink_closed_once(void *arg) {
  return ((sink *)arg)->closed > 0;
}

static void test_reset(void **state) {
  (void)state;
  pair p;
  sink server = {0}, client = {0};
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
               LP2P_MUXERS_ALL);
  assert_int_equal(
      lp2p_host_set_handler(p.a.host, "/sink/1.0.0", sink_handler, &server), 0);
  opener o = {.k = &client};
  assert_int_equal(
      lp2p_conn_open_stream(p.dial.conn, sink_protocols, 1, on_open_sink, &o),
      0);
  th_run_until(opener_done, &o, 5000);
  assert_int_equal(o.ok, 1);
  assert_int_equal(lp2p_stream_write(o.last, (const uint8_t *)"abc", 3), 3);
  assert_int_equal(lp2p_stream_reset(o.last), 0);
  th_run_until(sink_closed_once, &server, 5000);
  th_run_until(sink_closed_once, &client, 5000);
  assert_int_equal(server.why, LP2P_STREAM_END_RESET_REMOTE);
  assert_int_equal(client.why, LP2P_STREAM_END_RESET_LOCAL);
  pair_close(&p);
}

/* A stream both sides closed while the application left bytes unread
 * stays open until they are read: its end is not reported (nor its bytes
 * lost) before the application took them, and then from the loop. */
typedef struct late_reader {
  lp2p_stream *s;
  int readable, closed;
  lp2p_stream_end why;
} late_reader;

static void late_readable(lp2p_stream *s, void *user) {
  (void)s;
  ((late_reader *)user)->readable++; /* reads later, from outside */
}

static void late_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  late_reader *r = user;
  r->closed++;
  r->why = why;
}

static void late_handler(lp2p_stream *s, void *user) {
  static const lp2p_stream_callbacks cb = {.readable = late_readable,
                                           .closed = late_closed};
  late_reader *r = user;
  r->s = s;
  lp2p_stream_set_callbacks(s, &cb, r);
  assert_int_equal(lp2p_stream_close(s), 0); /* it answers nothing */
}

static bool late_closed_once(void *arg) {
  return ((late_reader *)arg)->closed > 0;
}

static void
stream_closed_both_ways_ends_after_its_bytes_are_read(void **state) {
  (void)state;
  pair p;
  late_reader server = {0};
  sink client = {0};
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
               LP2P_MUXERS_ALL);
  assert_int_equal(
      lp2p_host_set_handler(p.a.host, "/late/1.0.0", late_handler, &server), 0);
  static const char *const late[] = {"/late/1.0.0"};
  opener o = {.k = &client};
  assert_int_equal(
      lp2p_conn_open_stream(p.dial.conn, late, 1, on_open_sink, &o), 0);
  th_run_until(opener_done, &o, 5000);
  assert_int_equal(o.ok, 1);
  assert_int_equal(lp2p_stream_write(o.last, (const uint8_t *)"hello", 5), 5);
  assert_int_equal(lp2p_stream_close(o.last), 0);
  th_run_until(sink_closed_once, &client, 5000); /* both sides closed */
  assert_int_equal(client.why, LP2P_STREAM_END_CLOSED);
  th_run_for(100);
  assert_true(server.readable > 0);
  assert_int_equal(server.closed, 0); /* "hello" is still unread */
  uint8_t buf[16];
  bool eof = true;
  assert_int_equal(lp2p_stream_read(server.s, buf, sizeof(buf), &eof), 5);
  assert_memory_equal(buf, "hello", 5);
  assert_true(eof);
  assert_int_equal(server.closed, 0); /* not inside the call */
  th_run_until(late_closed_once, &server, 5000);
  assert_int_equal(server.closed, 1);
  assert_int_equal(server.why, LP2P_STREAM_END_CLOSED);
  pair_close(&p);
}

/* ---- mplex backpressure ------------------------------------------------- */

/* mplex has no flow control, and a peer may send far faster than the
 * application reads: js-libp2p writes all of its streams at once. The host
 * must then stop reading the socket (the peer's TCP stalls, as with
 * go-mplex), not reset streams at mplex's 32 MiB session budget. 64 streams
 * of 1 MiB to a handler that reads nothing until told to: none may be
 * reset, and every byte arrives once the handler reads. */
#define HOLD_STREAMS 64
#define HOLD_BYTES (1u << 20)

typedef struct holder holder;

typedef struct held {
  holder *h;
  lp2p_stream *s;
  size_t received;
  bool closed, mismatch;
  lp2p_stream_end why;
} held;

struct holder {
  bool hold;
  int n;
  held st[HOLD_STREAMS];
};

typedef struct pusher {
  size_t sent;
  bool fin, closed;
  int open_err;
  lp2p_stream_end why;
} pusher;

static uint8_t hold_byte(size_t i) {
  return (uint8_t)(i * 31u + (i >> 11));
}

static void held_read(lp2p_stream *s, void *user) {
  held *k = user;
  if (k->h->hold) {
    return;
  }
  uint8_t buf[16384];
  bool eof = false;
  ssize_t n;
  while ((n = lp2p_stream_read(s, buf, sizeof(buf), &eof)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      k->mismatch |= buf[i] != hold_byte(k->received + (size_t)i);
    }
    k->received += (size_t)n;
  }
  if (n == 0 && eof) {
    assert_int_equal(lp2p_stream_close(s), 0);
  }
}

static void held_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  held *k = user;
  k->closed = true;
  k->why = why;
  k->s = NULL;
}

static void hold_handler(lp2p_stream *s, void *user) {
  static const lp2p_stream_callbacks cb = {.readable = held_read,
                                           .closed = held_closed};
  holder *h = user;
  assert_true(h->n < HOLD_STREAMS);
  held *k = &h->st[h->n++];
  k->h = h;
  k->s = s;
  lp2p_stream_set_callbacks(s, &cb, k);
}

static void pusher_pump(lp2p_stream *s, void *user) {
  pusher *p = user;
  uint8_t buf[16384];
  while (p->sent < HOLD_BYTES) {
    /* exactly HOLD_BYTES, whatever sizes the window lets through */
    size_t want =
        HOLD_BYTES - p->sent < sizeof(buf) ? HOLD_BYTES - p->sent : sizeof(buf);
    for (size_t i = 0; i < want; i++) {
      buf[i] = hold_byte(p->sent + i);
    }
    ssize_t w = lp2p_stream_write(s, buf, want);
    assert_true(w >= 0);
    p->sent += (size_t)w;
    if ((size_t)w < want) {
      return; /* writable follows */
    }
  }
  if (!p->fin) {
    p->fin = true;
    assert_int_equal(lp2p_stream_close(s), 0);
  }
  while (lp2p_stream_read(s, buf, sizeof(buf), NULL) > 0) {
  }
}

static void pusher_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  pusher *p = user;
  p->closed = true;
  p->why = why;
}

static void on_open_pusher(lp2p_conn *c, lp2p_stream *s, int err, void *user) {
  (void)c;
  static const lp2p_stream_callbacks cb = {.readable = pusher_pump,
                                           .writable = pusher_pump,
                                           .closed = pusher_closed};
  pusher *p = user;
  if (err != 0) {
    p->open_err = err;
    p->closed = true;
    return;
  }
  lp2p_stream_set_callbacks(s, &cb, user);
  pusher_pump(s, user);
}

static bool pushers_closed(void *arg) {
  pusher *p = arg;
  for (int i = 0; i < HOLD_STREAMS; i++) {
    if (!p[i].closed) {
      return false;
    }
  }
  return true;
}

static bool pushers_closed_one(void *arg) {
  return ((pusher *)arg)->closed;
}

static void test_mplex_backpressure(void **state) {
  (void)state;
  static const char *const protocols[] = {"/hold/1.0.0"};
  pair p;
  holder *h = calloc(1, sizeof(*h));
  pusher *push = calloc(HOLD_STREAMS, sizeof(*push));
  h->hold = true;
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
               LP2P_MUXERS_MPLEX);
  assert_int_equal(
      lp2p_host_set_handler(p.a.host, "/hold/1.0.0", hold_handler, h), 0);
  for (int i = 0; i < HOLD_STREAMS; i++) {
    assert_int_equal(lp2p_conn_open_stream(p.dial.conn, protocols, 1,
                                           on_open_pusher, &push[i]),
                     0);
  }
  /* loopback moves 64 MiB in well under this when nothing holds it back */
  th_run_for(1500);
  size_t sent = 0;
  for (int i = 0; i < HOLD_STREAMS; i++) {
    assert_int_equal(push[i].open_err, 0);
    assert_false(push[i].closed); /* not reset */
    sent += push[i].sent;
  }
  assert_int_equal(h->n, HOLD_STREAMS);
  for (int i = 0; i < h->n; i++) {
    assert_false(h->st[i].closed);
  }
  /* the sender was held back by TCP: not everything left it */
  assert_true(sent < (size_t)HOLD_STREAMS * HOLD_BYTES);
  h->hold = false;
  for (int i = 0; i < h->n; i++) {
    held_read(h->st[i].s, &h->st[i]);
  }
  th_run_until(pushers_closed, push, 30000);
  for (int i = 0; i < HOLD_STREAMS; i++) {
    assert_int_equal(push[i].why, LP2P_STREAM_END_CLOSED);
    assert_true(h->st[i].closed);
    assert_int_equal(h->st[i].why, LP2P_STREAM_END_CLOSED);
    assert_int_equal(h->st[i].received, HOLD_BYTES);
    assert_false(h->st[i].mismatch);
  }
  free(push);
  free(h);
  pair_close(&p);
}

/* ---- the data callback --------------------------------------------------
 * A consumer with `data` takes bytes where the connection holds them; what
 * it leaves is read with lp2p_stream_read, in order, and the credit of
 * both comes back (1 MiB through yamux's 256 KiB window). */
static size_t taken_in_place, data_calls;

static size_t taker_data(lp2p_stream *s, const uint8_t *p, size_t len,
                         void *user) {
  (void)s;
  held *k = user;
  size_t take = data_calls++ % 2 ? len / 2 : len; /* half, every other */
  for (size_t i = 0; i < take; i++) {
    k->mismatch |= p[i] != hold_byte(k->received + i);
  }
  k->received += take;
  taken_in_place += take;
  return take;
}

static void taker_handler(lp2p_stream *s, void *user) {
  static const lp2p_stream_callbacks cb = {
      .readable = held_read, .closed = held_closed, .data = taker_data};
  holder *h = user;
  held *k = &h->st[h->n++];
  k->h = h;
  k->s = s;
  lp2p_stream_set_callbacks(s, &cb, k);
}

static void run_data_callback(lp2p_muxers muxers) {
  static const char *const protocols[] = {"/take/1.0.0"};
  pair p;
  holder *h = calloc(1, sizeof(*h));
  pusher push = {0};
  taken_in_place = data_calls = 0;
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519, muxers);
  assert_int_equal(
      lp2p_host_set_handler(p.a.host, "/take/1.0.0", taker_handler, h), 0);
  assert_int_equal(
      lp2p_conn_open_stream(p.dial.conn, protocols, 1, on_open_pusher, &push),
      0);
  th_run_until(pushers_closed_one, &push, 30000);
  assert_int_equal(push.why, LP2P_STREAM_END_CLOSED);
  assert_int_equal(h->n, 1);
  assert_true(h->st[0].closed);
  assert_int_equal(h->st[0].received, HOLD_BYTES);
  assert_false(h->st[0].mismatch);
  assert_true(data_calls > 1);
  /* most bytes were taken in place; the halves left were read */
  assert_true(taken_in_place > HOLD_BYTES / 2 && taken_in_place < HOLD_BYTES);
  free(h);
  pair_close(&p);
}

static void data_callback_takes_bytes_in_place_yamux(void **state) {
  (void)state;
  run_data_callback(LP2P_MUXERS_YAMUX);
}

static void data_callback_takes_bytes_in_place_mplex(void **state) {
  (void)state;
  run_data_callback(LP2P_MUXERS_MPLEX);
}

/* ---- dial errors -------------------------------------------------------- */

static void test_dial_errors(void **state) {
  (void)state;
  th_node a, b, c;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  th_node_init(&b, 2, LP2P_KEY_ED25519);
  th_node_init(&c, 3, LP2P_KEY_ED25519);
  th_node_start(&a);
  th_node_start(&b);
  th_node_start(&c);
  th_node_listen(&a);
  th_dial d;

  /* nothing listens there */
  th_dial_text(&b, "/ip4/127.0.0.1/tcp/1", &d);
  th_run_until(th_dial_done, &d, 5000);
  assert_int_equal(d.err, LP2P_ERR_IO);
  assert_non_null(strstr(d.msg, "connect"));

  /* transports lp2p does not dial: refused at once */
  th_dial_text(&b, "/dns4/example.com/tcp/1", &d);
  assert_int_equal(d.err, LP2P_ERR_UNSUPPORTED);
  assert_non_null(strstr(d.msg, "dns4"));
  th_dial_text(&b, "/ip4/127.0.0.1/udp/1", &d); /* UDP without QUIC */
  assert_int_equal(d.err, LP2P_ERR_UNSUPPORTED);

  /* a's address, but c's peer id: Noise refuses the impostor */
  char addr[128], text[256], id[LP2P_PEER_ID_TEXT_MAX];
  th_node_addr_text(&a, addr, sizeof(addr));
  assert_true(
      lp2p_peer_id_to_base58(lp2p_host_peer_id(c.host), id, sizeof(id)) > 0);
  snprintf(text, sizeof(text), "%s/p2p/%s", addr, id);
  th_dial_text(&b, text, &d);
  th_run_until(th_dial_done, &d, 5000);
  assert_int_equal(d.err, LP2P_ERR_PEER_ID_MISMATCH);

  /* dialing ourselves */
  assert_true(
      lp2p_peer_id_to_base58(lp2p_host_peer_id(a.host), id, sizeof(id)) > 0);
  snprintf(text, sizeof(text), "%s/p2p/%s", addr, id);
  th_dial_text(&a, text, &d);
  assert_int_equal(d.err, LP2P_ERR_INVALID_ARG);

  th_node_close(&c);
  th_node_close(&b);
  th_node_close(&a);
}

static void test_no_common_muxer(void **state) {
  (void)state;
  th_node a, b;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  th_node_init(&b, 2, LP2P_KEY_ED25519);
  a.settings.muxers = LP2P_MUXERS_YAMUX;
  b.settings.muxers = LP2P_MUXERS_MPLEX;
  th_node_start(&a);
  th_node_start(&b);
  th_node_listen(&a);
  th_dial d;
  th_dial_start(&b, &a, &d);
  th_run_until(th_dial_done, &d, 5000);
  assert_int_equal(d.err, LP2P_ERR_UNSUPPORTED);
  assert_non_null(strstr(d.msg, "muxer"));
  th_node_close(&b);
  th_node_close(&a);
}

static void test_unsupported_protocol(void **state) {
  (void)state;
  pair p;
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
               LP2P_MUXERS_ALL);
  static const char *const nope[] = {"/nope/1.0.0", "/nope/2.0.0"};
  opener o = {0};
  assert_int_equal(
      lp2p_conn_open_stream(p.dial.conn, nope, 2, on_open_sink, &o), 0);
  th_run_until(opener_done, &o, 5000);
  assert_int_equal(o.failed, 1);
  assert_int_equal(o.last_err, LP2P_ERR_UNSUPPORTED);
  pings pg = {.want = 1};
  assert_int_equal(lp2p_conn_ping(p.dial.conn, on_ping, &pg), 0);
  th_run_until(pings_done, &pg, 5000);
  assert_int_equal(pg.done, 1);
  pair_close(&p);
}

/* ---- hostile peers ------------------------------------------------------ */

static bool handshake_failed(void *arg) {
  return ((th_node *)arg)->handshake_failed > 0;
}

static bool disconnected(void *arg) {
  return ((th_node *)arg)->disconnected > 0;
}

/* After each bad peer, the good connection still answers pings. */
static void assert_still_serving(pair *p) {
  pings pg = {.want = 3};
  assert_int_equal(lp2p_conn_ping(p->dial.conn, on_ping, &pg), 0);
  th_run_until(pings_done, &pg, 5000);
  assert_int_equal(pg.done, 3);
}

static void test_garbage_before_noise(void **state) {
  (void)state;
  pair p;
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
               LP2P_MUXERS_ALL);
  th_raw r;
  th_raw_connect(&r, &p.a);
  const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  th_raw_send(&r, http, strlen(http));
  th_run_until(th_raw_eof, &r, 5000);
  th_run_until(handshake_failed, &p.a, 5000);
  assert_int_equal(p.a.last_handshake_err, LP2P_ERR_MALFORMED);
  assert_non_null(strstr(p.a.last_msg, "security"));
  th_raw_close(&r);
  assert_still_serving(&p);
  pair_close(&p);
}

static void test_garbage_in_noise(void **state) {
  (void)state;
  pair p;
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
               LP2P_MUXERS_ALL);
  th_raw r;
  th_raw_connect(&r, &p.a);
  /* a correct /noise negotiation, then a Noise message that is not one */
  static const uint8_t msg[] = "\x13/multistream/1.0.0\n\x07/noise\n"
                               "\x00\x05hello";
  th_raw_send(&r, msg, sizeof(msg) - 1);
  th_run_until(th_raw_eof, &r, 5000);
  th_run_until(handshake_failed, &p.a, 5000);
  assert_non_null(strstr(p.a.last_msg, "Noise"));
  th_raw_close(&r);
  assert_still_serving(&p);
  pair_close(&p);
}

static void put_yamux(uint8_t *p, uint8_t type, uint16_t flags, uint32_t id,
                      uint32_t len) {
  p[0] = 0;
  p[1] = type;
  p[2] = (uint8_t)(flags >> 8);
  p[3] = (uint8_t)flags;
  for (int i = 0; i < 4; i++) {
    p[4 + i] = (uint8_t)(id >> (24 - 8 * i));
    p[8 + i] = (uint8_t)(len >> (24 - 8 * i));
  }
}

static void test_bad_yamux_frame(void **state) {
  (void)state;
  pair p;
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
               LP2P_MUXERS_ALL);
  th_raw r;
  th_raw_upgrade(&r, &p.a);
  uint8_t frame[12];
  put_yamux(frame, 0, 1, 1, 0);
  frame[0] = 7; /* no such yamux version */
  th_raw_send(&r, frame, sizeof(frame));
  th_run_until(th_raw_eof, &r, 5000);
  th_run_until(disconnected, &p.a, 5000);
  assert_int_equal(p.a.last_reason, LP2P_DISCONNECT_PROTOCOL);
  assert_non_null(strstr(p.a.last_msg, "yamux"));
  th_raw_close(&r);
  assert_still_serving(&p);
  pair_close(&p);
}

static void test_window_overrun(void **state) {
  (void)state;
  pair p;
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
               LP2P_MUXERS_ALL);
  th_raw r;
  th_raw_upgrade(&r, &p.a);
  /* a new stream, then one byte more than its 256 KiB window */
  size_t len = LP2P_YAMUX_INITIAL_WINDOW + 1;
  uint8_t *frame = calloc(1, 12 + len);
  put_yamux(frame, 0, 1, 1, (uint32_t)len);
  th_raw_send(&r, frame, 12 + len);
  free(frame);
  th_run_until(th_raw_eof, &r, 5000);
  th_run_until(disconnected, &p.a, 5000);
  assert_int_equal(p.a.last_reason, LP2P_DISCONNECT_PROTOCOL);
  th_raw_close(&r);
  assert_still_serving(&p);
  pair_close(&p);
}

static bool budget_reset_two(void *arg) {
  lp2p_host_budget_stats st;
  lp2p_host_budget_stats_get(((th_node *)arg)->host, &st);
  return st.streams_reset >= 2;
}

/* A peer filling streams nobody reads past its connection's memory budget
 * gets them reset (never buffered) while opening them cost nothing; the
 * resets are counted and the counts outlive the connection while its
 * memory goes back. */
static void test_connection_memory_budget(void **state) {
  (void)state;
  static const char *const protocols[] = {"/hold/1.0.0"};
  enum { N = 8 };
  pair p;
  holder *h = calloc(1, sizeof(*h));
  pusher *push = calloc(N, sizeof(*push));
  h->hold = true;
  th_node_init(&p.a, 1, LP2P_KEY_ED25519);
  th_node_init(&p.b, 2, LP2P_KEY_ED25519);
  p.a.settings.muxers = p.b.settings.muxers = LP2P_MUXERS_YAMUX;
  p.a.settings.max_conn_memory = 4 * LP2P_YAMUX_INITIAL_WINDOW;
  th_node_start(&p.a);
  th_node_start(&p.b);
  th_node_listen(&p.a);
  assert_int_equal(
      lp2p_host_set_handler(p.a.host, "/hold/1.0.0", hold_handler, h), 0);
  th_dial_start(&p.b, &p.a, &p.dial);
  th_run_until(th_dial_done, &p.dial, 5000);
  assert_int_equal(p.dial.err, 0);
  for (int i = 0; i < N; i++) {
    assert_int_equal(lp2p_conn_open_stream(p.dial.conn, protocols, 1,
                                           on_open_pusher, &push[i]),
                     0);
  }
  th_run_until(budget_reset_two, &p.a, 5000);
  lp2p_host_budget_stats st;
  lp2p_host_budget_stats_get(p.a.host, &st);
  assert_true(st.refused_conn >= 2);
  assert_true(st.used <= 4 * LP2P_YAMUX_INITIAL_WINDOW + 80 * 1024);
  assert_int_equal(st.limit, LP2P_BUDGET_HOST_DEFAULT);
  th_node_close(&p.b);
  th_run_until(disconnected, &p.a, 5000);
  lp2p_host_budget_stats_get(p.a.host, &st);
  assert_true(st.streams_reset >= 2);
  assert_int_equal(st.used, 0);
  th_node_close(&p.a);
  free(push);
  free(h);
}

static void test_handshake_stall(void **state) {
  (void)state;
  th_node a;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  a.settings.handshake_timeout = 300 * LP2P_MILLISECONDS;
  th_node_start(&a);
  th_node_listen(&a);
  th_raw r;
  th_raw_connect(&r, &a); /* and says nothing */
  uint64_t start = uv_hrtime();
  th_run_until(th_raw_eof, &r, 5000);
  assert_true(uv_hrtime() - start >= 250 * LP2P_MILLISECONDS);
  th_run_until(handshake_failed, &a, 5000);
  assert_int_equal(a.last_handshake_err, LP2P_ERR_TIMEOUT);
  th_raw_close(&r);
  /* stalling after the /noise negotiation times out the same way */
  a.handshake_failed = 0;
  th_raw_connect(&r, &a);
  static const uint8_t msg[] = "\x13/multistream/1.0.0\n\x07/noise\n";
  th_raw_send(&r, msg, sizeof(msg) - 1);
  th_run_until(th_raw_eof, &r, 5000);
  th_run_until(handshake_failed, &a, 5000);
  assert_int_equal(a.last_handshake_err, LP2P_ERR_TIMEOUT);
  assert_non_null(strstr(a.last_msg, "Noise"));
  th_raw_close(&r);
  th_node_close(&a);
}

/* ---- limits ------------------------------------------------------------- */

static void test_max_connections(void **state) {
  (void)state;
  pair p;
  th_node_init(&p.a, 1, LP2P_KEY_ED25519);
  p.a.settings.max_connections = 1;
  p.a.settings.reserved_outbound = 0;
  th_node_init(&p.b, 2, LP2P_KEY_ED25519);
  th_node_start(&p.a);
  th_node_start(&p.b);
  th_node_listen(&p.a);
  th_dial_start(&p.b, &p.a, &p.dial);
  th_run_until(th_dial_done, &p.dial, 5000);
  assert_int_equal(p.dial.err, 0);
  th_node c;
  th_node_init(&c, 3, LP2P_KEY_ED25519);
  th_node_start(&c);
  th_dial d;
  th_dial_start(&c, &p.a, &d);
  th_run_until(th_dial_done, &d, 5000);
  assert_int_not_equal(d.err, 0);
  th_run_until(handshake_failed, &p.a, 5000);
  assert_int_equal(p.a.last_handshake_err, LP2P_ERR_TOO_LARGE);
  th_node_close(&c);
  assert_still_serving(&p);
  pair_close(&p);
}

static bool no_streams(void *arg) {
  pair *p = arg;
  lp2p_conn_info ia, ib;
  lp2p_conn_info_get(p->a.last_conn, &ia);
  lp2p_conn_info_get(p->dial.conn, &ib);
  return ia.num_streams == 0 && ib.num_streams == 0;
}

static bool opened(void *arg) {
  opener *o = arg;
  return o->ok + o->failed == 5;
}

static void test_max_streams(void **state) {
  (void)state;
  pair p;
  sink server = {0}, client = {0};
  th_node_init(&p.a, 1, LP2P_KEY_ED25519);
  th_node_init(&p.b, 2, LP2P_KEY_ED25519);
  p.a.settings.max_streams = 4;
  th_node_start(&p.a);
  th_node_start(&p.b);
  th_node_listen(&p.a);
  assert_int_equal(
      lp2p_host_set_handler(p.a.host, "/sink/1.0.0", sink_handler, &server), 0);
  th_dial_start(&p.b, &p.a, &p.dial);
  th_run_until(th_dial_done, &p.dial, 5000);
  th_run_until(th_pair_identified, &p, 5000);
  th_run_until(no_streams, &p, 5000);
  opener o = {.k = &client};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(
        lp2p_conn_open_stream(p.dial.conn, sink_protocols, 1, on_open_sink, &o),
        0);
  }
  th_run_until(opened, &o, 5000);
  assert_int_equal(o.ok, 4);
  assert_int_equal(o.failed, 1);
  assert_int_equal(o.last_err, LP2P_ERR_PROTOCOL);
  pair_close(&p);
}

/* ---- connection lifecycle ------------------------------------------------ */

static bool both_dialed(void *arg) {
  th_dial *d = arg;
  return d[0].done && d[1].done;
}

/* Simultaneous dials leave two connections on both sides, as in go-libp2p
 * and js-libp2p (which may run their streams on either, so closing one
 * would cut them); new streams go on the oldest. */
static void test_simultaneous_dial(void **state) {
  (void)state;
  th_node a, b;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  th_node_init(&b, 2, LP2P_KEY_ED25519);
  th_node_start(&a);
  th_node_start(&b);
  th_node_listen(&a);
  th_node_listen(&b);
  th_dial d[2];
  th_dial_start(&a, &b, &d[0]);
  th_dial_start(&b, &a, &d[1]);
  th_run_until(both_dialed, d, 5000);
  assert_int_equal(d[0].err, 0);
  assert_int_equal(d[1].err, 0);
  th_run_for(300);
  assert_int_equal(lp2p_host_num_conns(a.host), 2);
  assert_int_equal(lp2p_host_num_conns(b.host), 2);
  assert_int_equal(a.connected, 2);
  assert_int_equal(a.disconnected, 0);
  assert_int_equal(b.connected, 2);
  assert_int_equal(b.disconnected, 0);
  assert_non_null(lp2p_host_conn(a.host, lp2p_host_peer_id(b.host)));
  assert_non_null(lp2p_host_conn(b.host, lp2p_host_peer_id(a.host)));
  th_node_close(&b);
  th_node_close(&a);
}

static bool has_disconnected(void *arg) {
  return ((th_node *)arg)->disconnected > 0;
}

/* One peer (one key, several hosts) dials a listener 5 times: 4
 * connections are kept, the oldest carries new streams and, once it is
 * closed, the next oldest takes its place; the 5th is closed at once. */
static void test_connections_per_peer(void **state) {
  (void)state;
  enum { N = 5 };
  th_node a, b[N];
  th_dial d[N];
  lp2p_conn *at_a[N - 1]; /* a's side of the kept ones, oldest first */
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  th_node_start(&a);
  th_node_listen(&a);
  for (int i = 0; i < N; i++) {
    th_node_init(&b[i], 2, LP2P_KEY_ED25519);
    th_node_start(&b[i]);
    th_dial_start(&b[i], &a, &d[i]);
    th_run_until(th_dial_done, &d[i], 5000);
    th_run_for(50);
    if (i < N - 1) {
      assert_int_equal(d[i].err, 0);
      assert_int_equal(a.connected, i + 1);
      at_a[i] = a.last_conn;
    }
  }
  /* the 5th: closed by a before it was announced there */
  th_run_until(has_disconnected, &b[N - 1], 5000);
  assert_int_equal(b[N - 1].last_reason, LP2P_DISCONNECT_REMOTE);
  assert_int_equal(a.connected, N - 1);
  assert_int_equal(a.disconnected, 0);
  assert_int_equal(lp2p_host_num_conns(a.host), N - 1);
  lp2p_peer_id id = *lp2p_host_peer_id(b[0].host); /* b[0] goes first */
  assert_ptr_equal(lp2p_host_conn(a.host, &id), at_a[0]);
  th_node_close(&b[0]);
  th_run_for(300);
  assert_int_equal(lp2p_host_num_conns(a.host), N - 2);
  assert_ptr_equal(lp2p_host_conn(a.host, &id), at_a[1]);
  th_node_close(&b[2]); /* one in the middle */
  th_run_for(300);
  assert_ptr_equal(lp2p_host_conn(a.host, &id), at_a[1]);
  th_node_close(&b[1]);
  th_run_for(300);
  assert_ptr_equal(lp2p_host_conn(a.host, &id), at_a[3]);
  th_node_close(&b[3]);
  th_node_close(&b[4]);
  th_run_for(300);
  assert_null(lp2p_host_conn(a.host, &id));
  assert_int_equal(lp2p_host_num_conns(a.host), 0);
  th_node_close(&a);
}

static void test_reuse_connection(void **state) {
  (void)state;
  pair p;
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
               LP2P_MUXERS_ALL);
  th_dial again;
  th_dial_start(&p.b, &p.a, &again);
  assert_false(again.done); /* never completed inside the call */
  th_run_until(th_dial_done, &again, 5000);
  assert_int_equal(again.err, 0);
  assert_ptr_equal(again.conn, p.dial.conn);
  assert_int_equal(p.b.connected, 1);
  pair_close(&p);
}

static void test_idle_timeout(void **state) {
  (void)state;
  pair p;
  th_node_init(&p.a, 1, LP2P_KEY_ED25519);
  th_node_init(&p.b, 2, LP2P_KEY_ED25519);
  p.a.settings.idle_timeout = 300 * LP2P_MILLISECONDS;
  th_node_start(&p.a);
  th_node_start(&p.b);
  th_node_listen(&p.a);
  th_dial_start(&p.b, &p.a, &p.dial);
  th_run_until(th_dial_done, &p.dial, 5000);
  th_run_until(disconnected, &p.a, 5000);
  assert_int_equal(p.a.last_reason, LP2P_DISCONNECT_IDLE);
  th_run_until(disconnected, &p.b, 5000);
  assert_int_equal(p.b.last_reason, LP2P_DISCONNECT_REMOTE);
  th_node_close(&p.b);
  th_node_close(&p.a);
}

static void test_close_connection(void **state) {
  (void)state;
  pair p;
  pair_connect(&p, LP2P_KEY_ED25519, LP2P_MUXERS_ALL, LP2P_KEY_ED25519,
               LP2P_MUXERS_ALL);
  assert_int_equal(lp2p_conn_close(p.dial.conn), 0);
  assert_int_equal(lp2p_conn_close(p.dial.conn), LP2P_ERR_STATE);
  assert_int_equal(p.b.disconnected, 0); /* not inside the call */
  th_run_until(disconnected, &p.b, 5000);
  th_run_until(disconnected, &p.a, 5000);
  assert_int_equal(p.b.last_reason, LP2P_DISCONNECT_LOCAL);
  assert_int_equal(p.a.last_reason, LP2P_DISCONNECT_REMOTE);
  assert_int_equal(lp2p_host_num_conns(p.a.host), 0);
  pair_close(&p);
}

/* A TCP dial the caller abandons while its upgrade waits on a peer that
 * accepted the connection and never speaks: closed at once, its callback
 * never called. */
static void cancelled_tcp_dial_is_closed_and_never_answered(void **state) {
  (void)state;
  th_check_dial_cancel(false);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_upgrade_yamux, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(
          cancelled_tcp_dial_is_closed_and_never_answered, th_setup,
          th_teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_mplex, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_tls, th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_secp256k1, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_ping, th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(test_echo_yamux, th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(test_echo_mplex, th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(test_reset, th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(
          stream_closed_both_ways_ends_after_its_bytes_are_read, th_setup,
          th_teardown),
      cmocka_unit_test_setup_teardown(test_mplex_backpressure, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(data_callback_takes_bytes_in_place_yamux,
                                      th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(data_callback_takes_bytes_in_place_mplex,
                                      th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(test_dial_errors, th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(test_no_common_muxer, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_unsupported_protocol, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_garbage_before_noise, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_garbage_in_noise, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_bad_yamux_frame, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_window_overrun, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_connection_memory_budget, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_handshake_stall, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_max_connections, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_max_streams, th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(test_simultaneous_dial, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_connections_per_peer, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_reuse_connection, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_idle_timeout, th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(test_close_connection, th_setup,
                                      th_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
