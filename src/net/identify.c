/* identify and identify/push (identify/README.md): the Identify message,
 * decoded into views with bounded lists, merged over the several
 * varint-delimited messages go-libp2p may send on one stream, and checked
 * against the connection's authenticated peer. */
#include <string.h>

#include "lp2p/noise.h"
#include "pb/wire.h"

enum {
  F_PUBLIC_KEY = 1,
  F_LISTEN_ADDRS = 2,
  F_PROTOCOLS = 3,
  F_OBSERVED_ADDR = 4,
  F_PROTOCOL_VERSION = 5,
  F_AGENT_VERSION = 6,
  F_SIGNED_PEER_RECORD = 8,
};

/* Which fields a written message carries: go-libp2p moves a large signed
 * peer record into a message of its own. */
enum { PART_BASE = 1, PART_RECORD = 2, PART_ALL = 3 };

static bool protocol_ok(lp2p_bytes p) {
  return p.len > 0 && p.len <= LP2P_IDENTIFY_PROTOCOL_MAX;
}

static bool multiaddr_ok(lp2p_bytes a) {
  return lp2p_multiaddr_validate(a.data, a.len, NULL) == 0;
}

static int check(const lp2p_identify *id) {
  if (id->naddrs > LP2P_IDENTIFY_MAX_ADDRS ||
      id->nprotocols > LP2P_IDENTIFY_MAX_PROTOCOLS ||
      (id->observed_addr.data && !multiaddr_ok(id->observed_addr))) {
    return LP2P_ERR_INVALID_ARG;
  }
  for (size_t i = 0; i < id->naddrs; i++) {
    if (!multiaddr_ok(id->listen_addrs[i])) {
      return LP2P_ERR_INVALID_ARG;
    }
  }
  for (size_t i = 0; i < id->nprotocols; i++) {
    if (!protocol_ok(id->protocols[i])) {
      return LP2P_ERR_INVALID_ARG;
    }
  }
  return 0;
}

static int put_opt(lp2p_buf *out, uint32_t num, lp2p_bytes b) {
  return b.data ? lp2p_pb_put_bytes(out, num, b.data, b.len) : 0;
}

/* Fields in number order, as protobuf encoders write them. */
static int encode_base(const lp2p_identify *id, lp2p_buf *out) {
  int rv = put_opt(out, F_PUBLIC_KEY, id->public_key);
  for (size_t i = 0; rv == 0 && i < id->naddrs; i++) {
    rv = put_opt(out, F_LISTEN_ADDRS, id->listen_addrs[i]);
  }
  for (size_t i = 0; rv == 0 && i < id->nprotocols; i++) {
    rv = put_opt(out, F_PROTOCOLS, id->protocols[i]);
  }
  if (rv == 0) {
    rv = put_opt(out, F_OBSERVED_ADDR, id->observed_addr);
  }
  if (rv == 0) {
    rv = put_opt(out, F_PROTOCOL_VERSION, id->protocol_version);
  }
  if (rv == 0) {
    rv = put_opt(out, F_AGENT_VERSION, id->agent_version);
  }
  return rv;
}

static int encode_parts(const lp2p_identify *id, int parts, lp2p_buf *out) {
  size_t start = out->len;
  int rv = (parts & PART_BASE) ? encode_base(id, out) : 0;
  if (rv == 0 && (parts & PART_RECORD)) {
    rv = put_opt(out, F_SIGNED_PEER_RECORD, id->signed_peer_record);
  }
  if (rv != 0) {
    lp2p_buf_truncate(out, start);
  }
  return rv;
}

int lp2p_identify_encode(const lp2p_identify *id, lp2p_buf *out) {
  int rv = check(id);
  return rv == 0 ? encode_parts(id, PART_ALL, out) : rv;
}

static int put_delimited(lp2p_buf *out, const lp2p_buf *body) {
  uint8_t prefix[LP2P_UVARINT_MAX_LEN];
  if (body->len > LP2P_IDENTIFY_SEND_MAX) {
    return LP2P_ERR_TOO_LARGE;
  }
  int n = lp2p_uvarint_encode(body->len, prefix, sizeof(prefix));
  int rv = lp2p_buf_append(out, prefix, (size_t)n);
  if (rv == 0 && body->len) {
    rv = lp2p_buf_append(out, body->data, body->len);
  }
  return rv;
}

/* Encodes `parts` of `id` and appends them as one delimited message. */
static int write_part(const lp2p_identify *id, int parts, lp2p_buf *body,
                      lp2p_buf *out) {
  lp2p_buf_truncate(body, 0);
  int rv = encode_parts(id, parts, body);
  return rv == 0 ? put_delimited(out, body) : rv;
}

int lp2p_identify_write(const lp2p_identify *id, lp2p_buf *out) {
  lp2p_buf body;
  size_t start = out->len;
  int rv = check(id);
  if (rv != 0) {
    return rv;
  }
  lp2p_buf_init(&body, out->mem);
  rv = encode_parts(id, PART_ALL, &body);
  if (rv == 0 && id->signed_peer_record.data &&
      body.len > LP2P_IDENTIFY_LEGACY_SIZE) {
    rv = write_part(id, PART_BASE, &body, out);
    if (rv == 0) {
      rv = write_part(id, PART_RECORD, &body, out);
    }
  } else if (rv == 0) {
    rv = put_delimited(out, &body);
  }
  lp2p_buf_free(&body);
  if (rv != 0) {
    lp2p_buf_truncate(out, start);
  }
  return rv;
}

