/* Signed envelopes: lp2p_envelope_decode then lp2p_envelope_verify under
 * the peer record domain. Beyond "no crash": every view of a decoded
 * envelope lies inside the input; an envelope that verifies does not also
 * verify under another domain, and lp2p_envelope_open agrees with decode +
 * verify. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/record.h"

static int inside(const uint8_t *p, size_t len, const uint8_t *data,
                  size_t size) {
  return len == 0 ||
         (p >= data && len <= size && (size_t)(p - data) <= size - len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_envelope env, env2;
  if (lp2p_envelope_decode(data, size, &env) != 0) {
    return 0;
  }
  FUZZ_CHECK(env.payload_type_len > 0 && env.signature_len > 0);
  FUZZ_CHECK(inside(env.payload_type, env.payload_type_len, data, size));
  FUZZ_CHECK(inside(env.payload, env.payload_len, data, size));
  FUZZ_CHECK(inside(env.signature, env.signature_len, data, size));

  int rv = lp2p_envelope_verify(&env, LP2P_PEER_RECORD_DOMAIN);
  if (rv == 0) {
    FUZZ_CHECK(lp2p_envelope_verify(&env, "libp2p-other-domain") != 0);
  }
  int open = lp2p_envelope_open(data, size, LP2P_PEER_RECORD_DOMAIN,
                                env.payload_type, env.payload_type_len, &env2);
  FUZZ_CHECK((open == 0) == (rv == 0));
  return 0;
}
