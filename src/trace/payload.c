/* Which fields each trace event type carries, with go's field numbers and
 * JSON names (pb/trace.proto and trace.pb.go of go-libp2p-pubsub v0.19). */
#include "trace/payload.h"

static void add(lp2p__trace_payload *p, uint32_t num, lp2p__trace_kind kind,
                const char *name, const lp2p_bytes *bytes) {
  lp2p__trace_field *f = &p->fields[p->n_fields++];
  f->num = num;
  f->kind = kind;
  f->name = name;
  f->bytes = bytes;
  f->meta = NULL;
  f->int64 = 0;
}

static void add_meta(lp2p__trace_payload *p, const lp2p_trace_rpc_meta *meta) {
  add(p, 2, LP2P__TRACE_META, "meta", NULL);
  p->fields[p->n_fields - 1].meta = meta;
}

static void begin(lp2p__trace_payload *p, uint32_t num, const char *name) {
  p->num = num;
  p->name = name;
  p->n_fields = 0;
}

static void message_events(const lp2p_trace_event *ev, lp2p__trace_payload *p) {
  switch (ev->type) {
  case LP2P_TRACE_PUBLISH_MESSAGE:
    begin(p, 4, "publishMessage");
    add(p, 1, LP2P__TRACE_BYTES, "messageID", &ev->u.publish.message_id);
    add(p, 2, LP2P__TRACE_STRING, "topic", &ev->u.publish.topic);
    break;
  case LP2P_TRACE_REJECT_MESSAGE:
    begin(p, 5, "rejectMessage");
    add(p, 1, LP2P__TRACE_BYTES, "messageID", &ev->u.reject.message_id);
    add(p, 2, LP2P__TRACE_BYTES, "receivedFrom", &ev->u.reject.received_from);
    add(p, 3, LP2P__TRACE_STRING, "reason", &ev->u.reject.reason);
    add(p, 4, LP2P__TRACE_STRING, "topic", &ev->u.reject.topic);
    break;
  case LP2P_TRACE_DUPLICATE_MESSAGE:
    begin(p, 6, "duplicateMessage");
    add(p, 1, LP2P__TRACE_BYTES, "messageID", &ev->u.duplicate.message_id);
    add(p, 2, LP2P__TRACE_BYTES, "receivedFrom",
        &ev->u.duplicate.received_from);
    add(p, 3, LP2P__TRACE_STRING, "topic", &ev->u.duplicate.topic);
    break;
  default: /* DELIVER_MESSAGE */
    begin(p, 7, "deliverMessage");
    add(p, 1, LP2P__TRACE_BYTES, "messageID", &ev->u.deliver.message_id);
    add(p, 2, LP2P__TRACE_STRING, "topic", &ev->u.deliver.topic);
    add(p, 3, LP2P__TRACE_BYTES, "receivedFrom", &ev->u.deliver.received_from);
    break;
  }
}

static void rpc_events(const lp2p_trace_event *ev, lp2p__trace_payload *p) {
  switch (ev->type) {
  case LP2P_TRACE_RECV_RPC:
    begin(p, 10, "recvRPC");
    add(p, 1, LP2P__TRACE_BYTES, "receivedFrom", &ev->u.recv_rpc.received_from);
    add_meta(p, &ev->u.recv_rpc.meta);
    break;
  case LP2P_TRACE_SEND_RPC:
    begin(p, 11, "sendRPC");
    add(p, 1, LP2P__TRACE_BYTES, "sendTo", &ev->u.send_rpc.send_to);
    add_meta(p, &ev->u.send_rpc.meta);
    break;
  case LP2P_TRACE_DROP_RPC:
    begin(p, 12, "dropRPC");
    add(p, 1, LP2P__TRACE_BYTES, "sendTo", &ev->u.drop_rpc.send_to);
    add_meta(p, &ev->u.drop_rpc.meta);
    break;
  default: /* SEND_RPC_COMPLETED */
    begin(p, 17, "sendRPCCompleted");
    add(p, 1, LP2P__TRACE_BYTES, "sendTo", &ev->u.send_rpc_completed.send_to);
    add_meta(p, &ev->u.send_rpc_completed.meta);
    add(p, 3, LP2P__TRACE_INT64, "writeDurationNanos", NULL);
    p->fields[2].int64 = ev->u.send_rpc_completed.write_duration_ns;
    break;
  }
}

