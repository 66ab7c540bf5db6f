/* Noise: the raw XX layer against the published test vectors, then the
 * libp2p session: handshakes between Ed25519 and secp256k1 identities fed
 * whole, byte by byte and in random chunks, muxer negotiation, every way
 * a remote can fail it, limits, timeouts, nonce exhaustion and allocation
 * failures. */
#include <sodium.h>
#include <stdlib.h>

#include "base/pcg.h"
#include "lp2p/noise.h"
#include "net/noise_internal.h"
#include "net/noise_payload.h"
#include "net/noise_xx.h"
#include "pb/wire.h"
#include "testutil.h"

#define NOW ((lp2p_tstamp)1000)

/* ==== raw Noise layer: test vectors ===================================== */

typedef struct vector {
  const char *prologue, *init_static, *init_ephemeral, *resp_static,
      *resp_ephemeral, *handshake_hash;
  size_t nmsgs;
  const char *payload[6], *ciphertext[6];
} vector;

/* Every Noise_XX_25519_ChaChaPoly_SHA256 vector of cacophony
 * (vectors/cacophony.txt), snow (tests/vectors/snow.txt) and noise-c
 * (tests/vector/noise-c-basic.txt). Messages alternate between initiator
 * and responder, the handshake's three first. */
static const vector vectors[] = {
    {/* cacophony */
     "4a6f686e2047616c74",
     "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
     "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
     "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
     "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
     "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e",
     6,
     {"4c756477696720766f6e204d69736573", "4d757272617920526f746862617264",
      "462e20412e20486179656b", "4361726c204d656e676572",
      "4a65616e2d426170746973746520536179",
      "457567656e2042f6686d20766f6e2042617765726b"},
     {"ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
      "4c756477696720766f6e204d69736573",
      "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cb"
      "ad1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b9bd5269c2"
      "f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f8814c7194e83"
      "f23dbd8d162c9326ad",
      "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae4"
      "75b9df0f169ae80a89be0865b57f58c9fea0d4ec82a286427402f113e4b6ae769a1d"
      "95941d49b25030",
      "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df",
      "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5",
      "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a585"
      "02ae3f"}},
    {/* snow */
     "5468657265206973206e6f20726967687420616e642077726f6e672e2054686572"
     "652773206f6e6c792066756e20616e6420626f72696e672e",
     "7dec208517a3b81a2861d7a71266d5d6dc944c5a8816634a86fe63198a0148ee",
     "a32daf21e93c0131495ce1d903181fde81cc46937daaeb990bae7c992709421e",
     "4d0aed5098e3b4ef20357e9f686ce66204c792b358da2e475017d6c485304881",
     "4eece0f195d026db035ff987597c429d3ad3bcc2944df37d649528951b2a27c5",
     NULL,
     5,
     {"d03c489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34",
      "d8190a92f7dc0c93dbea9118ba8055751fb7c6590c416ffbd419964132b99a85",
      "77891b19dcb92ef7c055b672c4a5aa7fdf1c84146b8b303459022729473ce254",
      "d7efdf988072881941db045a42882433817555128fbf5663e56081712ec7d212",
      "dd7bf01a588bafb52c6cfba952e5d8fe35cc2b3f92b4730ae2474615157345ce"},
     {"f9fa868ba97ab8a2686deccfaad5a484ee10a5bb85e3d1dce015a84797f92818d03c"
      "489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34",
      "8c4e6fdb7d09d501a86f7eca5c234522751706ed409182c05cdf5f827d4dae47b81c"
      "6c5f43b025692c24391eefee725c17d8cb0fbe3e4abb8aedf42c4fd2592d4ea48ac0"
      "8989d6ae8b4adae08b2c34087c808c7aa55a63c02b0fab9e930612336bd43eaea04d"
      "3c670a0a146691aa9cc9d357872320dc735dbc48580cffb553db",
      "933ca6b5ed60df3df66121f0ab49a09e49efa45c613a86a3cecbf4c535cef2f83f72"
      "b42837b18e3572f2fdc2b74c331e2368a545cef54bdca081678ab0e9dd5348122459"
      "e0c034c851984d88ce610963d43cde6cfe73a67fbd5a63e8bfca96d0",
      "54ef0ff0629e1aaa7685a2806ab111cba76b52331f2642276736f415868eacb69ab2"
      "577f3bda0cbf72f879685f6ed25f",
      "356be70f110306d5c699bb834bb9d58d909e325924dfbec972e406e6f294dc63e1da"
      "ebefe8a62a334facc8048ab4ad66"}},
    {/* noise-c */
     "50726f6c6f677565313233",
     "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
     "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
     "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
     "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
     "852a28d2146785c54bd8334f4e460c80d7fe4fd0cc5bc0abef2a24a3c4d44d5f",
     6,
     {"4c756477696720766f6e204d69736573", "4d757272617920526f746862617264",
      "462e20412e20486179656b", "4361726c204d656e676572",
      "4a65616e2d426170746973746520536179",
      "457567656e2042f6686d20766f6e2042617765726b"},
     {"ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
      "4c756477696720766f6e204d69736573",
      "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cb"
      "ad1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b94a6d8798"
      "832d5372f220f161d9c2df035528f8982ffe09be9b5c412f8a0db5d21351f20af137"
      "0d0bf8ef1a8c59a30e",
      "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a85899"
      "81dfbd651e6ff4724a781cc2aa6158c9fea0d4ec82a286427484c5b8c8123a7a6002"
      "b1de9f9775fc97",
      "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df",
      "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5",
      "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a585"
      "02ae3f"}},
};

static void key32(const char *hex, uint8_t out[32]) {
  assert_int_equal(unhex(hex, out, 32), 32);
}

/* One vector message: handshake messages through the HandshakeStates,
 * later ones through the split CipherStates. */
static void vector_message(const vector *v, size_t i, lp2p_noise_xx xx[2],
                           lp2p_noise_cipher tx[2], lp2p_noise_cipher rx[2]) {
  uint8_t payload[256], want[512], got[512], back[256];
  size_t plen = unhex(v->payload[i], payload, sizeof(payload));
  size_t wlen = unhex(v->ciphertext[i], want, sizeof(want));
  int from = (int)(i % 2), to = 1 - from; /* 0: initiator */
  if (i < 3) {
    assert_int_equal(lp2p_noise_xx_overhead(&xx[from]) + plen, wlen);
    assert_int_equal(lp2p_noise_xx_write(&xx[from], payload, plen, got), 0);
    assert_memory_equal(got, want, wlen);
    assert_int_equal(lp2p_noise_xx_read(&xx[to], got, wlen, back), 0);
  } else {
    assert_int_equal(plen + LP2P_NOISE_AEAD_TAG, wlen);
    assert_int_equal(
        lp2p_noise_cipher_encrypt(&tx[from], NULL, 0, payload, plen, got), 0);
    assert_memory_equal(got, want, wlen);
    assert_int_equal(
        lp2p_noise_cipher_decrypt(&rx[to], NULL, 0, got, wlen, back), 0);
  }
  if (plen) {
    assert_memory_equal(back, payload, plen);
  }
}

