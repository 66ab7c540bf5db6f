/* Peer id byte form: lp2p_peer_id_from_bytes, lp2p_multihash_decode and
 * lp2p_peer_id_pubkey. Beyond "no crash": an accepted id is exactly the
 * input, a whole multihash; an identity id re-encodes to itself; and a key
 * recovered from an identity id must have that very id (otherwise two
 * different ids would stand for the same key). */
#include <string.h>

#include "fuzz.h"
#include "lp2p/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_multihash mh;
  lp2p_peer_id id, derived;
  lp2p_pubkey pub;
  int n = lp2p_multihash_decode(data, size, &mh);
  FUZZ_CHECK(n < 0 || ((size_t)n <= size && mh.digest_len <= (size_t)n &&
                       mh.digest + mh.digest_len == data + n));

  if (lp2p_peer_id_from_bytes(data, size, &id) != 0) {
    return 0;
  }
  FUZZ_CHECK((size_t)n == size);
  FUZZ_CHECK(id.len == size && memcmp(id.bytes, data, size) == 0);
  FUZZ_CHECK(mh.code == LP2P_MH_IDENTITY || mh.code == LP2P_MH_SHA2_256);
  if (mh.code == LP2P_MH_IDENTITY) {
    uint8_t re[LP2P_PEER_ID_MAX];
    int m = lp2p_multihash_encode(LP2P_MH_IDENTITY, mh.digest, mh.digest_len,
                                  re, sizeof(re));
    FUZZ_CHECK((size_t)m == size && memcmp(re, data, size) == 0);
  }

  int rv = lp2p_peer_id_pubkey(&id, &pub);
  if (mh.code == LP2P_MH_SHA2_256) {
    FUZZ_CHECK(rv == LP2P_ERR_NOT_FOUND);
  }
  if (rv == 0) {
    FUZZ_CHECK(lp2p_peer_id_from_pubkey(&pub, &derived) == 0);
    FUZZ_CHECK(lp2p_peer_id_equal(&id, &derived));
    FUZZ_CHECK(lp2p_peer_id_check_pubkey(&id, &pub) == 0);
  }
  return 0;
}
