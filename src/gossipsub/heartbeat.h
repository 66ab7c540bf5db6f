/* The heartbeat (heartbeat.c): mesh maintenance, fanout, gossip. */
#ifndef LP2P_GOSSIPSUB_HEARTBEAT_H
#define LP2P_GOSSIPSUB_HEARTBEAT_H

#include "lp2p/gossipsub.h"

typedef struct gs_topic gs_topic;

void lp2p_gs_heartbeat(lp2p_router *r, lp2p_tstamp now);
void lp2p_gs_rebalance(lp2p_router *r, gs_topic *t, lp2p_tstamp now,
                       bool opportunistic);
void lp2p_gs_fanout_fill(lp2p_router *r, gs_topic *t);

#endif
