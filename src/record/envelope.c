/* Signed envelopes (RFC 0002): Envelope{public_key = 1, payload_type = 2,
 * payload = 3, signature = 5}; the signature covers the varint-length-
 * prefixed domain, payload type and payload. */
#include <string.h>

#include "base/mem.h"
#include "lp2p/record.h"
#include "pb/wire.h"

const uint8_t lp2p_peer_record_payload_type[2] = {0x03, 0x01};

/* The signed bytes: varint-length-prefixed domain, payload type and
 * payload. Writes them at `out` when it is not NULL; returns their size. */
static size_t unsigned_bytes(const char *domain, const uint8_t *type,
                             size_t type_len, const uint8_t *payload,
                             size_t payload_len, uint8_t *out) {
  const void *parts[3] = {domain, type, payload};
  size_t lens[3] = {strlen(domain), type_len, payload_len}, total = 0;
  for (int i = 0; i < 3; i++) {
    if (out) {
      uint8_t *p = lp2p_pb_write_varint(out + total, lens[i]);
      if (lens[i]) {
        memcpy(p, parts[i], lens[i]);
      }
    }
    total += lp2p_pb_varint_size(lens[i]) + lens[i];
  }
  return total;
}

int lp2p_envelope_seal(const lp2p_privkey *key, const char *domain,
                       const uint8_t *payload_type, size_t payload_type_len,
                       const uint8_t *payload, size_t payload_len,
                       lp2p_buf *out) {
  lp2p_pubkey pub;
  uint8_t sig[LP2P_SIG_MAX], pk[LP2P_PUBKEY_PB_MAX];
  size_t sig_len, start = out->len;
  if (!domain[0] || payload_type_len == 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  int rv = lp2p_privkey_public(key, &pub);
  if (rv != 0) {
    return rv;
  }
  size_t msg_len = unsigned_bytes(domain, payload_type, payload_type_len,
                                  payload, payload_len, NULL);
  uint8_t *msg = lp2p_malloc(out->mem, msg_len);
  if (!msg) {
    return LP2P_ERR_NOMEM;
  }
  unsigned_bytes(domain, payload_type, payload_type_len, payload, payload_len,
                 msg);
  rv = lp2p_privkey_sign(key, msg, msg_len, sig, &sig_len);
  lp2p_free(out->mem, msg);
  int pk_len = lp2p_pubkey_marshal(&pub, pk, sizeof(pk));
  if (rv == 0) {
    rv = lp2p_pb_put_bytes(out, 1, pk, (size_t)pk_len);
  }
  if (rv == 0) {
    rv = lp2p_pb_put_bytes(out, 2, payload_type, payload_type_len);
  }
  if (rv == 0) {
    rv = lp2p_pb_put_bytes(out, 3, payload, payload_len);
  }
  if (rv == 0) {
    rv = lp2p_pb_put_bytes(out, 5, sig, sig_len);
  }
  if (rv != 0) {
    lp2p_buf_truncate(out, start);
  }
  return rv;
}

int lp2p_envelope_decode(const uint8_t *in, size_t len, lp2p_envelope *env) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv, have_key = 0;
  if (len > LP2P_ENVELOPE_MAX) {
    return LP2P_ERR_TOO_LARGE;
  }
  memset(env, 0, sizeof(*env));
  lp2p_pb_reader_init(&r, in, len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num != 1 && f.num != 2 && f.num != 3 && f.num != 5) {
      continue; /* unknown fields are skipped, as protobuf does */
    }
    if (f.wire_type != LP2P_PB_LEN) {
      return LP2P_ERR_WRONG_TYPE;
    }
    switch (f.num) {
    case 1:
      rv = lp2p_pubkey_unmarshal(f.data, f.len, &env->pubkey);
      if (rv != 0) {
        return rv;
      }
      have_key = 1;
      break;
    case 2:
      env->payload_type = f.data;
      env->payload_type_len = f.len;
      break;
    case 3:
      env->payload = f.data;
      env->payload_len = f.len;
      break;
    default:
      env->signature = f.data;
      env->signature_len = f.len;
    }
  }
  if (rv < 0) {
    return rv;
  }
  if (!have_key || env->payload_type_len == 0 || env->signature_len == 0) {
    return LP2P_ERR_MALFORMED;
  }
  return 0;
}

int lp2p_envelope_verify(const lp2p_envelope *env, const char *domain) {
  /* a decoded envelope fits, so verifying needs no allocation */
  uint8_t msg[LP2P_ENVELOPE_MAX + LP2P_ENVELOPE_DOMAIN_MAX + 32];
  size_t len = unsigned_bytes(domain, env->payload_type, env->payload_type_len,
                              env->payload, env->payload_len, NULL);
  if (strlen(domain) > LP2P_ENVELOPE_DOMAIN_MAX || len > sizeof(msg)) {
    return LP2P_ERR_TOO_LARGE;
  }
  unsigned_bytes(domain, env->payload_type, env->payload_type_len, env->payload,
                 env->payload_len, msg);
  return lp2p_pubkey_verify(&env->pubkey, msg, len, env->signature,
                            env->signature_len);
}

int lp2p_envelope_open(const uint8_t *in, size_t len, const char *domain,
                       const uint8_t *payload_type, size_t payload_type_len,
                       lp2p_envelope *env) {
  int rv = lp2p_envelope_decode(in, len, env);
  if (rv == 0) {
    rv = lp2p_envelope_verify(env, domain);
  }
  if (rv == 0 &&
      (env->payload_type_len != payload_type_len ||
       memcmp(env->payload_type, payload_type, payload_type_len) != 0)) {
    rv = LP2P_ERR_WRONG_TYPE;
  }
  return rv;
}
