/* gossipsub v1.3 extensions (extensions.c): what each side advertises in
 * the first RPC of its stream, and the test extension. */
#ifndef LP2P_GOSSIPSUB_EXTENSIONS_H
#define LP2P_GOSSIPSUB_EXTENSIONS_H

#include "lp2p/gossipsub.h"

typedef struct lp2p_router_peer gs_peer;

/* A peer was added (our stream to it is new): queues our ControlExtensions
 * for its first RPC when it speaks /meshsub/1.3.0 and we advertise any.
 * Returns 0 or LP2P_ERR_NOMEM. */
int lp2p_gs_ext_peer_added(lp2p_router *r, gs_peer *p);
/* The extension fields of r->rpc, just received from `p`: its first RPC
 * fixes what it advertises; a ControlExtensions in any later one is
 * misbehaviour; a TestExtension counts once both sides advertised it. */
void lp2p_gs_ext_recv(lp2p_router *r, gs_peer *p);

#endif
