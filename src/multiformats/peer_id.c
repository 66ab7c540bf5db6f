/* Peer ids in their byte form (a multihash) and their two text forms. */
#include <string.h>

#include "lp2p/multiformats.h"

/* multicodec of public keys in a CID */
#define CODEC_LIBP2P_KEY 0x72
/* the identity multihash carries keys of at most this many bytes */
#define IDENTITY_MAX_KEY 42

int lp2p_peer_id_from_bytes(const uint8_t *in, size_t len, lp2p_peer_id *id) {
  lp2p_multihash mh;
  int n = lp2p_multihash_decode(in, len, &mh);
  if (n < 0) {
    return n;
  }
  if ((size_t)n != len) {
    return LP2P_ERR_TRAILING;
  }
  if (mh.code == LP2P_MH_IDENTITY) {
    if (mh.digest_len > IDENTITY_MAX_KEY) {
      return LP2P_ERR_TOO_LARGE;
    }
  } else if (mh.code != LP2P_MH_SHA2_256) {
    return LP2P_ERR_UNSUPPORTED;
  }
  memcpy(id->bytes, in, len);
  id->len = (uint8_t)len;
  return 0;
}

static int parse_cid(const char *text, size_t len, lp2p_peer_id *id) {
  /* a CID is longer than the id it carries by a few bytes only */
  uint8_t cid[LP2P_PEER_ID_MAX + 8];
  int n = lp2p_multibase_decode(text, len, cid, sizeof(cid));
  if (n < 0) {
    return n == LP2P_ERR_BUFFER_TOO_SMALL ? LP2P_ERR_TOO_LARGE : n;
  }
  uint64_t version, codec;
  int a = lp2p_uvarint_decode(cid, (size_t)n, &version);
  if (a < 0) {
    return a;
  }
  if (version != 1) {
    return LP2P_ERR_UNSUPPORTED;
  }
  int b = lp2p_uvarint_decode(cid + a, (size_t)(n - a), &codec);
  if (b < 0) {
    return b;
  }
  if (codec != CODEC_LIBP2P_KEY) {
    return LP2P_ERR_WRONG_TYPE;
  }
  return lp2p_peer_id_from_bytes(cid + a + b, (size_t)(n - a - b), id);
}

int lp2p_peer_id_parse(const char *text, size_t len, lp2p_peer_id *id) {
  if (len == 0) {
    return LP2P_ERR_MALFORMED;
  }
  if (text[0] == '1' || (len >= 2 && text[0] == 'Q' && text[1] == 'm')) {
    uint8_t raw[LP2P_PEER_ID_MAX];
    int n = lp2p_base58_decode(text, len, raw, sizeof(raw));
    if (n < 0) {
      return n == LP2P_ERR_BUFFER_TOO_SMALL ? LP2P_ERR_TOO_LARGE : n;
    }
    return lp2p_peer_id_from_bytes(raw, (size_t)n, id);
  }
  return parse_cid(text, len, id);
}

int lp2p_peer_id_to_base58(const lp2p_peer_id *id, char *out, size_t cap) {
  return lp2p_base58_encode(id->bytes, id->len, out, cap);
}

int lp2p_peer_id_to_cid(const lp2p_peer_id *id, char *out, size_t cap) {
  uint8_t cid[2 + LP2P_PEER_ID_MAX];
  cid[0] = 1;
  cid[1] = CODEC_LIBP2P_KEY;
  memcpy(cid + 2, id->bytes, id->len);
  return lp2p_multibase_encode(LP2P_MULTIBASE_BASE32, cid, 2u + id->len, out,
                               cap);
}

bool lp2p_peer_id_equal(const lp2p_peer_id *a, const lp2p_peer_id *b) {
  return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}
