/* The host's connection manager on loopback: each limit one past (per IP,
 * handshakes in progress, inbound, total with reserved outbound slots),
 * trimming between low and high water, and the idle timeout's default. */
#include "testutil.h"
#include "testutil_host.h"

static lp2p_host_stats stats_of(const th_node *n) {
  lp2p_host_stats st;
  lp2p_host_get_stats(n->host, &st);
  return st;
}

static bool has_handshakes(void *arg) {
  void **a = arg;
  return stats_of(a[0]).handshakes == (uint64_t)(uintptr_t)a[1];
}

/* Runs until `n` has `want` inbound handshakes in progress. */
static void wait_handshakes(th_node *n, size_t want) {
  void *arg[2] = {n, (void *)(uintptr_t)want};
  th_run_until(has_handshakes, arg, 5000);
}

static void connect_ok(th_node *from, th_node *to) {
  th_dial d;
  th_dial_start(from, to, &d);
  th_run_until(th_dial_done, &d, 5000);
  if (d.err != 0) {
    fail_msg("dial failed: %s: %s", lp2p_strerror(d.err), d.msg);
  }
}

static int connect_err(th_node *from, th_node *to) {
  th_dial d;
  th_dial_start(from, to, &d);
  th_run_until(th_dial_done, &d, 5000);
  return d.err;
}

static bool two_connected(void *arg) {
  return ((th_node *)arg)->connected == 2;
}

/* ---- per IP ------------------------------------------------------------- */

/* Sockets from one address past max_conns_per_ip are closed at once;
 * once one goes, the address may connect again. */
static void test_per_ip_limit_refuses_one_past(void **state) {
  (void)state;
  enum { LIMIT = 3 };
  th_node a, b;
  th_raw r[LIMIT + 1];
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  a.settings.max_conns_per_ip = LIMIT;
  a.settings.limit_loopback = true;
  th_node_start(&a);
  th_node_listen(&a);
  for (int i = 0; i < LIMIT; i++) {
    th_raw_connect(&r[i], &a);
  }
  wait_handshakes(&a, LIMIT);
  th_raw_connect(&r[LIMIT], &a);
  th_run_until(th_raw_eof, &r[LIMIT], 5000);
  assert_int_equal(stats_of(&a).refused_per_ip, 1);
  th_run_for(50);
  for (int i = 0; i < LIMIT; i++) {
    assert_false(r[i].eof);
  }
  /* a legitimate peer on the same address is refused too ... */
  th_node_init(&b, 2, LP2P_KEY_ED25519);
  th_node_start(&b);
  assert_int_not_equal(connect_err(&b, &a), 0);
  assert_int_equal(stats_of(&a).refused_per_ip, 2);
  /* ... until a slot frees */
  th_raw_close(&r[0]);
  wait_handshakes(&a, LIMIT - 1);
  connect_ok(&b, &a);
  for (int i = 1; i <= LIMIT; i++) {
    th_raw_close(&r[i]);
  }
  th_node_close(&b);
  th_node_close(&a);
}

/* Loopback is not limited unless asked, as go's defaults. */
static void test_loopback_exempt_from_per_ip_limit_by_default(void **state) {
  (void)state;
  enum { N = 4 };
  th_node a;
  th_raw r[N];
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  a.settings.max_conns_per_ip = 2;
  th_node_start(&a);
  th_node_listen(&a);
  for (int i = 0; i < N; i++) {
    th_raw_connect(&r[i], &a);
  }
  wait_handshakes(&a, N);
  assert_int_equal(stats_of(&a).refused_per_ip, 0);
  for (int i = 0; i < N; i++) {
    th_raw_close(&r[i]);
  }
  th_node_close(&a);
}

/* ---- handshakes in progress --------------------------------------------- */

/* Sockets that never finish the upgrade hold at most max_handshakes
 * slots: one more is refused, a legitimate peer too while they last, and
 * the handshake timeout frees them. Established connections do not count. */
