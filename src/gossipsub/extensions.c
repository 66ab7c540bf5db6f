/* gossipsub v1.3 extensions. Extensions are advertised, not negotiated:
 * each side lists its own in a ControlExtensions in the first RPC of its
 * stream and never again, and an extension runs once both listed it.
 * Unknown extensions are ignored (the codec skips their fields). The only
 * one here is the test extension: each side sends one TestExtension RPC,
 * which proves to interop tests that the negotiation worked. */
#include "extensions.h"

#include "peer.h"
#include "queue.h"
#include "router.h"
#include "score.h"

/* As go's AddPenalty on a second ControlExtensions. */
#define REPEATED_EXTENSIONS_PENALTY 10.0

static bool any_extension(const lp2p_rpc_extensions *e) {
  return e->partial_messages || e->test_extension;
}

int lp2p_gs_ext_peer_added(lp2p_router *r, gs_peer *p) {
  lp2p_rpc_extensions ours = {r->s.extensions.partial_messages,
                              r->s.extensions.test_extension};
  /* as go: only on a /meshsub/1.3.0 stream, only when there is any */
  if (p->proto < LP2P_MESHSUB_13 || !any_extension(&ours)) {
    return 0;
  }
  int rv = lp2p_gs_queue_extensions(r, p, &ours);
  if (rv == 0 && p->q.hello_due) {
    p->ext_ours = ours;
  }
  return rv;
}

static bool test_ext_active(const gs_peer *p) {
  return p->ext_ours.test_extension && p->ext_theirs.test_extension;
}

/* The peer's first RPC: what it advertises, none when it has no
 * ControlExtensions. Ours went first on our stream (add_peer), so both
 * sides have now advertised. */
static void first_rpc(lp2p_router *r, gs_peer *p) {
  p->rpcs_seen = true;
  if (r->rpc.has_extensions) {
    p->ext_theirs = r->rpc.ext;
  }
  if (test_ext_active(p)) {
    lp2p_gs_queue_test_extension(r, p);
  }
}

static void report_test_extension(lp2p_router *r, gs_peer *p) {
  p->test_ext_reported = true;
  if (r->cb.event) {
    lp2p_router_event ev = {LP2P_EV_TEST_EXTENSION, &p->id, {NULL, 0}, NULL, 0};
    r->cb.event(r, &ev, r->user);
  }
}

void lp2p_gs_ext_recv(lp2p_router *r, gs_peer *p) {
  if (!p->rpcs_seen) {
    first_rpc(r, p);
  } else if (r->rpc.has_extensions) {
    /* as go: any ControlExtensions after the first RPC, even from a peer
     * whose first had none, is misbehaviour */
    r->st.extensions_repeated++;
    lp2p_gs_score_penalty(r, p, REPEATED_EXTENSIONS_PENALTY);
  }
  /* one report per peer; go calls its callback on every RPC of a peer
   * with the extension, TestExtension or not */
  if (r->rpc.test_extension && test_ext_active(p) && !p->test_ext_reported) {
    report_test_extension(r, p);
  }
}