static void noise_vectors(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof(vectors) / sizeof(vectors[0]); k++) {
    const vector *v = &vectors[k];
    uint8_t prologue[128], is[32], ie[32], rs[32], re[32], h[2][32], want[32];
    size_t plen = unhex(v->prologue, prologue, sizeof(prologue));
    lp2p_noise_xx xx[2];
    lp2p_noise_cipher tx[2], rx[2];
    key32(v->init_static, is);
    key32(v->init_ephemeral, ie);
    key32(v->resp_static, rs);
    key32(v->resp_ephemeral, re);
    assert_int_equal(lp2p_noise_xx_init(&xx[0], true, prologue, plen, is, ie),
                     0);
    assert_int_equal(lp2p_noise_xx_init(&xx[1], false, prologue, plen, rs, re),
                     0);
    for (size_t i = 0; i < v->nmsgs; i++) {
      vector_message(v, i, xx, tx, rx);
      if (i == 2) {
        assert_true(lp2p_noise_xx_done(&xx[0]) && lp2p_noise_xx_done(&xx[1]));
        /* each side learnt the other's static key */
        assert_memory_equal(xx[0].rs, xx[1].s_pub, 32);
        assert_memory_equal(xx[1].rs, xx[0].s_pub, 32);
        lp2p_noise_xx_split(&xx[0], &tx[0], &rx[0], h[0]);
        lp2p_noise_xx_split(&xx[1], &tx[1], &rx[1], h[1]);
        assert_memory_equal(h[0], h[1], 32);
        if (v->handshake_hash) {
          key32(v->handshake_hash, want);
          assert_memory_equal(h[0], want, 32);
        }
      }
    }
  }
}

/* The raw layer refuses out-of-turn use, short messages and exhausted
 * nonces. */
static void noise_raw_errors(void **state) {
  (void)state;
  uint8_t s[32] = {1}, e[32] = {2}, buf[256], out[256];
  lp2p_noise_xx xx[2];
  lp2p_noise_cipher c = {{0}, UINT64_MAX - 1, true}, d = c;
  assert_int_equal(lp2p_noise_xx_init(&xx[0], true, NULL, 0, s, e), 0);
  assert_int_equal(lp2p_noise_xx_init(&xx[1], false, NULL, 0, e, s), 0);
  assert_int_equal(lp2p_noise_xx_write(&xx[1], NULL, 0, buf), LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_xx_read(&xx[0], buf, 32, out), LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_xx_write(&xx[0], NULL, 0, buf), 0);
  assert_int_equal(lp2p_noise_xx_read(&xx[1], buf, 31, out),
                   LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_noise_xx_overhead(&xx[1]), 32);
  assert_int_equal(lp2p_noise_xx_read(&xx[1], buf, 32, out), 0);
  assert_int_equal(lp2p_noise_xx_overhead(&xx[1]), 32 + 48 + 16);
  assert_int_equal(lp2p_noise_xx_read(&xx[1], buf, 96, out), LP2P_ERR_STATE);
  /* the last nonce, 2^64 - 2, works; 2^64 - 1 is reserved */
  assert_int_equal(lp2p_noise_cipher_encrypt(&c, NULL, 0, s, 4, buf), 0);
  assert_int_equal(lp2p_noise_cipher_decrypt(&d, NULL, 0, buf, 20, out), 0);
  assert_int_equal(lp2p_noise_cipher_encrypt(&c, NULL, 0, s, 4, buf),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_cipher_decrypt(&d, NULL, 0, buf, 20, out),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_cipher_decrypt(&d, NULL, 0, buf, 15, out),
                   LP2P_ERR_MALFORMED);
}

/* ==== sessions ========================================================== */

static const char *const both_muxers[] = {"/yamux/1.0.0", "/mplex/6.7.0"};

typedef struct side {
  lp2p_noise *s;
  lp2p_privkey key;
  lp2p_peer_id id;
  uint64_t rng;
  int done;          /* handshake_done calls */
  int done_ret;      /* what handshake_done returns */
  const char *early; /* written from inside handshake_done */
  lp2p_buf got;      /* plaintext read so far */
} side;

static void make_key(lp2p_key_type type, uint8_t seed_byte, lp2p_privkey *key,
                     lp2p_peer_id *id) {
  uint8_t seed[32] = {seed_byte, 7, 7, 7};
  lp2p_pubkey pub;
  assert_int_equal(lp2p_privkey_from_seed(type, seed, key), 0);
  assert_int_equal(lp2p_privkey_public(key, &pub), 0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, id), 0);
}

static int on_done(lp2p_noise *s, const lp2p_noise_peer *peer, void *user) {
  side *sd = user;
  assert_ptr_equal(sd->s, s);
  assert_ptr_equal(lp2p_noise_remote(s), peer);
  sd->done++;
  if (sd->early) {
    size_t n = strlen(sd->early);
    assert_int_equal(lp2p_noise_write(s, (const uint8_t *)sd->early, n), n);
  }
  return sd->done_ret;
}

static const lp2p_noise_callbacks callbacks = {on_done};

static void settings_for(side *sd, lp2p_noise_role role,
                         lp2p_noise_settings *st) {
  lp2p_noise_settings_default(st);
  st->role = role;
  st->identity = &sd->key;
  st->rand_fn = test_rand;
  st->rand_user = &sd->rng;
  st->now = NOW;
  st->muxers = both_muxers;
  st->nmuxers = 2;
}

static void side_init(side *sd, lp2p_key_type type, uint8_t seed,
                      const lp2p_mem *mem) {
  memset(sd, 0, sizeof(*sd));
  make_key(type, seed, &sd->key, &sd->id);
  sd->rng = seed;
  lp2p_buf_init(&sd->got, mem);
}

static int side_open(side *sd, const lp2p_noise_settings *st,
                     const lp2p_mem *mem) {
  return lp2p_noise_new(&sd->s, st, &callbacks, mem, sd);
}

static void side_free(side *sd) {
  lp2p_noise_del(sd->s);
  sd->s = NULL;
  lp2p_buf_free(&sd->got);
}

/* A pair with default settings: a is the initiator, dialling b's id. */
static void pair_open(side *a, side *b, lp2p_key_type ta, lp2p_key_type tb) {
  lp2p_noise_settings st;
  side_init(a, ta, 1, NULL);
  side_init(b, tb, 2, NULL);
  settings_for(a, LP2P_NOISE_INITIATOR, &st);
  st.remote_peer_id = &b->id;
  assert_int_equal(side_open(a, &st, NULL), 0);
  settings_for(b, LP2P_NOISE_RESPONDER, &st);
  assert_int_equal(side_open(b, &st, NULL), 0);
}

static int drain(side *sd) {
  const uint8_t *p;
  ssize_t n = lp2p_noise_read(sd->s, &p);
  if (n < 0) {
    return (int)n;
  }
  return n ? lp2p_buf_append(&sd->got, p, (size_t)n) : 0;
}

enum { WHOLE, BYTEWISE, RANDOM };

/* Hands `len` bytes to `to` whole, one byte at a time, or in random
 * chunks of 1..max_chunk bytes, reading what it decrypts as it goes. */
static int deliver(side *to, const uint8_t *data, size_t len, int mode,
                   lp2p_pcg *g, uint32_t max_chunk) {
  size_t off = 0;
  while (off < len) {
    size_t n = len - off;
    if (mode == BYTEWISE) {
      n = 1;
    } else if (mode == RANDOM) {
      size_t r = 1 + lp2p_pcg_below(g, max_chunk);
      n = r < n ? r : n;
    }
    int rv = lp2p_noise_recv(to->s, data + off, n, NOW);
    if (rv == 0) {
      rv = drain(to);
    }
    if (rv != 0) {
      return rv;
    }
    off += n;
  }
  return 0;
}

static int transfer(side *from, side *to, int mode, lp2p_pcg *g,
                    uint32_t max_chunk) {
  const uint8_t *p;
  ssize_t n = lp2p_noise_pull(from->s, &p, NOW);
  if (n <= 0) {
    return (int)n;
  }
  return deliver(to, p, (size_t)n, mode, g, max_chunk);
}

static int handshake(side *a, side *b, int mode, lp2p_pcg *g) {
  for (int round = 0; round < 3; round++) {
    int rv = transfer(a, b, mode, g, 40);
    if (rv == 0) {
      rv = transfer(b, a, mode, g, 40);
    }
    if (rv != 0) {
      return rv;
    }
  }
  return lp2p_noise_is_established(a->s) && lp2p_noise_is_established(b->s)
             ? 0
             : LP2P_ERR_STATE;
}

