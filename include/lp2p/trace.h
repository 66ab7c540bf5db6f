/*
 * lp2p: trace events in go-libp2p-pubsub's format (pb/trace.proto of
 * go-libp2p-pubsub v0.19), so that go's trace tools read an lp2p trace.
 *
 * An lp2p_trace_event mirrors go's TraceEvent: a type, the tracing peer's
 * id, a time stamp and the payload of that type. Every byte string in an
 * event is a view owned by the caller, valid only during the call that
 * takes the event. The encoders below are sans-IO: they append to an
 * lp2p_buf and never touch a file; the `lp2p` command writes trace files
 * with them (docs/tracing.md).
 */
#ifndef LP2P_TRACE_H
#define LP2P_TRACE_H

#include <stdbool.h>

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* TraceEvent.Type, with go's numbers (the values on the wire). */
typedef enum lp2p_trace_type {
  LP2P_TRACE_PUBLISH_MESSAGE = 0,
  LP2P_TRACE_REJECT_MESSAGE = 1,
  LP2P_TRACE_DUPLICATE_MESSAGE = 2,
  LP2P_TRACE_DELIVER_MESSAGE = 3,
  /* ADD_PEER in go before v0.16: go now traces the outbound pubsub stream
   * to a peer, same number and field */
  LP2P_TRACE_ON_NEW_OUTBOUND_STREAM = 4,
  /* REMOVE_PEER in go before v0.16 */
  LP2P_TRACE_ON_CLOSED_OUTBOUND_STREAM = 5,
  LP2P_TRACE_RECV_RPC = 6,
  LP2P_TRACE_SEND_RPC = 7,
  LP2P_TRACE_DROP_RPC = 8,
  LP2P_TRACE_JOIN = 9,
  LP2P_TRACE_LEAVE = 10,
  LP2P_TRACE_GRAFT = 11,
  LP2P_TRACE_PRUNE = 12,
  LP2P_TRACE_SEND_RPC_COMPLETED = 13,
} lp2p_trace_type;

/* The number of event types (one past the last). */
#define LP2P_TRACE_TYPE_COUNT 14

/* go's RejectMessage reasons (tracer.go), the strings its tools count. */
#define LP2P_TRACE_REJECT_BLACKLISTED_PEER "blacklisted peer"
/* The message's author is blacklisted. */
#define LP2P_TRACE_REJECT_BLACKLISTED_SOURCE "blacklisted source"
/* A message without a signature where signing is required. */
#define LP2P_TRACE_REJECT_MISSING_SIGNATURE "missing signature"
/* A signed message where signatures are not expected. */
#define LP2P_TRACE_REJECT_UNEXPECTED_SIGNATURE "unexpected signature"
/* from or seqno present where the policy forbids author information. */
#define LP2P_TRACE_REJECT_UNEXPECTED_AUTH_INFO "unexpected auth info"
/* The signature does not verify. */
#define LP2P_TRACE_REJECT_INVALID_SIGNATURE "invalid signature"
/* The validation queue was full. */
#define LP2P_TRACE_REJECT_VALIDATION_QUEUE_FULL "validation queue full"
/* An async validator's throttle was at its limit. */
#define LP2P_TRACE_REJECT_VALIDATION_THROTTLED "validation throttled"
/* A validator returned reject. */
#define LP2P_TRACE_REJECT_VALIDATION_FAILED "validation failed"
/* A validator returned ignore. */
#define LP2P_TRACE_REJECT_VALIDATION_IGNORED "validation ignored"
/* A message with our own id as author that we did not publish. */
#define LP2P_TRACE_REJECT_SELF_ORIGIN "self originated message"

/* MessageMeta: one message of an RPC. */
typedef struct lp2p_trace_msg_meta {
  lp2p_bytes message_id;
  lp2p_bytes topic;
} lp2p_trace_msg_meta;

/* SubMeta: one subscription change of an RPC. */
typedef struct lp2p_trace_sub_meta {
  bool subscribe;
  lp2p_bytes topic;
} lp2p_trace_sub_meta;

/* A list of byte strings: message ids of IHAVE, IWANT and IDONTWANT, or
 * the peer ids of a PRUNE's peer exchange. */
typedef struct lp2p_trace_ids {
  const lp2p_bytes *ids;
  size_t n_ids;
} lp2p_trace_ids;

/* ControlIHaveMeta: a topic and the message ids announced for it. */
typedef struct lp2p_trace_ihave_meta {
  lp2p_bytes topic;
  lp2p_trace_ids message_ids;
} lp2p_trace_ihave_meta;

