/* What the two QUIC fuzz targets (fuzz_quic, fuzz_quic_endpoint) share:
 * deterministic randomness, a connection's settings and loopback
 * addresses. Static: each target is its own program. */
#ifndef LP2P_FUZZ_QUIC_UTIL_H
#define LP2P_FUZZ_QUIC_UTIL_H

#include <arpa/inet.h>
#include <string.h>

#include "net/quic.h"

#define UNIX_TIME 1800000000

/* The same bytes on every run: a fuzz input must replay. */
static void counter_rand(uint8_t *dest, size_t len, void *user) {
  uint8_t *counter = user;
  for (size_t i = 0; i < len; i++) {
    dest[i] = (uint8_t)(++*counter * 151u);
  }
}

static const char *const protos[] = {"/fuzz/1.0.0"};

static void conn_settings(lp2p__quic_settings *s, uint8_t *counter) {
  lp2p__quic_settings_default(s);
  s->unix_time = UNIX_TIME;
  s->rand_fn = counter_rand;
  s->rand_user = counter;
  s->protocols = protos;
  s->nprotocols = 1;
}

static void make_addr(struct sockaddr_in *a, uint16_t port) {
  memset(a, 0, sizeof(*a));
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

#endif
