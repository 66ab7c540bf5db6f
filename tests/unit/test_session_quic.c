/* lp2p_session over QUIC (src/net/session_quic.c): two sessions back to
 * back in memory, datagram by datagram, with an injected clock, driven
 * only through the public lp2p_session API. */
#include <arpa/inet.h>
#include <string.h>

#include "testutil.h"

#include "lp2p/session.h"
#include "net/pubsub_stream.h"

#define UNIX_TIME 1767225600 /* 2026-01-01 */
#define MAX_QUEUED 256
#define PROTO "/test/1.0.0"
#define GOT_MAX (1u << 20)

typedef struct end {
  lp2p_session *s;
  lp2p_privkey key;
  lp2p_peer_id id;
  uint64_t rng;
  lp2p_session_settings set;
  int established;
  char muxer[32];
  int closed;
  int closed_err;
  int refuse; /* what authenticated returns */
  uint64_t stream;
  int opened;
  bool inbound;
  char proto[64];
  uint8_t got[GOT_MAX];
  size_t got_len;
  bool consume; /* give credit back at once */
  int ended, stream_closed, stream_resets, reset_err, writable;
} end;

typedef struct pair {
  end a, b; /* a dials (the QUIC client) */
  struct sockaddr_in aaddr, baddr;
  lp2p_tstamp now;
} pair;

static const char *const protos[] = {PROTO};

/* ---- callbacks ---------------------------------------------------------- */

static int on_authenticated(lp2p_session *s, const lp2p_peer_id *remote,
                            const lp2p_pubkey *key, void *user) {
  (void)s;
  end *e = user;
  lp2p_peer_id from_key;
  assert_int_equal(lp2p_peer_id_from_pubkey(key, &from_key), 0);
  assert_true(lp2p_peer_id_equal(&from_key, remote));
  return e->refuse;
}

static void on_established(lp2p_session *s, const lp2p_peer_id *remote,
                           const char *muxer, bool early, void *user) {
  (void)s;
  (void)remote;
  (void)early;
  end *e = user;
  e->established++;
  snprintf(e->muxer, sizeof(e->muxer), "%s", muxer);
}

static void on_closed(lp2p_session *s, int err, const char *msg, void *user) {
  (void)s;
  (void)msg;
  end *e = user;
  e->closed++;
  e->closed_err = err;
}

static void on_opened(lp2p_session *s, uint64_t id, const char *proto,
                      bool inbound, void **stream_user, void *user) {
  (void)s;
  (void)stream_user;
  end *e = user;
  e->opened++;
  e->stream = id;
  e->inbound = inbound;
  snprintf(e->proto, sizeof(e->proto), "%s", proto);
}

static void on_data(lp2p_session *s, uint64_t id, void *stream_user,
                    const uint8_t *data, size_t len, void *user) {
  (void)stream_user;
  end *e = user;
  assert_true(e->got_len + len <= GOT_MAX);
  memcpy(e->got + e->got_len, data, len);
  e->got_len += len;
  if (e->consume) {
    assert_int_equal(lp2p_session_stream_consume(s, id, len), 0);
  }
}

static void on_end(lp2p_session *s, uint64_t id, void *stream_user,
                   void *user) {
  (void)s;
  (void)id;
  (void)stream_user;
  ((end *)user)->ended++;
}

static void on_stream_closed(lp2p_session *s, uint64_t id, void *stream_user,
                             void *user) {
  (void)s;
  (void)id;
  (void)stream_user;
  ((end *)user)->stream_closed++;
}

static void on_reset(lp2p_session *s, uint64_t id, void *stream_user, int err,
                     void *user) {
  (void)s;
  (void)id;
  (void)stream_user;
  end *e = user;
  e->stream_resets++;
  e->reset_err = err;
}

static void on_writable(lp2p_session *s, uint64_t id, void *stream_user,
                        void *user) {
  (void)s;
  (void)id;
  (void)stream_user;
  ((end *)user)->writable++;
}

static const lp2p_session_callbacks cbs = {
    .authenticated = on_authenticated,
    .established = on_established,
    .closed = on_closed,
    .stream_opened = on_opened,
    .stream_data = on_data,
    .stream_end = on_end,
    .stream_closed = on_stream_closed,
    .stream_reset = on_reset,
    .stream_writable = on_writable,
};

/* ---- the pair ----------------------------------------------------------- */

