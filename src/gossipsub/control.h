/* Control messages received (control.c), and the PRUNEs we send. */
#ifndef LP2P_GOSSIPSUB_CONTROL_H
#define LP2P_GOSSIPSUB_CONTROL_H

#include "lp2p/gossipsub.h"

typedef struct lp2p_router_peer gs_peer;
typedef struct gs_topic gs_topic;

void lp2p_gs_handle_control(lp2p_router *r, gs_peer *p, lp2p_tstamp now);
/* Sends PRUNE for `t` with `backoff`, and PX when asked and the peer
 * speaks meshsub 1.1 or later; records our backoff for the peer. */
int lp2p_gs_send_prune(lp2p_router *r, gs_peer *p, gs_topic *t,
                       lp2p_tstamp backoff, bool px, lp2p_tstamp now);

/* Forgets the ids asked for by IWANT long enough ago to be asked again. */
void lp2p_gs_iwanted_expire(lp2p_router *r);

#endif
