/* Receiving, validating and forwarding messages (relay.c). */
#ifndef LP2P_GOSSIPSUB_RELAY_H
#define LP2P_GOSSIPSUB_RELAY_H

#include "lp2p/gossipsub.h"

typedef struct lp2p_router_peer gs_peer;
typedef struct gs_topic gs_topic;
typedef struct gs_msg gs_msg;
typedef struct gs_seen gs_seen;

/* Handles the messages of the RPC just decoded, and sends the IDONTWANTs
 * they call for. */
void lp2p_gs_handle_messages(lp2p_router *r, gs_peer *from, lp2p_tstamp now);
void lp2p_gs_idw_free(lp2p_router *r);
/* Completes validation of `m` (seen entry `e`, from `from`). */
void lp2p_gs_validation_done(lp2p_router *r, gs_msg *m, gs_seen *e,
                             const lp2p_peer_id *from, lp2p_validation res,
                             lp2p_tstamp now);
/* Queues `m` to the peers that should get it, except `from` (serial) and
 * the peers `e` says sent it too; returns how many. */
size_t lp2p_gs_forward(lp2p_router *r, gs_msg *m, gs_topic *t, uint32_t from,
                       const gs_seen *e);

#endif
