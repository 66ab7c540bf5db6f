/* identify and ping as sans-IO services (net/services.h): two sessions
 * back to back in memory with an injected clock, as test_session.c wires
 * them. A side runs the services, or is a bare session that plays a
 * hostile or mute peer stream by stream. */
#include <arpa/inet.h>
#include <stdlib.h>

#include "testutil.h"

#include "lp2p/record.h"
#include "lp2p/session.h"
#include "net/services.h"
#include "net/session_quic.h"

#define MAX_RAW 4
#define RAW_DATA 4096

/* A stream of a bare side: what it received and how it ended. */
typedef struct raw_stream {
  uint64_t id;
  uint8_t data[RAW_DATA];
  size_t ndata;
  int resets;
  bool ended;
} raw_stream;

typedef struct side {
  lp2p_session *s;
  lp2p__services *sv; /* NULL: a bare session */
  lp2p_privkey key;
  lp2p_peer_id id;
  uint64_t rng;
  raw_stream raw[MAX_RAW];
  size_t nraw;
  /* what the services reported */
  int pings;
  lp2p_tstamp rtt;
  int ping_err;
  int identified;
  lp2p_identify peer;     /* views into peer_raw */
  lp2p_buf peer_raw;      /* taken from the callback */
  lp2p_buf answer_record; /* our signed peer record */
  lp2p_buf answer_addr;   /* our listen address */
  bool verified_pubkey, verified_record;
  /* how its session is made (QUIC: b's by a's first datagram) */
  lp2p_session_settings set;
  bool services;
  struct sockaddr_in addr;
  lp2p__quic_endpoint *ep; /* endpoint mode: its sessions' connections */
} side;

typedef struct pair {
  side a, b; /* a dials */
  lp2p_tstamp now;
  bool quic;      /* QUIC sessions, else TCP */
  bool endpoints; /* QUIC: sessions of an endpoint per side */
} pair;

static const char *const builtin[] = {LP2P_IDENTIFY_PROTOCOL_ID,
                                      LP2P_IDENTIFY_PUSH_PROTOCOL_ID,
                                      LP2P_PING_PROTOCOL_ID};

/* ---- a bare side's streams ---------------------------------------------- */

static raw_stream *raw_of(side *d, uint64_t id) {
  for (size_t i = 0; i < d->nraw; i++) {
    if (d->raw[i].id == id) {
      return &d->raw[i];
    }
  }
  assert_true(d->nraw < MAX_RAW);
  raw_stream *r = &d->raw[d->nraw++];
  memset(r, 0, sizeof(*r));
  r->id = id;
  return r;
}

/* ---- the session's callbacks: services' streams forwarded --------------- */

static void on_opened(lp2p_session *s, uint64_t id, const char *proto,
                      bool inbound, void **stream_user, void *user) {
  (void)s;
  side *d = user;
  if (!inbound && lp2p__services_owns(*stream_user)) {
    lp2p__services_opened(*stream_user);
  } else if (inbound && d->sv && lp2p__services_is_builtin(proto)) {
    lp2p__services_accept(d->sv, id, proto, stream_user);
  } else {
    (void)raw_of(d, id);
  }
}

static void on_data(lp2p_session *s, uint64_t id, void *stream_user,
                    const uint8_t *data, size_t len, void *user) {
  if (lp2p__services_owns(stream_user)) {
    lp2p__services_data(stream_user, data, len);
    return;
  }
  raw_stream *r = raw_of(user, id);
  assert_true(r->ndata + len <= RAW_DATA);
  memcpy(r->data + r->ndata, data, len);
  r->ndata += len;
  assert_int_equal(lp2p_session_stream_consume(s, id, len), 0);
}

static void on_end(lp2p_session *s, uint64_t id, void *stream_user,
                   void *user) {
  (void)s;
  if (lp2p__services_owns(stream_user)) {
    lp2p__services_end(stream_user);
  } else {
    raw_of(user, id)->ended = true;
  }
}

static void on_writable(lp2p_session *s, uint64_t id, void *stream_user,
                        void *user) {
  (void)s;
  (void)id;
  (void)user;
  if (lp2p__services_owns(stream_user)) {
    lp2p__services_writable(stream_user);
  }
}

static void on_closed(lp2p_session *s, uint64_t id, void *stream_user,
                      void *user) {
  (void)s;
  (void)id;
  (void)user;
  if (lp2p__services_owns(stream_user)) {
    lp2p__services_closed(stream_user);
  }
}

static void on_reset(lp2p_session *s, uint64_t id, void *stream_user, int err,
                     void *user) {
  (void)s;
  if (lp2p__services_owns(stream_user)) {
    lp2p__services_reset(stream_user, err);
  } else {
    raw_of(user, id)->resets++;
  }
}

static const lp2p_session_callbacks session_cb = {
    .stream_opened = on_opened,
    .stream_data = on_data,
    .stream_end = on_end,
    .stream_writable = on_writable,
    .stream_closed = on_closed,
    .stream_reset = on_reset,
};

/* ---- the services' callbacks -------------------------------------------- */

