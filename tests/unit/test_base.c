/* Base: errors, allocator hooks, buffers, the failing allocator itself,
 * PCG, hash map and heap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/heap.h"
#include "base/map.h"
#include "base/mem.h"
#include "base/pcg.h"
#include "testutil.h"

static void strerror_names_every_code(void **state) {
  (void)state;
  for (int e = LP2P_ERR_LAST; e < 0; e++) {
    assert_string_not_equal(lp2p_strerror(e), "unknown error");
  }
  assert_string_equal(lp2p_strerror(1), "unknown error");
  assert_string_equal(lp2p_strerror(LP2P_ERR_LAST - 1), "unknown error");
}

static void failmem_fails_exactly_the_nth(void **state) {
  (void)state;
  failmem f;
  failmem_init(&f, 3);
  void *a = lp2p_malloc(&f.mem, 8), *b = lp2p_calloc(&f.mem, 2, 8);
  void *c = lp2p_malloc(&f.mem, 8);
  assert_non_null(a);
  assert_non_null(b);
  assert_null(c);
  assert_true(f.failed);
  assert_int_equal(f.live, 2);
  void *d = lp2p_reallocarray(&f.mem, a, 4, 8);
  assert_non_null(d);
  lp2p_free(&f.mem, d);
  lp2p_free(&f.mem, b);
  assert_int_equal(f.live, 0);
}

static void reallocarray_rejects_overflow(void **state) {
  (void)state;
  assert_null(lp2p_reallocarray(NULL, NULL, SIZE_MAX / 2, 4));
}

static void buf_appends_and_truncates(void **state) {
  (void)state;
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  for (int i = 0; i < 1000; i++) {
    assert_int_equal(lp2p_buf_append(&b, "ab", 2), 0);
  }
  assert_int_equal(b.len, 2000);
  assert_int_equal(b.data[2000], 0);
  lp2p_buf_truncate(&b, 3);
  assert_string_equal((char *)b.data, "aba");
  lp2p_buf_truncate(&b, 10); /* no-op when longer */
  assert_int_equal(b.len, 3);
  assert_int_equal(lp2p_buf_append_str(&b, "xyz"), 0);
  assert_string_equal((char *)b.data, "abaxyz");
  assert_int_equal(lp2p_buf_reserve(&b, SIZE_MAX), LP2P_ERR_NOMEM);
  lp2p_buf_free(&b);
  assert_null(b.data);
  assert_int_equal(lp2p_buf_append(&b, "", 0), 0);
  lp2p_buf_free(&b);
}

static int build_buf(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_buf b;
  lp2p_buf_init(&b, mem);
  int rv = 0;
  for (int i = 0; rv == 0 && i < 100; i++) {
    rv = lp2p_buf_append(&b, "0123456789", 10);
  }
  if (rv == 0) {
    assert_int_equal(b.len, 1000);
  }
  lp2p_buf_free(&b);
  return rv;
}

static void buf_under_failing_allocator(void **state) {
  (void)state;
  failmem_sweep(build_buf, NULL);
}

static void buf_keeps_content_when_growth_fails(void **state) {
  (void)state;
  failmem f;
  failmem_init(&f, 2);
  lp2p_buf b;
  lp2p_buf_init(&b, &f.mem);
  assert_int_equal(lp2p_buf_append(&b, "abc", 3), 0);
  char big[200];
  memset(big, 'x', sizeof(big));
  assert_int_equal(lp2p_buf_append(&b, big, sizeof(big)), LP2P_ERR_NOMEM);
  assert_int_equal(b.len, 3);
  assert_memory_equal(b.data, "abc", 3);
  lp2p_buf_free(&b);
  assert_int_equal(f.live, 0);
}

static void pcg_reference_sequence(void **state) {
  (void)state;
  /* pcg32 demo output for seed 42, stream 54 (pcg-c's pcg32-demo) */
  static const uint32_t want[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                   0x83d2f293, 0xbfa4784b, 0xcbed606e};
  lp2p_pcg g;
  lp2p_pcg_seed(&g, 42, 54);
  for (int i = 0; i < 6; i++) {
    assert_int_equal(lp2p_pcg_u32(&g), want[i]);
  }
}

static void pcg_below_is_in_range_and_covers_it(void **state) {
  (void)state;
  lp2p_pcg g;
  lp2p_pcg_seed(&g, 1, 2);
  int seen[7] = {0};
  for (int i = 0; i < 7000; i++) {
    uint32_t r = lp2p_pcg_below(&g, 7);
    assert_true(r < 7);
    seen[r]++;
  }
  for (int i = 0; i < 7; i++) {
    assert_true(seen[i] > 800 && seen[i] < 1200);
  }
  assert_int_equal(lp2p_pcg_below(&g, 0), 0);
  double d = lp2p_pcg_double(&g);
  assert_true(d >= 0.0 && d < 1.0);
}

