/* Datagrams into a server QUIC connection (src/net/quic.c). The input is
 * a first byte, then datagrams, each after a 2-byte big-endian length.
 * First byte odd: a real client's Initial opens the connection and the
 * datagrams follow it (hostile bytes against a handshaking server); even:
 * the first datagram must open it itself. Between datagrams the server's
 * output is drained and its clock moved to its deadline: no output may
 * exceed a datagram, and nothing may crash or leak. */
#include <string.h>

#include "fuzz.h"
#include "fuzz_quic_util.h"
#include "net/quic.h"

#define MAX_DATAGRAMS 64

static void drain(lp2p__quic *q, lp2p_tstamp now) {
  const uint8_t *out;
  ssize_t n;
  int rounds = 0;
  while ((n = lp2p__quic_pull(q, &out, now)) > 0 && rounds++ < 64) {
    FUZZ_CHECK((size_t)n <= 1500);
  }
}

/* A real client's first datagram into `buf`; returns its length. */
static size_t client_initial(const lp2p_privkey *key, uint8_t *buf,
                             struct sockaddr_in *caddr,
                             struct sockaddr_in *saddr) {
  uint8_t counter = 7;
  lp2p__quic_settings set;
  conn_settings(&set, &counter);
  lp2p__quic *c = NULL;
  if (lp2p__quic_client_new(&c, &set, key, (struct sockaddr *)caddr,
                            sizeof(*caddr), (struct sockaddr *)saddr,
                            sizeof(*saddr), NULL, NULL, NULL, 1) != 0) {
    return 0;
  }
  const uint8_t *out;
  ssize_t n = lp2p__quic_pull(c, &out, 1);
  size_t len = n > 0 ? (size_t)n : 0;
  memcpy(buf, out, len);
  lp2p__quic_del(c);
  return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lp2p_privkey key;
  static bool have_key;
  if (!have_key) {
    uint8_t seed[32] = {1};
    FUZZ_CHECK(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &key) == 0);
    have_key = true;
  }
  if (size < 1) {
    return 0;
  }
  struct sockaddr_in caddr, saddr;
  make_addr(&caddr, 1000);
  make_addr(&saddr, 2000);
  uint8_t first[1500];
  size_t first_len = 0;
  size_t off = 1;
  if (data[0] & 1) {
    first_len = client_initial(&key, first, &caddr, &saddr);
  }
  uint8_t counter = 1;
  lp2p__quic_settings set;
  conn_settings(&set, &counter);
  lp2p__quic *q = NULL;
  lp2p_tstamp now = 1;
  for (int i = 0; i < MAX_DATAGRAMS && off + 2 <= size; i++) {
    size_t len = (size_t)data[off] << 8 | data[off + 1];
    off += 2;
    len = len < size - off ? len : size - off;
    const uint8_t *d = data + off;
    off += len;
    if (!q && first_len > 0) {
      (void)lp2p__quic_server_new(&q, &set, &key, (struct sockaddr *)&saddr,
                                  sizeof(saddr), (struct sockaddr *)&caddr,
                                  sizeof(caddr), first, first_len, NULL, NULL,
                                  NULL, now);
    }
    if (!q) {
      if (lp2p__quic_server_new(&q, &set, &key, (struct sockaddr *)&saddr,
                                sizeof(saddr), (struct sockaddr *)&caddr,
                                sizeof(caddr), d, len, NULL, NULL, NULL,
                                now) != 0) {
        return 0;
      }
    } else {
      (void)lp2p__quic_recv(q, d, len, (struct sockaddr *)&caddr, sizeof(caddr),
                            now);
    }
    drain(q, now);
    lp2p_tstamp t = lp2p__quic_expiry(q);
    if (t != LP2P_TSTAMP_NEVER && (data[0] & 2)) {
      now = t > now ? t : now;
      (void)lp2p__quic_handle_expiry(q, now);
      drain(q, now);
    }
  }
  lp2p__quic_del(q);
  return 0;
}