/* Our answer: key, one listen address, the builtin protocols, a signed
 * peer record of that address. */
static int answer(lp2p__services *sv, lp2p_identify *id, lp2p_buf *storage,
                  void *user) {
  (void)sv;
  side *d = user;
  lp2p_pubkey pub;
  uint8_t pk[LP2P_PUBKEY_PB_MAX];
  assert_int_equal(lp2p_privkey_public(&d->key, &pub), 0);
  int pklen = lp2p_pubkey_marshal(&pub, pk, sizeof(pk));
  assert_true(pklen > 0);
  assert_int_equal(lp2p_buf_append(storage, pk, (size_t)pklen), 0);
  id->public_key = (lp2p_bytes){storage->data, (size_t)pklen};
  id->listen_addrs[id->naddrs++] =
      (lp2p_bytes){d->answer_addr.data, d->answer_addr.len};
  for (size_t i = 0; i < 3; i++) {
    id->protocols[id->nprotocols++] =
        (lp2p_bytes){(const uint8_t *)builtin[i], strlen(builtin[i])};
  }
  id->signed_peer_record =
      (lp2p_bytes){d->answer_record.data, d->answer_record.len};
  return 0;
}

static void identified(lp2p__services *sv, lp2p_buf *raw,
                       const lp2p_identify *id, const lp2p_identify_verified *v,
                       bool push, void *user) {
  (void)sv;
  (void)id;
  assert_false(push);
  side *d = user;
  d->identified++;
  lp2p_buf tmp = d->peer_raw;
  d->peer_raw = *raw; /* taken, as the host does */
  *raw = tmp;
  assert_int_equal(
      lp2p_identify_read(d->peer_raw.data, d->peer_raw.len, &d->peer), 0);
  d->verified_pubkey = v->has_pubkey;
  d->verified_record =
      v->has_record && v->record_error == 0 &&
      lp2p_peer_id_equal(&v->record.peer_id, lp2p_session_remote(d->s));
}

static void ping_done(lp2p__services *sv, lp2p_tstamp rtt, int err,
                      void *user) {
  (void)sv;
  side *d = user;
  d->pings++;
  d->rtt = rtt;
  d->ping_err = err;
}

static const lp2p__services_callbacks services_cb = {
    .identify_answer = answer,
    .identified = identified,
    .ping_done = ping_done,
};

/* ---- the pair ----------------------------------------------------------- */

static void services_start(side *d) {
  if (d->services) {
    lp2p__services_settings ss = {.rand_fn = test_rand,
                                  .rand_user = &d->rng,
                                  .ping_timeout = 2 * LP2P_SECONDS};
    assert_int_equal(
        lp2p__services_new(&d->sv, d->s, &ss, &services_cb, NULL, d), 0);
  }
}

/* ---- endpoint mode: b's session is made when a's Initial arrives -------- */

static int ep_incoming(lp2p__quic_endpoint *ep, const struct sockaddr *remote,
                       uint32_t remote_len, void **conn_user, void *user) {
  (void)remote;
  (void)remote_len;
  side *d = user;
  assert_null(d->s);
  assert_int_equal(
      lp2p__session_quic_new_for(&d->s, ep, &d->key, &session_cb, NULL, d), 0);
  services_start(d);
  *conn_user = d->s;
  return 0;
}

static void ep_accepted(lp2p__quic_endpoint *ep, lp2p__quic *q, void *conn_user,
                        void *user) {
  (void)ep;
  (void)user;
  lp2p__session_quic_attach(conn_user, q);
}

static void ep_released(lp2p__quic_endpoint *ep, lp2p__quic *q, void *conn_user,
                        void *user) {
  (void)ep;
  (void)q;
  (void)user;
  if (conn_user) {
    lp2p__session_quic_released(conn_user);
  }
}

static void endpoint_start(pair *p, side *d, bool initiator) {
  side *peer = d == &p->a ? &p->b : &p->a;
  lp2p__quic_endpoint_settings es;
  lp2p__quic_endpoint_settings_default(&es);
  assert_int_equal(lp2p__session_quic_settings(&d->set, &es.conn), 0);
  lp2p__quic_endpoint_callbacks ecb = {
      .conn = lp2p__session_quic_conn_callbacks,
      .incoming = ep_incoming,
      .accepted = ep_accepted,
      .released = ep_released,
  };
  assert_int_equal(lp2p__quic_endpoint_new(&d->ep, &es, &d->key,
                                           (struct sockaddr *)&d->addr,
                                           sizeof(d->addr), &ecb, NULL, d),
                   0);
  if (initiator) {
    assert_int_equal(
        lp2p__session_quic_connect(&d->s, d->ep, (struct sockaddr *)&peer->addr,
                                   sizeof(peer->addr), &peer->id, &d->key,
                                   &session_cb, NULL, d, p->now),
        0);
    services_start(d);
  }
}

