/* Memory budgets (lp2p/budget.h): a reservation one past each scope's
 * limit is refused and charges nothing, a peer's scope is shared by its
 * connections, the host total bounds every peer together, and every
 * refusal is counted. */
#include "lp2p/budget.h"
#include "lp2p/net.h"
#include "testutil.h"

#define KIB 1024u

static void reservation_one_past_a_scope_is_refused(void **state) {
  (void)state;
  lp2p_budget host, conn;
  lp2p_budget_init(&host, NULL, 1000);
  lp2p_budget_init(&conn, &host, 100);
  assert_int_equal(lp2p_budget_reserve(&conn, 100), 0); /* exactly */
  assert_int_equal(lp2p_budget_reserve(&conn, 1), LP2P_ERR_TOO_LARGE);
  assert_int_equal(conn.used, 100);
  assert_int_equal(host.used, 100); /* the refusal charged nothing */
  assert_int_equal(conn.refused, 1);
  assert_int_equal(host.refused, 0);
  assert_int_equal(host.refused_below, 1);
  assert_int_equal(lp2p_budget_room(&conn), 0);
  lp2p_budget_release(&conn, 40);
  assert_int_equal(lp2p_budget_room(&conn), 40);
  assert_int_equal(lp2p_budget_reserve(&conn, 40), 0);
  lp2p_budget_release(&conn, 100);
  assert_int_equal(host.used, 0);
  assert_int_equal(conn.used, 0);
}

static void count_room(lp2p_budget *b, void *user) {
  (void)b;
  (*(int *)user)++;
}

/* A writer held by a full peer scope is woken by a release from any
 * connection of the peer: the scope tells its owner once per refusal or
 * wait, not on every release. */
static void
release_after_a_refusal_or_wait_tells_the_scope_owner_once(void **state) {
  (void)state;
  lp2p_budget host, peer, a, b;
  int calls = 0;
  lp2p_budget_init(&host, NULL, 1000);
  lp2p_budget_init(&peer, &host, 100);
  peer.on_room = count_room;
  peer.on_room_user = &calls;
  lp2p_budget_init(&a, &peer, 100);
  lp2p_budget_init(&b, &peer, 100);
  assert_int_equal(lp2p_budget_reserve(&a, 100), 0);
  lp2p_budget_release(&a, 10);
  assert_int_equal(calls, 0); /* nobody waited */
  assert_int_equal(lp2p_budget_reserve(&b, 20), LP2P_ERR_TOO_LARGE);
  lp2p_budget_release(&a, 10); /* room made by the other connection */
  assert_int_equal(calls, 1);
  lp2p_budget_release(&a, 10);
  assert_int_equal(calls, 1); /* once per episode */
  /* a writer that only looked at the room (as yamux's) waits on the
   * scope that limits it: the peer's, not its connection's */
  assert_int_equal(lp2p_budget_reserve(&a, 30), 0);
  lp2p_budget_wait(&b);
  assert_false(b.waited);
  lp2p_budget_release(&a, 5);
  assert_int_equal(calls, 2);
}

static void peer_scope_is_shared_by_its_connections(void **state) {
  (void)state;
  lp2p_budget host, peer, a, b;
  lp2p_budget_init(&host, NULL, 1000);
  lp2p_budget_init(&peer, &host, 150);
  lp2p_budget_init(&a, &peer, 100);
  lp2p_budget_init(&b, &peer, 100);
  assert_int_equal(lp2p_budget_reserve(&a, 100), 0);
  assert_int_equal(lp2p_budget_room(&b), 50); /* the peer's, not b's 100 */
  assert_int_equal(lp2p_budget_reserve(&b, 51), LP2P_ERR_TOO_LARGE);
  assert_int_equal(peer.refused, 1);
  assert_int_equal(b.refused, 0);
  assert_int_equal(lp2p_budget_reserve(&b, 50), 0);
  lp2p_budget_release(&a, 100);
  lp2p_budget_release(&b, 50);
  assert_int_equal(host.used, 0);
}

