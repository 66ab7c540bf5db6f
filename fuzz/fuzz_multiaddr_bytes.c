/* Binary multiaddrs: lp2p_multiaddr_validate, _next and _format.
 * Beyond "no crash": validate and format agree on what is valid; walking the
 * components with _next covers the input exactly; and for a valid multiaddr
 * the text form parses back to exactly the same bytes. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/multiformats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_errdetail err;
  lp2p_buf text, back;
  lp2p_buf_init(&text, NULL);
  lp2p_buf_init(&back, NULL);

  int valid = lp2p_multiaddr_validate(data, size, &err);
  int rv = lp2p_multiaddr_format(data, size, &text, &err);
  FUZZ_CHECK(rv == valid);
  if (valid == 0) {
    size_t off = 0, last = 0;
    lp2p_ma_component c;
    while ((rv = lp2p_multiaddr_next(data, size, &off, &c, NULL)) == 1) {
      FUZZ_CHECK(off > last && off <= size);
      FUZZ_CHECK(c.value_len <= size && (c.value_len == 0 || c.value));
      last = off;
    }
    FUZZ_CHECK(rv == 0 && off == size);

    FUZZ_CHECK(text.len > 0 && text.data[text.len] == 0);
    FUZZ_CHECK(strlen((const char *)text.data) == text.len);
    rv = lp2p_multiaddr_parse((const char *)text.data, &back, &err);
    if (rv != 0) {
      fprintf(stderr, "text '%s' does not parse: %s\n", text.data, err.msg);
    }
    FUZZ_CHECK(rv == 0);
    FUZZ_CHECK(back.len == size && memcmp(back.data, data, size) == 0);
  } else {
    FUZZ_CHECK(text.len == 0);
  }
  lp2p_buf_free(&text);
  lp2p_buf_free(&back);
  return 0;
}