static void pcg_shuffle_is_a_permutation(void **state) {
  (void)state;
  lp2p_pcg g;
  uint64_t ctr = 5;
  lp2p_pcg_seed_from(&g, test_rand, &ctr);
  int a[50], sum = 0;
  for (int i = 0; i < 50; i++) {
    a[i] = i;
  }
  lp2p_pcg_shuffle(&g, a, 50, sizeof(int));
  int moved = 0;
  for (int i = 0; i < 50; i++) {
    sum += a[i];
    moved += a[i] != i;
  }
  assert_int_equal(sum, 49 * 50 / 2);
  assert_true(moved > 10);
}

static void map_put_get_remove_many(void **state) {
  (void)state;
  lp2p_map m;
  static char keys[2000][8];
  lp2p_map_init(&m, NULL, test_rand, NULL);
  for (int i = 0; i < 2000; i++) {
    int n = snprintf(keys[i], sizeof(keys[i]), "k%d", i);
    assert_int_equal(lp2p_map_put(&m, keys[i], (size_t)n, &keys[i]), 0);
  }
  assert_int_equal(m.count, 2000);
  for (int i = 0; i < 2000; i += 2) {
    assert_ptr_equal(lp2p_map_remove(&m, keys[i], strlen(keys[i])), &keys[i]);
  }
  for (int i = 0; i < 2000; i++) {
    void *v = lp2p_map_get(&m, keys[i], strlen(keys[i]));
    assert_ptr_equal(v, i % 2 ? (void *)&keys[i] : NULL);
  }
  assert_null(lp2p_map_remove(&m, "absent", 6));
  size_t it = 0, n = 0;
  while (lp2p_map_next(&m, &it)) {
    n++;
  }
  assert_int_equal(n, 1000);
  /* replacing keeps the count */
  assert_int_equal(lp2p_map_put(&m, keys[1], strlen(keys[1]), &n), 0);
  assert_ptr_equal(lp2p_map_get(&m, keys[1], strlen(keys[1])), &n);
  assert_int_equal(m.count, 1000);
  for (int i = 1; i < 2000; i += 2) {
    assert_non_null(lp2p_map_remove(&m, keys[i], strlen(keys[i])));
  }
  assert_int_equal(m.count, 0);
  assert_true(m.cap <= 32); /* memory is given back */
  lp2p_map_free(&m);
}

static bool key_is_multiple_of_3(void *value, void *arg) {
  int *calls = arg;
  (*calls)++;
  return strtol((const char *)value + 1, NULL, 10) % 3 == 0;
}

static void map_remove_if_drops_exactly_the_matching(void **state) {
  (void)state;
  lp2p_map m;
  static char keys[3000][8];
  int calls = 0;
  lp2p_map_init(&m, NULL, test_rand, NULL);
  for (int i = 0; i < 3000; i++) {
    int n = snprintf(keys[i], sizeof(keys[i]), "k%d", i);
    assert_int_equal(lp2p_map_put(&m, keys[i], (size_t)n, keys[i]), 0);
  }
  /* every entry is looked at, whatever the deletions shift over it */
  lp2p_map_remove_if(&m, key_is_multiple_of_3, &calls);
  assert_true(calls >= 3000);
  assert_int_equal(m.count, 2000);
  for (int i = 0; i < 3000; i++) {
    void *v = lp2p_map_get(&m, keys[i], strlen(keys[i]));
    assert_ptr_equal(v, i % 3 ? (void *)keys[i] : NULL);
  }
  size_t it = 0, n = 0;
  while (lp2p_map_next(&m, &it)) {
    n++;
  }
  assert_int_equal(n, 2000);
  lp2p_map_free(&m);
}

static int build_map(const lp2p_mem *mem, void *arg) {
  (void)arg;
  static const char *keys[] = {"a", "b", "c", "d", "e", "f", "g",
                               "h", "i", "j", "k", "l", "m", "n",
                               "o", "p", "q", "r", "s", "t"};
  lp2p_map m;
  int rv = 0;
  lp2p_map_init(&m, mem, test_rand, NULL);
  for (size_t i = 0; rv == 0 && i < 20; i++) {
    rv = lp2p_map_put(&m, keys[i], 1, (void *)keys[i]);
  }
  for (size_t i = 0; rv == 0 && i < 20; i++) {
    assert_ptr_equal(lp2p_map_get(&m, keys[i], 1), keys[i]);
  }
  lp2p_map_free(&m);
  return rv;
}

static void map_under_failing_allocator(void **state) {
  (void)state;
  failmem_sweep(build_map, NULL);
}

