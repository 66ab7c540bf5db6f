/* Giving freed memory back to the system (issue 16). After a flood, the
 * buffers peers made us allocate are freed, but glibc keeps free pages in
 * the middle of its heaps resident: a host went from 2.9 MB to 73 MB and
 * stayed there. Once a second, when the heaps hold much free memory
 * compared with what is in use, they are trimmed (malloc_trim): a node at
 * rest after a flood, or after the message cache let a burst go, returns
 * to its size before, and a busy node is left alone. The timer keeps no
 * loop alive. Without glibc the allocator's own policy stands. */
#include "host/internal.h"

#ifdef LP2P_HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

#define RELEASE_INTERVAL_MS 1000u
/* Free bytes in the heaps worth a trim, and at least half of those in
 * use: below that, what the allocator keeps is its working set. */
#define RELEASE_MIN_FREE ((size_t)4 << 20)

static void on_release_timer_closed(uv_handle_t *handle) {
  lp2p_host *h = handle->data;
  h->open_handles--;
  host_maybe_done(h);
}

void host_release_close(lp2p_host *h) {
  uv_close((uv_handle_t *)&h->release_timer, on_release_timer_closed);
}

#ifdef LP2P_HAVE_MALLOC_TRIM
static bool worth_trimming(void) {
#ifdef LP2P_HAVE_MALLINFO2
  struct mallinfo2 mi = mallinfo2();
  return mi.fordblks >= RELEASE_MIN_FREE && mi.fordblks >= mi.uordblks / 2;
#else
  return true;
#endif
}

static void on_release_timer(uv_timer_t *t) {
  lp2p_host *h = t->data;
  if (worth_trimming() && malloc_trim(0)) {
    h->stats.memory_trims++;
  }
}
#endif

void host_release_init(lp2p_host *h) {
  uv_timer_t *t = &h->release_timer;
  uv_timer_init(h->loop, t);
  t->data = h;
  h->open_handles++;
#ifdef LP2P_HAVE_MALLOC_TRIM
  uv_timer_start(t, on_release_timer, RELEASE_INTERVAL_MS, RELEASE_INTERVAL_MS);
  uv_unref((uv_handle_t *)t);
#endif
}