static void make_end(end *e, uint8_t seed_byte, uint64_t rng) {
  memset(e, 0, sizeof(*e));
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof(seed));
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &e->key), 0);
  lp2p_pubkey pub;
  assert_int_equal(lp2p_privkey_public(&e->key, &pub), 0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, &e->id), 0);
  e->rng = rng;
  e->consume = true;
  lp2p_session_settings_default(&e->set);
  e->set.unix_time = UNIX_TIME;
  e->set.rand_fn = test_rand;
  e->set.rand_user = &e->rng;
  e->set.protocols = protos;
  e->set.nprotocols = 1;
}

/* Both ends' settings are theirs to change before pair_start. */
static pair *pair_new(void) {
  pair *p = test_calloc(1, sizeof(*p));
  make_end(&p->a, 1, 1000);
  make_end(&p->b, 2, 1u << 30);
  p->a.set.remote_peer_id = &p->b.id;
  test_loopback4(&p->aaddr, 4001);
  test_loopback4(&p->baddr, 4002);
  p->now = 1 * LP2P_SECONDS;
  return p;
}

static void pair_start(pair *p) {
  assert_int_equal(lp2p_session_new_quic_client(
                       &p->a.s, &p->a.set, &p->a.key,
                       (struct sockaddr *)&p->aaddr, sizeof(p->aaddr),
                       (struct sockaddr *)&p->baddr, sizeof(p->baddr), &cbs,
                       NULL, &p->a, p->now),
                   0);
}

static void pair_del(pair *p) {
  lp2p_session_del(p->a.s);
  lp2p_session_del(p->b.s);
  lp2p_privkey_wipe(&p->a.key);
  lp2p_privkey_wipe(&p->b.key);
  test_free(p);
}

/* The server session is made by the client's first datagram. */
static void to_b(pair *p, const uint8_t *d, size_t n) {
  if (!p->b.s) {
    assert_int_equal(lp2p_session_new_quic_server(
                         &p->b.s, &p->b.set, &p->b.key,
                         (struct sockaddr *)&p->baddr, sizeof(p->baddr),
                         (struct sockaddr *)&p->aaddr, sizeof(p->aaddr), d, n,
                         &cbs, NULL, &p->b, p->now),
                     0);
    return;
  }
  (void)lp2p_session_recv_datagram(p->b.s, d, n, (struct sockaddr *)&p->aaddr,
                                   sizeof(p->aaddr), p->now);
}

/* Moves one side's datagrams to the other; returns how many. */
static size_t flow(pair *p, bool from_a) {
  static uint8_t q[MAX_QUEUED][1500];
  static size_t len[MAX_QUEUED];
  lp2p_session *src = from_a ? p->a.s : p->b.s;
  size_t nq = 0;
  const uint8_t *out;
  ssize_t n;
  while (src && nq < MAX_QUEUED && (n = lp2p_session_pull(src, &out, p->now))) {
    assert_true(n > 0 && (size_t)n <= sizeof(q[0]));
    memcpy(q[nq], out, (size_t)n);
    len[nq++] = (size_t)n;
  }
  for (size_t i = 0; i < nq; i++) {
    if (from_a) {
      to_b(p, q[i], len[i]);
    } else {
      (void)lp2p_session_recv_datagram(p->a.s, q[i], len[i],
                                       (struct sockaddr *)&p->baddr,
                                       sizeof(p->baddr), p->now);
    }
  }
  return nq;
}

static lp2p_tstamp next_expiry(const pair *p) {
  lp2p_tstamp a = lp2p_session_expiry(p->a.s);
  lp2p_tstamp b = p->b.s ? lp2p_session_expiry(p->b.s) : LP2P_TSTAMP_NEVER;
  return a < b ? a : b;
}

/* Exchanges until both are quiet; then, up to `until` on the clock, runs
 * the next deadline and exchanges again. */
static void run_until(pair *p, lp2p_tstamp until) {
  for (int i = 0; i < 100000; i++) {
    while (flow(p, true) + flow(p, false) > 0) {
    }
    lp2p_tstamp t = next_expiry(p);
    if (t == LP2P_TSTAMP_NEVER || t > until) {
      return;
    }
    p->now = t > p->now ? t : p->now;
    (void)lp2p_session_handle_expiry(p->a.s, p->now);
    if (p->b.s) {
      (void)lp2p_session_handle_expiry(p->b.s, p->now);
    }
  }
  fail_msg("the sessions never went quiet");
}

