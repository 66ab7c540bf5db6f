/* Giving freed memory back to the system (issue 16). After a flood, the
 * buffers peers made us allocate are freed, but glibc keeps free pages in
 * the middle of its heaps resident: a host went from 2.9 MB to 73 MB and
 * stayed there. Once a second, when the resident memory the heaps do
 * not use grew much since the last trim, they are trimmed (malloc_trim):
 * a node at rest after a flood, or after the message cache let a burst
 * go, returns to its size before, and a busy node is left alone. The
 * timer keeps no loop alive. Without glibc the allocator's own policy
 * stands. */
#include "host/internal.h"

#ifdef LP2P_HAVE_MALLOC_TRIM
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>
#endif

#define RELEASE_INTERVAL_MS 1000u
/* Resident memory the heaps hold free, grown since the last trim, worth a
 * trim: at least 1 MiB, and a quarter of what is in use (below that, what
 * the allocator keeps is its working set). During a flood that resets
 * many streams, holes of a quarter of the budgets appeared between
 * trims. */
#define RELEASE_MIN_GROWTH ((size_t)1 << 20)
/* QUIC handshakes since the last trim that are worth one by themselves:
 * each freed its TLS session (~30 KiB) once done, in holes between the
 * connections' state. After 1,000 at once the holes were an eighth of
 * what is in use (under the quarter above), and resident less in use
 * hides them: ngtcp2's untouched pool pages count as in use, not
 * resident (src/net/quic.c). 64 of them: ~2 MiB. */
#define RELEASE_QUIC_HANDSHAKES 64u

bool lp2p__host_release_due(size_t growth, size_t in_use,
                            size_t quic_handshakes) {
  if (quic_handshakes >= RELEASE_QUIC_HANDSHAKES) {
    return true;
  }
  return growth >= RELEASE_MIN_GROWTH && growth >= in_use / 4;
}

static void on_release_timer_closed(uv_handle_t *handle) {
  lp2p_host *h = handle->data;
  h->open_handles--;
  lp2p__host_maybe_done(h);
}

void lp2p__host_release_close(lp2p_host *h) {
  uv_close((uv_handle_t *)&h->release_timer, on_release_timer_closed);
}

#ifdef LP2P_HAVE_MALLOC_TRIM
/* The process's resident bytes, or 0 when unknown. */
static size_t resident(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, pages = 0;
  if (!f) {
    return 0;
  }
  int n = fscanf(f, "%lu %lu", &size, &pages);
  fclose(f);
  long page = sysconf(_SC_PAGESIZE);
  return n == 2 && page > 0 ? (size_t)pages * (size_t)page : 0;
}

/* Resident bytes beyond what the heaps have in use (code, libraries and
 * free heap pages), and what is in use. */
static size_t resident_excess(size_t *in_use) {
#ifdef LP2P_HAVE_MALLINFO2
  struct mallinfo2 mi = mallinfo2();
  size_t used = mi.uordblks + mi.hblkhd, rss = resident();
  *in_use = used;
  return rss > used ? rss - used : mi.fordblks;
#else
  *in_use = 0;
  return resident();
#endif
}

static void on_release_timer(uv_timer_t *t) {
  lp2p_host *h = t->data;
  size_t in_use, excess = resident_excess(&in_use);
  if (excess < h->release_base) {
    h->release_base = excess; /* the heap's pages were reused */
  }
  if (!lp2p__host_release_due(excess - h->release_base, in_use,
                              h->release_handshakes)) {
    return;
  }
  h->release_handshakes = 0;
  if (malloc_trim(0)) {
    h->stats.memory_trims++;
  }
  h->release_base = resident_excess(&in_use);
}
#endif

void lp2p__host_release_init(lp2p_host *h) {
  uv_timer_t *t = &h->release_timer;
  uv_timer_init(h->loop, t);
  t->data = h;
  h->open_handles++;
#ifdef LP2P_HAVE_MALLOC_TRIM
  size_t in_use;
  h->release_base = resident_excess(&in_use);
  uv_timer_start(t, on_release_timer, RELEASE_INTERVAL_MS, RELEASE_INTERVAL_MS);
  uv_unref((uv_handle_t *)t);
#endif
}
