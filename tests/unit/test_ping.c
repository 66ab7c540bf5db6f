/* ping: a dialer and a listener wired together, round trip times from
 * the given clock, wrong and unasked-for echoes, the timeout and the
 * listener's backlog limit. */
#include "lp2p/noise.h"
#include "testutil.h"

typedef struct pongs {
  int count;
  lp2p_tstamp rtt;
} pongs;

static void on_pong(lp2p_ping *p, lp2p_tstamp rtt, void *user) {
  pongs *s = user;
  (void)p;
  if (s) {
    s->count++;
    s->rtt = rtt;
  }
}

static const lp2p_ping_callbacks callbacks = {on_pong};

static lp2p_ping *open_ping(lp2p_ping_role role, lp2p_tstamp timeout,
                            uint64_t *rng, pongs *user) {
  lp2p_ping *p = NULL;
  lp2p_ping_settings s = {role, timeout, test_rand, rng};
  assert_int_equal(lp2p_ping_new(&p, &s, &callbacks, NULL, user), 0);
  return p;
}

/* Moves what `from` has to `to`, `step` bytes at a time. */
static int move(lp2p_ping *from, lp2p_ping *to, size_t step, lp2p_tstamp now) {
  const uint8_t *out;
  ssize_t n = lp2p_ping_pull(from, &out, now);
  if (n < 0) {
    return (int)n;
  }
  for (size_t off = 0; off < (size_t)n; off += step) {
    size_t len = (size_t)n - off < step ? (size_t)n - off : step;
    int rv = lp2p_ping_recv(to, out + off, len, now);
    if (rv != 0) {
      return rv;
    }
  }
  return 0;
}

static void ping_round_trips(void **state) {
  (void)state;
  uint64_t rng = 5;
  pongs got = {0};
  const uint8_t *out;
  uint8_t first[LP2P_PING_SIZE];
  lp2p_ping *d = open_ping(LP2P_PING_DIALER, 0, &rng, &got);
  lp2p_ping *l = open_ping(LP2P_PING_LISTENER, 0, NULL, NULL);
  for (int i = 0; i < 3; i++) {
    size_t step = i == 0 ? LP2P_PING_SIZE : i == 1 ? 1 : 7;
    lp2p_tstamp t0 = 1000 * (lp2p_tstamp)(i + 1);
    assert_int_equal(lp2p_ping_expiry(d), LP2P_TSTAMP_NEVER);
    assert_int_equal(lp2p_ping_start(d, t0), 0);
    assert_int_equal(lp2p_ping_expiry(d), t0 + LP2P_PING_DEFAULT_TIMEOUT);
    /* the clock runs from the pull, when the payload leaves */
    assert_int_equal(lp2p_ping_pull(d, &out, t0 + 10), LP2P_PING_SIZE);
    if (i == 0) {
      memcpy(first, out, LP2P_PING_SIZE);
    } else {
      assert_memory_not_equal(first, out, LP2P_PING_SIZE);
    }
    assert_int_equal(lp2p_ping_recv(l, out, LP2P_PING_SIZE, t0 + 20), 0);
    assert_int_equal(move(l, d, step, t0 + 110), 0);
    assert_int_equal(got.count, i + 1);
    assert_int_equal(got.rtt, 100);
    assert_int_equal(lp2p_ping_expiry(d), LP2P_TSTAMP_NEVER);
  }
  /* nothing more to send either way */
  assert_int_equal(lp2p_ping_pull(d, &out, 0), 0);
  assert_int_equal(lp2p_ping_pull(l, &out, 0), 0);
  assert_int_equal(lp2p_ping_expiry(l), LP2P_TSTAMP_NEVER);
  lp2p_ping_del(d);
  lp2p_ping_del(l);
}

/* The listener echoes payloads split anywhere, several at once. */
static void ping_listener_echoes(void **state) {
  (void)state;
  uint8_t in[3 * LP2P_PING_SIZE];
  const uint8_t *out;
  lp2p_ping *l = open_ping(LP2P_PING_LISTENER, 0, NULL, NULL);
  for (size_t i = 0; i < sizeof(in); i++) {
    in[i] = (uint8_t)i;
  }
  assert_int_equal(lp2p_ping_recv(l, in, 31, 0), 0);
  assert_int_equal(lp2p_ping_pull(l, &out, 0), 0);
  assert_int_equal(lp2p_ping_recv(l, in + 31, 10, 0), 0);
  assert_int_equal(lp2p_ping_pull(l, &out, 0), LP2P_PING_SIZE);
  assert_memory_equal(out, in, LP2P_PING_SIZE);
  assert_int_equal(lp2p_ping_recv(l, in + 41, sizeof(in) - 41, 0), 0);
  assert_int_equal(lp2p_ping_pull(l, &out, 0), 2 * LP2P_PING_SIZE);
  assert_memory_equal(out, in + LP2P_PING_SIZE, 2 * LP2P_PING_SIZE);
  lp2p_ping_del(l);
}

