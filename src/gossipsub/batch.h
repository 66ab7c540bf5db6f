/* Publishing, shared by lp2p_router_publish (router.c) and batches
 * (batch.c), and the rarest-first order of a batch in the peer queues
 * (queue.c asks batch.c). */
#ifndef LP2P_GOSSIPSUB_BATCH_H
#define LP2P_GOSSIPSUB_BATCH_H

#include "message.h"
#include "peer.h"
#include "queue.h"
#include "topic.h"

/* One publication of ours on its way: built, checked and given its
 * targets (each with queue room) by lp2p_gs_publish_prepare, queued by
 * the caller, completed by lp2p_gs_publish_finish. */
typedef struct gs_publication {
  gs_topic *t; /* set even when preparing fails, NULL only without memory */
  gs_msg *m;   /* NULL once prepared in vain or finished */
  gs_peers to;
  int queued; /* targets that took it */
} gs_publication;

/* Builds, signs and ids `data` on `topic`, refuses an id already seen,
 * and chooses its targets with room for `slots` more messages each.
 * Returns 0 or what lp2p_router_publish returns for it (then only p->t
 * is kept). */
int lp2p_gs_publish_prepare(lp2p_router *r, const uint8_t *topic,
                            size_t topic_len, const uint8_t *data, size_t len,
                            size_t slots, gs_publication *p, lp2p_tstamp now);
/* Traces the publication (as go: before its queue drops). */
void lp2p_gs_publish_announce(lp2p_router *r, const gs_publication *p);
/* Announces and queues the message to all its targets, counted in
 * p->queued. */
void lp2p_gs_publish_queue(lp2p_router *r, gs_publication *p);
/* Completes a queued publication: seen, cached, delivered to us, id
 * written; or, no target having taken it, undone (LP2P_ERR_NOT_SENT).
 * Returns what lp2p_router_publish returns. The topic is left to the
 * caller (lp2p_gs_topic_maybe_free). */
int lp2p_gs_publish_finish(lp2p_router *r, gs_publication *p, uint8_t *id,
                           size_t *id_len, lp2p_tstamp now);

/* Of the batch messages at the head of `q` (a run of them, at most
 * max_batch), moves the one with the fewest copies pulled so far, over
 * all peers, to the head (ties: the earlier in batch order). */
void lp2p_gs_batch_rarest_first(const lp2p_router *r, gs_queue *q);

#endif