/* Writes `len` patterned bytes from a to b, pulling whenever the send
 * buffer fills, and checks b read them all. */
static int stream(side *a, side *b, size_t len, int mode, lp2p_pcg *g) {
  uint8_t *data = malloc(len);
  size_t off = 0, start = b->got.len;
  int rv = 0;
  for (size_t i = 0; i < len; i++) {
    data[i] = (uint8_t)(i * 31 + len);
  }
  while (rv == 0 && off < len) {
    ssize_t n = lp2p_noise_write(a->s, data + off, len - off);
    if (n < 0) {
      rv = (int)n;
      break;
    }
    off += (size_t)n;
    rv = transfer(a, b, mode, g, 70000);
  }
  if (rv == 0) {
    assert_int_equal(b->got.len - start, len);
    assert_memory_equal(b->got.data + start, data, len);
  }
  free(data);
  return rv;
}

static void check_peers(side *a, side *b) {
  const lp2p_noise_peer *pa = lp2p_noise_remote(a->s);
  const lp2p_noise_peer *pb = lp2p_noise_remote(b->s);
  lp2p_pubkey ka, kb;
  assert_non_null(pa);
  assert_non_null(pb);
  assert_int_equal(a->done, 1);
  assert_int_equal(b->done, 1);
  assert_true(lp2p_peer_id_equal(&pa->peer_id, &b->id));
  assert_true(lp2p_peer_id_equal(&pb->peer_id, &a->id));
  assert_int_equal(lp2p_privkey_public(&a->key, &ka), 0);
  assert_int_equal(lp2p_privkey_public(&b->key, &kb), 0);
  assert_true(lp2p_pubkey_equal(&pa->pubkey, &kb));
  assert_true(lp2p_pubkey_equal(&pb->pubkey, &ka));
  assert_int_equal(lp2p_noise_expiry(a->s), LP2P_TSTAMP_NEVER);
  assert_int_equal(lp2p_noise_expiry(b->s), LP2P_TSTAMP_NEVER);
}

static void noise_handshake_all_ways(void **state) {
  (void)state;
  lp2p_key_type types[3][2] = {{LP2P_KEY_ED25519, LP2P_KEY_ED25519},
                               {LP2P_KEY_SECP256K1, LP2P_KEY_SECP256K1},
                               {LP2P_KEY_ED25519, LP2P_KEY_SECP256K1}};
  lp2p_pcg g;
  lp2p_pcg_seed(&g, 0x5eed, 1);
  for (int t = 0; t < 3; t++) {
    for (int mode = WHOLE; mode <= RANDOM; mode++) {
      side a, b;
      pair_open(&a, &b, types[t][0], types[t][1]);
      assert_int_equal(handshake(&a, &b, mode, &g), 0);
      check_peers(&a, &b);
      for (int i = 0; i < 2; i++) {
        assert_string_equal(lp2p_noise_remote(i ? b.s : a.s)->muxers[0],
                            "/yamux/1.0.0");
        assert_string_equal(lp2p_noise_remote(i ? b.s : a.s)->muxer,
                            "/yamux/1.0.0");
      }
      /* several frames, the largest ones split anywhere */
      size_t len = mode == BYTEWISE ? 70000 : 300000;
      assert_int_equal(stream(&a, &b, len, mode, &g), 0);
      assert_int_equal(stream(&b, &a, len, mode, &g), 0);
      assert_int_equal(stream(&a, &b, 1, mode, &g), 0);
      side_free(&a);
      side_free(&b);
    }
  }
}

/* Both directions at once: frames cross in flight and the data written
 * from inside handshake_done follows message 3 in the same chunk. */
static void noise_early_writes(void **state) {
  (void)state;
  side a, b;
  pair_open(&a, &b, LP2P_KEY_ED25519, LP2P_KEY_ED25519);
  a.early = "/multistream/1.0.0\n";
  b.early = "hello initiator";
  assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), 0);
  assert_int_equal(transfer(&b, &a, WHOLE, NULL, 0), 0);
  assert_int_equal(a.done, 1);
  assert_int_equal(b.done, 0);
  assert_int_equal(lp2p_noise_write(a.s, (const uint8_t *)"x", 1), 1);
  assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), 0);
  assert_int_equal(b.done, 1);
  assert_int_equal(b.got.len, strlen(a.early) + 1);
  assert_memory_equal(b.got.data, "/multistream/1.0.0\nx", b.got.len);
  assert_int_equal(transfer(&b, &a, WHOLE, NULL, 0), 0);
  assert_string_equal((const char *)a.got.data, "hello initiator");
  side_free(&a);
  side_free(&b);
}

static void negotiate(const char *const *im, size_t ni, const char *const *rm,
                      size_t nr, const char *want) {
  side a, b;
  lp2p_noise_settings st;
  side_init(&a, LP2P_KEY_ED25519, 1, NULL);
  side_init(&b, LP2P_KEY_ED25519, 2, NULL);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  st.muxers = im;
  st.nmuxers = ni;
  assert_int_equal(side_open(&a, &st, NULL), 0);
  settings_for(&b, LP2P_NOISE_RESPONDER, &st);
  st.muxers = rm;
  st.nmuxers = nr;
  assert_int_equal(side_open(&b, &st, NULL), 0);
  assert_int_equal(handshake(&a, &b, WHOLE, NULL), 0);
  for (int i = 0; i < 2; i++) {
    const lp2p_noise_peer *p = lp2p_noise_remote(i ? b.s : a.s);
    size_t n = i ? ni : nr;
    assert_int_equal(p->nmuxers, n);
    assert_int_equal(p->has_extensions, n > 0);
    if (want) {
      assert_string_equal(p->muxer, want);
    } else {
      assert_null(p->muxer);
    }
  }
  side_free(&a);
  side_free(&b);
}

/* Callbacks are optional: the remote is known through the getters. */
static void noise_without_callbacks(void **state) {
  (void)state;
  side a, b;
  lp2p_noise_settings st;
  side_init(&a, LP2P_KEY_SECP256K1, 1, NULL);
  side_init(&b, LP2P_KEY_ED25519, 2, NULL);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  assert_int_equal(lp2p_noise_new(&a.s, &st, NULL, NULL, NULL), 0);
  settings_for(&b, LP2P_NOISE_RESPONDER, &st);
  assert_int_equal(lp2p_noise_new(&b.s, &st, NULL, NULL, NULL), 0);
  assert_int_equal(handshake(&a, &b, WHOLE, NULL), 0);
  assert_true(lp2p_peer_id_equal(&lp2p_noise_remote(a.s)->peer_id, &b.id));
  assert_true(lp2p_peer_id_equal(&lp2p_noise_remote(b.s)->peer_id, &a.id));
  assert_int_equal(stream(&a, &b, 5000, WHOLE, NULL), 0);
  side_free(&a);
  side_free(&b);
}

/* inlined-muxer-negotiation.md: the initiator's order decides. */
static void noise_muxer_negotiation(void **state) {
  (void)state;
  const char *const yamux_mplex[] = {"/yamux/1.0.0", "/mplex/6.7.0"};
  const char *const mplex_yamux[] = {"/mplex/6.7.0", "/yamux/1.0.0"};
  const char *const mplex[] = {"/mplex/6.7.0"};
  const char *const other[] = {"/other/1", "/other/2"};
  negotiate(yamux_mplex, 2, mplex_yamux, 2, "/yamux/1.0.0");
  negotiate(mplex_yamux, 2, yamux_mplex, 2, "/mplex/6.7.0");
  negotiate(mplex, 1, yamux_mplex, 2, "/mplex/6.7.0");
  negotiate(yamux_mplex, 2, mplex, 1, "/mplex/6.7.0");
  negotiate(yamux_mplex, 2, other, 2, NULL);
  negotiate(yamux_mplex, 2, NULL, 0, NULL);
  negotiate(NULL, 0, yamux_mplex, 2, NULL);
  negotiate(NULL, 0, NULL, 0, NULL);
}

