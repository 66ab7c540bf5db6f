/* Keys and peer ids from keys: the peer-ids spec vectors, RFC 8032, every
 * key type, the protobuf forms and their errors. */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <secp256k1.h>

#include "testutil.h"

/* libp2p/specs peer-ids/peer-ids.md "Test vectors" */
#define ED_PRIV                                                                \
  "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1e" \
  "d1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
#define ED_PUB                                                                 \
  "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
#define SECP_PRIV                                                              \
  "0802122053dadf1d5a164d6b4acdb15e24aa4c5b1d3461bdbd42abedb0a4404d56ced8fb"
#define SECP_PUB                                                               \
  "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99"
#define ECDSA_PRIV                                                             \
  "08031279307702010104203e5b1fe9712e6c314942a750bd67485de3c1efe85b1bfb520ae8" \
  "f9ae3dfa4a4ca00a06082a8648ce3d030107a14403420004de3d300fa36ae0e8f5d530899d" \
  "83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c6" \
  "46a597fb4dcec034e9f77c409e62"
#define ECDSA_PUB                                                              \
  "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36a" \
  "e0e8f5d530899d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851" \
  "510c098e5c47c646a597fb4dcec034e9f77c409e62"

#define RSA_PUB                                                                \
  "080012a60430820222300d06092a864886f70d01010105000382020f003082020a028202"   \
  "0100e1beab071d08200bde24eef00d049449b07770ff9910257b2d7d5dda242ce8f0e2f1"   \
  "2e1af4b32d9efd2c090f66b0f29986dbb645dae9880089704a94e5066d594162ae6ee889"   \
  "2e6ec70701db0a6c445c04778eb3de1293aa1a23c3825b85c6620a2bc3f82f9b0c309bc0"   \
  "ab3aeb1873282bebd3da03c33e76c21e9beb172fd44c9e43be32e2c99827033cf8d0f0c6"   \
  "06f4579326c930eb4e854395ad941256542c793902185153c474bed109d6ff5141ebf9cd"   \
  "256cf58893a37f83729f97e7cb435ec679d2e33901d27bb35aa0d7e20561da08885ef0ab"   \
  "bf8e2fb48d6a5487047a9ecb1ad41fa7ed84f6e3e8ecd5d98b3982d2a901b4454991766d"   \
  "a295ab78822add5612a2df83bcee814cf50973e80d7ef38111b1bd87da2ae92438a2c8cb"   \
  "cc70b31ee319939a3b9c761dbc13b5c086d6b64bf7ae7dacc14622375d92a8ff9af7eb96"   \
  "2162bbddebf90acb32adb5e4e4029f1c96019949ecfbfeffd7ac1e3fbcc6b6168c34be3d"   \
  "5a2e5999fcbb39bba7adbca78eab09b9bc39f7fa4b93411f4cc175e70c0a083e96bfaefb"   \
  "04a9580b4753c1738a6a760ae1afd851a1a4bdad231cf56e9284d832483df215a46c1c21"   \
  "bdf0c6cfe951c18f1ee4078c79c13d63edb6e14feaeffabc90ad317e4875fe648101b086"   \
  "4097e998f0ca3025ef9638cd2b0caecd3770ab54a1d9c6ca959b0f5dcbc90caeefc4135b"   \
  "aca6fd475224269bbe1b0203010001"

static size_t pb_of(const char *hex, uint8_t *out) {
  return unhex(hex, out, 2048);
}