/* The session, and the services on it when the side runs them. */
static void side_start(pair *p, side *d, bool initiator, const uint8_t *first,
                       size_t len) {
  side *peer = d == &p->a ? &p->b : &p->a;
  const struct sockaddr *self = (const struct sockaddr *)&d->addr;
  const struct sockaddr *other = (const struct sockaddr *)&peer->addr;
  if (p->endpoints) {
    endpoint_start(p, d, initiator);
    return;
  }
  if (!p->quic) {
    assert_int_equal(lp2p_session_new(&d->s, &d->set, &d->key, initiator,
                                      &session_cb, NULL, d, p->now),
                     0);
  } else if (initiator) {
    assert_int_equal(lp2p_session_new_quic_client(
                         &d->s, &d->set, &d->key, self, sizeof(d->addr), other,
                         sizeof(peer->addr), &session_cb, NULL, d, p->now),
                     0);
  } else {
    assert_int_equal(
        lp2p_session_new_quic_server(&d->s, &d->set, &d->key, self,
                                     sizeof(d->addr), other, sizeof(peer->addr),
                                     first, len, &session_cb, NULL, d, p->now),
        0);
  }
  services_start(d);
}

static void make_side(pair *p, side *d, uint8_t seed_byte, bool initiator,
                      bool services, const char *const *protos, size_t n) {
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof(seed));
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &d->key), 0);
  lp2p_pubkey pub;
  assert_int_equal(lp2p_privkey_public(&d->key, &pub), 0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, &d->id), 0);
  d->rng = seed_byte;
  lp2p_buf_init(&d->peer_raw, NULL);
  lp2p_buf_init(&d->answer_addr, NULL);
  lp2p_buf_init(&d->answer_record, NULL);
  const char *listen =
      p->quic ? "/ip4/192.0.2.7/udp/4001/quic-v1" : "/ip4/192.0.2.7/tcp/4001";
  assert_int_equal(lp2p_multiaddr_parse(listen, &d->answer_addr, NULL), 0);
  lp2p_peer_record rec;
  memset(&rec, 0, sizeof(rec));
  rec.peer_id = d->id;
  rec.seq = 7;
  rec.naddrs = 1;
  rec.addrs[0] =
      (lp2p_peer_record_addr){d->answer_addr.data, d->answer_addr.len};
  assert_int_equal(lp2p_peer_record_seal(&d->key, &rec, &d->answer_record), 0);

  lp2p_session_settings_default(&d->set);
  d->set.rand_fn = test_rand;
  d->set.unix_time = 1800000000;
  d->set.rand_user = &d->rng;
  d->set.protocols = protos;
  d->set.nprotocols = n;
  d->services = services;
  if (initiator || !p->quic || p->endpoints) {
    side_start(p, d, initiator, NULL, 0);
  }
}

/* QUIC: one datagram; the listener's session is made by the first. */
static void deliver(pair *p, side *to, const uint8_t *data, size_t n) {
  side *from = to == &p->a ? &p->b : &p->a;
  if (p->endpoints) {
    assert_int_equal(lp2p__quic_endpoint_recv(
                         to->ep, data, n, (const struct sockaddr *)&from->addr,
                         sizeof(from->addr), p->now),
                     0);
  } else if (!p->quic) {
    (void)lp2p_session_recv(to->s, data, n, p->now);
  } else if (!to->s) {
    side_start(p, to, false, data, n);
  } else {
    (void)lp2p_session_recv_datagram(to->s, data, n,
                                     (const struct sockaddr *)&from->addr,
                                     sizeof(from->addr), p->now);
  }
}

static size_t move(pair *p, side *from, side *to) {
  size_t moved = 0;
  const uint8_t *out;
  const struct sockaddr *dest;
  uint32_t dest_len;
  ssize_t n;
  while (p->endpoints
             ? (n = lp2p__quic_endpoint_pull(from->ep, &out, &dest, &dest_len,
                                             p->now)) > 0
             : from->s && (n = lp2p_session_pull(from->s, &out, p->now)) > 0) {
    uint8_t *copy = malloc((size_t)n);
    assert_non_null(copy);
    memcpy(copy, out, (size_t)n);
    deliver(p, to, copy, (size_t)n);
    free(copy);
    moved += (size_t)n;
  }
  return moved;
}

static void pump(pair *p) {
  for (int round = 0; round < 1000; round++) {
    if (move(p, &p->a, &p->b) + move(p, &p->b, &p->a) == 0) {
      return;
    }
  }
  fail_msg("the sessions never went quiet");
}