static void noise_settings_checked(void **state) {
  (void)state;
  side a;
  lp2p_noise_settings st;
  lp2p_noise *s = NULL;
  char long_name[LP2P_NOISE_MUXER_NAME_MAX + 2];
  const char *names[LP2P_NOISE_MAX_MUXERS + 1];
  side_init(&a, LP2P_KEY_ED25519, 1, NULL);
  assert_int_equal(lp2p_noise_new(&s, NULL, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  st.identity = NULL;
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  st.rand_fn = NULL;
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  settings_for(&a, (lp2p_noise_role)7, &st);
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  /* muxer lists: count, presence and name lengths, each one past */
  for (size_t i = 0; i <= LP2P_NOISE_MAX_MUXERS; i++) {
    names[i] = "/yamux/1.0.0";
  }
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  st.muxers = names;
  st.nmuxers = LP2P_NOISE_MAX_MUXERS;
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL), 0);
  lp2p_noise_del(s);
  st.nmuxers = LP2P_NOISE_MAX_MUXERS + 1;
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  st.nmuxers = 1;
  st.muxers = NULL;
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  st.muxers = names;
  memset(long_name, 'm', sizeof(long_name));
  long_name[LP2P_NOISE_MUXER_NAME_MAX] = 0;
  names[0] = long_name;
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL), 0);
  lp2p_noise_del(s);
  long_name[LP2P_NOISE_MUXER_NAME_MAX] = 'm';
  long_name[LP2P_NOISE_MUXER_NAME_MAX + 1] = 0;
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  names[0] = "";
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  names[0] = NULL;
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  /* buffer bounds: the minimum works, one below does not */
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  st.max_send_buffer = 2 + LP2P_NOISE_TAG_LEN;
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  st.max_send_buffer = 0;
  st.max_recv_buffer = 2 + LP2P_NOISE_MAX_MESSAGE - 1;
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  /* an identity that cannot sign */
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  a.key.type = LP2P_KEY_RSA;
  assert_int_equal(lp2p_noise_new(&s, &st, NULL, NULL, NULL),
                   LP2P_ERR_UNSUPPORTED);
  side_free(&a);
}

/* Before the handshake completes: nothing to read, nothing to write. */
static void noise_state_rules(void **state) {
  (void)state;
  side a, b;
  const uint8_t *p;
  pair_open(&a, &b, LP2P_KEY_ED25519, LP2P_KEY_ED25519);
  assert_false(lp2p_noise_is_established(a.s));
  assert_null(lp2p_noise_remote(a.s));
  assert_int_equal(lp2p_noise_write(a.s, (const uint8_t *)"x", 1),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_read(b.s, &p), 0);
  assert_int_equal(lp2p_noise_pull(b.s, &p, NOW), 0); /* waits for msg 1 */
  assert_int_equal(lp2p_noise_pull(a.s, &p, NOW), 2 + 32);
  assert_int_equal(p[0], 0);
  assert_int_equal(p[1], 32);
  assert_int_equal(lp2p_noise_pull(a.s, &p, NOW), 0); /* taken already */
  assert_int_equal(lp2p_noise_write(a.s, (const uint8_t *)"x", 0),
                   LP2P_ERR_STATE);
  side_free(&a);
  side_free(&b);
}

static void expect_failed(side *sd) {
  const uint8_t *p;
  assert_int_equal(lp2p_noise_recv(sd->s, (const uint8_t *)"x", 1, NOW),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_pull(sd->s, &p, NOW), LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_read(sd->s, &p), LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_write(sd->s, (const uint8_t *)"x", 1),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_handle_expiry(sd->s, LP2P_TSTAMP_NEVER - 1),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_expiry(sd->s), LP2P_TSTAMP_NEVER);
  assert_false(lp2p_noise_is_established(sd->s));
  assert_null(lp2p_noise_remote(sd->s));
}

static void noise_wrong_peer_id(void **state) {
  (void)state;
  side a, b, c;
  lp2p_noise_settings st;
  /* the dialer expected c but reached b */
  side_init(&a, LP2P_KEY_ED25519, 1, NULL);
  side_init(&b, LP2P_KEY_SECP256K1, 2, NULL);
  side_init(&c, LP2P_KEY_ED25519, 3, NULL);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  st.remote_peer_id = &c.id;
  assert_int_equal(side_open(&a, &st, NULL), 0);
  settings_for(&b, LP2P_NOISE_RESPONDER, &st);
  assert_int_equal(side_open(&b, &st, NULL), 0);
  assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), 0);
  assert_int_equal(transfer(&b, &a, WHOLE, NULL, 0), LP2P_ERR_PEER_ID_MISMATCH);
  assert_int_equal(a.done, 0);
  expect_failed(&a);
  side_free(&a);
  side_free(&b);
  /* a listener that knows whom to expect checks it too */
  side_init(&a, LP2P_KEY_ED25519, 1, NULL);
  side_init(&b, LP2P_KEY_SECP256K1, 2, NULL);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  assert_int_equal(side_open(&a, &st, NULL), 0);
  settings_for(&b, LP2P_NOISE_RESPONDER, &st);
  st.remote_peer_id = &c.id;
  assert_int_equal(side_open(&b, &st, NULL), 0);
  assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), 0);
  assert_int_equal(transfer(&b, &a, WHOLE, NULL, 0), 0);
  assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), LP2P_ERR_PEER_ID_MISMATCH);
  assert_int_equal(a.done, 1);
  assert_int_equal(b.done, 0);
  expect_failed(&b);
  side_free(&a);
  side_free(&b);
  side_free(&c);
}

/* A handshake_done that refuses the peer fails the session. */
static void noise_callback_refuses(void **state) {
  (void)state;
  side a, b;
  pair_open(&a, &b, LP2P_KEY_ED25519, LP2P_KEY_ED25519);
  a.done_ret = LP2P_ERR_PEER_ID_MISMATCH;
  assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), 0);
  assert_int_equal(transfer(&b, &a, WHOLE, NULL, 0), LP2P_ERR_PEER_ID_MISMATCH);
  expect_failed(&a);
  side_free(&a);
  side_free(&b);
}

/* ---- a remote built from the raw layer, saying what the test wants ---- */

typedef struct fake {
  lp2p_noise_xx xx;
  lp2p_privkey key;
} fake;

static void fake_init(fake *f, bool initiator, uint8_t seed) {
  uint8_t s[32], e[32];
  lp2p_peer_id id;
  memset(s, seed, 32);
  memset(e, seed + 1, 32);
  make_key(LP2P_KEY_ED25519, seed, &f->key, &id);
  assert_int_equal(lp2p_noise_xx_init(&f->xx, initiator, NULL, 0, s, e), 0);
}

/* Writes the fake's next message, framed; returns its length. */
static size_t fake_write(fake *f, const uint8_t *payload, size_t len,
                         uint8_t *out) {
  size_t n = lp2p_noise_xx_overhead(&f->xx) + len;
  out[0] = (uint8_t)(n >> 8);
  out[1] = (uint8_t)n;
  assert_int_equal(lp2p_noise_xx_write(&f->xx, payload, len, out + 2), 0);
  return n + 2;
}

/* Reads the session's next message into the fake. */
static void fake_read(fake *f, lp2p_noise *s) {
  const uint8_t *p;
  uint8_t payload[1024];
  ssize_t n = lp2p_noise_pull(s, &p, NOW);
  assert_true(n > 2);
  assert_int_equal((size_t)(p[0] << 8 | p[1]), (size_t)n - 2);
  assert_int_equal(lp2p_noise_xx_read(&f->xx, p + 2, (size_t)n - 2, payload),
                   0);
}

