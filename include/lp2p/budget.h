/*
 * lp2p: memory budgets, after go-libp2p's resource manager. A budget is a
 * scope with a byte limit and a parent: stream -> connection -> peer ->
 * host. Memory a peer can make us hold (a stream's unread and unsent
 * bytes, as much as their buffers allocate; a connection's write queue)
 * is reserved before the buffer may grow; a reservation succeeds only
 * when every scope up to the root has room, and a refused one leaves every
 * scope as it was. What was refused is then not buffered: the stream is
 * reset, a write accepts less, a write queue waits. go-libp2p's yamux
 * reserves whole windows, so that there an idle stream costs 256 KiB;
 * here it costs nothing.
 *
 * Budgets are plain structures owned by their user (no allocation, no
 * locking: one thread, as everything in lp2p). A child must be released
 * to zero before its parent goes.
 *
 * Defaults, beside go-libp2p's (rcmgr DefaultLimits at its 128 MiB base;
 * go scales system and peer limits with the machine's memory):
 *   host (go: system)   512 MiB   (go 128 MiB + 1 GiB per GiB of RAM / 8)
 *   peer                 40 MiB   (go 64 MiB base)
 *   connection           40 MiB   (go 32 MiB; as much as its peer:
 *                                 64 echo streams of 1 MiB from go or js
 *                                 on one yamux connection need it)
 *   stream               16 MiB   (go 16 MiB; go-yamux's max window)
 * The budgets see buffers (what their rings allocate), not the streams'
 * bookkeeping nor the holes a flood leaves in the heap until it is
 * trimmed: measured under the attack suite's floods, those add up to a
 * third again, so a peer's 40 MiB keeps it within the +64 MiB the issue
 * allows one peer, whatever its number of connections and streams (with
 * go's 64 MiB, yamux floods reached +83 MiB).
 */
#ifndef LP2P_BUDGET_H
#define LP2P_BUDGET_H

#include <stdbool.h>

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default limits of a host, peer, connection and stream scope (the host
 * settings' max_memory, max_peer_memory and max_conn_memory). */
#define LP2P_BUDGET_HOST_DEFAULT (UINT64_C(512) << 20)
#define LP2P_BUDGET_PEER_DEFAULT (UINT64_C(40) << 20)
#define LP2P_BUDGET_CONN_DEFAULT (UINT64_C(40) << 20)
#define LP2P_BUDGET_STREAM_DEFAULT (UINT64_C(16) << 20)

/* One scope: its limit, what it and its children hold, what it refused. */
typedef struct lp2p_budget {
  struct lp2p_budget *parent; /* NULL: the root */
  uint64_t limit;             /* bytes this scope and its children may hold */
  uint64_t used;              /* bytes reserved in this scope and below */
  /* Reservations refused because this scope was full (counted in the
   * scope that refused). */
  uint64_t refused;
  /* Reservations refused that were asked of this scope or of one below
   * it; the root's is the host's total. */
  uint64_t refused_below;
  /* Optional: called once a release gives back room after this scope
   * refused a reservation or a writer waited on it (lp2p_budget_wait),
   * once per such episode, so that its owner can wake writers that other
   * scopes' releases made room for. It must not reserve or release. */
  void (*on_room)(struct lp2p_budget *b, void *user);
  void *on_room_user;
  bool waited; /* refused or waited on since the last on_room */
} lp2p_budget;

/* A scope of `limit` bytes under `parent` (NULL for a root), nothing
 * used. */
LP2P_API void lp2p_budget_init(lp2p_budget *b, lp2p_budget *parent,
                               uint64_t limit);
/* Reserves `n` bytes in `b` and every ancestor. Returns 0, or
 * LP2P_ERR_TOO_LARGE when some scope has no room for them: nothing is
 * reserved, the nearest full scope counts it in `refused`, and every scope
 * from `b` to the root in `refused_below`. `b` NULL: always 0. */
LP2P_API int lp2p_budget_reserve(lp2p_budget *b, uint64_t n);
/* Gives back `n` bytes reserved in `b` (and its ancestors). */
LP2P_API void lp2p_budget_release(lp2p_budget *b, uint64_t n);
/* A writer waits for room in `b`: the scope with the least room from `b`
 * up (the one that limits it) calls its on_room at its next release. */
LP2P_API void lp2p_budget_wait(lp2p_budget *b);
/* Bytes a reservation in `b` could take now (UINT64_MAX for NULL). */
LP2P_API uint64_t lp2p_budget_room(const lp2p_budget *b);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_BUDGET_H */
