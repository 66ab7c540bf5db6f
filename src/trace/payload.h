/* The payload of a trace event as a list of fields, so that the protobuf
 * and the JSON encoder walk the same description of go's trace.proto. */
#ifndef LP2P_TRACE_PAYLOAD_H
#define LP2P_TRACE_PAYLOAD_H

#include "lp2p/trace.h"

typedef enum lp2p__trace_kind {
  LP2P__TRACE_BYTES,  /* proto bytes: base64 in JSON, omitted when empty */
  LP2P__TRACE_STRING, /* proto string: a JSON string, even when empty */
  LP2P__TRACE_INT64,
  LP2P__TRACE_META, /* an RPCMeta */
} lp2p__trace_kind;

typedef struct lp2p__trace_field {
  uint32_t num;
  lp2p__trace_kind kind;
  const char *name; /* go's JSON name */
  const lp2p_bytes *bytes;
  const lp2p_trace_rpc_meta *meta;
  int64_t int64;
} lp2p__trace_field;

/* At most this many fields in one payload (SendRPCCompleted, Reject). */
#define LP2P__TRACE_MAX_FIELDS 4

typedef struct lp2p__trace_payload {
  uint32_t num;     /* TraceEvent's field number of the payload */
  const char *name; /* and its JSON name */
  size_t n_fields;
  lp2p__trace_field fields[LP2P__TRACE_MAX_FIELDS];
} lp2p__trace_payload;

/* Describes the payload of `ev`, fields in number order. Returns 0 or
 * LP2P_ERR_INVALID_ARG for a type out of range. */
int lp2p__trace_payload_of(const lp2p_trace_event *ev, lp2p__trace_payload *p);

#endif