static void settle(pair *p) {
  run_until(p, p->now); /* what is due now, no time passing */
}

static pair *established_pair(void) {
  pair *p = pair_new();
  pair_start(p);
  settle(p);
  assert_true(lp2p_session_is_established(p->a.s));
  assert_true(lp2p_session_is_established(p->b.s));
  return p;
}

/* Opens a stream from a proposing an unknown protocol, then PROTO. */
static uint64_t open_from_a(pair *p) {
  static const char *const proposals[] = {"/unknown/1.0.0", PROTO};
  uint64_t id = 0;
  assert_int_equal(lp2p_session_open_stream(p->a.s, proposals, 2, NULL, &id),
                   0);
  settle(p);
  assert_int_equal(p->a.opened, 1);
  assert_int_equal(p->b.opened, 1);
  return id;
}

/* ---- tests -------------------------------------------------------------- */

static void quic_session_authenticates_both_peer_ids(void **state) {
  (void)state;
  pair *p = established_pair();
  assert_int_equal(p->a.established, 1);
  assert_int_equal(p->b.established, 1);
  assert_true(lp2p_peer_id_equal(lp2p_session_remote(p->a.s), &p->b.id));
  assert_true(lp2p_peer_id_equal(lp2p_session_remote(p->b.s), &p->a.id));
  assert_non_null(lp2p_session_remote_key(p->b.s));
  /* as go's ConnectionState: Transport "quic-v1", no Security or muxer */
  assert_string_equal(lp2p_session_transport(p->a.s), "quic-v1");
  assert_string_equal(lp2p_session_security(p->a.s), "");
  assert_string_equal(lp2p_session_muxer(p->b.s), "");
  assert_string_equal(p->a.muxer, "");
  assert_int_equal(lp2p_session_error(p->a.s, NULL), 0);
  pair_del(p);
}

static void quic_session_takes_datagrams_and_tcp_session_bytes(void **state) {
  (void)state;
  pair *p = established_pair();
  static const uint8_t junk[4] = {1, 2, 3, 4};
  assert_int_equal(lp2p_session_recv(p->a.s, junk, 4, p->now), LP2P_ERR_STATE);
  lp2p_session *tcp = NULL;
  assert_int_equal(lp2p_session_new(&tcp, &p->a.set, &p->a.key, true, NULL,
                                    NULL, NULL, p->now),
                   0);
  assert_string_equal(lp2p_session_transport(tcp), "tcp");
  assert_int_equal(lp2p_session_recv_datagram(tcp, junk, 4,
                                              (struct sockaddr *)&p->baddr,
                                              sizeof(p->baddr), p->now),
                   LP2P_ERR_STATE);
  lp2p_session_del(tcp);
  pair_del(p);
}

static void quic_session_with_wrong_peer_id_is_refused(void **state) {
  (void)state;
  pair *p = pair_new();
  p->a.set.remote_peer_id = &p->a.id; /* not b */
  pair_start(p);
  settle(p);
  assert_int_equal(p->a.established, 0);
  assert_int_equal(p->a.closed, 1);
  assert_int_equal(p->a.closed_err, LP2P_ERR_PEER_ID_MISMATCH);
  assert_false(lp2p_session_is_established(p->a.s));
  pair_del(p);
}

static void
quic_session_refused_by_authenticated_fails_and_closes(void **state) {
  (void)state;
  pair *p = pair_new();
  p->b.refuse = LP2P_ERR_PROTOCOL;
  pair_start(p);
  settle(p);
  assert_int_equal(p->b.established, 0);
  assert_int_equal(p->b.closed, 1);
  assert_int_equal(p->b.closed_err, LP2P_ERR_PROTOCOL);
  assert_false(lp2p_session_is_established(p->b.s));
  /* the refusal's CONNECTION_CLOSE ended the dialer too */
  assert_int_equal(p->a.closed, 1);
  assert_false(lp2p_session_is_established(p->a.s));
  pair_del(p);
}

static void quic_session_to_our_own_peer_id_is_refused(void **state) {
  (void)state;
  pair *p = pair_new();
  lp2p_privkey_wipe(&p->b.key);
  make_end(&p->b, 1, 1u << 30); /* b holds a's key */
  p->a.set.remote_peer_id = &p->a.id;
  pair_start(p);
  settle(p);
  assert_int_equal(p->a.established + p->b.established, 0);
  assert_int_equal(p->a.closed, 1);
  assert_int_equal(p->a.closed_err, LP2P_ERR_INVALID_ARG);
  assert_int_equal(p->b.closed, 1);
  pair_del(p);
}

