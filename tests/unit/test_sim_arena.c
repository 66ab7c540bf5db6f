/* The simulator's allocator (src/sim/arena.c), through the hooks the
 * routers get. */
#include <stdlib.h>
#include <string.h>

#include "sim/arena.h"
#include "testutil.h"

static void *get(sim_arena *a, size_t n) {
  return a->mem.malloc(n, a->mem.user);
}

static void put(sim_arena *a, void *p) {
  a->mem.free(p, a->mem.user);
}

/* Blocks of every size up to one past the largest class are aligned like
 * malloc's, disjoint, and keep what is written to them. */
static void blocks_are_aligned_and_disjoint(void **state) {
  (void)state;
  sim_arena a;
  lp2p__sim_arena_init(&a, NULL);
  enum { N = 600 };
  static uint8_t *p[N];
  static size_t len[N];
  for (size_t i = 0; i < N; i++) {
    len[i] = i < 300 ? i : (i - 299) * 457; /* up to 137 KiB: some large */
    p[i] = get(&a, len[i]);
    assert_non_null(p[i]);
    assert_int_equal((uintptr_t)p[i] % 16, 0);
    memset(p[i], (int)(i & 0xff), len[i]);
  }
  for (size_t i = 0; i < N; i++) {
    for (size_t k = 0; k < len[i]; k++) {
      if (p[i][k] != (uint8_t)(i & 0xff)) {
        fail_msg("block %zu byte %zu overwritten", i, k);
      }
    }
    put(&a, p[i]);
  }
  lp2p__sim_arena_release(&a);
}

/* A freed block is the next one of its size class; NULL frees nothing. */
static void freed_blocks_are_reused(void **state) {
  (void)state;
  sim_arena a;
  lp2p__sim_arena_init(&a, NULL);
  void *x = get(&a, 1000);
  assert_non_null(get(&a, 1000));
  put(&a, x);
  put(&a, NULL);
  assert_ptr_equal(get(&a, 990), x);
  lp2p__sim_arena_release(&a);
}

static void calloc_and_realloc(void **state) {
  (void)state;
  sim_arena a;
  lp2p__sim_arena_init(&a, NULL);
  const lp2p_mem *m = &a.mem;
  uint8_t *z = get(&a, 64);
  memset(z, 0xab, 64);
  put(&a, z);
  z = m->calloc(4, 16, m->user); /* the same block, zeroed */
  for (size_t i = 0; i < 64; i++) {
    assert_int_equal(z[i], 0);
  }
  assert_null(m->calloc(SIZE_MAX / 2, 4, m->user));
  /* growing through the classes into a large block keeps the contents */
  uint8_t *r = m->realloc(NULL, 10, m->user);
  for (size_t n = 10; n <= 300000; n = n * 3 / 2) {
    memset(r, 0x5a, n);
    r = m->realloc(r, n * 3 / 2, m->user);
    assert_non_null(r);
    for (size_t k = 0; k < n; k++) {
      if (r[k] != 0x5a) {
        fail_msg("growing to %zu lost byte %zu", n * 3 / 2, k);
      }
    }
  }
  r = m->realloc(r, 100, m->user); /* a large block may shrink */
  assert_non_null(r);
  assert_null(m->realloc(r, 0, m->user)); /* frees, as glibc does */
  assert_null(get(&a, SIZE_MAX - 8));
  lp2p__sim_arena_release(&a);
}

/* More than a chunk of blocks: new chunks come and all go at release. */
static void many_chunks(void **state) {
  (void)state;
  sim_arena a;
  lp2p__sim_arena_init(&a, NULL);
  for (size_t i = 0; i < 3000; i++) {
    uint8_t *p = get(&a, 30000);
    assert_non_null(p);
    p[0] = p[29999] = 1;
  }
  assert_non_null(a.chunks);
  lp2p__sim_arena_release(&a);
  assert_null(a.chunks);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(blocks_are_aligned_and_disjoint),
      cmocka_unit_test(freed_blocks_are_reused),
      cmocka_unit_test(calloc_and_realloc),
      cmocka_unit_test(many_chunks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