static void test_handshake_limit_refuses_one_past(void **state) {
  (void)state;
  enum { LIMIT = 2 };
  th_node a, b, c;
  th_raw r[LIMIT + 1];
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  a.settings.max_handshakes = LIMIT;
  a.settings.handshake_timeout = 1500 * LP2P_MILLISECONDS;
  th_node_start(&a);
  th_node_listen(&a);
  th_node_init(&b, 2, LP2P_KEY_ED25519);
  th_node_start(&b);
  th_node_init(&c, 3, LP2P_KEY_ED25519);
  th_node_start(&c);
  connect_ok(&c, &a); /* upgraded: no longer a handshake */
  for (int i = 0; i < LIMIT; i++) {
    th_raw_connect(&r[i], &a);
  }
  wait_handshakes(&a, LIMIT);
  th_raw_connect(&r[LIMIT], &a);
  th_run_until(th_raw_eof, &r[LIMIT], 5000);
  assert_int_equal(stats_of(&a).refused_handshakes, 1);
  assert_int_not_equal(connect_err(&b, &a), 0);
  assert_int_equal(stats_of(&a).refused_handshakes, 2);
  /* the stalled ones time out; then b gets in */
  th_run_until(th_raw_eof, &r[0], 5000);
  th_run_until(th_raw_eof, &r[1], 5000);
  assert_int_equal(stats_of(&a).handshake_timeouts, LIMIT);
  connect_ok(&b, &a);
  th_run_until(two_connected, &a, 5000);
  assert_int_equal(lp2p_host_num_conns(a.host), 2);
  for (int i = 0; i <= LIMIT; i++) {
    th_raw_close(&r[i]);
  }
  th_node_close(&b);
  th_node_close(&c);
  th_node_close(&a);
}

/* With max_handshakes stalled upgrades in progress, the oldest makes room
 * for a newcomer once it has stalled for 2 s, so that a legitimate peer
 * gets in without waiting for the handshake timeout. */
static void test_stalled_handshake_evicted_for_newcomer(void **state) {
  (void)state;
  enum { LIMIT = 2 };
  th_node a, b;
  th_raw r[LIMIT];
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  a.settings.max_handshakes = LIMIT;
  a.settings.handshake_timeout = 20 * LP2P_SECONDS;
  th_node_start(&a);
  th_node_listen(&a);
  th_node_init(&b, 2, LP2P_KEY_ED25519);
  th_node_start(&b);
  for (int i = 0; i < LIMIT; i++) {
    th_raw_connect(&r[i], &a);
  }
  wait_handshakes(&a, LIMIT);
  th_run_for(2100);
  connect_ok(&b, &a);
  th_run_until(th_raw_eof, &r[0], 5000); /* the oldest */
  assert_false(r[1].eof);
  assert_int_equal(stats_of(&a).handshakes_evicted, 1);
  assert_int_equal(stats_of(&a).refused_handshakes, 0);
  for (int i = 0; i < LIMIT; i++) {
    th_raw_close(&r[i]);
  }
  th_node_close(&b);
  th_node_close(&a);
}

/* ---- inbound and total -------------------------------------------------- */

static void
test_inbound_limit_refuses_one_past_while_dialing_out_works(void **state) {
  (void)state;
  enum { LIMIT = 2 };
  th_node a, b[LIMIT + 1], c;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  a.settings.max_inbound = LIMIT;
  th_node_start(&a);
  th_node_listen(&a);
  for (int i = 0; i <= LIMIT; i++) {
    th_node_init(&b[i], (uint8_t)(2 + i), LP2P_KEY_ED25519);
    th_node_start(&b[i]);
  }
  for (int i = 0; i < LIMIT; i++) {
    connect_ok(&b[i], &a);
  }
  assert_int_not_equal(connect_err(&b[LIMIT], &a), 0);
  assert_int_equal(stats_of(&a).refused_inbound, 1);
  th_node_init(&c, 9, LP2P_KEY_ED25519);
  th_node_start(&c);
  th_node_listen(&c);
  connect_ok(&a, &c);
  assert_int_equal(lp2p_host_num_conns(a.host), LIMIT + 1);
  for (int i = 0; i <= LIMIT; i++) {
    th_node_close(&b[i]);
  }
  th_node_close(&c);
  th_node_close(&a);
}