static void quic_session_without_time_or_idle_timeout_is_refused(void **state) {
  (void)state;
  pair *p = pair_new();
  lp2p_session *s = NULL;
  const struct sockaddr *la = (struct sockaddr *)&p->aaddr;
  const struct sockaddr *ra = (struct sockaddr *)&p->baddr;
  p->a.set.idle_timeout = 0;
  assert_int_equal(lp2p_session_new_quic_client(
                       &s, &p->a.set, &p->a.key, la, sizeof(p->aaddr), ra,
                       sizeof(p->baddr), &cbs, NULL, &p->a, p->now),
                   LP2P_ERR_INVALID_ARG);
  p->a.set.idle_timeout = LP2P_SECONDS;
  p->a.set.unix_time = 0;
  assert_int_equal(lp2p_session_new_quic_client(
                       &s, &p->a.set, &p->a.key, la, sizeof(p->aaddr), ra,
                       sizeof(p->baddr), &cbs, NULL, &p->a, p->now),
                   LP2P_ERR_INVALID_ARG);
  assert_null(s);
  static const uint8_t junk[1200] = {0};
  p->a.set.unix_time = UNIX_TIME;
  assert_int_equal(
      lp2p_session_new_quic_server(&s, &p->a.set, &p->a.key, la,
                                   sizeof(p->aaddr), ra, sizeof(p->baddr), junk,
                                   sizeof(junk), &cbs, NULL, &p->a, p->now),
      LP2P_ERR_MALFORMED);
  assert_null(s);
  pair_del(p);
}

static void
quic_stream_negotiates_protocol_and_carries_data_both_ways(void **state) {
  (void)state;
  pair *p = established_pair();
  uint64_t id = open_from_a(p);
  assert_string_equal(p->a.proto, PROTO);
  assert_string_equal(p->b.proto, PROTO);
  assert_false(p->a.inbound);
  assert_true(p->b.inbound);
  assert_int_equal(p->b.stream, id);
  assert_string_equal(lp2p_session_stream_protocol(p->a.s, id), PROTO);
  assert_string_equal(lp2p_session_stream_protocol(p->b.s, id), PROTO);
  assert_int_equal(lp2p_session_num_streams(p->a.s), 1);
  assert_true(lp2p_session_stream_writable(p->a.s, id) > 0);
  assert_int_equal(
      lp2p_session_stream_write(p->a.s, id, (const uint8_t *)"hi", 2), 2);
  assert_int_equal(
      lp2p_session_stream_write(p->b.s, id, (const uint8_t *)"there", 5), 5);
  settle(p);
  assert_int_equal(p->b.got_len, 2);
  assert_memory_equal(p->b.got, "hi", 2);
  assert_int_equal(p->a.got_len, 5);
  assert_memory_equal(p->a.got, "there", 5);
  /* both half-close: each sees the end, then the stream is closed */
  assert_int_equal(lp2p_session_stream_close(p->a.s, id), 0);
  assert_int_equal(lp2p_session_stream_close(p->b.s, id), 0);
  settle(p);
  assert_int_equal(p->a.ended, 1);
  assert_int_equal(p->b.ended, 1);
  assert_int_equal(p->a.stream_closed, 1);
  assert_int_equal(p->b.stream_closed, 1);
  assert_int_equal(p->a.stream_resets + p->b.stream_resets, 0);
  assert_int_equal(lp2p_session_num_streams(p->a.s), 0);
  pair_del(p);
}

static void quic_stream_window_grows_only_by_consumed_bytes(void **state) {
  (void)state;
  pair *p = pair_new();
  p->b.set.max_stream_unconsumed = 64 * 1024; /* b's stream window */
  p->b.consume = false;
  pair_start(p);
  settle(p);
  uint64_t id = open_from_a(p);
  static uint8_t big[200 * 1024];
  memset(big, 0x5a, sizeof(big));
  assert_int_equal(lp2p_session_stream_write(p->a.s, id, big, sizeof(big)),
                   (ssize_t)sizeof(big));
  run_until(p, p->now + 2 * LP2P_SECONDS);
  size_t first = p->b.got_len;
  assert_true(first > 0);
  assert_true(first <= 64 * 1024);
  assert_int_equal(lp2p_session_stream_consume(p->b.s, id, first), 0);
  run_until(p, p->now + 2 * LP2P_SECONDS);
  assert_true(p->b.got_len > first);
  assert_true(p->b.got_len <= first + 64 * 1024);
  pair_del(p);
}