/* ControlPruneMeta: a topic and the peer ids offered for exchange. */
typedef struct lp2p_trace_prune_meta {
  lp2p_bytes topic;
  lp2p_trace_ids peers;
} lp2p_trace_prune_meta;

/* RPCMeta: what an RPC carried, without payloads. As go, it is present on
 * every RPC event (maybe empty); the control part only when the RPC had a
 * control message (`has_control`), even an empty one. IWANT and IDONTWANT
 * entries are lists of message ids; GRAFT entries are topics. */
typedef struct lp2p_trace_rpc_meta {
  const lp2p_trace_msg_meta *messages;
  size_t n_messages;
  const lp2p_trace_sub_meta *subscriptions;
  size_t n_subscriptions;
  bool has_control;
  const lp2p_trace_ihave_meta *ihave;
  size_t n_ihave;
  const lp2p_trace_ids *iwant;
  size_t n_iwant;
  const lp2p_bytes *graft;
  size_t n_graft;
  const lp2p_trace_prune_meta *prune;
  size_t n_prune;
  const lp2p_trace_ids *idontwant;
  size_t n_idontwant;
} lp2p_trace_rpc_meta;

/* One trace event. `type` selects the member of `u` that is encoded; the
 * others are ignored. Field names are go's: `received_from` is the peer a
 * message or RPC came from, `send_to` the one an RPC goes to, `peer` the
 * remote peer of a stream, GRAFT or PRUNE. */
typedef struct lp2p_trace_event {
  lp2p_trace_type type;
  lp2p_bytes peer_id; /* the tracing node's own peer id */
  int64_t timestamp;  /* nanoseconds since the Unix epoch, as go */
  union {
    struct { /* PUBLISH_MESSAGE */
      lp2p_bytes message_id, topic;
    } publish;
    struct { /* REJECT_MESSAGE; reason: LP2P_TRACE_REJECT_* */
      lp2p_bytes message_id, received_from, reason, topic;
    } reject;
    struct { /* DUPLICATE_MESSAGE */
      lp2p_bytes message_id, received_from, topic;
    } duplicate;
    struct { /* DELIVER_MESSAGE */
      lp2p_bytes message_id, topic, received_from;
    } deliver;
    struct { /* ON_NEW_OUTBOUND_STREAM; proto: the protocol id */
      lp2p_bytes peer, proto;
    } new_stream;
    struct { /* ON_CLOSED_OUTBOUND_STREAM */
      lp2p_bytes peer;
    } closed_stream;
    struct { /* RECV_RPC */
      lp2p_bytes received_from;
      lp2p_trace_rpc_meta meta;
    } recv_rpc;
    struct { /* SEND_RPC (queued), DROP_RPC (queue full) */
      lp2p_bytes send_to;
      lp2p_trace_rpc_meta meta;
    } send_rpc, drop_rpc;
    struct { /* SEND_RPC_COMPLETED (written to the stream) */
      lp2p_bytes send_to;
      lp2p_trace_rpc_meta meta;
      int64_t write_duration_ns;
    } send_rpc_completed;
    struct { /* JOIN, LEAVE */
      lp2p_bytes topic;
    } join, leave;
    struct { /* GRAFT, PRUNE */
      lp2p_bytes peer, topic;
    } graft, prune;
  } u;
} lp2p_trace_event;

/* go's name of an event type ("PUBLISH_MESSAGE", ...), or "UNKNOWN". */
LP2P_API const char *lp2p_trace_type_name(lp2p_trace_type type);

/* Appends `ev` as one protobuf TraceEvent, byte for byte what go's
 * proto.Marshal gives for the same event (fields in number order). Returns
 * 0, LP2P_ERR_INVALID_ARG (a type out of range; `out` is unchanged) or
 * LP2P_ERR_NOMEM; on failure `out` is as it was. */
LP2P_API int lp2p_trace_encode_pb(lp2p_buf *out, const lp2p_trace_event *ev);

/* Appends `ev` as go's PBTracer writes it: a uvarint length, then the
 * TraceEvent. Returns what lp2p_trace_encode_pb returns; on failure `out`
 * is as it was. */
LP2P_API int lp2p_trace_encode_delimited(lp2p_buf *out,
                                         const lp2p_trace_event *ev);

/* Appends `ev` as go's JSONTracer writes it: Go's encoding/json of the
 * TraceEvent (enum as a number, bytes as padded base64, Go's string
 * escaping) and a newline. Returns 0, LP2P_ERR_INVALID_ARG or
 * LP2P_ERR_NOMEM; on failure `out` is as it was. */
LP2P_API int lp2p_trace_encode_json(lp2p_buf *out, const lp2p_trace_event *ev);

#ifdef __cplusplus
}
#endif

#endif
