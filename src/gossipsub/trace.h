/* The router's trace events in go-libp2p-pubsub's format (lp2p/trace.h),
 * emitted where go's pubsubTracer is called. Everything here costs a
 * branch when no trace callback was given: r->trace stays NULL. */
#ifndef LP2P_GOSSIPSUB_TRACE_H
#define LP2P_GOSSIPSUB_TRACE_H

#include "lp2p/gossipsub.h"
#include "lp2p/trace.h"
#include "pb/rpc.h"

typedef struct gs_trace gs_trace;

int lp2p_gs_trace_new(lp2p_router *r);
void lp2p_gs_trace_free(lp2p_router *r);
void lp2p_gs_trace_clock(lp2p_router *r, lp2p_tstamp now);
void lp2p_gs_trace_msg(lp2p_router *r, lp2p_trace_type type,
                       const lp2p_bytes *id, const lp2p_bytes *topic,
                       const lp2p_peer_id *from, const char *reason);
void lp2p_gs_trace_topic(lp2p_router *r, lp2p_trace_type type,
                         const uint8_t *topic, size_t len);
void lp2p_gs_trace_peer(lp2p_router *r, lp2p_trace_type type,
                        const lp2p_peer_id *peer, const uint8_t *topic,
                        size_t len);
void lp2p_gs_trace_rpc(lp2p_router *r, lp2p_trace_type type,
                       const lp2p_peer_id *peer, const lp2p_rpc *rpc);
/* `data` is an RPC (field 0), a Message (LP2P_RPC_PUBLISH) or
 * ControlMessage entries (LP2P_RPC_CONTROL). */
void lp2p_gs_trace_rpc_bytes(lp2p_router *r, lp2p_trace_type type,
                             const lp2p_peer_id *peer, uint32_t field,
                             const uint8_t *data, size_t len);

#endif