static void quic_stream_reset_reaches_the_peer(void **state) {
  (void)state;
  pair *p = established_pair();
  uint64_t id = open_from_a(p);
  assert_int_equal(lp2p_session_stream_reset(p->a.s, id), 0);
  assert_int_equal(
      lp2p_session_stream_write(p->a.s, id, (const uint8_t *)"x", 1),
      LP2P_ERR_NOT_FOUND);
  settle(p);
  assert_int_equal(p->b.stream_resets, 1);
  assert_int_equal(p->b.reset_err, LP2P_ERR_PROTOCOL);
  assert_int_equal(p->a.stream_resets, 0); /* no callback for our own */
  assert_int_equal(lp2p_session_num_streams(p->b.s), 0);
  pair_del(p);
}

static void
quic_idle_timeout_fails_session_and_resets_its_streams(void **state) {
  (void)state;
  pair *p = pair_new();
  p->a.set.keepalive_interval = 0;
  p->b.set.keepalive_interval = 0;
  p->a.set.idle_timeout = 10 * LP2P_SECONDS;
  pair_start(p);
  settle(p);
  (void)open_from_a(p);
  run_until(p, p->now + 60 * LP2P_SECONDS);
  assert_int_equal(p->a.closed, 1);
  assert_int_equal(p->a.closed_err, LP2P_ERR_TIMEOUT);
  assert_int_equal(p->b.closed_err, LP2P_ERR_TIMEOUT);
  /* every stream the application knew ends with a callback */
  assert_int_equal(p->a.stream_resets, 1);
  assert_int_equal(p->a.reset_err, LP2P_ERR_TIMEOUT);
  assert_int_equal(p->b.stream_resets, 1);
  pair_del(p);
}

static void quic_keepalive_keeps_an_idle_session_open(void **state) {
  (void)state;
  pair *p = pair_new();
  p->a.set.idle_timeout = 10 * LP2P_SECONDS;
  p->a.set.keepalive_interval = 30 * LP2P_SECONDS; /* capped at 5 s */
  p->b.set.keepalive_interval = 0;                 /* one side suffices */
  pair_start(p);
  settle(p);
  run_until(p, p->now + 120 * LP2P_SECONDS);
  assert_int_equal(p->a.closed + p->b.closed, 0);
  assert_true(lp2p_session_is_established(p->a.s));
  assert_true(lp2p_session_is_established(p->b.s));
  pair_del(p);
}

static void quic_goaway_closes_the_connection_gracefully(void **state) {
  (void)state;
  pair *p = established_pair();
  assert_int_equal(lp2p_session_ping(p->a.s), LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_session_goaway(p->a.s), 0);
  assert_false(lp2p_session_is_established(p->a.s));
  const char *const proposals[] = {PROTO};
  uint64_t id;
  assert_int_equal(lp2p_session_open_stream(p->a.s, proposals, 1, NULL, &id),
                   LP2P_ERR_STATE);
  settle(p);
  assert_int_equal(p->a.closed, 0); /* our own choice, not a failure */
  assert_int_equal(p->b.closed, 1);
  assert_false(lp2p_session_is_established(p->b.s));
  assert_int_equal(lp2p_session_goaway(p->a.s), LP2P_ERR_STATE);
  pair_del(p);
}

/* ---- memory budgets ------------------------------------------------------ */

/* As over TCP (session.c): what was delivered and not consumed is held
 * in the session's budget until consumed or the stream goes. */
static void quic_unconsumed_bytes_are_held_in_the_budget(void **state) {
  (void)state;
  lp2p_budget budget;
  lp2p_budget_init(&budget, NULL, 1u << 20);
  pair *p = pair_new();
  p->b.set.budget = &budget;
  p->b.consume = false;
  pair_start(p);
  settle(p);
  uint64_t id = open_from_a(p);
  static uint8_t buf[3000];
  assert_int_equal(lp2p_session_stream_write(p->a.s, id, buf, sizeof(buf)),
                   (ssize_t)sizeof(buf));
  run_until(p, p->now + LP2P_SECONDS); /* b's negotiation reply is acked */
  assert_int_equal(p->b.got_len, 3000);
  assert_int_equal(budget.used, 3000);
  assert_int_equal(lp2p_session_stream_consume(p->b.s, id, 1000), 0);
  assert_int_equal(budget.used, 2000);
  assert_int_equal(lp2p_session_stream_reset(p->b.s, id), 0);
  assert_int_equal(budget.used, 0); /* a stream gone gives all back */
  pair_del(p);
}