/* A node whose inbound slots are full (max_connections less the reserved
 * outbound slots) still dials out. */
static void test_full_node_still_dials_out_on_reserved_slots(void **state) {
  (void)state;
  th_node a, b[3], c[2];
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  a.settings.max_connections = 4;
  a.settings.reserved_outbound = 2;
  th_node_start(&a);
  th_node_listen(&a);
  for (int i = 0; i < 3; i++) {
    th_node_init(&b[i], (uint8_t)(2 + i), LP2P_KEY_ED25519);
    th_node_start(&b[i]);
  }
  connect_ok(&b[0], &a);
  connect_ok(&b[1], &a);
  assert_int_not_equal(connect_err(&b[2], &a), 0);
  assert_int_equal(stats_of(&a).refused_total, 1);
  for (int i = 0; i < 2; i++) {
    th_node_init(&c[i], (uint8_t)(8 + i), LP2P_KEY_ED25519);
    th_node_start(&c[i]);
    th_node_listen(&c[i]);
    connect_ok(&a, &c[i]);
  }
  assert_int_equal(lp2p_host_num_conns(a.host), 4);
  for (int i = 0; i < 3; i++) {
    th_node_close(&b[i]);
  }
  th_node_close(&c[0]);
  th_node_close(&c[1]);
  th_node_close(&a);
}

/* ---- trimming ----------------------------------------------------------- */

typedef struct values {
  lp2p_peer_id protected_peer, valued_peer;
} values;

static int32_t value_of(const lp2p_peer_id *peer, void *arg) {
  values *v = arg;
  if (lp2p_peer_id_equal(peer, &v->protected_peer)) {
    return LP2P_PEER_PROTECTED;
  }
  return lp2p_peer_id_equal(peer, &v->valued_peer) ? 10 : 0;
}

static bool trimmed(void *arg) {
  void **a = arg;
  return stats_of(a[0]).trimmed >= (uint64_t)(uintptr_t)a[1];
}

static bool connected_to(const th_node *a, const th_node *b) {
  return lp2p_host_conn(a->host, lp2p_host_peer_id(b->host)) != NULL;
}

/* Above high water, connections past their grace period go, lowest value
 * first and the newest of equal value first, down to low water; a
 * protected peer and one in its grace period stay. */
static void
test_trim_at_high_water_keeps_protected_drops_lowest_newest(void **state) {
  (void)state;
  enum { N = 6 };
  th_node a, b[N];
  values v;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  a.settings.conns_low_water = 4;
  a.settings.conns_high_water = 5;
  a.settings.conns_grace = 300 * LP2P_MILLISECONDS;
  a.peer_value = value_of;
  a.peer_value_arg = &v;
  for (int i = 0; i < N; i++) {
    th_node_init(&b[i], (uint8_t)(2 + i), LP2P_KEY_ED25519);
    th_node_start(&b[i]);
  }
  v.protected_peer = *lp2p_host_peer_id(b[0].host);
  v.valued_peer = *lp2p_host_peer_id(b[1].host);
  th_node_start(&a);
  th_node_listen(&a);
  for (int i = 0; i < N - 1; i++) { /* b0 oldest ... b4 newest */
    connect_ok(&b[i], &a);
    th_run_for(20);
  }
  th_run_for(400); /* all past their grace period; at high water */
  assert_int_equal(stats_of(&a).trimmed, 0);
  connect_ok(&b[N - 1], &a); /* one above */
  void *arg[2] = {&a, (void *)(uintptr_t)2};
  th_run_until(trimmed, arg, 5000);
  th_run_for(100);
  assert_int_equal(stats_of(&a).trimmed, 2);
  assert_int_equal(lp2p_host_num_conns(a.host), 4);
  assert_true(connected_to(&a, &b[0]));  /* protected */
  assert_true(connected_to(&a, &b[1]));  /* valued */
  assert_true(connected_to(&a, &b[2]));  /* the oldest of value 0 */
  assert_false(connected_to(&a, &b[3])); /* newer of value 0: trimmed */
  assert_false(connected_to(&a, &b[4]));
  assert_true(connected_to(&a, &b[5])); /* in its grace period */
  assert_int_equal(a.last_reason, LP2P_DISCONNECT_TRIMMED);
  for (int i = 0; i < N; i++) {
    th_node_close(&b[i]);
  }
  th_node_close(&a);
}