static void vectors_public_from_private(void **state) {
  (void)state;
  const char *pairs[2][2] = {{ED_PRIV, ED_PUB}, {SECP_PRIV, SECP_PUB}};
  for (int i = 0; i < 2; i++) {
    uint8_t priv[2048], want[2048], got[LP2P_PUBKEY_PB_MAX];
    size_t np = pb_of(pairs[i][0], priv), nw = pb_of(pairs[i][1], want);
    lp2p_privkey key;
    lp2p_pubkey pub, parsed;
    assert_int_equal(lp2p_privkey_unmarshal(priv, np, &key), 0);
    assert_int_equal(lp2p_privkey_public(&key, &pub), 0);
    assert_int_equal(lp2p_pubkey_marshal(&pub, got, sizeof(got)), nw);
    assert_memory_equal(got, want, nw);
    assert_int_equal(lp2p_pubkey_unmarshal(want, nw, &parsed), 0);
    assert_true(lp2p_pubkey_equal(&pub, &parsed));
    /* the private key marshals back to the vector */
    lp2p_buf b;
    lp2p_buf_init(&b, NULL);
    assert_int_equal(lp2p_privkey_marshal(&key, &b), 0);
    assert_int_equal(b.len, np);
    assert_memory_equal(b.data, priv, np);
    lp2p_buf_free(&b);
  }
}

static void vectors_peer_ids(void **state) {
  (void)state;
  uint8_t pb[2048];
  char text[LP2P_PEER_ID_TEXT_MAX];
  lp2p_pubkey pub, back;
  lp2p_peer_id id;
  /* Ed25519: identity multihash, 12D3KooW... */
  assert_int_equal(lp2p_pubkey_unmarshal(pb, pb_of(ED_PUB, pb), &pub), 0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, &id), 0);
  assert_int_equal(id.bytes[0], LP2P_MH_IDENTITY);
  lp2p_peer_id_to_base58(&id, text, sizeof(text));
  assert_memory_equal(text, "12D3KooW", 8);
  assert_int_equal(lp2p_peer_id_pubkey(&id, &back), 0);
  assert_true(lp2p_pubkey_equal(&pub, &back));
  assert_int_equal(lp2p_peer_id_check_pubkey(&id, &pub), 0);
  /* secp256k1: identity, 16Uiu2... */
  assert_int_equal(lp2p_pubkey_unmarshal(pb, pb_of(SECP_PUB, pb), &pub), 0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, &id), 0);
  lp2p_peer_id_to_base58(&id, text, sizeof(text));
  assert_memory_equal(text, "16Uiu2", 6);
  assert_int_equal(lp2p_peer_id_pubkey(&id, &back), 0);
  assert_true(lp2p_pubkey_equal(&pub, &back));
  /* ECDSA: 95 bytes, so sha2-256, Qm..., and the key is not in the id */
  assert_int_equal(lp2p_pubkey_unmarshal(pb, pb_of(ECDSA_PUB, pb), &pub), 0);
  assert_int_equal(pub.type, LP2P_KEY_ECDSA);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, &id), 0);
  assert_int_equal(id.len, 34);
  lp2p_peer_id_to_base58(&id, text, sizeof(text));
  assert_memory_equal(text, "Qm", 2);
  assert_int_equal(lp2p_peer_id_pubkey(&id, &back), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_peer_id_check_pubkey(&id, &pub), 0);
  /* a key that is not the id's */
  lp2p_pubkey other;
  assert_int_equal(lp2p_pubkey_unmarshal(pb, pb_of(ED_PUB, pb), &other), 0);
  assert_int_equal(lp2p_peer_id_check_pubkey(&id, &other),
                   LP2P_ERR_PEER_ID_MISMATCH);
}

static void ed25519_rfc8032_test1(void **state) {
  (void)state;
  uint8_t seed[32], want_pk[32], want_sig[64], sig[LP2P_SIG_MAX];
  size_t sig_len;
  unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        seed, 32);
  unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        want_pk, 32);
  unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        want_sig, 64);
  lp2p_privkey key;
  lp2p_pubkey pub;
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &key), 0);
  assert_int_equal(lp2p_privkey_public(&key, &pub), 0);
  assert_int_equal(pub.len, 32);
  assert_memory_equal(pub.data, want_pk, 32);
  assert_int_equal(
      lp2p_privkey_sign(&key, (const uint8_t *)"", 0, sig, &sig_len), 0);
  assert_int_equal(sig_len, 64);
  assert_memory_equal(sig, want_sig, 64);
  assert_int_equal(lp2p_pubkey_verify(&pub, (const uint8_t *)"", 0, sig, 64),
                   0);
  sig[10] ^= 1;
  assert_int_equal(lp2p_pubkey_verify(&pub, (const uint8_t *)"", 0, sig, 64),
                   LP2P_ERR_BAD_SIGNATURE);
  assert_int_equal(lp2p_pubkey_verify(&pub, (const uint8_t *)"", 0, sig, 63),
                   LP2P_ERR_BAD_SIGNATURE);
  lp2p_privkey_wipe(&key);
  for (size_t i = 0; i < sizeof(key.data); i++) {
    assert_int_equal(key.data[i], 0);
  }
}