/* A full backlog, and one echo past it. */
static void ping_listener_backlog(void **state) {
  (void)state;
  uint8_t in[(LP2P_PING_MAX_BACKLOG + 1) * LP2P_PING_SIZE] = {0};
  const uint8_t *out;
  lp2p_ping *l = open_ping(LP2P_PING_LISTENER, 0, NULL, NULL);
  size_t full = LP2P_PING_MAX_BACKLOG * LP2P_PING_SIZE;
  assert_int_equal(lp2p_ping_recv(l, in, full, 0), 0);
  assert_int_equal(lp2p_ping_pull(l, &out, 0), full);
  /* pulled: room again */
  assert_int_equal(lp2p_ping_recv(l, in, full, 0), 0);
  assert_int_equal(lp2p_ping_recv(l, in, LP2P_PING_SIZE - 1, 0), 0);
  assert_int_equal(lp2p_ping_recv(l, in, 1, 0), LP2P_ERR_TOO_LARGE);
  assert_int_equal(lp2p_ping_recv(l, in, 1, 0), LP2P_ERR_STATE);
  assert_int_equal(lp2p_ping_pull(l, &out, 0), LP2P_ERR_STATE);
  lp2p_ping_del(l);
}

static void ping_wrong_echo(void **state) {
  (void)state;
  uint64_t rng = 1;
  const uint8_t *out;
  uint8_t echo[LP2P_PING_SIZE];
  for (size_t i = 0; i < LP2P_PING_SIZE; i++) {
    lp2p_ping *d = open_ping(LP2P_PING_DIALER, 0, &rng, NULL);
    assert_int_equal(lp2p_ping_start(d, 0), 0);
    assert_int_equal(lp2p_ping_pull(d, &out, 0), LP2P_PING_SIZE);
    memcpy(echo, out, LP2P_PING_SIZE);
    echo[i] ^= 1;
    assert_int_equal(lp2p_ping_recv(d, echo, LP2P_PING_SIZE, 5),
                     LP2P_ERR_PROTOCOL);
    assert_int_equal(lp2p_ping_start(d, 0), LP2P_ERR_STATE);
    assert_int_equal(lp2p_ping_handle_expiry(d, 0), LP2P_ERR_STATE);
    assert_int_equal(lp2p_ping_expiry(d), LP2P_TSTAMP_NEVER);
    lp2p_ping_del(d);
  }
}

/* Bytes the dialer did not ask for: before any ping, before the payload
 * went out, and after its echo. */
static void ping_unasked_bytes(void **state) {
  (void)state;
  uint64_t rng = 1;
  const uint8_t *out;
  uint8_t echo[LP2P_PING_SIZE + 1];
  lp2p_ping *d = open_ping(LP2P_PING_DIALER, 0, &rng, NULL);
  assert_int_equal(lp2p_ping_recv(d, echo, 1, 0), LP2P_ERR_PROTOCOL);
  lp2p_ping_del(d);
  d = open_ping(LP2P_PING_DIALER, 0, &rng, NULL);
  assert_int_equal(lp2p_ping_start(d, 0), 0);
  assert_int_equal(lp2p_ping_recv(d, echo, 1, 0), LP2P_ERR_PROTOCOL);
  lp2p_ping_del(d);
  d = open_ping(LP2P_PING_DIALER, 0, &rng, NULL);
  assert_int_equal(lp2p_ping_start(d, 0), 0);
  assert_int_equal(lp2p_ping_pull(d, &out, 0), LP2P_PING_SIZE);
  memcpy(echo, out, LP2P_PING_SIZE);
  assert_int_equal(lp2p_ping_recv(d, echo, LP2P_PING_SIZE + 1, 0),
                   LP2P_ERR_PROTOCOL);
  lp2p_ping_del(d);
  /* an empty recv is no byte at all */
  d = open_ping(LP2P_PING_DIALER, 0, &rng, NULL);
  assert_int_equal(lp2p_ping_recv(d, echo, 0, 0), 0);
  lp2p_ping_del(d);
}