static void host_total_bounds_every_peer_together(void **state) {
  (void)state;
  lp2p_budget host, peers[3];
  lp2p_budget_init(&host, NULL, 250);
  for (int i = 0; i < 3; i++) {
    lp2p_budget_init(&peers[i], &host, 100);
  }
  assert_int_equal(lp2p_budget_reserve(&peers[0], 100), 0);
  assert_int_equal(lp2p_budget_reserve(&peers[1], 100), 0);
  /* within its own scope, past the host's */
  assert_int_equal(lp2p_budget_reserve(&peers[2], 51), LP2P_ERR_TOO_LARGE);
  assert_int_equal(host.refused, 1);
  assert_int_equal(peers[2].refused_below, 1);
  assert_int_equal(lp2p_budget_reserve(&peers[2], 50), 0);
  assert_int_equal(host.used, 250);
}

static void release_never_wraps_below_zero(void **state) {
  (void)state;
  lp2p_budget b;
  lp2p_budget_init(&b, NULL, 10);
  assert_int_equal(lp2p_budget_reserve(&b, 5), 0);
  lp2p_budget_release(&b, 6);
  assert_int_equal(b.used, 0);
  assert_int_equal(lp2p_budget_reserve(&b, 11), LP2P_ERR_TOO_LARGE);
  assert_int_equal(lp2p_budget_reserve(NULL, UINT64_MAX), 0);
  assert_true(lp2p_budget_room(NULL) == UINT64_MAX);
}

/* The host total over real sessions: three peers' yamux sessions, each
 * within its peer scope; bytes written and not yet sent are held, and a
 * write past the host's total is held back (accepts nothing), counted. */
static void host_total_holds_writes_of_any_peer(void **state) {
  (void)state;
  static uint8_t data[256 * KIB];
  lp2p_budget host, peer[3];
  lp2p_budget_init(&host, NULL, 3 * 256 * KIB);
  lp2p_yamux *y[3];
  lp2p_yamux_settings s;
  lp2p_yamux_settings_default(&s);
  s.is_client = true;
  s.measure_rtt = false;
  for (int i = 0; i < 3; i++) {
    lp2p_budget_init(&peer[i], &host, 2 * 256 * KIB);
    s.budget = &peer[i];
    assert_int_equal(lp2p_yamux_new(&y[i], &s, NULL, NULL, NULL), 0);
  }
  uint32_t id;
  /* open streams cost nothing until they hold bytes */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lp2p_yamux_open(y[i], &id), 0);
    assert_int_equal(lp2p_yamux_open(y[i], &id), 0);
  }
  assert_int_equal(host.used, 0);
  assert_int_equal(lp2p_yamux_stream_write(y[0], 1, data, sizeof(data)),
                   (ssize_t)sizeof(data));
  assert_int_equal(lp2p_yamux_stream_write(y[0], 3, data, sizeof(data)),
                   (ssize_t)sizeof(data));
  assert_int_equal(lp2p_yamux_stream_write(y[1], 1, data, sizeof(data)),
                   (ssize_t)sizeof(data));
  assert_int_equal(host.used, 3 * 256 * KIB);
  assert_int_equal(lp2p_yamux_stream_write(y[2], 1, data, 1), 0);
  assert_int_equal(host.refused, 0); /* a write asks only for the room */
  lp2p_yamux_stats st;
  lp2p_yamux_stats_get(y[2], &st);
  assert_int_equal(st.writes_held_budget, 1);
  for (int i = 0; i < 3; i++) {
    lp2p_yamux_del(y[i]);
  }
  assert_int_equal(host.used, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reservation_one_past_a_scope_is_refused),
      cmocka_unit_test(peer_scope_is_shared_by_its_connections),
      cmocka_unit_test(
          release_after_a_refusal_or_wait_tells_the_scope_owner_once),
      cmocka_unit_test(host_total_bounds_every_peer_together),
      cmocka_unit_test(release_never_wraps_below_zero),
      cmocka_unit_test(host_total_holds_writes_of_any_peer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
