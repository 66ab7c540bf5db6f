/* identify and ping services (net/services.h) against a hostile peer:
 * two sessions in memory, the services on one, a bare session on the
 * other playing the peer. The first byte picks what the peer does with
 * the rest of the input (written in chunks whose size the second byte
 * sets): 0 pings us on a stream of its own, 1 answers our identify
 * request, 2 pushes identify, 3 asks us to identify and talks back,
 * 4 answers our ping. Beyond "no crash": a service stream never fails
 * the session, `identified` reports only what lp2p_identify_read and
 * lp2p_identify_verify accept, a ping ends at most once, and every
 * service stream is gone once the peer resets its streams and the ping
 * deadline has passed. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/session.h"
#include "net/services.h"

static const char *const builtin[] = {LP2P_IDENTIFY_PROTOCOL_ID,
                                      LP2P_IDENTIFY_PUSH_PROTOCOL_ID,
                                      LP2P_PING_PROTOCOL_ID};

typedef struct side {
  lp2p_session *s;
  lp2p__services *sv; /* NULL: the bare peer */
  uint64_t rng;
  uint64_t stream; /* the peer: its stream of the scenario */
  bool have_stream;
  int pings;
} side;

static void det_rand(uint8_t *dest, size_t len, void *user) {
  uint64_t *ctr = user;
  for (size_t i = 0; i < len; i++) {
    *ctr = *ctr * 6364136223846793005u + 1442695040888963407u;
    dest[i] = (uint8_t)(*ctr >> 56);
  }
}

static void on_opened(lp2p_session *s, uint64_t id, const char *proto,
                      bool inbound, void **stream_user, void *user) {
  (void)s;
  side *d = user;
  if (!inbound && lp2p__services_owns(*stream_user)) {
    lp2p__services_opened(*stream_user);
  } else if (inbound && d->sv) {
    FUZZ_CHECK(lp2p__services_is_builtin(proto));
    lp2p__services_accept(d->sv, id, proto, stream_user);
  } else if (inbound) {
    d->stream = id; /* our request or ping reached the peer */
    d->have_stream = true;
  }
}

static void on_data(lp2p_session *s, uint64_t id, void *stream_user,
                    const uint8_t *data, size_t len, void *user) {
  (void)user;
  if (lp2p__services_owns(stream_user)) {
    lp2p__services_data(stream_user, data, len);
  } else {
    FUZZ_CHECK(lp2p_session_stream_consume(s, id, len) == 0);
  }
}

#define FORWARD(name, call)                                                    \
  static void name(lp2p_session *s, uint64_t id, void *stream_user,            \
                   void *user) {                                               \
    (void)s;                                                                   \
    (void)id;                                                                  \
    (void)user;                                                                \
    if (lp2p__services_owns(stream_user)) {                                    \
      call(stream_user);                                                       \
    }                                                                          \
  }
FORWARD(on_end, lp2p__services_end)
FORWARD(on_writable, lp2p__services_writable)
FORWARD(on_stream_closed, lp2p__services_closed)

static void on_reset(lp2p_session *s, uint64_t id, void *stream_user, int err,
                     void *user) {
  (void)s;
  (void)id;
  (void)user;
  if (lp2p__services_owns(stream_user)) {
    lp2p__services_reset(stream_user, err);
  }
}

static const lp2p_session_callbacks session_cb = {
    .stream_opened = on_opened,
    .stream_data = on_data,
    .stream_end = on_end,
    .stream_writable = on_writable,
    .stream_closed = on_stream_closed,
    .stream_reset = on_reset,
};

static int answer(lp2p__services *sv, lp2p_identify *id, lp2p_buf *storage,
                  void *user) {
  (void)sv;
  (void)storage;
  (void)user;
  id->protocols[id->nprotocols++] =
      (lp2p_bytes){(const uint8_t *)builtin[2], strlen(builtin[2])};
  return 0;
}

static void identified(lp2p__services *sv, lp2p_buf *raw,
                       const lp2p_identify *id, const lp2p_identify_verified *v,
                       bool push, void *user) {
  (void)sv;
  (void)id;
  (void)v;
  (void)push;
  side *d = user;
  lp2p_identify again;
  lp2p_identify_verified v2;
  FUZZ_CHECK(raw->len <= LP2P_IDENTIFY_MAX_STREAM);
  FUZZ_CHECK(lp2p_identify_read(raw->data, raw->len, &again) == 0);
  FUZZ_CHECK(lp2p_identify_verify(&again, lp2p_session_remote(d->s), &v2) == 0);
}

static void ping_done(lp2p__services *sv, lp2p_tstamp rtt, int err,
                      void *user) {
  (void)sv;
  (void)rtt;
  side *d = user;
  FUZZ_CHECK(++d->pings == 1);
  FUZZ_CHECK(err <= 0);
}

