#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

static int should_fail(failmem *f) {
  f->count++;
  if (f->fail_at &&
      (f->count == f->fail_at || (f->sticky && f->count > f->fail_at))) {
    f->failed = 1;
    return 1;
  }
  return 0;
}

static void *fm_malloc(size_t size, void *user) {
  failmem *f = user;
  if (should_fail(f)) {
    return NULL;
  }
  void *p = malloc(size);
  f->live += p != NULL;
  return p;
}

static void *fm_calloc(size_t n, size_t size, void *user) {
  failmem *f = user;
  if (should_fail(f)) {
    return NULL;
  }
  void *p = calloc(n, size);
  f->live += p != NULL;
  return p;
}

static void *fm_realloc(void *ptr, size_t size, void *user) {
  failmem *f = user;
  if (should_fail(f)) {
    return NULL;
  }
  void *p = realloc(ptr, size);
  f->live += p != NULL && ptr == NULL;
  return p;
}

static void fm_free(void *ptr, void *user) {
  failmem *f = user;
  f->live -= ptr != NULL;
  free(ptr);
}

void failmem_init(failmem *f, long fail_at) {
  memset(f, 0, sizeof(*f));
  f->mem.user = f;
  f->mem.malloc = fm_malloc;
  f->mem.calloc = fm_calloc;
  f->mem.realloc = fm_realloc;
  f->mem.free = fm_free;
  f->fail_at = fail_at;
}

void failmem_sweep(int (*fn)(const lp2p_mem *mem, void *arg), void *arg) {
  for (long n = 1;; n++) {
    failmem f;
    failmem_init(&f, n);
    int rv = fn(&f.mem, arg);
    assert_int_equal(f.live, 0);
    if (!f.failed) {
      assert_int_equal(rv, 0);
      /* at least one allocation must have been exercised */
      assert_true(n > 1);
      return;
    }
    if (rv != LP2P_ERR_NOMEM) {
      fail_msg("allocation %ld failed but the call returned %d", n, rv);
    }
  }
}

void failmem_sweep_lenient(int (*fn)(const lp2p_mem *mem, void *arg),
                           void *arg) {
  for (long n = 1;; n++) {
    failmem f;
    failmem_init(&f, n);
    int rv = fn(&f.mem, arg);
    assert_int_equal(f.live, 0);
    if (!f.failed) {
      assert_int_equal(rv, 0);
      return;
    }
    if (rv != 0 && rv != LP2P_ERR_NOMEM) {
      fail_msg("allocation %ld failed and the call returned %d", n, rv);
    }
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

size_t unhex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = strlen(hex) / 2;
  assert_true(n <= cap);
  for (size_t i = 0; i < n; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    assert_true(hi >= 0 && lo >= 0);
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return n;
}

void tohex(const uint8_t *in, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = 0;
}

void test_rand(uint8_t *dest, size_t len, void *user) {
  uint64_t zero = 0, *ctr = user ? user : &zero;
  for (size_t i = 0; i < len; i++) {
    *ctr = *ctr * 6364136223846793005u + 1442695040888963407u;
    dest[i] = (uint8_t)(*ctr >> 56);
  }
}

void test_loopback4(struct sockaddr_in *a, uint16_t port) {
  memset(a, 0, sizeof(*a));
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}
