/* Multiaddrs: binary <-> text for the protocols a libp2p TCP/QUIC node
 * meets: ip4, ip6, tcp, udp, quic-v1, p2p, dns, dns4, dns6, dnsaddr. */
#include <arpa/inet.h>
#include <string.h>

#include "base/err.h"
#include "lp2p/multiformats.h"

/* Longest text form of one value: an ip6 address, a DNS name, a peer id. */
#define VALUE_TEXT_MAX (LP2P_MA_DNS_MAX + 1)
#define VARIABLE (-1)

typedef struct proto {
  uint64_t code;
  const char *name;
  int size; /* value bytes: fixed, 0 for none, VARIABLE for length-prefixed */
  /* text -> bytes; returns the byte length or a negative error */
  int (*parse)(const char *s, size_t len, uint8_t *out, size_t cap);
  /* bytes (already validated) -> NUL-terminated text */
  int (*format)(const uint8_t *v, size_t len, char *out, size_t cap);
  /* checks a value's bytes: 0 or LP2P_ERR_MALFORMED */
  int (*check)(const uint8_t *v, size_t len);
} proto;

static int parse_ip4(const char *s, size_t len, uint8_t *out, size_t cap) {
  char text[16];
  if (len >= sizeof(text) || cap < 4) {
    return LP2P_ERR_MALFORMED;
  }
  memcpy(text, s, len);
  text[len] = 0;
  return inet_pton(AF_INET, text, out) == 1 ? 4 : LP2P_ERR_MALFORMED;
}

static int parse_ip6(const char *s, size_t len, uint8_t *out, size_t cap) {
  char text[INET6_ADDRSTRLEN];
  if (len >= sizeof(text) || cap < 16) {
    return LP2P_ERR_MALFORMED;
  }
  memcpy(text, s, len);
  text[len] = 0;
  return inet_pton(AF_INET6, text, out) == 1 ? 16 : LP2P_ERR_MALFORMED;
}

static int format_ip(int af, const uint8_t *v, char *out, size_t cap) {
  if (!inet_ntop(af, v, out, (socklen_t)cap)) {
    return LP2P_ERR_BUFFER_TOO_SMALL;
  }
  return (int)strlen(out);
}

static int format_ip4(const uint8_t *v, size_t len, char *out, size_t cap) {
  (void)len;
  return format_ip(AF_INET, v, out, cap);
}

static int format_ip6(const uint8_t *v, size_t len, char *out, size_t cap) {
  (void)len;
  return format_ip(AF_INET6, v, out, cap);
}

static int parse_port(const char *s, size_t len, uint8_t *out, size_t cap) {
  uint32_t port = 0;
  if (len == 0 || len > 5 || cap < 2) {
    return LP2P_ERR_MALFORMED;
  }
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return LP2P_ERR_MALFORMED;
    }
    port = port * 10 + (uint32_t)(s[i] - '0');
  }
  if (port > 65535) {
    return LP2P_ERR_MALFORMED;
  }
  out[0] = (uint8_t)(port >> 8);
  out[1] = (uint8_t)port;
  return 2;
}

static int format_port(const uint8_t *v, size_t len, char *out, size_t cap) {
  (void)len;
  unsigned port = (unsigned)v[0] << 8 | v[1];
  char digits[6];
  int n = 0;
  do {
    digits[n++] = (char)('0' + port % 10);
    port /= 10;
  } while (port);
  if ((size_t)n + 1 > cap) {
    return LP2P_ERR_BUFFER_TOO_SMALL;
  }
  for (int i = 0; i < n; i++) {
    out[i] = digits[n - 1 - i];
  }
  out[n] = 0;
  return n;
}

/* A DNS name must be non-empty and must not contain '/' (it would not
 * survive the text form) or NUL. */
static int check_dns(const uint8_t *v, size_t len) {
  if (len == 0 || len > LP2P_MA_DNS_MAX || memchr(v, '/', len) ||
      memchr(v, 0, len)) {
    return LP2P_ERR_MALFORMED;
  }
  return 0;
}

static int parse_dns(const char *s, size_t len, uint8_t *out, size_t cap) {
  if (len > cap || check_dns((const uint8_t *)s, len) != 0) {
    return LP2P_ERR_MALFORMED;
  }
  memcpy(out, s, len);
  return (int)len;
}

static int format_dns(const uint8_t *v, size_t len, char *out, size_t cap) {
  if (len + 1 > cap) {
    return LP2P_ERR_BUFFER_TOO_SMALL;
  }
  memcpy(out, v, len);
  out[len] = 0;
  return (int)len;
}

static int check_p2p(const uint8_t *v, size_t len) {
  lp2p_peer_id id;
  return lp2p_peer_id_from_bytes(v, len, &id) == 0 ? 0 : LP2P_ERR_MALFORMED;
}