static const lp2p__services_callbacks services_cb = {.identify_answer = answer,
                                                     .identified = identified,
                                                     .ping_done = ping_done};

static void make_side(side *d, uint8_t seed_byte, bool initiator,
                      bool services) {
  uint8_t seed[32];
  lp2p_privkey key;
  memset(seed, seed_byte, sizeof(seed));
  FUZZ_CHECK(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &key) == 0);
  d->rng = seed_byte;
  lp2p_session_settings set;
  lp2p_session_settings_default(&set);
  set.rand_fn = det_rand;
  set.unix_time = 1800000000;
  set.rand_user = &d->rng;
  set.protocols = builtin;
  set.nprotocols = 3;
  FUZZ_CHECK(lp2p_session_new(&d->s, &set, &key, initiator, &session_cb, NULL,
                              d, 0) == 0);
  if (services) {
    lp2p__services_settings ss = {.rand_fn = det_rand, .rand_user = &d->rng};
    FUZZ_CHECK(lp2p__services_new(&d->sv, d->s, &ss, &services_cb, NULL, d) ==
               0);
  }
}

static void pump(side *a, side *b, lp2p_tstamp now) {
  for (int round = 0; round < 1000; round++) {
    size_t moved = 0;
    side *from = a, *to = b;
    for (int dir = 0; dir < 2; dir++) {
      const uint8_t *out;
      ssize_t n;
      uint8_t copy[65536];
      while ((n = lp2p_session_pull(from->s, &out, now)) > 0) {
        FUZZ_CHECK((size_t)n <= sizeof(copy));
        memcpy(copy, out, (size_t)n);
        FUZZ_CHECK(lp2p_session_recv(to->s, copy, (size_t)n, now) == 0);
        moved += (size_t)n;
      }
      from = b;
      to = a;
    }
    if (moved == 0) {
      return;
    }
  }
  FUZZ_CHECK(0 && "the sessions never went quiet");
}

/* The peer's stream for the scenario, opened by it or by us. */
static bool peer_stream(side *us, side *peer, int scenario) {
  static const char *const protos[] = {LP2P_PING_PROTOCOL_ID, NULL,
                                       LP2P_IDENTIFY_PUSH_PROTOCOL_ID,
                                       LP2P_IDENTIFY_PROTOCOL_ID};
  if (scenario == 1) {
    FUZZ_CHECK(lp2p__services_identify(us->sv) == 0);
  } else if (scenario == 4) {
    FUZZ_CHECK(lp2p__services_ping(us->sv, 0) == 0);
  } else {
    FUZZ_CHECK(lp2p_session_open_stream(peer->s, &protos[scenario], 1, NULL,
                                        &peer->stream) == 0);
    peer->have_stream = true;
  }
  pump(us, peer, 0);
  return peer->have_stream;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) {
    return 0;
  }
  side us = {0}, peer = {0};
  int scenario = data[0] % 5;
  size_t chunk = (size_t)data[1] * 8 + 1;
  make_side(&us, 0xa1, true, true);
  make_side(&peer, 0xb2, false, false);
  pump(&us, &peer, 0);
  FUZZ_CHECK(lp2p_session_is_established(us.s));
  if (peer_stream(&us, &peer, scenario)) {
    for (size_t off = 2; off < size; off += chunk) {
      size_t n = size - off < chunk ? size - off : chunk;
      (void)lp2p_session_stream_write(peer.s, peer.stream, data + off, n);
      pump(&us, &peer, 0);
    }
    if (data[0] & 0x80) {
      (void)lp2p_session_stream_close(peer.s, peer.stream);
      pump(&us, &peer, 0);
    }
    FUZZ_CHECK(lp2p_session_error(us.s, NULL) == 0);
    (void)lp2p_session_stream_reset(peer.s, peer.stream);
  }
  pump(&us, &peer, 0);
  /* every deadline ends what it bounds; a failed identify request is
   * asked again once, and that one too ends at its deadline */
  lp2p_tstamp t;
  for (int round = 0;
       round < 4 && (t = lp2p__services_expiry(us.sv)) != LP2P_TSTAMP_NEVER;
       round++) {
    lp2p__services_handle_expiry(us.sv, t);
    pump(&us, &peer, t);
  }
  FUZZ_CHECK(lp2p__services_expiry(us.sv) == LP2P_TSTAMP_NEVER);
  FUZZ_CHECK(lp2p_session_error(us.s, NULL) == 0);
  FUZZ_CHECK(lp2p_session_num_streams(us.s) == 0);
  lp2p__services_del(us.sv);
  lp2p_session_del(us.s);
  lp2p_session_del(peer.s);
  return 0;
}