/* a and b, each with the services or bare (accepting `b_protos`). */
static void start_pair_with(pair *p, bool quic, bool endpoints, bool a_services,
                            bool b_services, const char *const *b_protos,
                            size_t nb) {
  memset(p, 0, sizeof(*p));
  p->quic = quic;
  p->endpoints = endpoints;
  p->now = 1000 * LP2P_SECONDS;
  for (int i = 0; i < 2; i++) {
    side *d = i == 0 ? &p->a : &p->b;
    d->addr.sin_family = AF_INET;
    d->addr.sin_port = htons((uint16_t)(4001 + i));
    d->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  make_side(p, &p->a, 0xa1, true, a_services, builtin, 3);
  make_side(p, &p->b, 0xb2, false, b_services, b_protos, nb);
  pump(p);
  assert_true(lp2p_session_is_established(p->a.s));
  assert_true(lp2p_session_is_established(p->b.s));
}

static void start_pair_of(pair *p, bool quic, bool a_services, bool b_services,
                          const char *const *b_protos, size_t nb) {
  start_pair_with(p, quic, false, a_services, b_services, b_protos, nb);
}

static void start_pair(pair *p, bool a_services, bool b_services,
                       const char *const *b_protos, size_t nb) {
  start_pair_of(p, false, a_services, b_services, b_protos, nb);
}

static void stop_side(side *d) {
  lp2p__services_del(d->sv);
  lp2p_session_del(d->s);
  lp2p__quic_endpoint_del(d->ep);
  lp2p_buf_free(&d->peer_raw);
  lp2p_buf_free(&d->answer_addr);
  lp2p_buf_free(&d->answer_record);
}

static void stop_pair(pair *p) {
  stop_side(&p->a);
  stop_side(&p->b);
}

/* Opens a stream from bare `d` and pumps; returns its raw record. */
static raw_stream *open_raw(pair *p, side *d, const char *proto) {
  uint64_t id;
  const char *const protos[] = {proto};
  assert_int_equal(lp2p_session_open_stream(d->s, protos, 1, NULL, &id), 0);
  pump(p);
  return raw_of(d, id);
}

static void write_raw(side *d, const raw_stream *r, const uint8_t *data,
                      size_t len) {
  assert_int_equal(lp2p_session_stream_write(d->s, r->id, data, len),
                   (ssize_t)len);
}

/* ---- ping --------------------------------------------------------------- */

static void ping_round_trip_reports_rtt_of_injected_clock(void **state) {
  (void)state;
  pair p;
  start_pair(&p, true, true, builtin, 3);
  /* the first ping opens the stream kept for pings */
  assert_int_equal(lp2p__services_ping(p.a.sv, p.now), 0);
  assert_int_equal(p.a.pings, 0); /* never inside the call */
  pump(&p);
  assert_int_equal(p.a.pings, 1);
  assert_int_equal(p.a.ping_err, 0);
  /* the second goes out at now and its echo is read 7 ms later */
  assert_int_equal(lp2p__services_ping(p.a.sv, p.now), 0);
  assert_int_equal(lp2p__services_ping(p.a.sv, p.now), LP2P_ERR_STATE);
  p.now += 7 * LP2P_MILLISECONDS;
  pump(&p);
  assert_int_equal(p.a.pings, 2);
  assert_int_equal(p.a.ping_err, 0);
  assert_int_equal(p.a.rtt, 7 * LP2P_MILLISECONDS);
  assert_int_equal(lp2p__services_expiry(p.a.sv), LP2P_TSTAMP_NEVER);
  stop_pair(&p);
}

/* A session's clock is its last input's: a ping on a connection quiet
 * for a second is timed from the call, not from that input. */
static void ping_rtt_is_timed_from_the_ping_call(void **state) {
  (void)state;
  pair p;
  start_pair(&p, true, true, builtin, 3);
  assert_int_equal(lp2p__services_ping(p.a.sv, p.now), 0);
  pump(&p); /* opens the stream kept for pings */
  assert_int_equal(p.a.pings, 1);
  p.now += 1 * LP2P_SECONDS; /* nothing arrives meanwhile */
  assert_int_equal(lp2p__services_ping(p.a.sv, p.now), 0);
  move(&p, &p.a, &p.b);
  p.now += 7 * LP2P_MILLISECONDS;
  pump(&p);
  assert_int_equal(p.a.pings, 2);
  assert_int_equal(p.a.ping_err, 0);
  assert_int_equal(p.a.rtt, 7 * LP2P_MILLISECONDS);
  stop_pair(&p);
}

static const char *const ping_only[] = {LP2P_PING_PROTOCOL_ID};

static void unanswered_ping_times_out_at_its_deadline(void **state) {
  (void)state;
  pair p;
  start_pair(&p, true, false, ping_only, 1); /* b reads and never echoes */
  lp2p_tstamp sent = p.now;
  assert_int_equal(lp2p__services_ping(p.a.sv, p.now), 0);
  pump(&p);
  assert_int_equal(p.b.nraw, 1);
  assert_int_equal(p.b.raw[0].ndata, LP2P_PING_SIZE);
  assert_int_equal(lp2p__services_expiry(p.a.sv), sent + 2 * LP2P_SECONDS);
  lp2p__services_handle_expiry(p.a.sv, sent + 2 * LP2P_SECONDS - 1);
  assert_int_equal(p.a.pings, 0);
  p.now = sent + 2 * LP2P_SECONDS;
  lp2p__services_handle_expiry(p.a.sv, p.now);
  assert_int_equal(p.a.pings, 1);
  assert_int_equal(p.a.ping_err, LP2P_ERR_TIMEOUT);
  pump(&p);
  assert_int_equal(p.b.raw[0].resets, 1); /* the stream was given up */
  assert_int_equal(lp2p__services_expiry(p.a.sv), LP2P_TSTAMP_NEVER);
  stop_pair(&p);
}

static void inbound_ping_flood_is_reset_and_other_streams_echo(void **state) {
  (void)state;
  pair p;
  start_pair(&p, false, true, builtin, 3); /* a is bare and pings b */
  raw_stream *flood = open_raw(&p, &p.a, LP2P_PING_PROTOCOL_ID);
  raw_stream *good = open_raw(&p, &p.a, LP2P_PING_PROTOCOL_ID);
  uint8_t many[(LP2P_PING_MAX_BACKLOG + 1) * LP2P_PING_SIZE];
  memset(many, 0x5a, sizeof(many));
  uint8_t one[LP2P_PING_SIZE];
  memset(one, 0x33, sizeof(one));
  write_raw(&p.a, flood, many, sizeof(many));
  write_raw(&p.a, good, one, sizeof(one));
  pump(&p);
  assert_int_equal(flood->resets, 1);
  assert_int_equal(good->resets, 0);
  assert_int_equal(good->ndata, LP2P_PING_SIZE);
  assert_memory_equal(good->data, one, LP2P_PING_SIZE);
  lp2p__services_stats st;
  lp2p__services_stats_get(p.b.sv, &st);
  assert_int_equal(st.ping_streams_reset, 1);
  /* the same stream keeps echoing */
  write_raw(&p.a, good, one, sizeof(one));
  pump(&p);
  assert_int_equal(good->ndata, 2 * LP2P_PING_SIZE);
  stop_pair(&p);
}

/* As go's ping handler: an inbound ping stream is reset once
 * LP2P_PING_IDLE_TIMEOUT passes without a ping; each echo moves that. */
static void inbound_ping_stream_idle_for_a_minute_is_reset(void **state) {
  (void)state;
  pair p;
  start_pair(&p, false, true, builtin, 3); /* a is bare and pings b */
  raw_stream *r = open_raw(&p, &p.a, LP2P_PING_PROTOCOL_ID);
  pump(&p);
  lp2p_tstamp opened = p.now;
  assert_int_equal(lp2p__services_expiry(p.b.sv),
                   opened + LP2P_PING_IDLE_TIMEOUT);
  uint8_t one[LP2P_PING_SIZE];
  memset(one, 0x42, sizeof(one));
  p.now = opened + LP2P_PING_IDLE_TIMEOUT - 1;
  write_raw(&p.a, r, one, sizeof(one));
  pump(&p);
  assert_int_equal(r->ndata, LP2P_PING_SIZE);
  lp2p_tstamp echoed = p.now;
  assert_int_equal(lp2p__services_expiry(p.b.sv),
                   echoed + LP2P_PING_IDLE_TIMEOUT);
  p.now = echoed + LP2P_PING_IDLE_TIMEOUT - 1;
  lp2p__services_handle_expiry(p.b.sv, p.now);
  pump(&p);
  assert_int_equal(r->resets, 0);
  p.now = echoed + LP2P_PING_IDLE_TIMEOUT;
  lp2p__services_handle_expiry(p.b.sv, p.now);
  pump(&p);
  assert_int_equal(r->resets, 1);
  lp2p__services_stats st;
  lp2p__services_stats_get(p.b.sv, &st);
  assert_int_equal(st.ping_idle_resets, 1);
  assert_int_equal(st.ping_streams_reset, 0);
  assert_int_equal(lp2p__services_expiry(p.b.sv), LP2P_TSTAMP_NEVER);
  stop_pair(&p);
}

/* ---- identify ----------------------------------------------------------- */

static void identify_answer_is_received_and_verified(void **state) {
  (void)state;
  pair p;
  start_pair(&p, true, true, builtin, 3);
  assert_int_equal(lp2p__services_identify(p.a.sv), 0);
  pump(&p);
  assert_int_equal(p.a.identified, 1);
  assert_true(p.a.verified_pubkey);
  assert_true(p.a.verified_record);
  lp2p_pubkey key;
  lp2p_peer_id who;
  assert_int_equal(lp2p_pubkey_unmarshal(p.a.peer.public_key.data,
                                         p.a.peer.public_key.len, &key),
                   0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&key, &who), 0);
  assert_true(lp2p_peer_id_equal(&who, &p.b.id));
  assert_int_equal(p.a.peer.nprotocols, 3);
  assert_memory_equal(p.a.peer.protocols[2].data, LP2P_PING_PROTOCOL_ID,
                      strlen(LP2P_PING_PROTOCOL_ID));
  assert_int_equal(p.a.peer.naddrs, 1);
  assert_int_equal(p.a.peer.listen_addrs[0].len, p.b.answer_addr.len);
  assert_memory_equal(p.a.peer.listen_addrs[0].data, p.b.answer_addr.data,
                      p.b.answer_addr.len);
  assert_int_equal(p.a.peer.signed_peer_record.len, p.b.answer_record.len);
  assert_int_equal(lp2p_session_num_streams(p.a.s), 0); /* all ended */
  assert_int_equal(lp2p_session_num_streams(p.b.s), 0);
  stop_pair(&p);
}