/* ---- decoding ----------------------------------------------------------- */

static void add_addr(lp2p_identify *id, lp2p_bytes a) {
  if (id->naddrs == LP2P_IDENTIFY_MAX_ADDRS || !multiaddr_ok(a)) {
    id->addrs_skipped++;
    return;
  }
  id->listen_addrs[id->naddrs++] = a;
}

static void add_protocol(lp2p_identify *id, lp2p_bytes p) {
  if (id->nprotocols == LP2P_IDENTIFY_MAX_PROTOCOLS || !protocol_ok(p)) {
    id->protocols_skipped++;
    return;
  }
  id->protocols[id->nprotocols++] = p;
}

static void merge_field(lp2p_identify *id, uint32_t num, lp2p_bytes b) {
  switch (num) {
  case F_PUBLIC_KEY:
    id->public_key = b;
    break;
  case F_LISTEN_ADDRS:
    add_addr(id, b);
    break;
  case F_PROTOCOLS:
    add_protocol(id, b);
    break;
  case F_OBSERVED_ADDR:
    if (multiaddr_ok(b)) {
      id->observed_addr = b;
    } else {
      id->observed_addr_skipped++;
    }
    break;
  case F_PROTOCOL_VERSION:
    id->protocol_version = b;
    break;
  case F_AGENT_VERSION:
    id->agent_version = b;
    break;
  default: /* F_SIGNED_PEER_RECORD */
    id->signed_peer_record = b;
  }
}

int lp2p_identify_merge(const uint8_t *in, size_t len, lp2p_identify *id) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv;
  if (len > LP2P_IDENTIFY_MAX_SIZE) {
    return LP2P_ERR_TOO_LARGE;
  }
  lp2p_pb_reader_init(&r, in, len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num < F_PUBLIC_KEY || f.num == 7 || f.num > F_SIGNED_PEER_RECORD) {
      continue; /* fields of later versions */
    }
    if (f.wire_type != LP2P_PB_LEN) {
      return LP2P_ERR_WRONG_TYPE;
    }
    merge_field(id, f.num, (lp2p_bytes){f.data, f.len});
  }
  return rv;
}

int lp2p_identify_decode(const uint8_t *in, size_t len, lp2p_identify *id) {
  memset(id, 0, sizeof(*id));
  return lp2p_identify_merge(in, len, id);
}

int lp2p_identify_frame(const uint8_t *in, size_t len, const uint8_t **msg,
                        size_t *msg_len) {
  uint64_t body;
  int n = lp2p_uvarint_decode(in, len, &body);
  if (n == LP2P_ERR_TRUNCATED) {
    return 0;
  }
  if (n < 0) {
    return n;
  }
  if (body > LP2P_IDENTIFY_MAX_SIZE) {
    return LP2P_ERR_TOO_LARGE;
  }
  if (len - (size_t)n < body) {
    return 0;
  }
  *msg = in + n;
  *msg_len = (size_t)body;
  return n + (int)body;
}

int lp2p_identify_read(const uint8_t *in, size_t len, lp2p_identify *id) {
  size_t off = 0, count = 0;
  memset(id, 0, sizeof(*id));
  while (off < len) {
    const uint8_t *msg;
    size_t msg_len;
    int n = lp2p_identify_frame(in + off, len - off, &msg, &msg_len);
    if (n <= 0) {
      return n == 0 ? LP2P_ERR_TRUNCATED : n;
    }
    if (++count > LP2P_IDENTIFY_MAX_MESSAGES) {
      return LP2P_ERR_TOO_LARGE;
    }
    int rv = lp2p_identify_merge(msg, msg_len, id);
    if (rv != 0) {
      return rv;
    }
    off += (size_t)n;
  }
  return 0;
}

/* ---- validation --------------------------------------------------------- */

static void check_record(const lp2p_identify *id, const lp2p_peer_id *peer,
                         lp2p_identify_verified *out) {
  int rv = lp2p_peer_record_open(id->signed_peer_record.data,
                                 id->signed_peer_record.len, &out->record,
                                 &out->envelope);
  if (rv == 0 && !lp2p_peer_id_equal(&out->record.peer_id, peer)) {
    rv = LP2P_ERR_PEER_ID_MISMATCH;
  }
  out->record_error = rv;
  out->has_record = rv == 0;
  if (rv != 0) {
    memset(&out->record, 0, sizeof(out->record));
    memset(&out->envelope, 0, sizeof(out->envelope));
  }
}

int lp2p_identify_verify(const lp2p_identify *id, const lp2p_peer_id *peer,
                         lp2p_identify_verified *out) {
  memset(out, 0, sizeof(*out));
  if (id->public_key.data) {
    int rv = lp2p_pubkey_unmarshal(id->public_key.data, id->public_key.len,
                                   &out->pubkey);
    if (rv == 0) {
      rv = lp2p_peer_id_check_pubkey(peer, &out->pubkey);
    }
    if (rv != 0) {
      memset(&out->pubkey, 0, sizeof(out->pubkey));
      return rv;
    }
    out->has_pubkey = true;
  }
  if (id->signed_peer_record.data) {
    check_record(id, peer, out);
  }
  return 0;
}
