/* Key dispatch, the PublicKey / PrivateKey protobufs and peer ids from
 * keys. */
#include <sodium.h>
#include <string.h>

#include "crypto/keys.h"
#include "pb/wire.h"

/* The identity multihash carries marshalled keys up to this size. */
#define IDENTITY_MAX_KEY 42

int lp2p_privkey_from_seed(lp2p_key_type type, const uint8_t seed[32],
                           lp2p_privkey *key) {
  switch (type) {
  case LP2P_KEY_ED25519:
    return lp2p_ed25519_from_seed(seed, key);
  case LP2P_KEY_SECP256K1:
    return lp2p_secp256k1_from_seed(seed, key);
  default:
    return LP2P_ERR_UNSUPPORTED;
  }
}

int lp2p_privkey_generate(lp2p_key_type type, lp2p_rand_fn rand_fn,
                          void *rand_user, lp2p_privkey *key) {
  uint8_t seed[32];
  int rv;
  /* a random 256-bit scalar is out of the secp256k1 group with chance
   * ~2^-128; retry rather than fail */
  do {
    rand_fn(seed, sizeof(seed), rand_user);
    rv = lp2p_privkey_from_seed(type, seed, key);
  } while (rv == LP2P_ERR_BAD_KEY);
  sodium_memzero(seed, sizeof(seed));
  return rv;
}

void lp2p_privkey_wipe(lp2p_privkey *key) {
  sodium_memzero(key, sizeof(*key));
}

int lp2p_privkey_public(const lp2p_privkey *key, lp2p_pubkey *pub) {
  switch (key->type) {
  case LP2P_KEY_ED25519:
    lp2p_ed25519_public(key, pub);
    return 0;
  case LP2P_KEY_SECP256K1:
    return lp2p_secp256k1_public(key, pub);
  default:
    return LP2P_ERR_UNSUPPORTED;
  }
}

int lp2p_privkey_sign(const lp2p_privkey *key, const uint8_t *msg, size_t len,
                      uint8_t *sig, size_t *sig_len) {
  switch (key->type) {
  case LP2P_KEY_ED25519:
    return lp2p_ed25519_sign(key, msg, len, sig, sig_len);
  case LP2P_KEY_SECP256K1:
    return lp2p_secp256k1_sign(key, msg, len, sig, sig_len);
  default:
    return LP2P_ERR_UNSUPPORTED;
  }
}

static size_t privkey_len(const lp2p_privkey *key) {
  return key->type == LP2P_KEY_ED25519 ? 64 : 32;
}

int lp2p_privkey_marshal(const lp2p_privkey *key, lp2p_buf *out) {
  size_t start = out->len;
  int rv = lp2p_pb_put_varint(out, 1, (uint64_t)key->type);
  if (rv == 0) {
    rv = lp2p_pb_put_bytes(out, 2, key->data, privkey_len(key));
  }
  if (rv != 0) {
    lp2p_buf_truncate(out, start);
  }
  return rv;
}

/* Reads {Type = 1, Data = 2}, both required, as PublicKey and PrivateKey
 * share it. Unknown fields are skipped and the last of a repeated field
 * wins, as protobuf decoders do. */
static int unmarshal_typed(const uint8_t *in, size_t len, lp2p_key_type *type,
                           const uint8_t **data, size_t *data_len) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv, have = 0;
  uint64_t t = 0;
  lp2p_pb_reader_init(&r, in, len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == 1 || f.num == 2) {
      uint8_t want = f.num == 1 ? LP2P_PB_VARINT : LP2P_PB_LEN;
      if (f.wire_type != want) {
        return LP2P_ERR_WRONG_TYPE;
      }
      have |= (int)f.num;
      if (f.num == 1) {
        t = f.value;
      } else {
        *data = f.data;
        *data_len = f.len;
      }
    }
  }
  if (rv < 0) {
    return rv;
  }
  if (have != 3) {
    return LP2P_ERR_MALFORMED;
  }
  if (t > LP2P_KEY_ECDSA) {
    return LP2P_ERR_UNSUPPORTED;
  }
  *type = (lp2p_key_type)t;
  return 0;
}

int lp2p_privkey_unmarshal(const uint8_t *in, size_t len, lp2p_privkey *key) {
  lp2p_key_type type;
  const uint8_t *data = NULL;
  size_t dlen = 0;
  int rv = unmarshal_typed(in, len, &type, &data, &dlen);
  if (rv != 0) {
    return rv;
  }
  switch (type) {
  case LP2P_KEY_ED25519:
    return lp2p_ed25519_check_private(data, dlen, key);
  case LP2P_KEY_SECP256K1:
    return dlen == 32 ? lp2p_secp256k1_from_seed(data, key) : LP2P_ERR_BAD_KEY;
  default:
    return LP2P_ERR_UNSUPPORTED;
  }
}

