/* lp2p_node_new_with_key, the constructor for bindings that cannot lay out
 * lp2p_node_settings (the Python package): the node takes the caller's
 * key as its identity, runs on the defaults, and refuses a missing key
 * with a message. */
#include "testutil.h"
#include "testutil_host.h"

#define TOPIC "with-key"

static int setup(void **state) {
  (void)state;
  th_loop_init();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  th_loop_free();
  return 0;
}

static void on_closed(void *user) {
  *(bool *)user = true;
}

static bool is_true(void *arg) {
  return *(bool *)arg;
}

static void close_node(lp2p_node *n) {
  bool closed = false;
  assert_int_equal(lp2p_node_close(n, on_closed, &closed), 0);
  th_run_until(is_true, &closed, 5000);
}

static void node_with_key_has_the_keys_peer_id(void **state) {
  (void)state;
  uint8_t seed[32] = {7};
  lp2p_privkey key;
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &key), 0);
  lp2p_pubkey pub;
  lp2p_peer_id want;
  assert_int_equal(lp2p_privkey_public(&key, &pub), 0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, &want), 0);

  lp2p_node *n;
  lp2p_errdetail err;
  assert_int_equal(lp2p_node_new_with_key(&n, th_loop, &key, NULL, NULL, &err),
                   0);
  lp2p_privkey_wipe(&key); /* copied: the caller may wipe its own */
  assert_true(lp2p_peer_id_equal(lp2p_host_peer_id(lp2p_node_host(n)), &want));
  close_node(n);
}

/* A node on the defaults listening on loopback and subscribed to TOPIC,
 * for `n` to publish to (a publication nobody takes is not sent). */
static lp2p_node *listener_for(lp2p_node *n) {
  uint8_t seed[32] = {11};
  lp2p_privkey key;
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &key), 0);
  lp2p_node *l;
  assert_int_equal(lp2p_node_new_with_key(&l, th_loop, &key, NULL, NULL, NULL),
                   0);
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  assert_int_equal(lp2p_multiaddr_parse("/ip4/127.0.0.1/tcp/0", &ma, NULL), 0);
  assert_int_equal(lp2p_host_listen(lp2p_node_host(l), ma.data, ma.len, NULL),
                   0);
  lp2p_buf_free(&ma);
  assert_int_equal(
      lp2p_node_subscribe(l, (const uint8_t *)TOPIC, strlen(TOPIC)), 0);
  lp2p_buf all;
  lp2p_buf_init(&all, NULL);
  assert_true(lp2p_host_listen_addrs(lp2p_node_host(l), true, &all) >= 1);
  uint64_t len;
  int hdr = lp2p_uvarint_decode(all.data, all.len, &len);
  assert_true(hdr > 0);
  assert_int_equal(lp2p_node_connect(n, all.data + hdr, (size_t)len, NULL), 0);
  lp2p_buf_free(&all);
  return l;
}

static bool topic_has_mesh(void *arg) {
  lp2p_topic_stats ts;
  return lp2p_router_topic_stats(lp2p_node_router(arg), (const uint8_t *)TOPIC,
                                 strlen(TOPIC), &ts) == 0 &&
         ts.mesh > 0;
}

/* The defaults sign (StrictSign): a publication carries our id as author,
 * so its default message id is from ‖ seqno and starts with our id. */
static void node_with_key_signs_with_the_defaults(void **state) {
  (void)state;
  uint8_t seed[32] = {9};
  lp2p_privkey key;
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &key), 0);
  lp2p_node *n;
  assert_int_equal(lp2p_node_new_with_key(&n, th_loop, &key, NULL, NULL, NULL),
                   0);
  assert_int_equal(
      lp2p_node_subscribe(n, (const uint8_t *)TOPIC, strlen(TOPIC)), 0);
  lp2p_node *l = listener_for(n);
  th_run_until(topic_has_mesh, n, 5000);
  uint8_t id[128];
  size_t id_len = 0;
  assert_int_equal(lp2p_node_publish(n, (const uint8_t *)TOPIC, strlen(TOPIC),
                                     (const uint8_t *)"x", 1, id, &id_len),
                   1);
  const lp2p_peer_id *me = lp2p_host_peer_id(lp2p_node_host(n));
  assert_int_equal(id_len, (size_t)me->len + 8);
  assert_memory_equal(id, me->bytes, me->len);
  close_node(l);
  close_node(n);
}

static void node_with_key_refuses_no_key(void **state) {
  (void)state;
  lp2p_node *n = (lp2p_node *)&n;
  lp2p_errdetail err = {{0}};
  assert_int_equal(lp2p_node_new_with_key(&n, th_loop, NULL, NULL, NULL, &err),
                   LP2P_ERR_INVALID_ARG);
  assert_null(n);
  assert_string_equal(err.msg, "no key");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(node_with_key_has_the_keys_peer_id, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(node_with_key_signs_with_the_defaults,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(node_with_key_refuses_no_key, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