static void sign_verify_generated(void **state) {
  (void)state;
  lp2p_key_type types[2] = {LP2P_KEY_ED25519, LP2P_KEY_SECP256K1};
  for (int t = 0; t < 2; t++) {
    uint64_t ctr = (uint64_t)t + 1;
    lp2p_privkey key, again;
    lp2p_pubkey pub;
    uint8_t sig[LP2P_SIG_MAX];
    size_t sig_len;
    const uint8_t msg[] = "libp2p-pubsub:message";
    assert_int_equal(lp2p_privkey_generate(types[t], test_rand, &ctr, &key), 0);
    ctr = (uint64_t)t + 1;
    lp2p_privkey_generate(types[t], test_rand, &ctr, &again);
    assert_memory_equal(key.data, again.data, sizeof(key.data));
    assert_int_equal(lp2p_privkey_public(&key, &pub), 0);
    assert_int_equal(lp2p_privkey_sign(&key, msg, sizeof(msg), sig, &sig_len),
                     0);
    assert_true(sig_len <= LP2P_SIG_MAX);
    assert_int_equal(lp2p_pubkey_verify(&pub, msg, sizeof(msg), sig, sig_len),
                     0);
    assert_int_equal(
        lp2p_pubkey_verify(&pub, msg, sizeof(msg) - 1, sig, sig_len),
        LP2P_ERR_BAD_SIGNATURE);
  }
}

/* n - s for secp256k1's group order n, on 32 big-endian bytes. */
static void negate_s(uint8_t s[32]) {
  static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
                                0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
                                0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
  int borrow = 0;
  for (int i = 31; i >= 0; i--) {
    int d = n[i] - s[i] - borrow;
    borrow = d < 0;
    s[i] = (uint8_t)(d + (borrow ? 256 : 0));
  }
}

static void secp256k1_accepts_high_s_and_rejects_bad_der(void **state) {
  (void)state;
  uint8_t seed[32] = {1}, sig[LP2P_SIG_MAX], compact[64], der[80];
  size_t sig_len, der_len = sizeof(der);
  lp2p_privkey key;
  lp2p_pubkey pub;
  const uint8_t msg[] = "hello";
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_SECP256K1, seed, &key), 0);
  lp2p_privkey_public(&key, &pub);
  lp2p_privkey_sign(&key, msg, 5, sig, &sig_len);
  /* go's btcec may produce or accept high-S signatures: they must verify */
  const secp256k1_context *ctx = secp256k1_context_static;
  secp256k1_ecdsa_signature es;
  assert_true(secp256k1_ecdsa_signature_parse_der(ctx, &es, sig, sig_len));
  secp256k1_ecdsa_signature_serialize_compact(ctx, compact, &es);
  negate_s(compact + 32);
  assert_true(secp256k1_ecdsa_signature_parse_compact(ctx, &es, compact));
  secp256k1_ecdsa_signature_serialize_der(ctx, der, &der_len, &es);
  assert_int_equal(lp2p_pubkey_verify(&pub, msg, 5, der, der_len), 0);
  /* a truncated DER signature and a compact one are refused */
  assert_int_equal(lp2p_pubkey_verify(&pub, msg, 5, sig, sig_len - 1),
                   LP2P_ERR_BAD_SIGNATURE);
  assert_int_equal(lp2p_pubkey_verify(&pub, msg, 5, compact, 64),
                   LP2P_ERR_BAD_SIGNATURE);
  /* uncompressed public keys are accepted and stored compressed */
  uint8_t pb[2048];
  lp2p_pubkey full;
  secp256k1_pubkey pk;
  uint8_t raw65[65];
  size_t len65 = 65;
  assert_true(secp256k1_ec_pubkey_parse(ctx, &pk, pub.data, pub.len));
  secp256k1_ec_pubkey_serialize(ctx, raw65, &len65, &pk,
                                SECP256K1_EC_UNCOMPRESSED);
  assert_int_equal(lp2p_pubkey_from_raw(LP2P_KEY_SECP256K1, raw65, 65, &full),
                   0);
  assert_true(lp2p_pubkey_equal(&full, &pub));
  raw65[64] ^= 1; /* off the curve */
  assert_int_equal(lp2p_pubkey_from_raw(LP2P_KEY_SECP256K1, raw65, 65, &full),
                   LP2P_ERR_BAD_KEY);
  (void)pb;
}

