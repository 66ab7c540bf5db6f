/* SHA-256 (FIPS 180-4) with the x86 SHA extensions, falling back to
 * libsodium where the CPU has none. The rounds follow Intel's "SHA
 * extensions" paper: the state is kept as the ABEF and CDGH halves the
 * sha256rnds2 instruction takes, four rounds per message vector. */
#include "crypto/sha256.h"

#include <sodium.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LP2P_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>
#endif

#ifdef LP2P_SHA_NI

#define SHA_NI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* One 64-byte block: 16 groups of four rounds. Group g's message words
 * are w[g % 4]; from group 1 on, sha256msg1 starts the schedule of the
 * words three groups ahead and, from group 3 on, sha256msg2 finishes
 * those of the next group. */
SHA_NI_TARGET static void block(__m128i *abef, __m128i *cdgh,
                                const uint8_t *p) {
  const __m128i bswap =
      _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i w[4];
  __m128i s0 = *abef;
  __m128i s1 = *cdgh;
  /* unrolled, w[] lives in registers */
#pragma GCC unroll 16
  for (int g = 0; g < 16; g++) {
    if (g < 4) {
      w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)),
                              bswap);
    }
    __m128i cur = w[g & 3];
    __m128i m =
        _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)(K + 4 * g)));
    s1 = _mm_sha256rnds2_epu32(s1, s0, m);
    if (g >= 3 && g < 15) {
      __m128i *next = &w[(g + 1) & 3];
      *next = _mm_add_epi32(*next, _mm_alignr_epi8(cur, w[(g + 3) & 3], 4));
      *next = _mm_sha256msg2_epu32(*next, cur);
    }
    s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0e));
    if (g >= 1 && g <= 12) {
      w[(g + 3) & 3] = _mm_sha256msg1_epu32(w[(g + 3) & 3], cur);
    }
  }
  *abef = _mm_add_epi32(*abef, s0);
  *cdgh = _mm_add_epi32(*cdgh, s1);
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* The last one or two blocks: the rest of the data, 0x80, zeros and the
 * length in bits, big endian. */
static size_t final_blocks(uint8_t tail[128], const uint8_t *rest, size_t n,
                           size_t total) {
  size_t blocks = n + 9 <= 64 ? 1 : 2;
  memset(tail, 0, 128);
  memcpy(tail, rest, n);
  tail[n] = 0x80;
  uint64_t bits = (uint64_t)total * 8;
  uint8_t *end = tail + 64 * blocks - 8;
  put_be32(end, (uint32_t)(bits >> 32));
  put_be32(end + 4, (uint32_t)bits);
  return blocks;
}

SHA_NI_TARGET static void sha256_ni(uint8_t out[LP2P_SHA256_LEN],
                                    const uint8_t *data, size_t len) {
  /* H0 as ABEF and CDGH (lanes high to low) */
  __m128i dcba = _mm_loadu_si128((const __m128i *)H0);
  __m128i hgfe = _mm_loadu_si128((const __m128i *)(H0 + 4));
  __m128i cdab = _mm_shuffle_epi32(dcba, 0xb1);
  __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1b);
  __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
  __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);
  size_t full = len / 64;
  for (size_t i = 0; i < full; i++) {
    block(&abef, &cdgh, data + 64 * i);
  }
  uint8_t tail[128];
  size_t blocks = final_blocks(tail, data + 64 * full, len % 64, len);
  for (size_t i = 0; i < blocks; i++) {
    block(&abef, &cdgh, tail + 64 * i);
  }
  /* back to the words a..h, then big endian */
  __m128i feba = _mm_shuffle_epi32(abef, 0x1b);
  __m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1);
  uint32_t st[8];
  _mm_storeu_si128((__m128i *)st, _mm_blend_epi16(feba, dchg, 0xf0));
  _mm_storeu_si128((__m128i *)(st + 4), _mm_alignr_epi8(dchg, feba, 8));
  for (int i = 0; i < 8; i++) {
    put_be32(out + 4 * i, st[i]);
  }
}

/* cpuid leaves 1 and 7: SSSE3, SSE4.1 and SHA. A cpuid is a VM exit on
 * a virtual machine, so the answer is kept: 0 unknown, 1 no, 2 yes. */
static int detect(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) ||
      !(c & bit_SSE4_1)) {
    return 1;
  }
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_SHA)) {
    return 1;
  }
  return 2;
}

int lp2p__sha256_accelerated(void) {
  static atomic_int known;
  int v = atomic_load_explicit(&known, memory_order_relaxed);
  if (v == 0) {
    v = detect();
    atomic_store_explicit(&known, v, memory_order_relaxed);
  }
  return v == 2;
}

#else

int lp2p__sha256_accelerated(void) {
  return 0;
}

#endif

void lp2p__sha256(uint8_t out[LP2P_SHA256_LEN], const uint8_t *data,
                  size_t len) {
#ifdef LP2P_SHA_NI
  if (lp2p__sha256_accelerated()) {
    sha256_ni(out, data, len);
    return;
  }
#endif
  crypto_hash_sha256(out, data, len);
}
