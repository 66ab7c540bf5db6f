#include "base/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static void *libc_malloc(size_t size, void *user) {
  (void)user;
  return malloc(size);
}

static void libc_free(void *ptr, void *user) {
  (void)user;
  free(ptr);
}

static void *libc_calloc(size_t nmemb, size_t size, void *user) {
  (void)user;
  return calloc(nmemb, size);
}

static void *libc_realloc(void *ptr, size_t size, void *user) {
  (void)user;
  return realloc(ptr, size);
}

static const lp2p_mem libc_mem = {NULL, libc_malloc, libc_free, libc_calloc,
                                  libc_realloc};

const lp2p_mem *lp2p_mem_default(void) {
  return &libc_mem;
}

const lp2p_mem *lp2p_mem_or_default(const lp2p_mem *mem) {
  return mem ? mem : &libc_mem;
}

void *lp2p_malloc(const lp2p_mem *mem, size_t size) {
  mem = lp2p_mem_or_default(mem);
  return mem->malloc(size ? size : 1, mem->user);
}

void *lp2p_calloc(const lp2p_mem *mem, size_t nmemb, size_t size) {
  mem = lp2p_mem_or_default(mem);
  if (nmemb == 0 || size == 0) {
    nmemb = size = 1;
  }
  return mem->calloc(nmemb, size, mem->user);
}

void *lp2p_reallocarray(const lp2p_mem *mem, void *ptr, size_t nmemb,
                        size_t size) {
  mem = lp2p_mem_or_default(mem);
  if (size != 0 && nmemb > SIZE_MAX / size) {
    return NULL;
  }
  size_t total = nmemb * size;
  return mem->realloc(ptr, total ? total : 1, mem->user);
}

void lp2p_free(const lp2p_mem *mem, void *ptr) {
  if (ptr) {
    mem = lp2p_mem_or_default(mem);
    mem->free(ptr, mem->user);
  }
}

void lp2p__mem_release_pages(void *ptr, size_t size) {
  static uintptr_t page;
  if (page == 0) {
    long n = sysconf(_SC_PAGESIZE);
    page = n > 0 ? (uintptr_t)n : 4096u;
  }
  /* the inside pages only: malloc's headers sit before and after */
  uintptr_t start = ((uintptr_t)ptr + page - 1) & ~(page - 1);
  uintptr_t end = ((uintptr_t)ptr + size) & ~(page - 1);
  if (end > start) {
    (void)madvise((void *)start, end - start, MADV_DONTNEED);
  }
}