static void secp256k1_scalar_range(void **state) {
  (void)state;
  uint8_t zero[32] = {0}, order[32];
  lp2p_privkey key;
  unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        order, 32);
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_SECP256K1, zero, &key),
                   LP2P_ERR_BAD_KEY);
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_SECP256K1, order, &key),
                   LP2P_ERR_BAD_KEY);
  order[31] = 0x40; /* n - 1 is the largest valid scalar */
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_SECP256K1, order, &key), 0);
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_RSA, order, &key),
                   LP2P_ERR_UNSUPPORTED);
  uint64_t ctr = 0;
  assert_int_equal(lp2p_privkey_generate(LP2P_KEY_ECDSA, test_rand, &ctr, &key),
                   LP2P_ERR_UNSUPPORTED);
}

/* Signs with libcrypto the way go-libp2p does (SHA-256; PKCS#1 v1.5 for
 * RSA, DER ECDSA), to check that lp2p verifies such signatures. */
static size_t openssl_sign(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
                           uint8_t *sig, size_t cap) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  size_t sig_len = cap;
  assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey), 1);
  assert_int_equal(EVP_DigestSign(md, sig, &sig_len, msg, len), 1);
  EVP_MD_CTX_free(md);
  return sig_len;
}

/* Marshals a libcrypto key as a libp2p PublicKey of `type`. */
static void pubkey_of(EVP_PKEY *pkey, lp2p_key_type type, lp2p_pubkey *pub,
                      int want) {
  uint8_t *der = NULL;
  int n = i2d_PUBKEY(pkey, &der);
  assert_true(n > 0);
  assert_int_equal(lp2p_pubkey_from_raw(type, der, (size_t)n, pub), want);
  OPENSSL_free(der);
}

static void ecdsa_vector_verifies(void **state) {
  (void)state;
  uint8_t priv[2048], sig[256];
  size_t n = pb_of(ECDSA_PRIV, priv);
  lp2p_privkey key;
  /* lp2p does not sign with ECDSA, and says so */
  assert_int_equal(lp2p_privkey_unmarshal(priv, n, &key), LP2P_ERR_UNSUPPORTED);
  /* the key body starts after 08 03 12 79 */
  const unsigned char *p = priv + 4;
  EVP_PKEY *pkey = d2i_AutoPrivateKey(NULL, &p, (long)(n - 4));
  assert_non_null(pkey);
  lp2p_pubkey pub, vec;
  pubkey_of(pkey, LP2P_KEY_ECDSA, &pub, 0);
  uint8_t pb[2048];
  assert_int_equal(lp2p_pubkey_unmarshal(pb, pb_of(ECDSA_PUB, pb), &vec), 0);
  assert_true(lp2p_pubkey_equal(&pub, &vec));
  const uint8_t msg[] = "ecdsa message";
  size_t sig_len = openssl_sign(pkey, msg, sizeof(msg), sig, sizeof(sig));
  assert_int_equal(lp2p_pubkey_verify(&vec, msg, sizeof(msg), sig, sig_len), 0);
  sig[sig_len - 1] ^= 1;
  assert_int_equal(lp2p_pubkey_verify(&vec, msg, sizeof(msg), sig, sig_len),
                   LP2P_ERR_BAD_SIGNATURE);
  /* an ECDSA key is not an RSA key */
  assert_int_equal(lp2p_pubkey_from_raw(LP2P_KEY_RSA, vec.data, vec.len, &pub),
                   LP2P_ERR_BAD_KEY);
  EVP_PKEY_free(pkey);
}