static const char *const identify_only[] = {LP2P_IDENTIFY_PROTOCOL_ID};

/* b answers a's request with `bytes`, then closes when `close`. */
static void bare_answer(pair *p, const uint8_t *bytes, size_t len, bool close) {
  assert_int_equal(lp2p__services_identify(p->a.sv), 0);
  pump(p);
  assert_int_equal(p->b.nraw, 1);
  raw_stream *r = &p->b.raw[0];
  assert_true(r->ended); /* the requester says nothing and closes */
  write_raw(&p->b, r, bytes, len);
  if (close) {
    assert_int_equal(lp2p_session_stream_close(p->b.s, r->id), 0);
  }
  pump(p);
}

/* As go's identify Timeout: an answer that never ends is given up
 * LP2P_IDENTIFY_TIMEOUT after its stream started, and counted. */
static void identify_answer_that_never_ends_times_out(void **state) {
  (void)state;
  pair p;
  start_pair(&p, true, false, identify_only, 1);
  lp2p_tstamp start = p.now;
  const uint8_t part[] = {0x05, 0x0a}; /* a message of 5 bytes, 1 sent */
  bare_answer(&p, part, sizeof(part), false);
  assert_int_equal(lp2p__services_expiry(p.a.sv),
                   start + LP2P_IDENTIFY_TIMEOUT);
  lp2p__services_handle_expiry(p.a.sv, start + LP2P_IDENTIFY_TIMEOUT - 1);
  lp2p__services_stats st;
  lp2p__services_stats_get(p.a.sv, &st);
  assert_int_equal(st.identify_timeouts, 0);
  p.now = start + LP2P_IDENTIFY_TIMEOUT;
  lp2p__services_handle_expiry(p.a.sv, p.now);
  lp2p__services_stats_get(p.a.sv, &st);
  assert_int_equal(st.identify_timeouts, 1);
  assert_int_equal(p.a.identified, 0);
  pump(&p);
  assert_int_equal(p.b.raw[0].resets, 1);
  assert_int_equal(lp2p__services_expiry(p.a.sv), LP2P_TSTAMP_NEVER);
  stop_pair(&p);
}