/* A payload signed by `signer` over `static_pub`, claiming `key`. */
static void payload_with(const lp2p_privkey *key, const lp2p_privkey *signer,
                         const uint8_t static_pub[32], lp2p_buf *out) {
  lp2p_buf good;
  lp2p_noise_payload p;
  lp2p_buf_init(&good, NULL);
  assert_int_equal(
      lp2p_noise_payload_encode(signer, static_pub, NULL, 0, &good), 0);
  assert_int_equal(lp2p_noise_payload_decode(good.data, good.len, &p), 0);
  if (key != signer) {
    lp2p_pubkey pub;
    uint8_t pk[LP2P_PUBKEY_PB_MAX];
    assert_int_equal(lp2p_privkey_public(key, &pub), 0);
    int n = lp2p_pubkey_marshal(&pub, pk, sizeof(pk));
    assert_int_equal(lp2p_pb_put_bytes(out, 1, pk, (size_t)n), 0);
  } else {
    assert_int_equal(
        lp2p_pb_put_bytes(out, 1, p.identity_key.data, p.identity_key.len), 0);
  }
  assert_int_equal(
      lp2p_pb_put_bytes(out, 2, p.identity_sig.data, p.identity_sig.len), 0);
  lp2p_buf_free(&good);
}

/* Runs an initiator session against a fake responder whose message 2
 * carries `payload`; returns what the session's recv said. */
static int against_fake_responder(const uint8_t *payload, size_t len,
                                  lp2p_noise_peer *peer) {
  side a;
  fake f;
  lp2p_noise_settings st;
  uint8_t msg[4096];
  side_init(&a, LP2P_KEY_ED25519, 1, NULL);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  assert_int_equal(side_open(&a, &st, NULL), 0);
  fake_init(&f, false, 9);
  fake_read(&f, a.s);
  size_t n = fake_write(&f, payload, len, msg);
  int rv = lp2p_noise_recv(a.s, msg, n, NOW);
  if (rv == 0) {
    /* `muxer` points into the session: keep a copy past its end */
    static char selected[LP2P_NOISE_MUXER_NAME_MAX + 1];
    *peer = *lp2p_noise_remote(a.s);
    if (peer->muxer) {
      strcpy(selected, peer->muxer);
      peer->muxer = selected;
    }
  } else {
    expect_failed(&a);
  }
  side_free(&a);
  return rv;
}

/* The static key the fake responder of against_fake_responder uses. */
static void fake_static(uint8_t seed, uint8_t pub[32]) {
  uint8_t s[32];
  memset(s, seed, 32);
  assert_int_equal(crypto_scalarmult_base(pub, s), 0);
}

static void noise_bad_payloads(void **state) {
  (void)state;
  fake f;
  lp2p_privkey other;
  lp2p_peer_id other_id;
  lp2p_noise_peer peer;
  uint8_t spub[32], wrong[32] = {5};
  lp2p_buf b;
  fake_init(&f, false, 9);
  fake_static(9, spub);
  make_key(LP2P_KEY_SECP256K1, 44, &other, &other_id);
  lp2p_buf_init(&b, NULL);
  /* a good payload is accepted: the positive control */
  payload_with(&f.key, &f.key, spub, &b);
  assert_int_equal(against_fake_responder(b.data, b.len, &peer), 0);
  assert_false(peer.has_extensions);
  /* a signature by another key than the one claimed */
  lp2p_buf_truncate(&b, 0);
  payload_with(&f.key, &other, spub, &b);
  assert_int_equal(against_fake_responder(b.data, b.len, &peer),
                   LP2P_ERR_BAD_SIGNATURE);
  /* a signature over another static key */
  lp2p_buf_truncate(&b, 0);
  payload_with(&f.key, &f.key, wrong, &b);
  assert_int_equal(against_fake_responder(b.data, b.len, &peer),
                   LP2P_ERR_BAD_SIGNATURE);
  /* no key, no signature, nothing */
  lp2p_buf_truncate(&b, 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 2, "sig", 3), 0);
  assert_int_equal(against_fake_responder(b.data, b.len, &peer),
                   LP2P_ERR_MALFORMED);
  lp2p_buf_truncate(&b, 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 1, "key", 3), 0);
  assert_int_equal(against_fake_responder(b.data, b.len, &peer),
                   LP2P_ERR_MALFORMED);
  assert_int_equal(against_fake_responder(NULL, 0, &peer), LP2P_ERR_MALFORMED);
  /* fields of the wrong wire type, broken protobuf, a key that is none */
  lp2p_buf_truncate(&b, 0);
  assert_int_equal(lp2p_pb_put_varint(&b, 1, 5), 0);
  assert_int_equal(against_fake_responder(b.data, b.len, &peer),
                   LP2P_ERR_WRONG_TYPE);
  assert_int_equal(
      against_fake_responder((const uint8_t *)"\x0a\x05", 2, &peer),
      LP2P_ERR_TRUNCATED);
  lp2p_buf_truncate(&b, 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 1, "\x08\x01\x12\x01\x00", 5), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 2, "sig", 3), 0);
  assert_true(against_fake_responder(b.data, b.len, &peer) < 0);
  lp2p_buf_free(&b);
}

/* Extensions: the muxer list bounds, unknown fields and code points. */
static void noise_remote_extensions(void **state) {
  (void)state;
  fake f;
  lp2p_noise_peer peer;
  uint8_t spub[32];
  char name65[LP2P_NOISE_MUXER_NAME_MAX + 2],
      name64[LP2P_NOISE_MUXER_NAME_MAX + 1];
  const char *names[LP2P_NOISE_MAX_MUXERS + 4];
  lp2p_buf b, ext;
  fake_init(&f, false, 9);
  fake_static(9, spub);
  memset(name65, 'a', sizeof(name65) - 1);
  name65[sizeof(name65) - 1] = 0;
  memset(name64, 'b', sizeof(name64) - 1);
  name64[sizeof(name64) - 1] = 0;
  names[0] = name65; /* one byte too long: skipped */
  names[1] = name64; /* exactly the limit: kept */
  names[2] = "";     /* empty: skipped */
  for (size_t i = 3; i < LP2P_NOISE_MAX_MUXERS + 4; i++) {
    names[i] = "/yamux/1.0.0"; /* MAX - 1 fit, the rest are skipped */
  }
  lp2p_buf_init(&b, NULL);
  lp2p_buf_init(&ext, NULL);
  assert_int_equal(lp2p_noise_payload_encode(&f.key, spub, names,
                                             LP2P_NOISE_MAX_MUXERS + 4, &b),
                   0);
  /* a second NoiseExtensions merges in: a certhash, an unknown code point
   * and a name with a NUL, which cannot be a protocol id */
  assert_int_equal(lp2p_pb_put_bytes(&ext, 1, "hash", 4), 0);
  assert_int_equal(lp2p_pb_put_varint(&ext, 1000, 1), 0);
  assert_int_equal(lp2p_pb_put_bytes(&ext, 2, "/a\0b", 4), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 4, ext.data, ext.len), 0);
  assert_int_equal(lp2p_pb_put_varint(&b, 9, 77), 0); /* unknown field */
  assert_int_equal(against_fake_responder(b.data, b.len, &peer), 0);
  assert_true(peer.has_extensions);
  assert_int_equal(peer.nmuxers, LP2P_NOISE_MAX_MUXERS);
  assert_string_equal(peer.muxers[0], name64);
  assert_string_equal(peer.muxers[1], "/yamux/1.0.0");
  assert_int_equal(peer.muxers_skipped, 5);
  assert_string_equal(peer.muxer, "/yamux/1.0.0");
  /* a muxer name of the wrong wire type */
  lp2p_buf_truncate(&b, 0);
  lp2p_buf_truncate(&ext, 0);
  payload_with(&f.key, &f.key, spub, &b);
  assert_int_equal(lp2p_pb_put_varint(&ext, 2, 1), 0);
  assert_int_equal(lp2p_pb_put_bytes(&b, 4, ext.data, ext.len), 0);
  assert_int_equal(against_fake_responder(b.data, b.len, &peer),
                   LP2P_ERR_WRONG_TYPE);
  /* and extensions that are not a message */
  lp2p_buf_truncate(&b, 0);
  payload_with(&f.key, &f.key, spub, &b);
  assert_int_equal(lp2p_pb_put_varint(&b, 4, 1), 0);
  assert_int_equal(against_fake_responder(b.data, b.len, &peer),
                   LP2P_ERR_WRONG_TYPE);
  lp2p_buf_free(&b);
  lp2p_buf_free(&ext);
}

