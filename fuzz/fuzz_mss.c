/* multistream-select on arbitrary peer bytes, in both roles.
 * Input: one byte choosing the role and limits, one byte seeding how the
 * rest is split, then the peer's bytes. Beyond "no crash": a call consumes
 * at most what it was given and stops short only once a protocol is
 * agreed; an agreed protocol is one we offered; failures are the
 * documented codes and stick; no pull exceeds what the limits allow. */
#include <string.h>

#include "base/pcg.h"
#include "fuzz.h"
#include "lp2p/net.h"

static const char *const PROTOS[] = {"/a/1", "/yamux/1.0.0", "/mplex/6.7.0"};

static int match_c(lp2p_mss *m, const char *proto, size_t len, void *user) {
  (void)m;
  (void)user;
  return len >= 3 && memcmp(proto, "/c/", 3) == 0;
}

static bool offered(const char *p, size_t len, bool listener) {
  for (size_t i = 0; i < 3; i++) {
    if (strlen(PROTOS[i]) == len && memcmp(PROTOS[i], p, len) == 0) {
      return true;
    }
  }
  return listener && len >= 3 && memcmp(p, "/c/", 3) == 0;
}

static bool documented(int rv) {
  return rv == LP2P_ERR_MALFORMED || rv == LP2P_ERR_OVERLONG ||
         rv == LP2P_ERR_TOO_LARGE || rv == LP2P_ERR_UNSUPPORTED ||
         rv == LP2P_ERR_NOMEM;
}

static void pull_all(lp2p_mss *m, size_t bound) {
  const uint8_t *out;
  ssize_t n;
  while ((n = lp2p_mss_pull(m, &out, 0)) > 0) {
    FUZZ_CHECK((size_t)n <= bound);
  }
  FUZZ_CHECK(n == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) {
    return 0;
  }
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.role = (data[0] & 1) ? LP2P_MSS_LISTENER : LP2P_MSS_DIALER;
  s.protocols = PROTOS;
  s.nprotocols = 3;
  s.max_message = (data[0] & 2) ? 64 : 1024;
  s.max_attempts = (uint32_t)(1 + (data[0] >> 4));
  lp2p_mss_callbacks cb = {match_c};
  lp2p_mss *m;
  FUZZ_CHECK(lp2p_mss_new(&m, &s, &cb, NULL, NULL) == 0);
  /* every answer is at most one message; a listener may owe one per
   * proposal, plus the header and the list */
  size_t bound = (s.max_attempts + 3) * (s.max_message + 2);
  lp2p_pcg g;
  lp2p_pcg_seed(&g, data[1], 1);
  pull_all(m, bound);
  size_t i = 2;
  int last = 0;
  while (i < size) {
    size_t n = 1 + lp2p_pcg_below(&g, (uint32_t)(size - i));
    int rv = lp2p_mss_recv(m, data + i, n, 0);
    if (rv < 0) {
      FUZZ_CHECK(rv == LP2P_ERR_STATE ? last < 0 : documented(rv));
      FUZZ_CHECK(lp2p_mss_result(m, NULL, NULL) == (last < 0 ? last : rv));
      last = lp2p_mss_result(m, NULL, NULL);
      FUZZ_CHECK(lp2p_mss_errmsg(m)[0] != 0);
    } else {
      FUZZ_CHECK((size_t)rv <= n);
      if ((size_t)rv < n) {
        FUZZ_CHECK(lp2p_mss_result(m, NULL, NULL) == 1);
      }
    }
    pull_all(m, bound);
    i += n;
  }
  const char *p;
  size_t len;
  if (lp2p_mss_result(m, &p, &len) == 1) {
    FUZZ_CHECK(offered(p, len, s.role == LP2P_MSS_LISTENER));
    FUZZ_CHECK(strlen(p) == len);
    FUZZ_CHECK(lp2p_mss_expiry(m) == LP2P_TSTAMP_NEVER);
  }
  lp2p_mss_del(m);
  return 0;
}
