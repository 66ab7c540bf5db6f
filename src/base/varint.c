/* Unsigned varints as multiformats/unsigned-varint specifies them: 7 bits
 * per byte, least significant group first, minimal, at most 9 bytes. */
#include "lp2p/multiformats.h"

size_t lp2p_uvarint_len(uint64_t v) {
  if (v > LP2P_UVARINT_MAX) {
    return 0;
  }
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

int lp2p_uvarint_encode(uint64_t v, uint8_t *out, size_t cap) {
  size_t n = lp2p_uvarint_len(v);
  if (n == 0) {
    return LP2P_ERR_TOO_LARGE;
  }
  if (n > cap) {
    return LP2P_ERR_BUFFER_TOO_SMALL;
  }
  for (size_t i = 0; i + 1 < n; i++) {
    out[i] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[n - 1] = (uint8_t)v;
  return (int)n;
}

int lp2p_uvarint_decode(const uint8_t *in, size_t len, uint64_t *v) {
  uint64_t x = 0;
  for (size_t i = 0; i < LP2P_UVARINT_MAX_LEN; i++) {
    if (i == len) {
      return LP2P_ERR_TRUNCATED;
    }
    uint8_t b = in[i];
    x |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      /* a zero final group after the first byte means a shorter encoding
       * existed */
      if (i > 0 && b == 0) {
        return LP2P_ERR_OVERLONG;
      }
      *v = x;
      return (int)i + 1;
    }
  }
  return LP2P_ERR_OVERLONG;
}