/* A responder session against a fake initiator: message 3's payload. */
static void noise_responder_checks_msg3(void **state) {
  (void)state;
  for (int good = 0; good < 2; good++) {
    side b;
    fake f;
    lp2p_noise_settings st;
    uint8_t msg[4096], spub[32], wrong[32] = {1};
    lp2p_buf pl;
    side_init(&b, LP2P_KEY_ED25519, 2, NULL);
    settings_for(&b, LP2P_NOISE_RESPONDER, &st);
    assert_int_equal(side_open(&b, &st, NULL), 0);
    fake_init(&f, true, 20);
    fake_static(20, spub);
    /* message 1 may carry a payload: it is ignored */
    size_t n = fake_write(&f, (const uint8_t *)"ignored", 7, msg);
    assert_int_equal(lp2p_noise_recv(b.s, msg, n, NOW), 0);
    fake_read(&f, b.s);
    lp2p_buf_init(&pl, NULL);
    payload_with(&f.key, &f.key, good ? spub : wrong, &pl);
    n = fake_write(&f, pl.data, pl.len, msg);
    assert_int_equal(lp2p_noise_recv(b.s, msg, n, NOW),
                     good ? 0 : LP2P_ERR_BAD_SIGNATURE);
    assert_int_equal(b.done, good);
    if (good) {
      assert_int_equal(lp2p_noise_remote(b.s)->nmuxers, 0);
      assert_null(lp2p_noise_remote(b.s)->muxer);
    }
    lp2p_buf_free(&pl);
    side_free(&b);
  }
}

/* Any flipped bit of message 1 or 2 fails the handshake. */
static void noise_tampered_handshake(void **state) {
  (void)state;
  for (int which = 0; which < 2; which++) {
    for (size_t i = 2;; i++) {
      side a, b;
      const uint8_t *p;
      uint8_t msg[1024];
      pair_open(&a, &b, LP2P_KEY_ED25519, LP2P_KEY_ED25519);
      if (which == 1) {
        assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), 0);
      }
      side *from = which ? &b : &a, *to = which ? &a : &b;
      ssize_t n = lp2p_noise_pull(from->s, &p, NOW);
      if (i >= (size_t)n) {
        side_free(&a);
        side_free(&b);
        break;
      }
      memcpy(msg, p, (size_t)n);
      msg[i] ^= 0x20;
      int rv = lp2p_noise_recv(to->s, msg, (size_t)n, NOW);
      if (which == 0) {
        /* message 1 is not authenticated: the initiator notices */
        assert_int_equal(rv, 0);
        rv = transfer(&b, &a, WHOLE, NULL, 0);
      }
      assert_true(rv == LP2P_ERR_BAD_SIGNATURE || rv == LP2P_ERR_BAD_KEY);
      side_free(&a);
      side_free(&b);
    }
  }
}

static void established(side *a, side *b) {
  pair_open(a, b, LP2P_KEY_ED25519, LP2P_KEY_ED25519);
  assert_int_equal(handshake(a, b, WHOLE, NULL), 0);
}

/* A session established with a fake responder, whose transport ciphers
 * the test holds, so it can frame whatever it likes. */
static void open_with_fake(side *a, fake *f, lp2p_noise_cipher *tx,
                           lp2p_noise_cipher *rx) {
  lp2p_noise_settings st;
  uint8_t msg[4096], spub[32], hash[32];
  lp2p_buf pl;
  side_init(a, LP2P_KEY_ED25519, 1, NULL);
  settings_for(a, LP2P_NOISE_INITIATOR, &st);
  assert_int_equal(side_open(a, &st, NULL), 0);
  fake_init(f, false, 9);
  fake_static(9, spub);
  fake_read(f, a->s);
  lp2p_buf_init(&pl, NULL);
  payload_with(&f->key, &f->key, spub, &pl);
  size_t n = fake_write(f, pl.data, pl.len, msg);
  lp2p_buf_free(&pl);
  assert_int_equal(lp2p_noise_recv(a->s, msg, n, NOW), 0);
  fake_read(f, a->s);
  lp2p_noise_xx_split(&f->xx, tx, rx, hash);
}

/* Tampered, replayed, empty and undersized transport frames. */
static void noise_tampered_transport(void **state) {
  (void)state;
  side a, b;
  fake f;
  lp2p_noise_cipher tx, rx;
  const uint8_t *p;
  uint8_t frame[64];
  for (size_t i = 2; i < 2 + 5 + 16; i++) {
    established(&a, &b);
    assert_int_equal(lp2p_noise_write(a.s, (const uint8_t *)"hello", 5), 5);
    ssize_t n = lp2p_noise_pull(a.s, &p, NOW);
    assert_int_equal(n, 2 + 5 + 16);
    memcpy(frame, p, (size_t)n);
    frame[i] ^= 0x80;
    assert_int_equal(lp2p_noise_recv(b.s, frame, (size_t)n, NOW),
                     LP2P_ERR_BAD_SIGNATURE);
    expect_failed(&b);
    side_free(&a);
    side_free(&b);
  }
  /* a replayed frame has the wrong nonce */
  established(&a, &b);
  assert_int_equal(lp2p_noise_write(a.s, (const uint8_t *)"hello", 5), 5);
  ssize_t n = lp2p_noise_pull(a.s, &p, NOW);
  memcpy(frame, p, (size_t)n);
  assert_int_equal(lp2p_noise_recv(b.s, frame, (size_t)n, NOW), 0);
  assert_int_equal(lp2p_noise_recv(b.s, frame, (size_t)n, NOW),
                   LP2P_ERR_BAD_SIGNATURE);
  side_free(&a);
  side_free(&b);
  /* an empty frame (lp2p never writes one) is accepted and yields
   * nothing; a frame shorter than its tag is refused */
  open_with_fake(&a, &f, &tx, &rx);
  frame[0] = 0;
  frame[1] = 16;
  assert_int_equal(lp2p_noise_cipher_encrypt(&tx, NULL, 0, NULL, 0, frame + 2),
                   0);
  assert_int_equal(lp2p_noise_recv(a.s, frame, 18, NOW), 0);
  assert_int_equal(lp2p_noise_read(a.s, &p), 0);
  assert_int_equal(lp2p_noise_write(a.s, (const uint8_t *)"ok", 2), 2);
  n = lp2p_noise_pull(a.s, &p, NOW);
  assert_int_equal(lp2p_noise_cipher_decrypt(&rx, NULL, 0, p + 2, 18, frame),
                   0);
  assert_memory_equal(frame, "ok", 2);
  side_free(&a);
  for (size_t len = 0; len < 16; len++) {
    uint8_t z[18] = {0, (uint8_t)len};
    open_with_fake(&a, &f, &tx, &rx);
    assert_int_equal(lp2p_noise_recv(a.s, z, 2 + len, NOW), LP2P_ERR_MALFORMED);
    side_free(&a);
  }
}