static void map_seed_changes_layout(void **state) {
  (void)state;
  /* two maps with different seeds place keys differently: the hash is
   * keyed, so a peer cannot precompute collisions */
  uint64_t s1 = 1, s2 = 2;
  lp2p_map a, b;
  lp2p_map_init(&a, NULL, test_rand, &s1);
  lp2p_map_init(&b, NULL, test_rand, &s2);
  assert_int_equal(lp2p_map_put(&a, "key", 3, &a), 0);
  assert_int_equal(lp2p_map_put(&b, "key", 3, &b), 0);
  size_t ia = 0, ib = 0;
  lp2p_map_entry *ea = lp2p_map_next(&a, &ia), *eb = lp2p_map_next(&b, &ib);
  assert_true(ea->hash != eb->hash);
  lp2p_map_free(&a);
  lp2p_map_free(&b);
}

typedef struct timer {
  lp2p_heap_item item;
  int id;
} timer;

static void heap_orders_removes_and_updates(void **state) {
  (void)state;
  lp2p_heap h;
  timer t[100];
  lp2p_pcg g;
  lp2p_pcg_seed(&g, 7, 7);
  lp2p_heap_init(&h, NULL);
  for (int i = 0; i < 100; i++) {
    lp2p_heap_item_init(&t[i].item);
    assert_false(lp2p_heap_contains(&t[i].item));
    t[i].item.key = lp2p_pcg_below(&g, 1000);
    t[i].id = i;
    assert_int_equal(lp2p_heap_push(&h, &t[i].item), 0);
  }
  for (int i = 0; i < 100; i += 3) {
    lp2p_heap_remove(&h, &t[i].item);
    assert_false(lp2p_heap_contains(&t[i].item));
  }
  lp2p_heap_update(&h, &t[1].item, 0);
  lp2p_heap_update(&h, &t[2].item, 5000);
  assert_ptr_equal(lp2p_heap_top(&h), &t[1].item);
  uint64_t last = 0;
  int n = 0;
  lp2p_heap_item *it;
  while ((it = lp2p_heap_pop(&h)) != NULL) {
    assert_true(it->key >= last);
    last = it->key;
    n++;
  }
  assert_int_equal(n, 100 - 34);
  assert_int_equal(last, 5000);
  lp2p_heap_free(&h);
}

static int build_heap(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_heap h;
  lp2p_heap_item items[40];
  int rv = 0;
  lp2p_heap_init(&h, mem);
  for (int i = 0; rv == 0 && i < 40; i++) {
    lp2p_heap_item_init(&items[i]);
    items[i].key = (uint64_t)(40 - i);
    rv = lp2p_heap_push(&h, &items[i]);
  }
  lp2p_heap_free(&h);
  return rv;
}

static void heap_under_failing_allocator(void **state) {
  (void)state;
  failmem_sweep(build_heap, NULL);
}

/* Resident pages of [p, p + n): mincore's count. */
static size_t resident_pages(const uint8_t *p, size_t n) {
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = (uintptr_t)p & ~(page - 1);
  size_t pages = ((uintptr_t)p + n - start + page - 1) / page;
  unsigned char vec[64];
  assert_true(pages <= sizeof(vec));
  assert_int_equal(mincore((void *)start, pages * page, vec), 0);
  size_t k = 0;
  for (size_t i = 0; i < pages; i++) {
    k += vec[i] & 1;
  }
  return k;
}

/* A released block's inside pages leave the resident set until written,
 * its edges (where malloc keeps its headers) stay, and the whole block
 * stays usable: how ngtcp2's pools keep their untouched tails free. */
static void released_pages_are_not_resident_until_written(void **state) {
  (void)state;
  size_t n = 48 * 1024; /* below malloc's mmap threshold: heap pages */
  uint8_t *p = malloc(n);
  assert_non_null(p);
  memset(p, 0xa5, n);
  size_t before = resident_pages(p, n);
  lp2p__mem_release_pages(p, n);
  size_t after = resident_pages(p, n);
  assert_true(before >= n / 4096);
  assert_true(after <= 2); /* the partial first and last pages */
  memset(p, 0x5a, n);
  assert_int_equal(p[0], 0x5a);
  assert_int_equal(p[n - 1], 0x5a);
  assert_true(resident_pages(p, n) >= n / 4096);
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(strerror_names_every_code),
      cmocka_unit_test(failmem_fails_exactly_the_nth),
      cmocka_unit_test(reallocarray_rejects_overflow),
      cmocka_unit_test(buf_appends_and_truncates),
      cmocka_unit_test(buf_under_failing_allocator),
      cmocka_unit_test(buf_keeps_content_when_growth_fails),
      cmocka_unit_test(pcg_reference_sequence),
      cmocka_unit_test(pcg_below_is_in_range_and_covers_it),
      cmocka_unit_test(pcg_shuffle_is_a_permutation),
      cmocka_unit_test(map_put_get_remove_many),
      cmocka_unit_test(map_remove_if_drops_exactly_the_matching),
      cmocka_unit_test(map_under_failing_allocator),
      cmocka_unit_test(map_seed_changes_layout),
      cmocka_unit_test(heap_orders_removes_and_updates),
      cmocka_unit_test(heap_under_failing_allocator),
      cmocka_unit_test(released_pages_are_not_resident_until_written),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