static void rsa_sizes_and_verify(void **state) {
  (void)state;
  EVP_PKEY *small = EVP_RSA_gen(1024), *ok = EVP_RSA_gen(2048);
  assert_non_null(small);
  assert_non_null(ok);
  lp2p_pubkey pub;
  /* go-libp2p refuses RSA keys under 2048 bits; so does lp2p */
  pubkey_of(small, LP2P_KEY_RSA, &pub, LP2P_ERR_BAD_KEY);
  pubkey_of(ok, LP2P_KEY_RSA, &pub, 0);
  lp2p_peer_id id;
  char text[LP2P_PEER_ID_TEXT_MAX];
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, &id), 0);
  lp2p_peer_id_to_base58(&id, text, sizeof(text));
  assert_memory_equal(text, "Qm", 2);
  uint8_t sig[512];
  const uint8_t msg[] = "rsa message";
  size_t sig_len = openssl_sign(ok, msg, sizeof(msg), sig, sizeof(sig));
  assert_int_equal(lp2p_pubkey_verify(&pub, msg, sizeof(msg), sig, sig_len), 0);
  assert_int_equal(lp2p_pubkey_verify(&pub, msg, 3, sig, sig_len),
                   LP2P_ERR_BAD_SIGNATURE);
  /* the marshalled form round-trips */
  uint8_t pb[LP2P_PUBKEY_PB_MAX];
  lp2p_pubkey back;
  int n = lp2p_pubkey_marshal(&pub, pb, sizeof(pb));
  assert_true(n > 0);
  assert_int_equal(lp2p_pubkey_unmarshal(pb, (size_t)n, &back), 0);
  assert_true(lp2p_pubkey_equal(&pub, &back));
  assert_int_equal(lp2p_pubkey_marshal(&pub, pb, (size_t)n - 1),
                   LP2P_ERR_BUFFER_TOO_SMALL);
  /* trailing bytes after the DER key */
  uint8_t der[LP2P_PUBKEY_DATA_MAX + 1];
  memcpy(der, pub.data, pub.len);
  der[pub.len] = 0;
  assert_int_equal(lp2p_pubkey_from_raw(LP2P_KEY_RSA, der, pub.len + 1, &back),
                   LP2P_ERR_BAD_KEY);
  EVP_PKEY_free(small);
  EVP_PKEY_free(ok);
}

static void rsa_vector(void **state) {
  (void)state;
  uint8_t pb[2048];
  lp2p_pubkey pub;
  lp2p_peer_id id;
  size_t n = pb_of(RSA_PUB, pb);
  assert_int_equal(lp2p_pubkey_unmarshal(pb, n, &pub), 0);
  assert_int_equal(pub.type, LP2P_KEY_RSA);
  assert_int_equal(pub.len, 550); /* a 4096-bit PKIX key */
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, &id), 0);
  assert_int_equal(id.bytes[0], LP2P_MH_SHA2_256);
  uint8_t again[LP2P_PUBKEY_PB_MAX];
  assert_int_equal(lp2p_pubkey_marshal(&pub, again, sizeof(again)), n);
  assert_memory_equal(again, pb, n);
}

