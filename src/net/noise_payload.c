/* The libp2p Noise handshake payload: encoding with the identity
 * signature, decoding into views, and checking the signature. */
#include "net/noise_payload.h"

#include <string.h>

#include "pb/wire.h"

#define PREFIX_LEN (sizeof(LP2P_NOISE_SIG_PREFIX) - 1)

/* "noise-libp2p-static-key:" ‖ static key: what identity_sig signs. */
static void signed_bytes(const uint8_t static_pub[32],
                         uint8_t out[PREFIX_LEN + 32]) {
  memcpy(out, LP2P_NOISE_SIG_PREFIX, PREFIX_LEN);
  memcpy(out + PREFIX_LEN, static_pub, 32);
}

static int put_extensions(lp2p_buf *out, const char *const *muxers,
                          size_t nmuxers) {
  size_t body = 0;
  int rv;
  for (size_t i = 0; i < nmuxers; i++) {
    body += lp2p_pb_len_field_size(2, strlen(muxers[i]));
  }
  rv = lp2p_pb_put_len_header(out, 4, body);
  for (size_t i = 0; rv == 0 && i < nmuxers; i++) {
    rv = lp2p_pb_put_bytes(out, 2, muxers[i], strlen(muxers[i]));
  }
  return rv;
}

int lp2p_noise_payload_encode(const lp2p_privkey *identity,
                              const uint8_t static_pub[32],
                              const char *const *muxers, size_t nmuxers,
                              lp2p_buf *out) {
  uint8_t msg[PREFIX_LEN + 32], sig[LP2P_SIG_MAX], pk[LP2P_PUBKEY_PB_MAX];
  size_t sig_len, start = out->len;
  lp2p_pubkey pub;
  int rv = lp2p_privkey_public(identity, &pub);
  if (rv != 0) {
    return rv;
  }
  int pk_len = lp2p_pubkey_marshal(&pub, pk, sizeof(pk));
  if (pk_len < 0) {
    return pk_len;
  }
  signed_bytes(static_pub, msg);
  rv = lp2p_privkey_sign(identity, msg, sizeof(msg), sig, &sig_len);
  if (rv == 0) {
    rv = lp2p_pb_put_bytes(out, 1, pk, (size_t)pk_len);
  }
  if (rv == 0) {
    rv = lp2p_pb_put_bytes(out, 2, sig, sig_len);
  }
  if (rv == 0 && nmuxers > 0) {
    rv = put_extensions(out, muxers, nmuxers);
  }
  if (rv != 0) {
    lp2p_buf_truncate(out, start);
  }
  return rv;
}

/* Keeps a muxer name that could be one of ours: 1 to
 * LP2P_NOISE_MUXER_NAME_MAX bytes, no NUL, room left. */
static void add_muxer(lp2p_noise_payload *p, const uint8_t *name, size_t len) {
  if (len == 0 || len > LP2P_NOISE_MUXER_NAME_MAX ||
      memchr(name, 0, len) != NULL || p->nmuxers == LP2P_NOISE_MAX_MUXERS) {
    p->muxers_skipped++;
    return;
  }
  p->muxers[p->nmuxers].data = name;
  p->muxers[p->nmuxers].len = len;
  p->nmuxers++;
}

static int decode_extensions(const uint8_t *in, size_t len,
                             lp2p_noise_payload *p) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv;
  p->has_extensions = true;
  lp2p_pb_reader_init(&r, in, len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num != 1 && f.num != 2) {
      continue; /* code points of extensions we do not know */
    }
    if (f.wire_type != LP2P_PB_LEN) {
      return LP2P_ERR_WRONG_TYPE;
    }
    if (f.num == 1) {
      p->ncerthashes++;
    } else {
      add_muxer(p, f.data, f.len);
    }
  }
  return rv;
}

int lp2p_noise_payload_decode(const uint8_t *in, size_t len,
                              lp2p_noise_payload *p) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv;
  memset(p, 0, sizeof(*p));
  lp2p_pb_reader_init(&r, in, len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num != 1 && f.num != 2 && f.num != 4) {
      continue;
    }
    if (f.wire_type != LP2P_PB_LEN) {
      return LP2P_ERR_WRONG_TYPE;
    }
    if (f.num == 1) {
      p->identity_key = (lp2p_bytes){f.data, f.len};
    } else if (f.num == 2) {
      p->identity_sig = (lp2p_bytes){f.data, f.len};
    } else if ((rv = decode_extensions(f.data, f.len, p)) != 0) {
      return rv;
    }
  }
  if (rv < 0) {
    return rv;
  }
  if (!p->identity_key.data || !p->identity_sig.data) {
    return LP2P_ERR_MALFORMED;
  }
  return 0;
}

int lp2p_noise_payload_verify(const lp2p_noise_payload *p,
                              const uint8_t static_pub[32], lp2p_pubkey *pub) {
  uint8_t msg[PREFIX_LEN + 32];
  int rv =
      lp2p_pubkey_unmarshal(p->identity_key.data, p->identity_key.len, pub);
  if (rv != 0) {
    return rv;
  }
  signed_bytes(static_pub, msg);
  return lp2p_pubkey_verify(pub, msg, sizeof(msg), p->identity_sig.data,
                            p->identity_sig.len);
}
