#include "testutil_trace.h"

#include <string.h>

static lp2p_trace_msg_meta msgs[1];
static lp2p_trace_sub_meta subs[1];
static lp2p_bytes ids[1], peers[1], grafts[1];
static lp2p_trace_ihave_meta ihave[1];
static lp2p_trace_ids iwant[1], idontwant[1];
static lp2p_trace_prune_meta prunes[1];

static lp2p_trace_rpc_meta recv_meta(const trace_fixture *f) {
  msgs[0] = (lp2p_trace_msg_meta){f->message_id, f->topic};
  subs[0] = (lp2p_trace_sub_meta){true, f->topic};
  return (lp2p_trace_rpc_meta){.messages = msgs,
                               .n_messages = 1,
                               .subscriptions = subs,
                               .n_subscriptions = 1};
}

static lp2p_trace_rpc_meta control_meta(const trace_fixture *f) {
  ids[0] = f->message_id;
  peers[0] = f->peer2;
  grafts[0] = f->topic;
  ihave[0] = (lp2p_trace_ihave_meta){f->topic, {ids, 1}};
  iwant[0] = (lp2p_trace_ids){ids, 1};
  idontwant[0] = (lp2p_trace_ids){ids, 1};
  prunes[0] = (lp2p_trace_prune_meta){f->topic, {peers, 1}};
  return (lp2p_trace_rpc_meta){.has_control = true,
                               .ihave = ihave,
                               .n_ihave = 1,
                               .iwant = iwant,
                               .n_iwant = 1,
                               .graft = grafts,
                               .n_graft = 1,
                               .prune = prunes,
                               .n_prune = 1,
                               .idontwant = idontwant,
                               .n_idontwant = 1};
}

static void rpc_event(const trace_fixture *f, lp2p_trace_event *ev) {
  switch (ev->type) {
  case LP2P_TRACE_RECV_RPC:
    ev->u.recv_rpc.received_from = f->peer;
    ev->u.recv_rpc.meta = recv_meta(f);
    break;
  case LP2P_TRACE_SEND_RPC:
    ev->u.send_rpc.send_to = f->peer;
    ev->u.send_rpc.meta = control_meta(f);
    break;
  case LP2P_TRACE_DROP_RPC:
    ev->u.drop_rpc.send_to = f->peer;
    break;
  default:
    ev->u.send_rpc_completed.send_to = f->peer;
    ev->u.send_rpc_completed.meta.has_control = true;
    ev->u.send_rpc_completed.write_duration_ns = f->write_duration_ns;
    break;
  }
}

void trace_fixture_event(const trace_fixture *f, lp2p_trace_type type,
                         lp2p_trace_event *ev) {
  memset(ev, 0, sizeof *ev);
  ev->type = type;
  ev->peer_id = f->self;
  ev->timestamp = f->timestamp;
  switch (type) {
  case LP2P_TRACE_PUBLISH_MESSAGE:
    ev->u.publish.message_id = f->message_id;
    ev->u.publish.topic = f->topic;
    break;
  case LP2P_TRACE_REJECT_MESSAGE:
    ev->u.reject.message_id = f->message_id;
    ev->u.reject.received_from = f->peer;
    ev->u.reject.reason = f->reason;
    ev->u.reject.topic = f->topic;
    break;
  case LP2P_TRACE_DUPLICATE_MESSAGE:
    ev->u.duplicate.message_id = f->message_id;
    ev->u.duplicate.received_from = f->peer;
    ev->u.duplicate.topic = f->topic;
    break;
  case LP2P_TRACE_DELIVER_MESSAGE:
    ev->u.deliver.message_id = f->message_id;
    ev->u.deliver.topic = f->topic;
    ev->u.deliver.received_from = f->peer;
    break;
  case LP2P_TRACE_ON_NEW_OUTBOUND_STREAM:
    ev->u.new_stream.peer = f->peer;
    ev->u.new_stream.proto = f->proto;
    break;
  case LP2P_TRACE_ON_CLOSED_OUTBOUND_STREAM:
    ev->u.closed_stream.peer = f->peer;
    break;
  case LP2P_TRACE_JOIN:
    ev->u.join.topic = f->topic;
    break;
  case LP2P_TRACE_LEAVE:
    ev->u.leave.topic = f->topic;
    break;
  case LP2P_TRACE_GRAFT:
    ev->u.graft.peer = f->peer;
    ev->u.graft.topic = f->topic;
    break;
  case LP2P_TRACE_PRUNE:
    ev->u.prune.peer = f->peer;
    ev->u.prune.topic = f->topic;
    break;
  default:
    rpc_event(f, ev);
    break;
  }
}