static void pubkey_protobuf_errors(void **state) {
  (void)state;
  uint8_t pb[2048], big[LP2P_PUBKEY_DATA_MAX + 16];
  lp2p_pubkey pub;
  size_t n = pb_of(ED_PUB, pb);
  for (size_t i = 0; i < n; i++) {
    assert_true(lp2p_pubkey_unmarshal(pb, i, &pub) < 0); /* every prefix */
  }
  assert_int_equal(lp2p_pubkey_unmarshal(pb, n - 1, &pub), LP2P_ERR_TRUNCATED);
  /* an unknown field after the key is skipped (protobuf rules); a stray
   * byte is not a field */
  pb[n] = 0x18;
  pb[n + 1] = 0x01;
  assert_int_equal(lp2p_pubkey_unmarshal(pb, n + 2, &pub), 0);
  pb[n] = 0x80;
  assert_int_equal(lp2p_pubkey_unmarshal(pb, n + 1, &pub), LP2P_ERR_TRUNCATED);
  /* wrong wire types */
  uint8_t type_as_bytes[] = {0x0a, 0x01, 0x01, 0x12, 0x00};
  assert_int_equal(lp2p_pubkey_unmarshal(type_as_bytes, 5, &pub),
                   LP2P_ERR_WRONG_TYPE);
  uint8_t data_as_varint[] = {0x08, 0x01, 0x10, 0x01};
  assert_int_equal(lp2p_pubkey_unmarshal(data_as_varint, 4, &pub),
                   LP2P_ERR_WRONG_TYPE);
  /* required fields */
  assert_int_equal(lp2p_pubkey_unmarshal(pb + 2, n - 2, &pub),
                   LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_pubkey_unmarshal(pb, 2, &pub), LP2P_ERR_MALFORMED);
  /* unknown key type, wrong key sizes */
  pb[1] = 4;
  assert_int_equal(lp2p_pubkey_unmarshal(pb, n, &pub), LP2P_ERR_UNSUPPORTED);
  pb[1] = 1;
  pb[3] = 31;
  assert_int_equal(lp2p_pubkey_unmarshal(pb, n - 1, &pub), LP2P_ERR_BAD_KEY);
  /* overlong varint (11 bytes) and field number 0 */
  uint8_t overlong[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                        0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  assert_int_equal(lp2p_pubkey_unmarshal(overlong, sizeof(overlong), &pub),
                   LP2P_ERR_OVERLONG);
  uint8_t field0[] = {0x00, 0x01};
  assert_int_equal(lp2p_pubkey_unmarshal(field0, 2, &pub), LP2P_ERR_MALFORMED);
  /* key data at the maximum size and one past */
  memset(big, 0, sizeof(big));
  assert_int_equal(
      lp2p_pubkey_from_raw(LP2P_KEY_RSA, big, LP2P_PUBKEY_DATA_MAX, &pub),
      LP2P_ERR_BAD_KEY);
  assert_int_equal(
      lp2p_pubkey_from_raw(LP2P_KEY_RSA, big, LP2P_PUBKEY_DATA_MAX + 1, &pub),
      LP2P_ERR_TOO_LARGE);
}

static void privkey_protobuf_errors(void **state) {
  (void)state;
  uint8_t pb[2048], forms[128];
  lp2p_privkey key, k96;
  size_t n = pb_of(ED_PRIV, pb);
  for (size_t i = 0; i < n; i++) {
    assert_true(lp2p_privkey_unmarshal(pb, i, &key) < 0);
  }
  assert_int_equal(lp2p_privkey_unmarshal(pb, n, &key), 0);
  /* the old 96-byte form: seed, public, public */
  forms[0] = 0x08;
  forms[1] = 0x01;
  forms[2] = 0x12;
  forms[3] = 96;
  memcpy(forms + 4, pb + 4, 64);
  memcpy(forms + 68, pb + 36, 32);
  assert_int_equal(lp2p_privkey_unmarshal(forms, 100, &k96), 0);
  assert_memory_equal(k96.data, key.data, 64);
  forms[99] ^= 1; /* the two public keys differ */
  assert_int_equal(lp2p_privkey_unmarshal(forms, 100, &k96), LP2P_ERR_BAD_KEY);
  /* 64 bytes whose public half is not the seed's */
  pb[n - 1] ^= 1;
  assert_int_equal(lp2p_privkey_unmarshal(pb, n, &key), LP2P_ERR_BAD_KEY);
  pb[3] = 63;
  assert_int_equal(lp2p_privkey_unmarshal(pb, n - 1, &key), LP2P_ERR_BAD_KEY);
  /* secp256k1: 32 bytes exactly */
  n = pb_of(SECP_PRIV, pb);
  pb[3] = 31;
  assert_int_equal(lp2p_privkey_unmarshal(pb, n - 1, &key), LP2P_ERR_BAD_KEY);
  /* RSA private keys are not supported */
  uint8_t rsa[] = {0x08, 0x00, 0x12, 0x01, 0x00};
  assert_int_equal(lp2p_privkey_unmarshal(rsa, 5, &key), LP2P_ERR_UNSUPPORTED);
}

static int marshal_private(const lp2p_mem *mem, void *arg) {
  (void)arg;
  uint8_t seed[32] = {7};
  lp2p_privkey key;
  lp2p_buf b;
  lp2p_buf_init(&b, mem);
  lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &key);
  int rv = lp2p_privkey_marshal(&key, &b);
  if (rv == 0) {
    assert_int_equal(b.len, 68);
  } else {
    assert_int_equal(b.len, 0);
  }
  lp2p_buf_free(&b);
  return rv;
}