static void peer_events(const lp2p_trace_event *ev, lp2p__trace_payload *p) {
  switch (ev->type) {
  case LP2P_TRACE_ON_NEW_OUTBOUND_STREAM:
    begin(p, 8, "onNewOutboundStream");
    add(p, 1, LP2P__TRACE_BYTES, "peerID", &ev->u.new_stream.peer);
    add(p, 2, LP2P__TRACE_STRING, "proto", &ev->u.new_stream.proto);
    break;
  case LP2P_TRACE_ON_CLOSED_OUTBOUND_STREAM:
    begin(p, 9, "onClosedOutboundStream");
    add(p, 1, LP2P__TRACE_BYTES, "peerID", &ev->u.closed_stream.peer);
    break;
  case LP2P_TRACE_JOIN:
    begin(p, 13, "join");
    add(p, 1, LP2P__TRACE_STRING, "topic", &ev->u.join.topic);
    break;
  case LP2P_TRACE_LEAVE:
    begin(p, 14, "leave");
    /* go's trace.proto numbers Leave's topic 2 */
    add(p, 2, LP2P__TRACE_STRING, "topic", &ev->u.leave.topic);
    break;
  case LP2P_TRACE_GRAFT:
    begin(p, 15, "graft");
    add(p, 1, LP2P__TRACE_BYTES, "peerID", &ev->u.graft.peer);
    add(p, 2, LP2P__TRACE_STRING, "topic", &ev->u.graft.topic);
    break;
  default: /* PRUNE */
    begin(p, 16, "prune");
    add(p, 1, LP2P__TRACE_BYTES, "peerID", &ev->u.prune.peer);
    add(p, 2, LP2P__TRACE_STRING, "topic", &ev->u.prune.topic);
    break;
  }
}

int lp2p__trace_payload_of(const lp2p_trace_event *ev, lp2p__trace_payload *p) {
  switch (ev->type) {
  case LP2P_TRACE_PUBLISH_MESSAGE:
  case LP2P_TRACE_REJECT_MESSAGE:
  case LP2P_TRACE_DUPLICATE_MESSAGE:
  case LP2P_TRACE_DELIVER_MESSAGE:
    message_events(ev, p);
    return 0;
  case LP2P_TRACE_RECV_RPC:
  case LP2P_TRACE_SEND_RPC:
  case LP2P_TRACE_DROP_RPC:
  case LP2P_TRACE_SEND_RPC_COMPLETED:
    rpc_events(ev, p);
    return 0;
  case LP2P_TRACE_ON_NEW_OUTBOUND_STREAM:
  case LP2P_TRACE_ON_CLOSED_OUTBOUND_STREAM:
  case LP2P_TRACE_JOIN:
  case LP2P_TRACE_LEAVE:
  case LP2P_TRACE_GRAFT:
  case LP2P_TRACE_PRUNE:
    peer_events(ev, p);
    return 0;
  }
  return LP2P_ERR_INVALID_ARG;
}

static const char *const type_names[LP2P_TRACE_TYPE_COUNT] = {
    "PUBLISH_MESSAGE",
    "REJECT_MESSAGE",
    "DUPLICATE_MESSAGE",
    "DELIVER_MESSAGE",
    "ON_NEW_OUTBOUND_STREAM",
    "ON_CLOSED_OUTBOUND_STREAM",
    "RECV_RPC",
    "SEND_RPC",
    "DROP_RPC",
    "JOIN",
    "LEAVE",
    "GRAFT",
    "PRUNE",
    "SEND_RPC_COMPLETED",
};

const char *lp2p_trace_type_name(lp2p_trace_type type) {
  if ((unsigned)type >= LP2P_TRACE_TYPE_COUNT) {
    return "UNKNOWN";
  }
  return type_names[type];
}