/* The largest frame, one past it, and received split anywhere. */
static void noise_frame_limits(void **state) {
  (void)state;
  side a, b;
  const uint8_t *p;
  uint8_t *big = calloc(1, LP2P_NOISE_MAX_PLAINTEXT + 1);
  established(&a, &b);
  assert_int_equal(lp2p_noise_write(a.s, big, LP2P_NOISE_MAX_PLAINTEXT),
                   LP2P_NOISE_MAX_PLAINTEXT);
  ssize_t n = lp2p_noise_pull(a.s, &p, NOW);
  assert_int_equal(n, 2 + LP2P_NOISE_MAX_MESSAGE);
  assert_int_equal(p[0], 0xff);
  assert_int_equal(p[1], 0xff);
  assert_int_equal(deliver(&b, p, (size_t)n, WHOLE, NULL, 0), 0);
  assert_int_equal(b.got.len, LP2P_NOISE_MAX_PLAINTEXT);
  assert_int_equal(lp2p_noise_write(a.s, big, LP2P_NOISE_MAX_PLAINTEXT + 1),
                   LP2P_NOISE_MAX_PLAINTEXT + 1);
  n = lp2p_noise_pull(a.s, &p, NOW);
  assert_int_equal(n, 2 + LP2P_NOISE_MAX_MESSAGE + 2 + 1 + 16);
  assert_int_equal(p[2 + LP2P_NOISE_MAX_MESSAGE], 0);
  assert_int_equal(p[2 + LP2P_NOISE_MAX_MESSAGE + 1], 17);
  assert_int_equal(deliver(&b, p, (size_t)n, BYTEWISE, NULL, 0), 0);
  assert_int_equal(b.got.len, 2 * LP2P_NOISE_MAX_PLAINTEXT + 1);
  free(big);
  side_free(&a);
  side_free(&b);
}

/* Handshake messages shorter than their keys and tags. */
static void noise_short_handshake_messages(void **state) {
  (void)state;
  side a, b;
  const uint8_t *p;
  uint8_t msg[256];
  /* message 1: 31 bytes of a 32-byte key */
  pair_open(&a, &b, LP2P_KEY_ED25519, LP2P_KEY_ED25519);
  assert_int_equal(lp2p_noise_recv(b.s, (const uint8_t *)"\x00\x1f", 2, NOW),
                   0);
  memset(msg, 9, 31);
  assert_int_equal(lp2p_noise_recv(b.s, msg, 31, NOW), LP2P_ERR_MALFORMED);
  side_free(&a);
  side_free(&b);
  /* an empty frame */
  pair_open(&a, &b, LP2P_KEY_ED25519, LP2P_KEY_ED25519);
  assert_int_equal(lp2p_noise_recv(a.s, (const uint8_t *)"\x00\x00", 2, NOW),
                   LP2P_ERR_MALFORMED);
  side_free(&a);
  side_free(&b);
  /* message 2: one byte short of e, s and an empty payload's tag */
  pair_open(&a, &b, LP2P_KEY_ED25519, LP2P_KEY_ED25519);
  assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), 0);
  assert_true(lp2p_noise_pull(b.s, &p, NOW) > 96);
  memcpy(msg + 2, p + 2, 95);
  msg[0] = 0;
  msg[1] = 95;
  assert_int_equal(lp2p_noise_recv(a.s, msg, 97, NOW), LP2P_ERR_MALFORMED);
  side_free(&a);
  side_free(&b);
  /* message 3: one byte short of s and a tag */
  pair_open(&a, &b, LP2P_KEY_ED25519, LP2P_KEY_ED25519);
  assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), 0);
  assert_int_equal(transfer(&b, &a, WHOLE, NULL, 0), 0);
  assert_true(lp2p_noise_pull(a.s, &p, NOW) > 64);
  memcpy(msg + 2, p + 2, 63);
  msg[0] = 0;
  msg[1] = 63;
  assert_int_equal(lp2p_noise_recv(b.s, msg, 65, NOW), LP2P_ERR_MALFORMED);
  side_free(&a);
  side_free(&b);
}

/* An all-zero ephemeral key is a low-order point: refused either way. */
static void noise_low_order_keys(void **state) {
  (void)state;
  side a, b;
  uint8_t msg[2 + 96] = {0, 96};
  pair_open(&a, &b, LP2P_KEY_ED25519, LP2P_KEY_ED25519);
  assert_int_equal(lp2p_noise_recv(a.s, msg, sizeof(msg), NOW),
                   LP2P_ERR_BAD_KEY);
  msg[1] = 32;
  assert_int_equal(lp2p_noise_recv(b.s, msg, 2 + 32, NOW), LP2P_ERR_BAD_KEY);
  side_free(&a);
  side_free(&b);
}

/* A handshake cut short only ends by its deadline. */
static void noise_timeout(void **state) {
  (void)state;
  side a, b;
  const uint8_t *p;
  lp2p_noise_settings st;
  side_init(&a, LP2P_KEY_ED25519, 1, NULL);
  side_init(&b, LP2P_KEY_ED25519, 2, NULL);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  st.handshake_timeout = 5 * LP2P_SECONDS;
  assert_int_equal(side_open(&a, &st, NULL), 0);
  settings_for(&b, LP2P_NOISE_RESPONDER, &st);
  assert_int_equal(side_open(&b, &st, NULL), 0);
  assert_int_equal(lp2p_noise_expiry(a.s), NOW + 5 * LP2P_SECONDS);
  assert_int_equal(lp2p_noise_expiry(b.s),
                   NOW + LP2P_NOISE_DEFAULT_HANDSHAKE_TIMEOUT);
  assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), 0);
  ssize_t n = lp2p_noise_pull(b.s, &p, NOW);
  assert_int_equal(lp2p_noise_recv(a.s, p, (size_t)n / 2, NOW), 0);
  assert_int_equal(lp2p_noise_handle_expiry(a.s, NOW + 5 * LP2P_SECONDS - 1),
                   0);
  assert_int_equal(lp2p_noise_handle_expiry(a.s, NOW + 5 * LP2P_SECONDS),
                   LP2P_ERR_TIMEOUT);
  expect_failed(&a);
  side_free(&a);
  side_free(&b);
  /* no timeout at all, and a deadline past the end of time */
  side_init(&a, LP2P_KEY_ED25519, 1, NULL);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  st.handshake_timeout = LP2P_TSTAMP_NEVER;
  assert_int_equal(side_open(&a, &st, NULL), 0);
  assert_int_equal(lp2p_noise_expiry(a.s), LP2P_TSTAMP_NEVER);
  assert_int_equal(lp2p_noise_handle_expiry(a.s, LP2P_TSTAMP_NEVER), 0);
  lp2p_noise_del(a.s);
  st.handshake_timeout = 10;
  st.now = LP2P_TSTAMP_NEVER - 5;
  assert_int_equal(side_open(&a, &st, NULL), 0);
  assert_int_equal(lp2p_noise_expiry(a.s), LP2P_TSTAMP_NEVER);
  side_free(&a);
  /* once established, nothing expires */
  established(&a, &b);
  assert_int_equal(lp2p_noise_handle_expiry(a.s, LP2P_TSTAMP_NEVER - 1), 0);
  assert_true(lp2p_noise_is_established(a.s));
  side_free(&a);
  side_free(&b);
}

static void noise_nonce_exhaustion(void **state) {
  (void)state;
  side a, b;
  established(&a, &b);
  lp2p_noise_set_nonces(a.s, UINT64_MAX - 1, 0);
  lp2p_noise_set_nonces(b.s, 0, UINT64_MAX - 1);
  assert_int_equal(stream(&a, &b, 10, WHOLE, NULL), 0);
  /* a's next send would use the reserved nonce */
  assert_int_equal(lp2p_noise_write(a.s, (const uint8_t *)"x", 1),
                   LP2P_ERR_STATE);
  expect_failed(&a);
  side_free(&a);
  side_free(&b);
  /* and b cannot receive past it */
  established(&a, &b);
  lp2p_noise_set_nonces(b.s, 0, UINT64_MAX);
  assert_int_equal(stream(&a, &b, 10, WHOLE, NULL), LP2P_ERR_STATE);
  expect_failed(&b);
  side_free(&a);
  side_free(&b);
}

