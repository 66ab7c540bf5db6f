#include <sodium.h>
#include <string.h>

#include "lp2p/multiformats.h"

int lp2p_multihash_decode(const uint8_t *in, size_t len, lp2p_multihash *mh) {
  uint64_t code, dlen;
  int n1 = lp2p_uvarint_decode(in, len, &code);
  if (n1 < 0) {
    return n1;
  }
  int n2 = lp2p_uvarint_decode(in + n1, len - (size_t)n1, &dlen);
  if (n2 < 0) {
    return n2;
  }
  size_t hdr = (size_t)n1 + (size_t)n2;
  if (dlen > LP2P_MH_MAX_DIGEST) {
    return LP2P_ERR_TOO_LARGE;
  }
  if (dlen > len - hdr) {
    return LP2P_ERR_TRUNCATED;
  }
  if (code == LP2P_MH_SHA2_256 && dlen != crypto_hash_sha256_BYTES) {
    return LP2P_ERR_MALFORMED;
  }
  mh->code = code;
  mh->digest = in + hdr;
  mh->digest_len = (size_t)dlen;
  return (int)(hdr + (size_t)dlen);
}

int lp2p_multihash_encode(uint64_t code, const uint8_t *data, size_t len,
                          uint8_t *out, size_t cap) {
  size_t dlen;
  if (code == LP2P_MH_IDENTITY) {
    dlen = len;
  } else if (code == LP2P_MH_SHA2_256) {
    dlen = crypto_hash_sha256_BYTES;
  } else {
    return LP2P_ERR_UNSUPPORTED;
  }
  if (dlen > LP2P_MH_MAX_DIGEST || cap < 2) {
    return dlen > LP2P_MH_MAX_DIGEST ? LP2P_ERR_TOO_LARGE
                                     : LP2P_ERR_BUFFER_TOO_SMALL;
  }
  out[0] = (uint8_t)code;
  int n = lp2p_uvarint_encode(dlen, out + 1, cap - 1);
  if (n < 0) {
    return n;
  }
  size_t hdr = 1 + (size_t)n;
  if (cap - hdr < dlen) {
    return LP2P_ERR_BUFFER_TOO_SMALL;
  }
  if (code == LP2P_MH_IDENTITY) {
    if (len) {
      memcpy(out + hdr, data, len);
    }
  } else {
    crypto_hash_sha256(out + hdr, data, len);
  }
  return (int)(hdr + dlen);
}