static void marshal_under_failing_allocator(void **state) {
  (void)state;
  failmem_sweep(marshal_private, NULL);
}

static void regressions_from_fuzzing(void **state) {
  (void)state;
  uint8_t pb[2048];
  lp2p_pubkey pub;
  /* a missing signature is a bad one, not a crash in libsecp256k1 */
  assert_int_equal(lp2p_pubkey_unmarshal(pb, pb_of(SECP_PUB, pb), &pub), 0);
  assert_int_equal(lp2p_pubkey_verify(&pub, (const uint8_t *)"m", 1, NULL, 0),
                   LP2P_ERR_BAD_SIGNATURE);
  /* an identity id whose key is not canonically encoded (an extra field,
   * or fields out of order) is not that key's id */
  size_t n = pb_of(ED_PUB, pb);
  lp2p_peer_id id = {0};
  id.bytes[0] = 0;
  id.bytes[1] = (uint8_t)(n + 2);
  memcpy(id.bytes + 2, pb, n);
  id.bytes[2 + n] = 0x18;
  id.bytes[3 + n] = 0x00;
  id.len = (uint8_t)(n + 4);
  assert_int_equal(lp2p_peer_id_pubkey(&id, &pub), LP2P_ERR_MALFORMED);
  uint8_t reordered[64];
  memcpy(reordered, pb + 2, n - 2);
  memcpy(reordered + n - 2, pb, 2);
  id.bytes[1] = (uint8_t)n;
  memcpy(id.bytes + 2, reordered, n);
  id.len = (uint8_t)(n + 2);
  assert_int_equal(lp2p_peer_id_pubkey(&id, &pub), LP2P_ERR_MALFORMED);
  /* ECDSA on a curve go-libp2p does not accept */
  EVP_PKEY *weak = EVP_EC_gen("secp112r1");
  if (weak) {
    pubkey_of(weak, LP2P_KEY_ECDSA, &pub, LP2P_ERR_BAD_KEY);
    EVP_PKEY_free(weak);
  }
  EVP_PKEY *k1 = EVP_EC_gen("secp256k1"), *p384 = EVP_EC_gen("secp384r1");
  assert_non_null(k1);
  assert_non_null(p384);
  pubkey_of(k1, LP2P_KEY_ECDSA, &pub, LP2P_ERR_BAD_KEY);
  pubkey_of(p384, LP2P_KEY_ECDSA, &pub, 0);
  EVP_PKEY_free(k1);
  EVP_PKEY_free(p384);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vectors_public_from_private),
      cmocka_unit_test(vectors_peer_ids),
      cmocka_unit_test(ed25519_rfc8032_test1),
      cmocka_unit_test(sign_verify_generated),
      cmocka_unit_test(secp256k1_accepts_high_s_and_rejects_bad_der),
      cmocka_unit_test(secp256k1_scalar_range),
      cmocka_unit_test(regressions_from_fuzzing),
      cmocka_unit_test(ecdsa_vector_verifies),
      cmocka_unit_test(rsa_sizes_and_verify),
      cmocka_unit_test(rsa_vector),
      cmocka_unit_test(pubkey_protobuf_errors),
      cmocka_unit_test(privkey_protobuf_errors),
      cmocka_unit_test(marshal_under_failing_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
