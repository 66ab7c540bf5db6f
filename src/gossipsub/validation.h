/* Validation admission (validation.c): which received messages go to the
 * application's validator, under the router-wide bound on pending
 * validations and each topic's own bound and rate. */
#ifndef LP2P_GOSSIPSUB_VALIDATION_H
#define LP2P_GOSSIPSUB_VALIDATION_H

#include "message.h"
#include "topic.h"

/* NULL when a message of `t` may be validated now (a token of the
 * topic's rate is taken); else the reason it is dropped, as go's trace
 * names it, counted in the router's and the topic's stats. */
const char *lp2p_gs_validation_admit(lp2p_router *r, gs_topic *t,
                                     lp2p_tstamp now);
/* A validation of a message of `t` is pending / is over. */
void lp2p_gs_validation_pending(lp2p_router *r, gs_topic *t);
void lp2p_gs_validation_settled(lp2p_router *r, const gs_msg *m);

#endif
