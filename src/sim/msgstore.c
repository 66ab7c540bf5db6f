#include "sim/msgstore.h"

#include <stddef.h>
#include <string.h>

#include "base/mem.h"

typedef struct sim_body {
  uint64_t key;
  uint32_t refs;
  uint32_t len;
  uint8_t bytes[];
} sim_body;

/* A fast unkeyed hash: every hit is compared byte for byte, so a clash
 * never yields a wrong body; the body that clashes with a held one is
 * not interned (its router keeps its own copy, an event its bytes). Of
 * a long body it reads the first and last 128 bytes and a word of every
 * 64 between: hashing every byte was 5% of a run, and bodies that differ
 * only between the sampled words are rare enough to cost copies. */
static uint64_t mix(uint64_t h, uint64_t w) {
  h = (h ^ w) * UINT64_C(0x9e3779b97f4a7c15);
  return h ^ (h >> 29);
}

#define HASH_EDGE 128
#define HASH_STRIDE 64

static uint64_t mix_words(uint64_t h, const uint8_t *p, size_t len,
                          size_t stride) {
  uint64_t w;
  size_t i = 0;
  for (; i + 8 <= len; i += stride) {
    memcpy(&w, p + i, 8);
    h = mix(h, w);
  }
  if (stride == 8 && i < len) {
    w = 0;
    memcpy(&w, p + i, len - i);
    h = mix(h, w);
  }
  return h;
}

static uint64_t content_hash(const uint8_t *p, size_t len) {
  uint64_t h = mix(0, len);
  if (len <= 2 * HASH_EDGE) {
    h = mix_words(h, p, len, 8);
  } else {
    h = mix_words(h, p, HASH_EDGE, 8);
    h = mix_words(h, p + HASH_EDGE, len - 2 * HASH_EDGE, HASH_STRIDE);
    h = mix_words(h, p + len - HASH_EDGE, HASH_EDGE, 8);
  }
  return h ? h : 1; /* 0 marks a free slot */
}

static const uint8_t *intern_hook(void *user, const uint8_t *body, size_t len) {
  return lp2p__sim_msgstore_intern(user, body, len);
}

static void release_hook(void *user, const uint8_t *body, size_t len) {
  (void)len;
  lp2p__sim_msgstore_release(user, body);
}

void lp2p__sim_msgstore_init(sim_msgstore *st, const lp2p_mem *mem) {
  memset(st, 0, sizeof(*st));
  st->mem = mem;
  st->hooks = (lp2p__msg_store){intern_hook, release_hook, st};
  lp2p_u64map_init(&st->index, mem);
}

void lp2p__sim_msgstore_free(sim_msgstore *st) {
  lp2p_u64map_free(&st->index);
}

const uint8_t *lp2p__sim_msgstore_intern(sim_msgstore *st, const uint8_t *body,
                                         size_t len) {
  uint64_t key = content_hash(body, len);
  sim_body *b = lp2p_u64map_get(&st->index, key);
  st->interned++;
  if (b) {
    if (b->len != len || memcmp(b->bytes, body, len) != 0) {
      return NULL; /* a clash: rare enough to cost only a copy */
    }
    st->shared++;
    b->refs++;
    return b->bytes;
  }
  if (len > UINT32_MAX) {
    return NULL;
  }
  b = lp2p_malloc(st->mem, sizeof(*b) + len);
  if (!b) {
    return NULL;
  }
  *b = (sim_body){key, 1, (uint32_t)len};
  memcpy(b->bytes, body, len);
  if (lp2p_u64map_put(&st->index, key, b) != 0) {
    lp2p_free(st->mem, b);
    return NULL;
  }
  st->bodies++;
  return b->bytes;
}

void lp2p__sim_msgstore_release(sim_msgstore *st, const uint8_t *shared) {
  sim_body *b = (sim_body *)(void *)(shared - offsetof(sim_body, bytes));
  if (--b->refs > 0) {
    return;
  }
  lp2p_u64map_remove(&st->index, b->key);
  st->bodies--;
  lp2p_free(st->mem, b);
}