/* The peer reset our request before answering (as a stream lost to a
 * storm of handshakes ends): counted, and asked once more after
 * LP2P_IDENTIFY_RETRY_DELAY; a second failure is the last. */
static void
identify_request_reset_is_counted_and_asked_again_once(void **state) {
  (void)state;
  pair p;
  start_pair(&p, true, false, identify_only, 1);
  assert_int_equal(lp2p__services_identify(p.a.sv), 0);
  pump(&p);
  assert_int_equal(p.b.nraw, 1);
  assert_int_equal(lp2p_session_stream_reset(p.b.s, p.b.raw[0].id), 0);
  pump(&p);
  lp2p__services_stats st;
  lp2p__services_stats_get(p.a.sv, &st);
  assert_int_equal(st.identify_failed, 1);
  lp2p_tstamp again = p.now + LP2P_IDENTIFY_RETRY_DELAY;
  assert_int_equal(lp2p__services_expiry(p.a.sv), again);
  lp2p__services_handle_expiry(p.a.sv, again - 1);
  pump(&p);
  assert_int_equal(p.b.nraw, 1); /* not before the delay */
  p.now = again;
  lp2p__services_handle_expiry(p.a.sv, p.now);
  pump(&p);
  assert_int_equal(p.b.nraw, 2); /* the second request */
  assert_true(p.b.raw[1].ended);
  assert_int_equal(lp2p_session_stream_reset(p.b.s, p.b.raw[1].id), 0);
  pump(&p);
  lp2p__services_stats_get(p.a.sv, &st);
  assert_int_equal(st.identify_failed, 2);
  assert_int_equal(lp2p__services_expiry(p.a.sv), LP2P_TSTAMP_NEVER);
  assert_int_equal(p.a.identified, 0);
  stop_pair(&p);
}

static const char *const not_identify[] = {LP2P_PING_PROTOCOL_ID};

/* A peer that does not speak identify is not asked again. */
static void identify_refused_by_the_peer_is_not_asked_again(void **state) {
  (void)state;
  pair p;
  start_pair(&p, true, false, not_identify, 1);
  assert_int_equal(lp2p__services_identify(p.a.sv), 0);
  pump(&p);
  lp2p__services_stats st;
  lp2p__services_stats_get(p.a.sv, &st);
  assert_int_equal(st.identify_failed, 1);
  assert_int_equal(lp2p__services_expiry(p.a.sv), LP2P_TSTAMP_NEVER);
  stop_pair(&p);
}

