/* The simulator's shared message bodies (src/sim/msgstore.c) and the
 * router's message store hook (lp2p__router_set_msg_store): routers of
 * one run hold one copy of each distinct message, released when the
 * last router lets it go, and no router sees another's message change. */
#include <string.h>

#include "sim/msgstore.h"
#include "testutil_router.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1

static void equal_bodies_share_one_copy_until_the_last_release(void **state) {
  (void)state;
  sim_msgstore st;
  uint8_t a[40], b[40];
  memset(a, 7, sizeof(a));
  memcpy(b, a, sizeof(b));
  lp2p__sim_msgstore_init(&st, NULL);
  const uint8_t *x = lp2p__sim_msgstore_intern(&st, a, sizeof(a));
  const uint8_t *y = lp2p__sim_msgstore_intern(&st, b, sizeof(b));
  assert_non_null(x);
  assert_ptr_equal(x, y);
  assert_ptr_not_equal(x, a);
  assert_int_equal(st.bodies, 1);
  lp2p__sim_msgstore_release(&st, x);
  assert_int_equal(st.bodies, 1); /* y still holds it */
  assert_memory_equal(y, a, sizeof(a));
  lp2p__sim_msgstore_release(&st, y);
  assert_int_equal(st.bodies, 0);
  lp2p__sim_msgstore_free(&st);
}

/* An attacker's copy with one byte changed (its signature, at the end)
 * is a body of its own, and one changed anywhere never gets the genuine
 * copy: a hash clash leaves it to the caller's own copy (NULL). */
static void a_body_with_other_bytes_is_stored_apart(void **state) {
  (void)state;
  sim_msgstore st;
  uint8_t a[1100], forged[1100], middle[1100];
  for (size_t i = 0; i < sizeof(a); i++) {
    a[i] = (uint8_t)(i * 31);
  }
  memcpy(forged, a, sizeof(a));
  forged[1090] ^= 1;
  lp2p__sim_msgstore_init(&st, NULL);
  const uint8_t *x = lp2p__sim_msgstore_intern(&st, a, sizeof(a));
  const uint8_t *y = lp2p__sim_msgstore_intern(&st, forged, sizeof(forged));
  const uint8_t *shorter = lp2p__sim_msgstore_intern(&st, a, sizeof(a) - 1);
  assert_non_null(y);
  assert_ptr_not_equal(x, y);
  assert_ptr_not_equal(x, shorter);
  assert_memory_equal(x, a, sizeof(a));
  assert_memory_equal(y, forged, sizeof(forged));
  assert_int_equal(st.bodies, 3);
  for (size_t i = 0; i < sizeof(a); i++) {
    memcpy(middle, a, sizeof(a));
    middle[i] ^= 0x80;
    const uint8_t *z = lp2p__sim_msgstore_intern(&st, middle, sizeof(middle));
    assert_true(z != x && z != y);
    if (z) {
      assert_memory_equal(z, middle, sizeof(middle));
      lp2p__sim_msgstore_release(&st, z);
    }
  }
  lp2p__sim_msgstore_release(&st, x);
  lp2p__sim_msgstore_release(&st, y);
  lp2p__sim_msgstore_release(&st, shorter);
  assert_int_equal(st.bodies, 0);
  lp2p__sim_msgstore_free(&st);
}

static lp2p_privkey author;

/* A router of seed `seed` joined to TOPIC, with `store` (or none), that
 * received message `seqno` of `author` from a subscribed peer. */
static void router_with_message(th_router *t, uint8_t seed, sim_msgstore *store,
                                uint64_t seqno) {
  lp2p_router_settings s;
  lp2p_peer_id peer;
  th_settings(&s, seed);
  th_router_new(t, &s);
  if (store) {
    lp2p__router_set_msg_store(t->r, &store->hooks);
  }
  assert_int_equal(lp2p_router_join(t->r, T, TH_T0), 0);
  th_add_peer(t, 50, LP2P_MESHSUB_12, false, &peer);
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"hello", 5, seqno);
  th_rpc_send(t, &peer, &m, TH_T0);
  assert_int_equal(t->delivered, 1);
}

