/* Router parameters from JSON with go-libp2p-pubsub's GossipSubParams
 * field names (durations in nanoseconds, as Go marshals time.Duration),
 * for `lp2p node --params` and the interop harness's initGossipSub. */
#ifndef LP2P_CLI_PARAMS_H
#define LP2P_CLI_PARAMS_H

#include <jansson.h>

#include "lp2p/gossipsub.h"

/* Applies every field of `obj` to `p` (fields not given keep their value)
 * and validates the result. Fields about go's connection manager
 * (Connectors, MaxPendingConnections, ConnectionTimeout,
 * DirectConnectInitialDelay, SlowHeartbeatWarning) are accepted and have
 * no effect. Returns 0, or -1 with `err` naming the
 * field (unknown, wrong type, or out of range). */
int cli_params_apply(json_t *obj, lp2p_router_params *p, lp2p_errdetail *err);
/* Reads a JSON file and applies it; prints the cause (FILE:LINE: field
 * NAME: why) on failure and returns 2 for an unknown field name (as the
 * interop nodes' CLI contract says), else 1. */
int cli_params_load(const char *path, lp2p_router_params *p);

#endif