/* Two connections whose budgets share a parent (a peer's scope), b the
 * listener of both. */
typedef struct two_conns {
  lp2p_budget peer, conn1, conn2;
  pair *p1, *p2;
} two_conns;

static void two_conns_start(two_conns *t, uint64_t conn_limit) {
  lp2p_budget_init(&t->peer, NULL, 1u << 20);
  lp2p_budget_init(&t->conn1, &t->peer, conn_limit);
  lp2p_budget_init(&t->conn2, &t->peer, conn_limit);
  t->p1 = pair_new();
  t->p2 = pair_new();
  t->p1->b.set.budget = &t->conn1;
  t->p2->b.set.budget = &t->conn2;
  t->p1->b.consume = false;
  pair_start(t->p1);
  pair_start(t->p2);
  settle(t->p1);
  settle(t->p2);
}

/* A peer writing past the connection's budget within the stream's window
 * gets the stream reset (LP2P_ERR_TOO_LARGE, counted), never buffered, as
 * over TCP; the budget is back to zero once the stream ended, and the
 * other connection's budget saw none of it. */
static void quic_stream_past_budget_is_reset_and_counted(void **state) {
  (void)state;
  two_conns t;
  two_conns_start(&t, 64 * 1024);
  uint64_t id = open_from_a(t.p1);
  uint64_t id2 = open_from_a(t.p2);
  static uint8_t big[200 * 1024];
  memset(big, 0x5a, sizeof(big));
  assert_int_equal(lp2p_session_stream_write(t.p1->a.s, id, big, sizeof(big)),
                   (ssize_t)sizeof(big));
  run_until(t.p1, t.p1->now + 2 * LP2P_SECONDS);
  assert_int_equal(t.p1->b.stream_resets, 1);
  assert_int_equal(t.p1->b.reset_err, LP2P_ERR_TOO_LARGE);
  assert_true(t.p1->b.got_len <= 64 * 1024);
  lp2p_session_stats st;
  lp2p_session_stats_get(t.p1->b.s, &st);
  assert_int_equal(st.streams_reset_budget, 1);
  assert_int_equal(lp2p_session_num_streams(t.p1->b.s), 0);
  assert_int_equal(t.conn1.used, 0);
  assert_true(t.conn1.refused >= 1);
  /* the reset reached the writer: its stream ended too */
  assert_int_equal(t.p1->a.stream_resets, 1);
  /* the other connection: nothing held, nothing refused, still carrying */
  assert_int_equal(t.conn2.used, 0);
  assert_int_equal(t.conn2.refused, 0);
  assert_int_equal(lp2p_session_stream_write(t.p2->a.s, id2, big, 4096), 4096);
  run_until(t.p2, t.p2->now + LP2P_SECONDS);
  assert_int_equal(t.p2->b.got_len, 4096);
  assert_int_equal(t.p2->b.stream_resets, 0);
  assert_int_equal(t.peer.used, 0);
  pair_del(t.p1);
  pair_del(t.p2);
}

/* Send chunks (written, not yet acknowledged) are charged as yamux's
 * send buffers: a write takes what the budget has room for, is counted,
 * and stream_writable follows once acknowledgements gave room back. */
/* Our writes kept until acknowledged are not charged (as go charges only
 * QUIC's receive windows): a budget smaller than what is in flight takes
 * the write whole and stays free for what the peer sends. */
static void quic_writes_in_flight_leave_the_budget_to_reads(void **state) {
  (void)state;
  lp2p_budget budget;
  lp2p_budget_init(&budget, NULL, 32 * 1024);
  pair *p = pair_new();
  p->a.set.budget = &budget;
  pair_start(p);
  settle(p);
  uint64_t id = open_from_a(p);
  run_until(p, p->now + LP2P_SECONDS); /* the proposals are acked */
  static uint8_t big[100 * 1024];
  assert_int_equal(lp2p_session_stream_write(p->a.s, id, big, sizeof(big)),
                   sizeof(big));
  assert_int_equal(budget.used, 0);
  run_until(p, p->now + LP2P_SECONDS);
  assert_int_equal(p->b.got_len, sizeof(big));
  pair_del(p);
}