int lp2p_pubkey_from_raw(lp2p_key_type type, const uint8_t *data, size_t len,
                         lp2p_pubkey *pub) {
  if (len > LP2P_PUBKEY_DATA_MAX) {
    return LP2P_ERR_TOO_LARGE;
  }
  switch (type) {
  case LP2P_KEY_ED25519:
    if (len != crypto_sign_PUBLICKEYBYTES) {
      return LP2P_ERR_BAD_KEY;
    }
    break;
  case LP2P_KEY_SECP256K1:
    return lp2p_secp256k1_canonical(data, len, pub);
  case LP2P_KEY_RSA:
  case LP2P_KEY_ECDSA:
    if (lp2p_pkix_check(type, data, len) != 0) {
      return LP2P_ERR_BAD_KEY;
    }
    break;
  default:
    return LP2P_ERR_UNSUPPORTED;
  }
  pub->type = type;
  pub->len = len;
  memcpy(pub->data, data, len);
  return 0;
}

int lp2p_pubkey_verify(const lp2p_pubkey *pub, const uint8_t *msg, size_t len,
                       const uint8_t *sig, size_t sig_len) {
  switch (pub->type) {
  case LP2P_KEY_ED25519:
    return lp2p_ed25519_verify(pub, msg, len, sig, sig_len);
  case LP2P_KEY_SECP256K1:
    return lp2p_secp256k1_verify(pub, msg, len, sig, sig_len);
  case LP2P_KEY_RSA:
  case LP2P_KEY_ECDSA:
    return lp2p_pkix_verify(pub, msg, len, sig, sig_len);
  default:
    return LP2P_ERR_BAD_SIGNATURE;
  }
}

int lp2p_pubkey_marshal(const lp2p_pubkey *pub, uint8_t *out, size_t cap) {
  size_t need = 2 + lp2p_pb_len_field_size(2, pub->len);
  if (need > cap) {
    return LP2P_ERR_BUFFER_TOO_SMALL;
  }
  uint8_t *p = out;
  *p++ = 1 << 3 | LP2P_PB_VARINT;
  *p++ = (uint8_t)pub->type;
  *p++ = 2 << 3 | LP2P_PB_LEN;
  p = lp2p_pb_write_varint(p, pub->len);
  memcpy(p, pub->data, pub->len);
  return (int)need;
}

int lp2p_pubkey_unmarshal(const uint8_t *in, size_t len, lp2p_pubkey *pub) {
  lp2p_key_type type;
  const uint8_t *data = NULL;
  size_t dlen = 0;
  int rv = unmarshal_typed(in, len, &type, &data, &dlen);
  return rv != 0 ? rv : lp2p_pubkey_from_raw(type, data, dlen, pub);
}

bool lp2p_pubkey_equal(const lp2p_pubkey *a, const lp2p_pubkey *b) {
  return a->type == b->type && a->len == b->len &&
         memcmp(a->data, b->data, a->len) == 0;
}

int lp2p_peer_id_from_pubkey(const lp2p_pubkey *pub, lp2p_peer_id *id) {
  uint8_t pb[LP2P_PUBKEY_PB_MAX];
  int n = lp2p_pubkey_marshal(pub, pb, sizeof(pb));
  if (n < 0) {
    return n;
  }
  uint64_t code = n <= IDENTITY_MAX_KEY ? LP2P_MH_IDENTITY : LP2P_MH_SHA2_256;
  n = lp2p_multihash_encode(code, pb, (size_t)n, id->bytes, sizeof(id->bytes));
  if (n < 0) {
    return n;
  }
  id->len = (uint8_t)n;
  return 0;
}

int lp2p_peer_id_pubkey(const lp2p_peer_id *id, lp2p_pubkey *pub) {
  lp2p_multihash mh;
  int n = lp2p_multihash_decode(id->bytes, id->len, &mh);
  if (n < 0) {
    return n;
  }
  if (mh.code != LP2P_MH_IDENTITY) {
    return LP2P_ERR_NOT_FOUND;
  }
  int rv = lp2p_pubkey_unmarshal(mh.digest, mh.digest_len, pub);
  /* only the canonical encoding of a key is its id: otherwise one key
   * would answer to many ids (reordered or extra fields, long varints) */
  if (rv == 0 && lp2p_peer_id_check_pubkey(id, pub) != 0) {
    rv = LP2P_ERR_MALFORMED;
  }
  return rv;
}

int lp2p_peer_id_check_pubkey(const lp2p_peer_id *id, const lp2p_pubkey *pub) {
  lp2p_peer_id derived;
  if (lp2p_peer_id_from_pubkey(pub, &derived) != 0 ||
      !lp2p_peer_id_equal(&derived, id)) {
    return LP2P_ERR_PEER_ID_MISMATCH;
  }
  return 0;
}