/* Connections above high water that are all in their grace period are
 * trimmed once it ends, not before. */
static void test_trim_waits_for_grace_period(void **state) {
  (void)state;
  th_node a, b[3];
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  a.settings.conns_low_water = 1;
  a.settings.conns_high_water = 2;
  a.settings.conns_grace = 500 * LP2P_MILLISECONDS;
  th_node_start(&a);
  th_node_listen(&a);
  lp2p_tstamp start = lp2p_host_now();
  for (int i = 0; i < 3; i++) {
    th_node_init(&b[i], (uint8_t)(2 + i), LP2P_KEY_ED25519);
    th_node_start(&b[i]);
    connect_ok(&b[i], &a);
  }
  th_run_for(100);
  assert_int_equal(stats_of(&a).trimmed, 0);
  assert_int_equal(lp2p_host_num_conns(a.host), 3);
  void *one[2] = {&a, (void *)(uintptr_t)1};
  th_run_until(trimmed, one, 5000);
  assert_true(lp2p_host_now() - start >= 500 * LP2P_MILLISECONDS);
  th_run_for(100);
  /* as go, only connections out of their grace period are candidates:
   * the oldest went (and the others, if theirs ended meanwhile) */
  assert_true(lp2p_host_num_conns(a.host) <= 2);
  assert_int_equal(lp2p_host_num_conns(a.host) + stats_of(&a).trimmed, 3);
  for (int i = 0; i < 3; i++) {
    th_node_close(&b[i]);
  }
  th_node_close(&a);
}

/* ---- idle --------------------------------------------------------------- */

/* A connection with no stream is closed after idle_timeout even though it
 * answers keepalive; on by default. */
static void test_idle_timeout_on_by_default(void **state) {
  (void)state;
  lp2p_host_settings s;
  lp2p_host_settings_default(&s);
  assert_true(s.idle_timeout > 0);
  assert_true(s.idle_timeout <= 120 * LP2P_SECONDS);
}

static bool disconnected(void *arg) {
  return ((th_node *)arg)->disconnected > 0;
}

static void test_idle_connection_closed_and_counted(void **state) {
  (void)state;
  th_node a, b;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  a.settings.idle_timeout = 300 * LP2P_MILLISECONDS;
  th_node_start(&a);
  th_node_listen(&a);
  th_node_init(&b, 2, LP2P_KEY_ED25519);
  th_node_start(&b);
  connect_ok(&b, &a);
  th_run_until(disconnected, &a, 5000);
  assert_int_equal(a.last_reason, LP2P_DISCONNECT_IDLE);
  assert_int_equal(stats_of(&a).closed_idle, 1);
  th_node_close(&b);
  th_node_close(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_per_ip_limit_refuses_one_past,
                                      th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(
          test_loopback_exempt_from_per_ip_limit_by_default, th_setup,
          th_teardown),
      cmocka_unit_test_setup_teardown(test_handshake_limit_refuses_one_past,
                                      th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(
          test_stalled_handshake_evicted_for_newcomer, th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(
          test_inbound_limit_refuses_one_past_while_dialing_out_works, th_setup,
          th_teardown),
      cmocka_unit_test_setup_teardown(
          test_full_node_still_dials_out_on_reserved_slots, th_setup,
          th_teardown),
      cmocka_unit_test_setup_teardown(
          test_trim_at_high_water_keeps_protected_drops_lowest_newest, th_setup,
          th_teardown),
      cmocka_unit_test_setup_teardown(test_trim_waits_for_grace_period,
                                      th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(test_idle_timeout_on_by_default, th_setup,
                                      th_teardown),
      cmocka_unit_test_setup_teardown(test_idle_connection_closed_and_counted,
                                      th_setup, th_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
