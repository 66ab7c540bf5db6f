/* Multiaddrs to and from socket addresses: the host speaks TCP and QUIC v1
 * (/udp/P/quic-v1) over IPv4 and IPv6, optionally naming the peer with a
 * trailing /p2p/ component. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "host/internal.h"

#define SUPPORTED                                                              \
  "only /ip4|ip6/A/tcp/P[/p2p/ID] and "                                        \
  "/ip4|ip6/A/udp/P/quic-v1[/p2p/ID] are supported"

static int collect(const uint8_t *ma, size_t len, lp2p_ma_component c[4],
                   size_t *n, lp2p_errdetail *err) {
  size_t off = 0;
  *n = 0;
  for (;;) {
    lp2p_ma_component comp;
    int rv = lp2p_multiaddr_next(ma, len, &off, &comp, err);
    if (rv <= 0) {
      return rv;
    }
    if (*n == 4) {
      return lp2p_errdetail_set(err, LP2P_ERR_UNSUPPORTED, SUPPORTED);
    }
    c[(*n)++] = comp;
  }
}

static int fill_ip(const lp2p_ma_component *ip, const lp2p_ma_component *tcp,
                   struct sockaddr_storage *sa) {
  uint16_t port = (uint16_t)(tcp->value[0] << 8 | tcp->value[1]);
  memset(sa, 0, sizeof(*sa));
  if (ip->code == LP2P_MA_IP4) {
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    memcpy(&in->sin_addr, ip->value, 4);
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    memcpy(&in6->sin6_addr, ip->value, 16);
  }
  return 0;
}

/* How many components the transport takes after the address: tcp/P is
 * one, udp/P/quic-v1 two; 0 for anything else. */
static size_t transport_len(const lp2p_ma_component *c, size_t n, bool *quic) {
  *quic = n >= 3 && c[1].code == LP2P_MA_UDP && c[2].code == LP2P_MA_QUIC_V1;
  return *quic ? 2 : n >= 2 && c[1].code == LP2P_MA_TCP ? 1 : 0;
}

int lp2p__addr_to_sockaddr(const uint8_t *ma, size_t len,
                           struct sockaddr_storage *sa, lp2p_peer_id *peer,
                           bool *has_peer, bool *quic, lp2p_errdetail *err) {
  lp2p_ma_component c[4];
  size_t n;
  int rv = collect(ma, len, c, &n, err);
  if (rv != 0) {
    return rv;
  }
  *has_peer = false;
  bool is_quic = false;
  size_t t = n > 0 ? transport_len(c, n, &is_quic) : 0;
  if (quic) {
    *quic = is_quic;
  }
  if (t == 0 || (c[0].code != LP2P_MA_IP4 && c[0].code != LP2P_MA_IP6) ||
      n > t + 2 || (n == t + 2 && c[t + 1].code != LP2P_MA_P2P) ||
      (is_quic && !quic)) {
    const char *first = n > 0 ? c[0].name : "";
    if (n > 0 && (c[0].code == LP2P_MA_DNS || c[0].code == LP2P_MA_DNS4 ||
                  c[0].code == LP2P_MA_DNS6 || c[0].code == LP2P_MA_DNSADDR)) {
      return lp2p_errdetail_set(err, LP2P_ERR_UNSUPPORTED,
                                "%s names are not resolved: give an ip4 or "
                                "ip6 address",
                                first);
    }
    return lp2p_errdetail_set(err, LP2P_ERR_UNSUPPORTED, SUPPORTED);
  }
  if (n == t + 2) {
    rv = lp2p_peer_id_from_bytes(c[t + 1].value, c[t + 1].value_len, peer);
    if (rv != 0) {
      return lp2p_errdetail_set(err, LP2P_ERR_MALFORMED,
                                "the /p2p/ component is not a peer id");
    }
    *has_peer = true;
  }
  return fill_ip(&c[0], &c[1], sa);
}

int lp2p__addr_from_sockaddr(const struct sockaddr *sa, lp2p_buf *out) {
  return lp2p__addr_from_sockaddr_of(sa, false, out);
}

int lp2p__addr_from_sockaddr_of(const struct sockaddr *sa, bool quic,
                                lp2p_buf *out) {
  const char *transport = quic ? "udp" : "tcp";
  const char *suffix = quic ? "/quic-v1" : "";
  char ip[INET6_ADDRSTRLEN], text[112];
  unsigned port;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
    port = ntohs(in->sin_port);
    snprintf(text, sizeof(text), "/ip4/%s/%s/%u%s", ip, transport, port,
             suffix);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
    port = ntohs(in6->sin6_port);
    snprintf(text, sizeof(text), "/ip6/%s/%s/%u%s", ip, transport, port,
             suffix);
  } else {
    return LP2P_ERR_UNSUPPORTED;
  }
  return lp2p_multiaddr_parse(text, out, NULL);
}

int lp2p__addr_append_peer(lp2p_buf *ma, const lp2p_peer_id *id) {
  uint8_t hdr[2 * 10];
  int n = lp2p_uvarint_encode(LP2P_MA_P2P, hdr, sizeof(hdr));
  int m = lp2p_uvarint_encode(id->len, hdr + n, sizeof(hdr) - (size_t)n);
  int rv = lp2p_buf_append(ma, hdr, (size_t)(n + m));
  return rv == 0 ? lp2p_buf_append(ma, id->bytes, id->len) : rv;
}
