/* One trace event of each type built from a few values, shared by the
 * encoder unit tests (tiny values, hand-checked bytes) and the program
 * that writes a trace for go's tools (real peer ids). */
#ifndef LP2P_TESTUTIL_TRACE_H
#define LP2P_TESTUTIL_TRACE_H

#include "lp2p/trace.h"

typedef struct trace_fixture {
  lp2p_bytes self, peer, peer2, message_id, topic, reason, proto;
  int64_t timestamp, write_duration_ns;
} trace_fixture;

/* Fills `ev` with the event of `type` go would trace for these values: a
 * message event names message_id, topic (and peer as its sender); RECV_RPC
 * carries a message and a subscription; SEND_RPC one control entry of
 * each kind (PRUNE offering peer2); DROP_RPC an empty meta;
 * SEND_RPC_COMPLETED an empty control. The event points into static
 * storage: valid until the next call. */
void trace_fixture_event(const trace_fixture *f, lp2p_trace_type type,
                         lp2p_trace_event *ev);

#endif