static void identify_message_over_max_size_is_refused(void **state) {
  (void)state;
  pair p;
  start_pair(&p, true, false, identify_only, 1);
  /* a length prefix of LP2P_IDENTIFY_MAX_SIZE + 1 (8193) */
  const uint8_t prefix[] = {0x81, 0x40};
  bare_answer(&p, prefix, sizeof(prefix), false);
  /* refused on the prefix alone, before any byte of the body */
  assert_int_equal(p.a.identified, 0);
  assert_int_equal(p.b.raw[0].resets, 1);
  lp2p__services_stats st;
  lp2p__services_stats_get(p.a.sv, &st);
  assert_int_equal(st.identify_refused, 1);
  stop_pair(&p);
}

static void identify_answer_of_too_many_messages_is_refused(void **state) {
  (void)state;
  pair p;
  start_pair(&p, true, false, identify_only, 1);
  /* empty messages, one more than LP2P_IDENTIFY_MAX_MESSAGES */
  uint8_t msgs[LP2P_IDENTIFY_MAX_MESSAGES + 1];
  memset(msgs, 0, sizeof(msgs));
  bare_answer(&p, msgs, sizeof(msgs), true);
  assert_int_equal(p.a.identified, 0);
  lp2p__services_stats st;
  lp2p__services_stats_get(p.a.sv, &st);
  assert_int_equal(st.identify_refused, 1);
  stop_pair(&p);
}

static void identify_answer_with_another_peers_key_is_refused(void **state) {
  (void)state;
  pair p;
  start_pair(&p, true, false, identify_only, 1);
  /* a's own key in the answer b gives: not the connection's peer */
  lp2p_pubkey pub;
  uint8_t pk[LP2P_PUBKEY_PB_MAX];
  assert_int_equal(lp2p_privkey_public(&p.a.key, &pub), 0);
  int pklen = lp2p_pubkey_marshal(&pub, pk, sizeof(pk));
  lp2p_identify id;
  memset(&id, 0, sizeof(id));
  id.public_key = (lp2p_bytes){pk, (size_t)pklen};
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  assert_int_equal(lp2p_identify_write(&id, &out), 0);
  bare_answer(&p, out.data, out.len, true);
  lp2p_buf_free(&out);
  assert_int_equal(p.a.identified, 0);
  lp2p__services_stats st;
  lp2p__services_stats_get(p.a.sv, &st);
  assert_int_equal(st.identify_refused, 1);
  stop_pair(&p);
}

/* ---- over QUIC ---------------------------------------------------------- */

/* Pumps, then runs the deadlines of the next `span` (QUIC's delayed ACKs
 * end streams). */
static void pump_for(pair *p, lp2p_tstamp span) {
  lp2p_tstamp until = p->now + span;
  for (int i = 0; i < 1000; i++) {
    pump(p);
    lp2p_tstamp a = p->endpoints ? lp2p__quic_endpoint_expiry(p->a.ep)
                                 : lp2p_session_expiry(p->a.s);
    lp2p_tstamp b = p->endpoints ? lp2p__quic_endpoint_expiry(p->b.ep)
                                 : lp2p_session_expiry(p->b.s);
    lp2p_tstamp t = a < b ? a : b;
    if (t > until) {
      return;
    }
    p->now = t > p->now ? t : p->now;
    if (p->endpoints) {
      (void)lp2p__quic_endpoint_handle_expiry(p->a.ep, p->now);
      (void)lp2p__quic_endpoint_handle_expiry(p->b.ep, p->now);
    }
    (void)lp2p_session_handle_expiry(p->a.s, p->now);
    (void)lp2p_session_handle_expiry(p->b.s, p->now);
    lp2p__services_handle_expiry(p->a.sv, p->now);
    lp2p__services_handle_expiry(p->b.sv, p->now);
  }
}

static void
identify_over_quic_delivers_quic_listen_addrs_and_protocols(void **state) {
  (void)state;
  pair p;
  start_pair_of(&p, true, true, true, builtin, 3);
  assert_string_equal(lp2p_session_transport(p.a.s), "quic-v1");
  assert_int_equal(lp2p__services_identify(p.a.sv), 0);
  pump_for(&p, 100 * LP2P_MILLISECONDS);
  assert_int_equal(p.a.identified, 1);
  assert_true(p.a.verified_pubkey);
  assert_true(p.a.verified_record);
  assert_int_equal(p.a.peer.nprotocols, 3);
  assert_memory_equal(p.a.peer.protocols[0].data, LP2P_IDENTIFY_PROTOCOL_ID,
                      strlen(LP2P_IDENTIFY_PROTOCOL_ID));
  assert_int_equal(p.a.peer.naddrs, 1);
  lp2p_buf quic_addr;
  lp2p_buf_init(&quic_addr, NULL);
  assert_int_equal(
      lp2p_multiaddr_parse("/ip4/192.0.2.7/udp/4001/quic-v1", &quic_addr, NULL),
      0);
  assert_int_equal(p.a.peer.listen_addrs[0].len, quic_addr.len);
  assert_memory_equal(p.a.peer.listen_addrs[0].data, quic_addr.data,
                      quic_addr.len);
  lp2p_buf_free(&quic_addr);
  assert_int_equal(lp2p_session_num_streams(p.a.s), 0); /* all ended */
  assert_int_equal(lp2p_session_num_streams(p.b.s), 0);
  stop_pair(&p);
}

