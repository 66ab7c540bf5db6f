/* Multibase, base58btc and base32: lp2p_multibase_decode,
 * lp2p_base58_decode and lp2p_base32_decode on the input as text.
 * Beyond "no crash": encode -> decode gives back the decoded bytes; the
 * decoders are canonical, so encoding the decoded bytes gives back exactly
 * the input text; and decoding into exactly the room needed works while
 * one byte less is refused (heap buffers of those sizes, so ASan sees any
 * write past the room given). */
#include <string.h>

#include "fuzz.h"
#include "lp2p/multiformats.h"

/* More room than any accepted input can fill, so that "too small" never
 * hides a case; a longer input is cut here. */
#define MAX_TEXT 2048

enum kind { BASE58, BASE32, MULTIBASE };

static int decode(enum kind k, const char *text, size_t len, uint8_t *out,
                  size_t cap) {
  switch (k) {
  case BASE58:
    return lp2p_base58_decode(text, len, out, cap);
  case BASE32:
    return lp2p_base32_decode(text, len, out, cap);
  default:
    return lp2p_multibase_decode(text, len, out, cap);
  }
}

static int encode(enum kind k, char base, const uint8_t *in, size_t len,
                  char *out, size_t cap) {
  switch (k) {
  case BASE58:
    return lp2p_base58_encode(in, len, out, cap);
  case BASE32:
    return lp2p_base32_encode(in, len, out, cap);
  default:
    return lp2p_multibase_encode(base, in, len, out, cap);
  }
}

static void check_room(enum kind k, const char *text, size_t len, int n) {
  uint8_t *exact = malloc((size_t)n + 1), *less = malloc((size_t)n + 1);
  if (exact && less) {
    /* the room given ends where the allocation ends */
    FUZZ_CHECK(decode(k, text, len, exact + 1, (size_t)n) == n);
    if (n > 0) {
      FUZZ_CHECK(decode(k, text, len, less + 2, (size_t)n - 1) ==
                 LP2P_ERR_BUFFER_TOO_SMALL);
    }
  }
  free(exact);
  free(less);
}

static void check(enum kind k, const char *text, size_t len) {
  uint8_t bytes[MAX_TEXT], back[MAX_TEXT];
  char again[2 * MAX_TEXT + 2];
  int n = decode(k, text, len, bytes, sizeof(bytes));
  if (n < 0) {
    return;
  }
  FUZZ_CHECK((size_t)n <= len);
  /* a multibase text is never empty, and keeps its own prefix */
  char base = k == MULTIBASE ? text[0] : 0;
  int m = encode(k, base, bytes, (size_t)n, again, sizeof(again));
  FUZZ_CHECK(m >= 0 && (size_t)m < sizeof(again) && again[m] == 0);
  FUZZ_CHECK((size_t)m == len && memcmp(again, text, len) == 0);
  FUZZ_CHECK(decode(k, again, (size_t)m, back, sizeof(back)) == n);
  FUZZ_CHECK(memcmp(back, bytes, (size_t)n) == 0);
  check_room(k, text, len, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  size_t len = size < MAX_TEXT ? size : MAX_TEXT;
  check(BASE58, text, len);
  check(BASE32, text, len);
  check(MULTIBASE, text, len);
  return 0;
}
