#include "sim/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_OFF 1
#endif
#endif
#ifndef ARENA_OFF
#define ARENA_OFF 0
#endif

#define HUGE_PAGE ((size_t)2 << 20)
#define CHUNK ((size_t)32 << 20)
#define HEADER 16 /* keeps blocks 16-byte aligned, as malloc's are */
#define LARGE UINT32_MAX

typedef struct sim_chunk {
  struct sim_chunk *next;
  void *map;
  size_t len;
} sim_chunk;

/* Classes: 16-byte steps up to 128 bytes, then four per power of two
 * (at most 25% rounding), up to 128 KiB. Larger blocks come from malloc. */
static size_t class_size(uint32_t c) {
  if (c < 8) {
    return 16 * ((size_t)c + 1);
  }
  size_t pow = (size_t)128 << ((c - 8) / 4);
  return pow + (pow / 4) * ((c - 8) % 4 + 1);
}

static uint32_t class_of(size_t size) {
  if (size <= 128) {
    return size ? (uint32_t)((size - 1) / 16) : 0;
  }
  /* size in (pow, 2 pow]: which quarter step of pow covers it */
  uint32_t log = 63 - (uint32_t)__builtin_clzll((unsigned long long)size - 1);
  size_t pow = (size_t)1 << log, step = pow / 4;
  size_t c = 8 + (log - 7) * 4 + (size - pow + step - 1) / step - 1;
  return c < SIM_ARENA_CLASSES ? (uint32_t)c : LARGE;
}

static uint32_t *header(void *p) {
  return (uint32_t *)((uint8_t *)p - HEADER);
}

/* A chunk's memory: mapped from the kernel, or from the backing hooks
 * (whose blocks the kernel maps as well at this size). */
static void *chunk_get(const sim_arena *a, size_t len) {
  if (a->backing) {
    return lp2p_malloc(a->backing, len);
  }
  void *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return map == MAP_FAILED ? NULL : map;
}

static void chunk_put(const sim_arena *a, void *map, size_t len) {
  if (a->backing) {
    lp2p_free(a->backing, map);
  } else {
    munmap(map, len);
  }
}

static int new_chunk(sim_arena *a) {
  size_t len = CHUNK + HUGE_PAGE;
  void *map = chunk_get(a, len);
  if (!map) {
    return -1;
  }
  /* align to a huge page so that the whole chunk can be backed by them */
  uintptr_t start = ((uintptr_t)map + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
#ifdef MADV_HUGEPAGE
  (void)madvise((void *)start, CHUNK, MADV_HUGEPAGE); /* a hint */
#endif
  sim_chunk *ch = map; /* the bookkeeping lives in the alignment slack */
  if (start - (uintptr_t)map < sizeof(*ch)) {
    ch = (sim_chunk *)(start + CHUNK); /* too little before: the tail */
  }
  ch->next = a->chunks;
  ch->map = map;
  ch->len = len;
  a->chunks = ch;
  a->bump = (uint8_t *)start;
  a->end = a->bump + CHUNK;
  return 0;
}

static void *arena_malloc(size_t size, void *user) {
  sim_arena *a = user;
  uint32_t c = class_of(size);
  uint8_t *p;
  if (c == LARGE) {
    if (size > SIZE_MAX - HEADER ||
        !(p = lp2p_malloc(a->backing, size + HEADER))) {
      return NULL;
    }
  } else if (a->free[c]) {
    p = (uint8_t *)a->free[c] - HEADER;
    a->free[c] = *(void **)a->free[c];
  } else {
    size_t need = HEADER + class_size(c);
    if ((size_t)(a->end - a->bump) < need && new_chunk(a) != 0) {
      return NULL;
    }
    p = a->bump;
    a->bump += need;
  }
  *(uint32_t *)p = c;
  return p + HEADER;
}

static void arena_free(void *ptr, void *user) {
  sim_arena *a = user;
  if (!ptr) {
    return;
  }
  uint32_t c = *header(ptr);
  if (c == LARGE) {
    lp2p_free(a->backing, header(ptr));
    return;
  }
  *(void **)ptr = a->free[c];
  a->free[c] = ptr;
}

static void *arena_calloc(size_t n, size_t size, void *user) {
  if (size && n > SIZE_MAX / size) {
    return NULL;
  }
  void *p = arena_malloc(n * size, user);
  if (p) {
    memset(p, 0, n * size);
  }
  return p;
}

static void *arena_realloc(void *ptr, size_t size, void *user) {
  sim_arena *a = user;
  if (!ptr) {
    return arena_malloc(size, user);
  }
  if (size == 0) {
    arena_free(ptr, user);
    return NULL;
  }
  uint32_t c = *header(ptr);
  if (c == LARGE) {
    uint8_t *p =
        size <= SIZE_MAX - HEADER
            ? lp2p_reallocarray(a->backing, header(ptr), 1, size + HEADER)
            : NULL;
    return p ? p + HEADER : NULL;
  }
  if (size <= class_size(c)) {
    return ptr;
  }
  void *p = arena_malloc(size, user);
  if (p) {
    memcpy(p, ptr, class_size(c));
    arena_free(ptr, user);
  }
  return p;
}

void lp2p__sim_arena_init(sim_arena *a, const lp2p_mem *backing) {
  memset(a, 0, sizeof(*a));
  a->mem = (lp2p_mem){a, arena_malloc, arena_free, arena_calloc, arena_realloc};
  a->backing = backing;
}

void lp2p__sim_arena_release(sim_arena *a) {
  while (a->chunks) {
    sim_chunk *ch = a->chunks;
    a->chunks = ch->next;
    chunk_put(a, ch->map, ch->len);
  }
  lp2p__sim_arena_init(a, a->backing);
}

const lp2p_mem *lp2p__sim_arena_mem(const sim_arena *a) {
  return ARENA_OFF ? a->backing : &a->mem;
}
