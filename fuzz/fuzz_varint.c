/* lp2p_uvarint_decode on arbitrary bytes.
 * Beyond "no crash": a decoded varint is minimal, so re-encoding the value
 * gives back exactly the bytes consumed; lp2p_uvarint_len agrees; and the
 * protobuf varint reader (a superset: 10 bytes, non-minimal) reads the same
 * value from the same bytes. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/multiformats.h"
#include "pb/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t v;
  int n = lp2p_uvarint_decode(data, size, &v);
  if (n < 0) {
    FUZZ_CHECK(n == LP2P_ERR_TRUNCATED || n == LP2P_ERR_OVERLONG);
    return 0;
  }
  FUZZ_CHECK(n >= 1 && n <= LP2P_UVARINT_MAX_LEN && (size_t)n <= size);
  FUZZ_CHECK(v <= LP2P_UVARINT_MAX);
  FUZZ_CHECK(lp2p_uvarint_len(v) == (size_t)n);

  uint8_t out[LP2P_UVARINT_MAX_LEN];
  int m = lp2p_uvarint_encode(v, out, sizeof(out));
  FUZZ_CHECK(m == n && memcmp(out, data, (size_t)n) == 0);
  /* one byte short of room must be refused, not overflowed */
  FUZZ_CHECK(lp2p_uvarint_encode(v, out, (size_t)n - 1) ==
             LP2P_ERR_BUFFER_TOO_SMALL);

  const uint8_t *pos = data;
  uint64_t w;
  FUZZ_CHECK(lp2p_pb_read_varint(&pos, data + size, &w) == 0);
  FUZZ_CHECK(w == v && pos == data + n);
  return 0;
}
