/* The simulator's shared signature verdicts (src/sim/sigcache.c): a
 * distinct signed message is verified once per run, and a copy with
 * other bytes is verified on its own. */
#include <string.h>

#include "sim/sigcache.h"
#include "testutil.h"

typedef struct signed_msg {
  lp2p_pubkey author;
  uint8_t data[64];
  uint8_t sig[LP2P_SIG_MAX];
  size_t sig_len;
} signed_msg;

static void sign(signed_msg *m, uint8_t seed_byte, const char *text) {
  uint8_t seed[32];
  lp2p_privkey key;
  memset(seed, seed_byte, sizeof(seed));
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &key), 0);
  lp2p_privkey_public(&key, &m->author);
  memset(m->data, 0, sizeof(m->data));
  memcpy(m->data, text, strlen(text));
  assert_int_equal(
      lp2p_privkey_sign(&key, m->data, sizeof(m->data), m->sig, &m->sig_len),
      0);
  lp2p_privkey_wipe(&key);
}

static int check(sim_sigcache *c, const signed_msg *m) {
  return lp2p__sim_sigcache_verify(c, &m->author, m->data, sizeof(m->data),
                                   m->sig, m->sig_len);
}

static void a_signed_message_is_verified_once_per_run(void **state) {
  (void)state;
  sim_sigcache c;
  signed_msg m;
  sign(&m, 1, "hello");
  lp2p__sim_sigcache_init(&c, NULL);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(check(&c, &m), 0);
  }
  assert_int_equal(c.checks, 5);
  assert_int_equal(c.hits, 4);
  lp2p__sim_sigcache_free(&c);
}

/* An attacker's copy with a changed byte, signature or author is a
 * different triple: verified (and refused) on its own, and the genuine
 * message still passes. */
static void a_forged_copy_is_verified_on_its_own(void **state) {
  (void)state;
  sim_sigcache c;
  signed_msg good, bad_data, bad_sig, other_author;
  sign(&good, 1, "hello");
  bad_data = good;
  bad_data.data[0] ^= 1;
  bad_sig = good;
  bad_sig.sig[3] ^= 0x40;
  sign(&other_author, 2, "other");
  memcpy(other_author.data, good.data, sizeof(good.data));
  memcpy(other_author.sig, good.sig, good.sig_len);
  lp2p__sim_sigcache_init(&c, NULL);
  assert_int_equal(check(&c, &good), 0);
  assert_int_equal(check(&c, &bad_data), LP2P_ERR_BAD_SIGNATURE);
  assert_int_equal(check(&c, &bad_sig), LP2P_ERR_BAD_SIGNATURE);
  assert_int_equal(check(&c, &other_author), LP2P_ERR_BAD_SIGNATURE);
  assert_int_equal(c.hits, 0);
  /* the refusals are remembered too, and the genuine verdict kept */
  assert_int_equal(check(&c, &bad_sig), LP2P_ERR_BAD_SIGNATURE);
  assert_int_equal(check(&c, &good), 0);
  assert_int_equal(c.hits, 2);
  lp2p__sim_sigcache_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_signed_message_is_verified_once_per_run),
      cmocka_unit_test(a_forged_copy_is_verified_on_its_own),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
