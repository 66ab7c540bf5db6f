/* Datagrams into a QUIC endpoint (src/net/quic_endpoint.c) from several
 * source addresses. The input is a flags byte, then datagrams, each a
 * source byte (its low 2 bits pick one of 4 addresses) and a 2-byte
 * big-endian length. Flags bit 0: real clients' Initials from the first
 * two addresses come first (connections exist, hostile bytes hit them
 * and the limits); bit 1: the endpoint dials the third address (an
 * unknown short header from it is offered to that connection as a
 * possible reset); bit 2: the clock moves to each deadline; bit 3:
 * Retry is required (the Initials get Retries, hostile tokens hit the
 * check). Between
 * datagrams the endpoint is drained: no datagram may exceed 1500 bytes
 * or lack a destination, and nothing may crash or leak. */
#include <string.h>

#include "fuzz.h"
#include "fuzz_quic_util.h"
#include "net/quic_endpoint.h"

#define MAX_DATAGRAMS 64
#define NADDRS 4

static void drain(lp2p__quic_endpoint *ep, lp2p_tstamp now) {
  const uint8_t *out;
  const struct sockaddr *to;
  uint32_t to_len;
  ssize_t n;
  int rounds = 0;
  while ((n = lp2p__quic_endpoint_pull(ep, &out, &to, &to_len, now)) > 0 &&
         rounds++ < 256) {
    FUZZ_CHECK((size_t)n <= 1500);
    FUZZ_CHECK(to != NULL && to_len > 0);
  }
}

/* A real client's first datagram from `caddr` into `buf`. */
static size_t client_initial(const lp2p_privkey *key, uint8_t seed,
                             uint8_t *buf, struct sockaddr_in *caddr,
                             struct sockaddr_in *saddr) {
  uint8_t counter = seed;
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

static lp2p__quic_endpoint *endpoint(const lp2p_privkey *key,
                                     struct sockaddr_in *saddr,
                                     uint8_t *counter, bool retry) {
  lp2p__quic_endpoint_settings s;
  lp2p__quic_endpoint_settings_default(&s);
  conn_settings(&s.conn, counter);
  s.max_connections = 3;
  s.reserved_outbound = 1;
  s.max_handshakes = 2;
  s.max_queued = 4;
  s.resets_per_second = 4;
  s.require_retry = retry;
  lp2p__quic_endpoint *ep = NULL;
  FUZZ_CHECK(lp2p__quic_endpoint_new(&ep, &s, key, (struct sockaddr *)saddr,
                                     sizeof(*saddr), NULL, NULL, NULL) == 0);
  return ep;
}

static void feed_initials(lp2p__quic_endpoint *ep, const lp2p_privkey *key,
                          struct sockaddr_in *addrs, struct sockaddr_in *saddr,
                          lp2p_tstamp now) {
  for (int i = 0; i < 2; i++) {
    uint8_t first[1500];
    size_t len = client_initial(key, (uint8_t)(7 + i), first, &addrs[i], saddr);
    (void)lp2p__quic_endpoint_recv(ep, first, len, (struct sockaddr *)&addrs[i],
                                   sizeof(addrs[i]), now);
    drain(ep, now);
  }
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
  struct sockaddr_in saddr, addrs[NADDRS];
  make_addr(&saddr, 2000);
  for (int i = 0; i < NADDRS; i++) {
    make_addr(&addrs[i], (uint16_t)(1000 + i));
  }
  uint8_t counter = 1;
  lp2p_tstamp now = 1;
  lp2p__quic_endpoint *ep = endpoint(&key, &saddr, &counter, data[0] & 8);
  if (data[0] & 1) {
    feed_initials(ep, &key, addrs, &saddr, now);
  }
  if (data[0] & 2) {
    lp2p__quic *q;
    (void)lp2p__quic_endpoint_connect(ep, (struct sockaddr *)&addrs[2],
                                      sizeof(addrs[2]), NULL, NULL, now, &q);
    drain(ep, now);
  }
  size_t off = 1;
  for (int i = 0; i < MAX_DATAGRAMS && off + 3 <= size; i++) {
    const struct sockaddr_in *from = &addrs[data[off] % NADDRS];
    size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
    off += 3;
    len = len < size - off ? len : size - off;
    (void)lp2p__quic_endpoint_recv(
        ep, data + off, len, (const struct sockaddr *)from, sizeof(*from), now);
    off += len;
    drain(ep, now);
    lp2p_tstamp t = lp2p__quic_endpoint_expiry(ep);
    if ((data[0] & 4) && t != LP2P_TSTAMP_NEVER) {
      now = t > now ? t : now;
      FUZZ_CHECK(lp2p__quic_endpoint_handle_expiry(ep, now) == 0);
      drain(ep, now);
    }
  }
  lp2p__quic_endpoint_del(ep);
  return 0;
}