/* max_recv_buffer bounds decrypted-and-unread plus staged bytes. */
static void noise_recv_room(void **state) {
  (void)state;
  side a, b;
  const uint8_t *p;
  lp2p_noise_settings st;
  uint8_t *big = calloc(1, LP2P_NOISE_MAX_PLAINTEXT + 10), copy[64];
  side_init(&a, LP2P_KEY_ED25519, 1, NULL);
  side_init(&b, LP2P_KEY_ED25519, 2, NULL);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  assert_int_equal(side_open(&a, &st, NULL), 0);
  settings_for(&b, LP2P_NOISE_RESPONDER, &st);
  st.max_recv_buffer = 2 + LP2P_NOISE_MAX_MESSAGE;
  assert_int_equal(side_open(&b, &st, NULL), 0);
  assert_int_equal(handshake(&a, &b, WHOLE, NULL), 0);
  assert_int_equal(lp2p_noise_write(a.s, big, LP2P_NOISE_MAX_PLAINTEXT + 10),
                   LP2P_NOISE_MAX_PLAINTEXT + 10);
  ssize_t n = lp2p_noise_pull(a.s, &p, NOW);
  size_t first = 2 + LP2P_NOISE_MAX_MESSAGE;
  assert_int_equal(n, first + 2 + 10 + 16);
  assert_int_equal(lp2p_noise_recv_room(b.s), first);
  assert_int_equal(lp2p_noise_recv(b.s, p, first + 1, NOW), LP2P_ERR_TOO_LARGE);
  /* refused without harm: half, then the rest of the first frame */
  assert_int_equal(lp2p_noise_recv(b.s, p, 1000, NOW), 0);
  assert_int_equal(lp2p_noise_recv_room(b.s), first - 1000);
  assert_int_equal(lp2p_noise_recv(b.s, p + 1000, first - 1000, NOW), 0);
  assert_int_equal(lp2p_noise_recv_room(b.s), first - LP2P_NOISE_MAX_PLAINTEXT);
  memcpy(copy, p + first, 28);
  assert_int_equal(lp2p_noise_recv(b.s, copy, 28, NOW), LP2P_ERR_TOO_LARGE);
  assert_int_equal(drain(&b), 0);
  assert_int_equal(lp2p_noise_recv_room(b.s), first);
  assert_int_equal(lp2p_noise_recv(b.s, copy, 28, NOW), 0);
  assert_int_equal(drain(&b), 0);
  assert_int_equal(b.got.len, LP2P_NOISE_MAX_PLAINTEXT + 10);
  free(big);
  side_free(&a);
  side_free(&b);
}

/* max_send_buffer bounds the ciphertext waiting for pull. */
static void noise_send_buffer(void **state) {
  (void)state;
  side a, b;
  lp2p_noise_settings st;
  const uint8_t *p;
  uint8_t data[300];
  memset(data, 7, sizeof(data));
  side_init(&a, LP2P_KEY_ED25519, 1, NULL);
  side_init(&b, LP2P_KEY_ED25519, 2, NULL);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  st.max_send_buffer = 100;
  assert_int_equal(side_open(&a, &st, NULL), 0);
  settings_for(&b, LP2P_NOISE_RESPONDER, &st);
  st.max_send_buffer = 2 + LP2P_NOISE_TAG_LEN + 1; /* the minimum */
  assert_int_equal(side_open(&b, &st, NULL), 0);
  assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), 0);
  assert_int_equal(transfer(&b, &a, WHOLE, NULL, 0), 0);
  /* message 3 waits to be pulled and fills the buffer */
  assert_int_equal(lp2p_noise_write(a.s, data, sizeof(data)), 0);
  assert_int_equal(transfer(&a, &b, WHOLE, NULL, 0), 0);
  assert_int_equal(lp2p_noise_write(a.s, data, sizeof(data)), 100 - 18);
  assert_int_equal(lp2p_noise_write(a.s, data, sizeof(data)), 0);
  assert_int_equal(lp2p_noise_pull(a.s, &p, NOW), 100);
  assert_int_equal(lp2p_noise_write(a.s, data, 10), 10);
  assert_int_equal(lp2p_noise_write(a.s, data, 1), 1);
  /* one byte per frame at the minimum */
  assert_int_equal(lp2p_noise_write(b.s, data, 5), 1);
  assert_int_equal(lp2p_noise_write(b.s, data, 5), 0);
  assert_int_equal(lp2p_noise_pull(b.s, &p, NOW), 19);
  side_free(&a);
  side_free(&b);
}

/* ---- allocation failures ------------------------------------------------ */

static int new_under(const lp2p_mem *mem, void *arg) {
  side sd;
  lp2p_noise_settings st;
  side_init(&sd, LP2P_KEY_SECP256K1, 3, mem);
  settings_for(&sd, *(lp2p_noise_role *)arg, &st);
  int rv = side_open(&sd, &st, mem);
  side_free(&sd);
  return rv;
}

static int session_under(const lp2p_mem *mem, void *arg) {
  side a, b;
  lp2p_noise_settings st;
  lp2p_pcg g;
  int rv;
  (void)arg;
  lp2p_pcg_seed(&g, 3, 3);
  side_init(&a, LP2P_KEY_ED25519, 1, mem);
  side_init(&b, LP2P_KEY_ED25519, 2, mem);
  settings_for(&a, LP2P_NOISE_INITIATOR, &st);
  st.remote_peer_id = &b.id;
  rv = side_open(&a, &st, mem);
  settings_for(&b, LP2P_NOISE_RESPONDER, &st);
  if (rv == 0) {
    rv = side_open(&b, &st, mem);
  }
  if (rv == 0) {
    rv = handshake(&a, &b, RANDOM, &g);
  }
  if (rv == 0) {
    rv = stream(&a, &b, 100000, RANDOM, &g);
  }
  if (rv == 0) {
    rv = stream(&b, &a, 1000, WHOLE, &g);
  }
  side_free(&a);
  side_free(&b);
  return rv;
}

static void noise_allocation_failures(void **state) {
  (void)state;
  lp2p_noise_role roles[2] = {LP2P_NOISE_INITIATOR, LP2P_NOISE_RESPONDER};
  failmem_sweep(new_under, &roles[0]);
  failmem_sweep(new_under, &roles[1]);
  failmem_sweep(session_under, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(noise_vectors),
      cmocka_unit_test(noise_raw_errors),
      cmocka_unit_test(noise_handshake_all_ways),
      cmocka_unit_test(noise_early_writes),
      cmocka_unit_test(noise_without_callbacks),
      cmocka_unit_test(noise_muxer_negotiation),
      cmocka_unit_test(noise_settings_checked),
      cmocka_unit_test(noise_state_rules),
      cmocka_unit_test(noise_wrong_peer_id),
      cmocka_unit_test(noise_callback_refuses),
      cmocka_unit_test(noise_bad_payloads),
      cmocka_unit_test(noise_remote_extensions),
      cmocka_unit_test(noise_responder_checks_msg3),
      cmocka_unit_test(noise_tampered_handshake),
      cmocka_unit_test(noise_tampered_transport),
      cmocka_unit_test(noise_frame_limits),
      cmocka_unit_test(noise_short_handshake_messages),
      cmocka_unit_test(noise_low_order_keys),
      cmocka_unit_test(noise_timeout),
      cmocka_unit_test(noise_nonce_exhaustion),
      cmocka_unit_test(noise_recv_room),
      cmocka_unit_test(noise_send_buffer),
      cmocka_unit_test(noise_allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