static int parse_p2p(const char *s, size_t len, uint8_t *out, size_t cap) {
  lp2p_peer_id id;
  if (lp2p_peer_id_parse(s, len, &id) != 0 || id.len > cap) {
    return LP2P_ERR_MALFORMED;
  }
  memcpy(out, id.bytes, id.len);
  return id.len;
}

static int format_p2p(const uint8_t *v, size_t len, char *out, size_t cap) {
  return lp2p_base58_encode(v, len, out, cap);
}

static const proto protos[] = {
    {LP2P_MA_IP4, "ip4", 4, parse_ip4, format_ip4, NULL},
    {LP2P_MA_TCP, "tcp", 2, parse_port, format_port, NULL},
    {LP2P_MA_UDP, "udp", 2, parse_port, format_port, NULL},
    {LP2P_MA_IP6, "ip6", 16, parse_ip6, format_ip6, NULL},
    {LP2P_MA_DNS, "dns", VARIABLE, parse_dns, format_dns, check_dns},
    {LP2P_MA_DNS4, "dns4", VARIABLE, parse_dns, format_dns, check_dns},
    {LP2P_MA_DNS6, "dns6", VARIABLE, parse_dns, format_dns, check_dns},
    {LP2P_MA_DNSADDR, "dnsaddr", VARIABLE, parse_dns, format_dns, check_dns},
    {LP2P_MA_P2P, "p2p", VARIABLE, parse_p2p, format_p2p, check_p2p},
    {LP2P_MA_QUIC_V1, "quic-v1", 0, NULL, NULL, NULL},
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

static const proto *proto_by_code(uint64_t code) {
  for (size_t i = 0; i < NPROTOS; i++) {
    if (protos[i].code == code) {
      return &protos[i];
    }
  }
  return NULL;
}

static const proto *proto_by_name(const char *name, size_t len) {
  /* go-libp2p still accepts the old name of p2p */
  if (len == 4 && memcmp(name, "ipfs", 4) == 0) {
    return proto_by_code(LP2P_MA_P2P);
  }
  for (size_t i = 0; i < NPROTOS; i++) {
    if (strlen(protos[i].name) == len &&
        memcmp(protos[i].name, name, len) == 0) {
      return &protos[i];
    }
  }
  return NULL;
}

/* Reads a component's value; returns the bytes after the code or an
 * error. */
static int read_value(const proto *p, const uint8_t *in, size_t len,
                      lp2p_ma_component *c, lp2p_errdetail *err) {
  size_t hdr = 0;
  uint64_t vlen = (uint64_t)p->size;
  if (p->size == VARIABLE) {
    int n = lp2p_uvarint_decode(in, len, &vlen);
    if (n < 0) {
      return lp2p_errdetail_set(err, n, "bad length of /%s value", p->name);
    }
    hdr = (size_t)n;
  }
  if (vlen > len - hdr) {
    return lp2p_errdetail_set(err, LP2P_ERR_TRUNCATED, "/%s value is truncated",
                              p->name);
  }
  c->value = vlen ? in + hdr : NULL;
  c->value_len = (size_t)vlen;
  if (p->check && p->check(c->value, c->value_len) != 0) {
    return lp2p_errdetail_set(err, LP2P_ERR_MALFORMED, "invalid /%s value",
                              p->name);
  }
  return (int)(hdr + (size_t)vlen);
}

int lp2p_multiaddr_next(const uint8_t *ma, size_t len, size_t *off,
                        lp2p_ma_component *c, lp2p_errdetail *err) {
  if (*off >= len) {
    return 0;
  }
  if (len > LP2P_MULTIADDR_MAX) {
    return lp2p_errdetail_set(err, LP2P_ERR_TOO_LARGE,
                              "multiaddr is longer than %d bytes",
                              LP2P_MULTIADDR_MAX);
  }
  uint64_t code;
  int n = lp2p_uvarint_decode(ma + *off, len - *off, &code);
  if (n < 0) {
    return lp2p_errdetail_set(err, n, "bad multiaddr protocol code");
  }
  const proto *p = proto_by_code(code);
  if (!p) {
    return lp2p_errdetail_set(err, LP2P_ERR_UNKNOWN_PROTOCOL,
                              "unknown multiaddr protocol code 0x%llx",
                              (unsigned long long)code);
  }
  size_t pos = *off + (size_t)n;
  int v = read_value(p, ma + pos, len - pos, c, err);
  if (v < 0) {
    return v;
  }
  c->code = code;
  c->name = p->name;
  *off = pos + (size_t)v;
  return 1;
}

int lp2p_multiaddr_validate(const uint8_t *ma, size_t len,
                            lp2p_errdetail *err) {
  if (len == 0) {
    return lp2p_errdetail_set(err, LP2P_ERR_MALFORMED, "empty multiaddr");
  }
  size_t off = 0;
  lp2p_ma_component c;
  int rv;
  while ((rv = lp2p_multiaddr_next(ma, len, &off, &c, err)) == 1) {
  }
  return rv;
}

/* Appends one component given its text value. */
static int put_component(const proto *p, const char *val, size_t vlen,
                         lp2p_buf *out, lp2p_errdetail *err) {
  uint8_t code[LP2P_UVARINT_MAX_LEN], value[VALUE_TEXT_MAX + 1];
  int n = lp2p_uvarint_encode(p->code, code, sizeof(code));
  int m = p->size == 0 ? 0 : p->parse(val, vlen, value, sizeof(value) - 1);
  if (m < 0) {
    return lp2p_errdetail_set(err, LP2P_ERR_MALFORMED,
                              "invalid /%s value '%.*s'", p->name,
                              (int)(vlen > 64 ? 64 : vlen), val);
  }
  uint8_t prefix[LP2P_UVARINT_MAX_LEN];
  int k = p->size == VARIABLE
              ? lp2p_uvarint_encode((uint64_t)m, prefix, sizeof(prefix))
              : 0;
  int rv = lp2p_buf_append(out, code, (size_t)n);
  if (rv == 0) {
    rv = lp2p_buf_append(out, prefix, (size_t)k);
  }
  if (rv == 0) {
    rv = lp2p_buf_append(out, value, (size_t)m);
  }
  return rv;
}

/* Parses "/name[/value]" starting at *pos in text[0..len). */
static int parse_component(const char *text, size_t len, size_t *pos,
                           lp2p_buf *out, lp2p_errdetail *err) {
  const char *name = text + *pos + 1;
  const char *end = text + len;
  const char *slash = memchr(name, '/', (size_t)(end - name));
  size_t nlen = (size_t)((slash ? slash : end) - name);
  const proto *p = proto_by_name(name, nlen);
  if (nlen == 0) {
    return lp2p_errdetail_set(err, LP2P_ERR_MALFORMED,
                              "empty protocol name in multiaddr");
  }
  if (!p) {
    return lp2p_errdetail_set(err, LP2P_ERR_UNKNOWN_PROTOCOL,
                              "unknown multiaddr protocol '%.*s'",
                              (int)(nlen > 64 ? 64 : nlen), name);
  }
  *pos += 1 + nlen;
  if (p->size == 0) {
    return put_component(p, NULL, 0, out, err);
  }
  if (!slash || slash + 1 == end) {
    return lp2p_errdetail_set(err, LP2P_ERR_MALFORMED, "/%s needs a value",
                              p->name);
  }
  const char *val = slash + 1;
  const char *vend = memchr(val, '/', (size_t)(end - val));
  size_t vlen = (size_t)((vend ? vend : end) - val);
  *pos += 1 + vlen;
  return put_component(p, val, vlen, out, err);
}

int lp2p_multiaddr_parse(const char *text, lp2p_buf *out, lp2p_errdetail *err) {
  size_t len = strnlen(text, 4 * LP2P_MULTIADDR_MAX + 1);
  if (len > 4 * LP2P_MULTIADDR_MAX) {
    return lp2p_errdetail_set(err, LP2P_ERR_TOO_LARGE,
                              "multiaddr text is too long");
  }
  /* like go-multiaddr, a trailing '/' is ignored */
  if (len > 1 && text[len - 1] == '/') {
    len--;
  }
  if (len < 2 || text[0] != '/') {
    return lp2p_errdetail_set(err, LP2P_ERR_MALFORMED,
                              "multiaddr must start with '/' and name a "
                              "protocol");
  }
  size_t start = out->len, pos = 0;
  while (pos < len) {
    /* each step starts at the '/' before a protocol name */
    int rv = parse_component(text, len, &pos, out, err);
    if (rv == 0 && out->len - start > LP2P_MULTIADDR_MAX) {
      rv = lp2p_errdetail_set(err, LP2P_ERR_TOO_LARGE,
                              "multiaddr is longer than %d bytes",
                              LP2P_MULTIADDR_MAX);
    }
    if (rv != 0) {
      lp2p_buf_truncate(out, start);
      return rv;
    }
  }
  return 0;
}

int lp2p_multiaddr_format(const uint8_t *ma, size_t len, lp2p_buf *out,
                          lp2p_errdetail *err) {
  int rv = lp2p_multiaddr_validate(ma, len, err);
  size_t start = out->len, off = 0;
  lp2p_ma_component c;
  while (rv == 0 && lp2p_multiaddr_next(ma, len, &off, &c, err) == 1) {
    char value[VALUE_TEXT_MAX + 1];
    rv = lp2p_buf_append_str(out, "/");
    if (rv == 0) {
      rv = lp2p_buf_append_str(out, c.name);
    }
    const proto *p = proto_by_code(c.code);
    if (rv == 0 && p->format) {
      /* validated values always fit: 255-byte names, short peer ids */
      p->format(c.value, c.value_len, value, sizeof(value));
      rv = lp2p_buf_append_str(out, "/");
      if (rv == 0) {
        rv = lp2p_buf_append_str(out, value);
      }
    }
  }
  if (rv != 0) {
    lp2p_buf_truncate(out, start);
  }
  return rv;
}