static void ping_over_quic_is_answered_with_rtt(void **state) {
  (void)state;
  pair p;
  start_pair_of(&p, true, true, true, builtin, 3);
  assert_int_equal(lp2p__services_ping(p.a.sv, p.now), 0);
  pump(&p);
  assert_int_equal(p.a.pings, 1);
  assert_int_equal(p.a.ping_err, 0);
  /* the second goes out at now and its echo is read 7 ms later */
  assert_int_equal(lp2p__services_ping(p.a.sv, p.now), 0);
  move(&p, &p.a, &p.b);
  p.now += 7 * LP2P_MILLISECONDS;
  pump(&p);
  assert_int_equal(p.a.pings, 2);
  assert_int_equal(p.a.ping_err, 0);
  assert_int_equal(p.a.rtt, 7 * LP2P_MILLISECONDS);
  stop_pair(&p);
}

/* ---- over sessions of QUIC endpoints (net/session_quic.h) --------------- */

static const char *const test_only[] = {"/test/1.0.0"};

static void
stream_of_endpoint_sessions_negotiates_and_carries_data_both_ways(void **s0) {
  (void)s0;
  pair p;
  start_pair_with(&p, true, true, false, false, test_only, 1);
  assert_string_equal(lp2p_session_transport(p.a.s), "quic-v1");
  assert_true(lp2p_peer_id_equal(lp2p_session_remote(p.a.s), &p.b.id));
  assert_true(lp2p_peer_id_equal(lp2p_session_remote(p.b.s), &p.a.id));
  raw_stream *out = open_raw(&p, &p.a, "/test/1.0.0");
  assert_string_equal(lp2p_session_stream_protocol(p.a.s, out->id),
                      "/test/1.0.0");
  write_raw(&p.a, out, (const uint8_t *)"hello", 5);
  pump(&p); /* the write woke a's connection in its endpoint */
  assert_int_equal(p.b.nraw, 1);
  raw_stream *in = &p.b.raw[0];
  assert_int_equal(in->ndata, 5);
  assert_memory_equal(in->data, "hello", 5);
  write_raw(&p.b, in, (const uint8_t *)"world!", 6);
  pump(&p);
  assert_int_equal(out->ndata, 6);
  assert_memory_equal(out->data, "world!", 6);
  assert_int_equal(lp2p_session_stream_close(p.a.s, out->id), 0);
  pump(&p);
  assert_true(in->ended);
  stop_pair(&p);
}

static void identify_and_ping_run_over_sessions_of_endpoints(void **state) {
  (void)state;
  pair p;
  start_pair_with(&p, true, true, true, true, builtin, 3);
  assert_int_equal(lp2p__services_identify(p.a.sv), 0);
  pump_for(&p, 100 * LP2P_MILLISECONDS);
  assert_int_equal(p.a.identified, 1);
  assert_true(p.a.verified_pubkey);
  assert_true(p.a.verified_record);
  assert_int_equal(p.a.peer.nprotocols, 3);
  assert_int_equal(p.a.peer.naddrs, 1);
  assert_int_equal(lp2p__services_ping(p.b.sv, p.now), 0);
  pump(&p);
  assert_int_equal(p.b.pings, 1);
  assert_int_equal(p.b.ping_err, 0);
  /* b closes: a's session hears of it through a's endpoint */
  assert_int_equal(lp2p_session_goaway(p.b.s), 0);
  pump(&p);
  assert_false(lp2p_session_is_established(p.a.s));
  assert_int_equal(lp2p_session_error(p.a.s, NULL), LP2P_ERR_CLOSED);
  stop_pair(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ping_round_trip_reports_rtt_of_injected_clock),
      cmocka_unit_test(ping_rtt_is_timed_from_the_ping_call),
      cmocka_unit_test(unanswered_ping_times_out_at_its_deadline),
      cmocka_unit_test(inbound_ping_flood_is_reset_and_other_streams_echo),
      cmocka_unit_test(inbound_ping_stream_idle_for_a_minute_is_reset),
      cmocka_unit_test(identify_answer_is_received_and_verified),
      cmocka_unit_test(identify_message_over_max_size_is_refused),
      cmocka_unit_test(identify_answer_that_never_ends_times_out),
      cmocka_unit_test(identify_request_reset_is_counted_and_asked_again_once),
      cmocka_unit_test(identify_refused_by_the_peer_is_not_asked_again),
      cmocka_unit_test(identify_answer_of_too_many_messages_is_refused),
      cmocka_unit_test(identify_answer_with_another_peers_key_is_refused),
      cmocka_unit_test(
          identify_over_quic_delivers_quic_listen_addrs_and_protocols),
      cmocka_unit_test(ping_over_quic_is_answered_with_rtt),
      cmocka_unit_test(
          stream_of_endpoint_sessions_negotiates_and_carries_data_both_ways),
      cmocka_unit_test(identify_and_ping_run_over_sessions_of_endpoints),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
