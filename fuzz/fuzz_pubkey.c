/* PublicKey protobufs: lp2p_pubkey_unmarshal, _marshal, _verify.
 * Beyond "no crash": marshal -> unmarshal gives an equal key, and the
 * marshalled form is canonical (marshalling again gives the same bytes).
 * The signature is the last field 3 (bytes) of the input, a field that
 * unmarshal skips; verifying it over a fixed message must not crash, and a
 * signature that verifies must not also verify another message. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/crypto.h"
#include "pb/wire.h"

static const uint8_t msg[] = "lp2p fuzz: a fixed message to verify";

/* The data of the last LEN field number 3, or NULL. */
static const uint8_t *find_sig(const uint8_t *data, size_t size, size_t *len) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  const uint8_t *sig = NULL;
  lp2p_pb_reader_init(&r, data, size);
  while (lp2p_pb_next(&r, &f) == 1) {
    if (f.num == 3 && f.wire_type == LP2P_PB_LEN) {
      sig = f.data;
      *len = f.len;
    }
  }
  return sig;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_pubkey pub, again;
  if (lp2p_pubkey_unmarshal(data, size, &pub) != 0) {
    return 0;
  }
  FUZZ_CHECK(pub.len <= LP2P_PUBKEY_DATA_MAX);

  uint8_t pb[LP2P_PUBKEY_PB_MAX], pb2[LP2P_PUBKEY_PB_MAX];
  int n = lp2p_pubkey_marshal(&pub, pb, sizeof(pb));
  FUZZ_CHECK(n > 0 && (size_t)n <= sizeof(pb));
  FUZZ_CHECK(lp2p_pubkey_unmarshal(pb, (size_t)n, &again) == 0);
  FUZZ_CHECK(lp2p_pubkey_equal(&pub, &again));
  FUZZ_CHECK(lp2p_pubkey_marshal(&again, pb2, sizeof(pb2)) == n);
  FUZZ_CHECK(memcmp(pb, pb2, (size_t)n) == 0);

  size_t sig_len = 0;
  const uint8_t *sig = find_sig(data, size, &sig_len);
  if (lp2p_pubkey_verify(&pub, msg, sizeof(msg) - 1, sig, sig_len) == 0) {
    FUZZ_CHECK(lp2p_pubkey_verify(&pub, msg, sizeof(msg) - 2, sig, sig_len) !=
               0);
  }
  return 0;
}
