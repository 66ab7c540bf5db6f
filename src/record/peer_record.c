/* Peer records (RFC 0003): PeerRecord{peer_id = 1, seq = 2,
 * addresses = 3 {multiaddr = 1}}, sealed in envelopes of domain
 * "libp2p-peer-record" and payload type 0x0301 (rust-libp2p's own domain
 * and payload type are accepted too, see below). */
#include <string.h>

#include "lp2p/record.h"
#include "pb/wire.h"

int lp2p_peer_record_encode(const lp2p_peer_record *rec, lp2p_buf *out) {
  size_t start = out->len;
  if (rec->naddrs > LP2P_PEER_RECORD_MAX_ADDRS) {
    return LP2P_ERR_INVALID_ARG;
  }
  for (size_t i = 0; i < rec->naddrs; i++) {
    if (lp2p_multiaddr_validate(rec->addrs[i].bytes, rec->addrs[i].len, NULL) !=
        0) {
      return LP2P_ERR_INVALID_ARG;
    }
  }
  int rv = lp2p_pb_put_bytes(out, 1, rec->peer_id.bytes, rec->peer_id.len);
  if (rv == 0) {
    rv = lp2p_pb_put_varint(out, 2, rec->seq);
  }
  for (size_t i = 0; rv == 0 && i < rec->naddrs; i++) {
    const lp2p_peer_record_addr *a = &rec->addrs[i];
    rv = lp2p_pb_put_len_header(out, 3, lp2p_pb_len_field_size(1, a->len));
    if (rv == 0) {
      rv = lp2p_pb_put_bytes(out, 1, a->bytes, a->len);
    }
  }
  if (rv != 0) {
    lp2p_buf_truncate(out, start);
  }
  return rv;
}

/* Reads AddressInfo{multiaddr = 1}; keeps the address when lp2p can read
 * it and there is room. */
static int decode_addr(const uint8_t *in, size_t len, lp2p_peer_record *rec) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  const uint8_t *ma = NULL;
  size_t ma_len = 0;
  int rv;
  lp2p_pb_reader_init(&r, in, len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == 1) {
      if (f.wire_type != LP2P_PB_LEN) {
        return LP2P_ERR_WRONG_TYPE;
      }
      ma = f.data;
      ma_len = f.len;
    }
  }
  if (rv < 0) {
    return rv;
  }
  if (rec->naddrs == LP2P_PEER_RECORD_MAX_ADDRS ||
      lp2p_multiaddr_validate(ma, ma_len, NULL) != 0) {
    rec->addrs_skipped++;
    return 0;
  }
  rec->addrs[rec->naddrs].bytes = ma;
  rec->addrs[rec->naddrs].len = ma_len;
  rec->naddrs++;
  return 0;
}

int lp2p_peer_record_decode(const uint8_t *in, size_t len,
                            lp2p_peer_record *rec) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  const uint8_t *id = NULL;
  size_t id_len = 0;
  int rv;
  memset(rec, 0, sizeof(*rec));
  lp2p_pb_reader_init(&r, in, len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num < 1 || f.num > 3) {
      continue;
    }
    if (f.wire_type != (f.num == 2 ? LP2P_PB_VARINT : LP2P_PB_LEN)) {
      return LP2P_ERR_WRONG_TYPE;
    }
    if (f.num == 1) {
      id = f.data;
      id_len = f.len;
    } else if (f.num == 2) {
      rec->seq = f.value;
    } else if ((rv = decode_addr(f.data, f.len, rec)) != 0) {
      return rv;
    }
  }
  if (rv < 0) {
    return rv;
  }
  if (id_len == 0) {
    return LP2P_ERR_MALFORMED;
  }
  return lp2p_peer_id_from_bytes(id, id_len, &rec->peer_id);
}

int lp2p_peer_record_seal(const lp2p_privkey *key, const lp2p_peer_record *rec,
                          lp2p_buf *out) {
  lp2p_pubkey pub;
  int rv = lp2p_privkey_public(key, &pub);
  if (rv == 0) {
    rv = lp2p_peer_id_check_pubkey(&rec->peer_id, &pub);
  }
  if (rv != 0) {
    return rv;
  }
  lp2p_buf payload;
  lp2p_buf_init(&payload, out->mem);
  rv = lp2p_peer_record_encode(rec, &payload);
  if (rv == 0) {
    rv = lp2p_envelope_seal(
        key, LP2P_PEER_RECORD_DOMAIN, lp2p_peer_record_payload_type,
        sizeof(lp2p_peer_record_payload_type), payload.data, payload.len, out);
  }
  lp2p_buf_free(&payload);
  return rv;
}

/* rust-libp2p (up to 0.57 at least) seals the records of its identify in
 * a domain and payload type of its own, not RFC 0003's (rust-libp2p issue
 * 6204; its `*_interop` constructors use the standard ones). Accepted on
 * input so rust's addresses verify; never sealed. go-libp2p refuses them. */
#define RUST_LEGACY_DOMAIN "libp2p-routing-state"
static const char rust_legacy_payload_type[] = "/libp2p/routing-state-record";

/* The domain an envelope of `env`'s payload type is signed in, or NULL
 * when the payload is no peer record. */
static const char *record_domain(const lp2p_envelope *env) {
  size_t rust_len = sizeof(rust_legacy_payload_type) - 1;
  if (env->payload_type_len == sizeof(lp2p_peer_record_payload_type) &&
      memcmp(env->payload_type, lp2p_peer_record_payload_type,
             sizeof(lp2p_peer_record_payload_type)) == 0) {
    return LP2P_PEER_RECORD_DOMAIN;
  }
  if (env->payload_type_len == rust_len &&
      memcmp(env->payload_type, rust_legacy_payload_type, rust_len) == 0) {
    return RUST_LEGACY_DOMAIN;
  }
  return NULL;
}

int lp2p_peer_record_open(const uint8_t *in, size_t len, lp2p_peer_record *rec,
                          lp2p_envelope *env) {
  int rv = lp2p_envelope_decode(in, len, env);
  const char *domain = rv == 0 ? record_domain(env) : NULL;
  if (rv == 0) {
    rv = domain ? lp2p_envelope_verify(env, domain) : LP2P_ERR_WRONG_TYPE;
  }
  if (rv == 0) {
    rv = lp2p_peer_record_decode(env->payload, env->payload_len, rec);
  }
  if (rv == 0) {
    rv = lp2p_peer_id_check_pubkey(&rec->peer_id, &env->pubkey);
  }
  return rv;
}
