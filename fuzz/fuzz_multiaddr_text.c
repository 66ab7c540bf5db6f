/* Text multiaddrs: lp2p_multiaddr_parse on a NUL-terminated copy of the
 * input. Beyond "no crash": whatever parses is a valid binary multiaddr; a
 * failed parse leaves the output buffer as it was; and format -> parse is a
 * fixed point (the canonical text gives back the same bytes and formats to
 * itself). */
#include <string.h>

#include "fuzz.h"
#include "lp2p/multiformats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) {
    return 0;
  }
  memcpy(text, data, size);
  text[size] = 0;

  lp2p_errdetail err;
  lp2p_buf ma, canon, ma2, canon2;
  lp2p_buf_init(&ma, NULL);
  lp2p_buf_init(&canon, NULL);
  lp2p_buf_init(&ma2, NULL);
  lp2p_buf_init(&canon2, NULL);
  /* a prefix already in the buffer must survive both outcomes */
  FUZZ_CHECK(lp2p_buf_append(&ma, "xy", 2) == 0);

  int rv = lp2p_multiaddr_parse(text, &ma, &err);
  FUZZ_CHECK(ma.len >= 2 && memcmp(ma.data, "xy", 2) == 0);
  if (rv != 0) {
    FUZZ_CHECK(ma.len == 2);
  } else {
    const uint8_t *bytes = ma.data + 2;
    size_t len = ma.len - 2;
    FUZZ_CHECK(lp2p_multiaddr_validate(bytes, len, &err) == 0);
    FUZZ_CHECK(lp2p_multiaddr_format(bytes, len, &canon, &err) == 0);
    FUZZ_CHECK(lp2p_multiaddr_parse((const char *)canon.data, &ma2, &err) == 0);
    FUZZ_CHECK(ma2.len == len && memcmp(ma2.data, bytes, len) == 0);
    FUZZ_CHECK(lp2p_multiaddr_format(ma2.data, ma2.len, &canon2, &err) == 0);
    FUZZ_CHECK(canon2.len == canon.len &&
               memcmp(canon2.data, canon.data, canon.len) == 0);
  }
  lp2p_buf_free(&ma);
  lp2p_buf_free(&canon);
  lp2p_buf_free(&ma2);
  lp2p_buf_free(&canon2);
  free(text);
  return 0;
}