static const gs_msg *cached(const th_router *t, uint64_t seqno) {
  uint8_t id[128];
  size_t n = th_msg_id(&author, seqno, id);
  return lp2p_gs_mcache_get(t->r, lp2p_gs_id_hash(t->r, id, n));
}

static void routers_with_a_store_share_a_message_body(void **state) {
  (void)state;
  lp2p_peer_id author_id;
  th_router a, b;
  sim_msgstore st;
  th_identity(77, &author, &author_id);
  lp2p__sim_msgstore_init(&st, NULL);
  router_with_message(&a, 1, &st, 9);
  router_with_message(&b, 2, &st, 9);
  const gs_msg *ma = cached(&a, 9), *mb = cached(&b, 9);
  assert_non_null(ma);
  assert_non_null(mb);
  assert_ptr_not_equal(ma, mb); /* refs, queues, counts stay per router */
  assert_ptr_equal(ma->f.raw.data, mb->f.raw.data);
  assert_int_equal(st.bodies, 1);
  assert_memory_equal(ma->f.data.data, "hello", 5);
  th_router_del(&b);
  assert_int_equal(st.bodies, 1);
  th_router_del(&a);
  assert_int_equal(st.bodies, 0);
  lp2p__sim_msgstore_free(&st);
}

/* The mcache's last reference gives the body back to the store: the
 * store holds no more than the routers' windows. */
static void an_evicted_message_releases_its_shared_body(void **state) {
  (void)state;
  lp2p_peer_id author_id;
  th_router t;
  sim_msgstore st;
  th_identity(77, &author, &author_id);
  lp2p__sim_msgstore_init(&st, NULL);
  router_with_message(&t, 1, &st, 3);
  assert_int_equal(st.bodies, 1);
  lp2p_tstamp now = TH_T0;
  th_drain_all(&t, now);
  lp2p_tstamp beats = (lp2p_tstamp)t.r->s.params.history_length;
  th_run(&t, &now, TH_T0 + (beats + 1) * t.r->s.params.heartbeat_interval);
  assert_null(cached(&t, 3));
  assert_int_equal(st.bodies, 0);
  th_router_del(&t);
  lp2p__sim_msgstore_free(&st);
}

/* A router without a store keeps its own copy, unchanged whatever a
 * router with one does. */
static void a_message_is_unchanged_by_another_routers(void **state) {
  (void)state;
  lp2p_peer_id author_id;
  th_router own, shared;
  sim_msgstore st;
  th_identity(77, &author, &author_id);
  lp2p__sim_msgstore_init(&st, NULL);
  router_with_message(&own, 1, NULL, 4);
  router_with_message(&shared, 2, &st, 4);
  const gs_msg *mo = cached(&own, 4), *ms = cached(&shared, 4);
  assert_false(mo->body_shared);
  assert_true(ms->body_shared);
  assert_ptr_not_equal(mo->f.raw.data, ms->f.raw.data);
  assert_int_equal(mo->f.raw.len, ms->f.raw.len);
  assert_memory_equal(mo->f.raw.data, ms->f.raw.data, mo->f.raw.len);
  th_router_del(&shared);
  assert_int_equal(st.bodies, 0);
  assert_memory_equal(mo->f.data.data, "hello", 5);
  th_router_del(&own);
  lp2p__sim_msgstore_free(&st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(equal_bodies_share_one_copy_until_the_last_release),
      cmocka_unit_test(a_body_with_other_bytes_is_stored_apart),
      cmocka_unit_test(routers_with_a_store_share_a_message_body),
      cmocka_unit_test(an_evicted_message_releases_its_shared_body),
      cmocka_unit_test(a_message_is_unchanged_by_another_routers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