/* ---- the pubsub stream codec over a QUIC stream ------------------------- */

static ptrdiff_t sink_write(const uint8_t *p, size_t len, void *user) {
  pair *pr = user;
  return lp2p_session_stream_write(pr->a.s, pr->a.stream, p, len);
}

typedef struct rpcs_seen {
  size_t n;
  size_t len[4];
  uint8_t first[4];
} rpcs_seen;

static int on_rpc(const uint8_t *rpc, size_t len, void *user) {
  rpcs_seen *seen = user;
  assert_true(seen->n < 4);
  seen->len[seen->n] = len;
  seen->first[seen->n++] = len ? rpc[0] : 0;
  return 0;
}

static void pubsub_rpcs_cross_a_quic_stream_whole_and_in_order(void **state) {
  (void)state;
  pair *p = pair_new();
  p->b.set.max_stream_unconsumed = 128 * 1024; /* many windows' worth */
  pair_start(p);
  settle(p);
  (void)open_from_a(p);
  static uint8_t rpc[600 * 1024];
  lp2p__pubsub_writer w;
  lp2p__pubsub_writer_init(&w, 1u << 20, NULL);
  lp2p__pubsub_sink sink = {.write = sink_write, .user = p};
  const size_t sizes[3] = {10, sizeof(rpc), 0};
  for (size_t i = 0; i < 3; i++) {
    memset(rpc, (int)(0x41 + i), sizes[i]);
    lp2p_buf framed;
    lp2p_buf_init(&framed, NULL);
    assert_int_equal(lp2p__pubsub_frame(&framed, rpc, sizes[i]), 0);
    assert_int_equal(
        lp2p__pubsub_writer_put(&w, framed.data, framed.len, &sink, p->now), 0);
    lp2p_buf_free(&framed);
  }
  for (int i = 0; i < 50 && lp2p__pubsub_writer_held(&w) > 0; i++) {
    run_until(p, p->now + 100 * LP2P_MILLISECONDS);
    assert_true(lp2p__pubsub_writer_flush(&w, &sink, p->now) >= 0);
  }
  run_until(p, p->now + LP2P_SECONDS);
  lp2p__pubsub_reader r;
  lp2p__pubsub_reader_init(&r, 1u << 20, NULL);
  rpcs_seen seen = {0};
  assert_int_equal(
      lp2p__pubsub_reader_recv(&r, p->b.got, p->b.got_len, on_rpc, &seen), 0);
  assert_int_equal(seen.n, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(seen.len[i], sizes[i]);
  }
  assert_int_equal(seen.first[1], 0x42);
  lp2p__pubsub_reader_free(&r);
  lp2p__pubsub_writer_free(&w);
  pair_del(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(quic_session_authenticates_both_peer_ids),
      cmocka_unit_test(quic_session_takes_datagrams_and_tcp_session_bytes),
      cmocka_unit_test(quic_session_with_wrong_peer_id_is_refused),
      cmocka_unit_test(quic_session_refused_by_authenticated_fails_and_closes),
      cmocka_unit_test(quic_session_to_our_own_peer_id_is_refused),
      cmocka_unit_test(quic_session_without_time_or_idle_timeout_is_refused),
      cmocka_unit_test(
          quic_stream_negotiates_protocol_and_carries_data_both_ways),
      cmocka_unit_test(quic_stream_window_grows_only_by_consumed_bytes),
      cmocka_unit_test(quic_stream_reset_reaches_the_peer),
      cmocka_unit_test(quic_idle_timeout_fails_session_and_resets_its_streams),
      cmocka_unit_test(quic_keepalive_keeps_an_idle_session_open),
      cmocka_unit_test(quic_goaway_closes_the_connection_gracefully),
      cmocka_unit_test(pubsub_rpcs_cross_a_quic_stream_whole_and_in_order),
      cmocka_unit_test(quic_unconsumed_bytes_are_held_in_the_budget),
      cmocka_unit_test(quic_stream_past_budget_is_reset_and_counted),
      cmocka_unit_test(quic_writes_in_flight_leave_the_budget_to_reads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