static void ping_timeout(void **state) {
  (void)state;
  uint64_t rng = 1;
  const uint8_t *out;
  lp2p_ping *d = open_ping(LP2P_PING_DIALER, LP2P_SECONDS, &rng, NULL);
  assert_int_equal(lp2p_ping_start(d, 100), 0);
  assert_int_equal(lp2p_ping_pull(d, &out, 100), LP2P_PING_SIZE);
  assert_int_equal(lp2p_ping_expiry(d), 100 + LP2P_SECONDS);
  assert_int_equal(lp2p_ping_handle_expiry(d, 100 + LP2P_SECONDS - 1), 0);
  assert_int_equal(lp2p_ping_handle_expiry(d, 100 + LP2P_SECONDS),
                   LP2P_ERR_TIMEOUT);
  assert_int_equal(lp2p_ping_recv(d, out, 1, 0), LP2P_ERR_STATE);
  assert_int_equal(lp2p_ping_start(d, 0), LP2P_ERR_STATE);
  lp2p_ping_del(d);
  /* no timeout, and a deadline past the end of time */
  d = open_ping(LP2P_PING_DIALER, LP2P_TSTAMP_NEVER, &rng, NULL);
  assert_int_equal(lp2p_ping_start(d, 100), 0);
  assert_int_equal(lp2p_ping_expiry(d), LP2P_TSTAMP_NEVER);
  assert_int_equal(lp2p_ping_handle_expiry(d, LP2P_TSTAMP_NEVER), 0);
  lp2p_ping_del(d);
  d = open_ping(LP2P_PING_DIALER, 10, &rng, NULL);
  assert_int_equal(lp2p_ping_start(d, LP2P_TSTAMP_NEVER - 5), 0);
  assert_int_equal(lp2p_ping_expiry(d), LP2P_TSTAMP_NEVER);
  /* nothing outstanding: nothing expires */
  lp2p_ping_del(d);
  d = open_ping(LP2P_PING_DIALER, 10, &rng, NULL);
  assert_int_equal(lp2p_ping_handle_expiry(d, LP2P_TSTAMP_NEVER - 1), 0);
  lp2p_ping_del(d);
}

static void ping_state_rules(void **state) {
  (void)state;
  uint64_t rng = 1;
  lp2p_ping *p = NULL;
  lp2p_ping_settings s = {LP2P_PING_DIALER, 0, NULL, NULL};
  lp2p_ping *l = open_ping(LP2P_PING_LISTENER, 0, NULL, NULL);
  lp2p_ping *d = open_ping(LP2P_PING_DIALER, 0, &rng, NULL);
  assert_int_equal(lp2p_ping_start(l, 0), LP2P_ERR_STATE);
  assert_int_equal(lp2p_ping_start(d, 0), 0);
  assert_int_equal(lp2p_ping_start(d, 0), LP2P_ERR_STATE);
  lp2p_ping_del(l);
  lp2p_ping_del(d);
  lp2p_ping_del(NULL);
  assert_int_equal(lp2p_ping_new(&p, NULL, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  assert_int_equal(lp2p_ping_new(&p, &s, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  s.role = (lp2p_ping_role)9;
  s.rand_fn = test_rand;
  assert_int_equal(lp2p_ping_new(&p, &s, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  /* no callbacks at all: the echo is still checked */
  s.role = LP2P_PING_DIALER;
  s.rand_user = &rng;
  assert_int_equal(lp2p_ping_new(&p, &s, NULL, NULL, NULL), 0);
  l = open_ping(LP2P_PING_LISTENER, 0, NULL, NULL);
  assert_int_equal(lp2p_ping_start(p, 0), 0);
  assert_int_equal(move(p, l, LP2P_PING_SIZE, 0), 0);
  assert_int_equal(move(l, p, 3, 0), 0);
  assert_int_equal(lp2p_ping_start(p, 0), 0);
  lp2p_ping_del(p);
  lp2p_ping_del(l);
}

static int new_under(const lp2p_mem *mem, void *arg) {
  lp2p_ping *p = NULL;
  uint64_t rng = 1;
  lp2p_ping_settings s = {*(lp2p_ping_role *)arg, 0, test_rand, &rng};
  int rv = lp2p_ping_new(&p, &s, NULL, mem, NULL);
  if (rv == 0 && s.role == LP2P_PING_DIALER) {
    rv = lp2p_ping_start(p, 0);
  }
  lp2p_ping_del(p);
  return rv;
}

static void ping_allocation_failures(void **state) {
  (void)state;
  lp2p_ping_role roles[2] = {LP2P_PING_DIALER, LP2P_PING_LISTENER};
  failmem_sweep(new_under, &roles[0]);
  failmem_sweep(new_under, &roles[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ping_round_trips),
      cmocka_unit_test(ping_listener_echoes),
      cmocka_unit_test(ping_listener_backlog),
      cmocka_unit_test(ping_wrong_echo),
      cmocka_unit_test(ping_unasked_bytes),
      cmocka_unit_test(ping_timeout),
      cmocka_unit_test(ping_state_rules),
      cmocka_unit_test(ping_allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
