/* PrivateKey protobufs: lp2p_privkey_unmarshal.
 * Beyond "no crash": marshal -> unmarshal gives the same key; and the key
 * works: a signature it makes verifies with its public key, and does not
 * verify for another message. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/crypto.h"

static const uint8_t msg[] = "lp2p fuzz: a fixed message to sign";

static int same_key(const lp2p_privkey *a, const lp2p_privkey *b) {
  return a->type == b->type && memcmp(a->data, b->data, sizeof(a->data)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_privkey key, again;
  lp2p_pubkey pub;
  if (lp2p_privkey_unmarshal(data, size, &key) != 0) {
    return 0;
  }
  FUZZ_CHECK(key.type == LP2P_KEY_ED25519 || key.type == LP2P_KEY_SECP256K1);

  lp2p_buf pb;
  lp2p_buf_init(&pb, NULL);
  FUZZ_CHECK(lp2p_privkey_marshal(&key, &pb) == 0);
  FUZZ_CHECK(lp2p_privkey_unmarshal(pb.data, pb.len, &again) == 0);
  FUZZ_CHECK(same_key(&key, &again));
  lp2p_buf_free(&pb);

  uint8_t sig[LP2P_SIG_MAX];
  size_t sig_len = 0;
  FUZZ_CHECK(lp2p_privkey_public(&key, &pub) == 0);
  FUZZ_CHECK(lp2p_privkey_sign(&key, msg, sizeof(msg) - 1, sig, &sig_len) == 0);
  FUZZ_CHECK(sig_len > 0 && sig_len <= LP2P_SIG_MAX);
  FUZZ_CHECK(lp2p_pubkey_verify(&pub, msg, sizeof(msg) - 1, sig, sig_len) == 0);
  FUZZ_CHECK(lp2p_pubkey_verify(&pub, msg, sizeof(msg) - 2, sig, sig_len) != 0);

  /* the public key also survives its own marshal -> unmarshal */
  uint8_t pk[LP2P_PUBKEY_PB_MAX];
  lp2p_pubkey pub2;
  int n = lp2p_pubkey_marshal(&pub, pk, sizeof(pk));
  FUZZ_CHECK(n > 0 && lp2p_pubkey_unmarshal(pk, (size_t)n, &pub2) == 0);
  FUZZ_CHECK(lp2p_pubkey_equal(&pub, &pub2));
  lp2p_privkey_wipe(&key);
  lp2p_privkey_wipe(&again);
  return 0;
}
