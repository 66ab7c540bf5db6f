/* What `lp2p node` keeps about its peers for its output: the pubsub peers
 * up now, the stats line (meshes, peers, IDONTWANT counts per peer), and
 * dials retried while the peers of a test are still starting. */
#ifndef LP2P_CLI_NODE_PEERS_H
#define LP2P_CLI_NODE_PEERS_H

#include <stdio.h>
#include <uv.h>

#include "lp2p/node.h"
#include "node_bench.h"
#include "trace_file.h"

typedef struct node_peers {
  lp2p_peer_id *ids; /* pubsub peers up now */
  size_t n, cap;
  uint64_t published, delivered;
} node_peers;

void node_peers_up(node_peers *p, const lp2p_peer_id *id);
void node_peers_down(node_peers *p, const lp2p_peer_id *id);
void node_peers_free(node_peers *p);

/* {"event":"stats","peer_id",...,"mesh":{topic:[ids]},"connected":[ids],
 * "idontwant_sent":{id:n},"idontwant_received":{id:n},"published":n,
 * "delivered":n,"output_dropped":n}, lists sorted, one line into `f`.
 * output_dropped counts the delivered messages stdout had no room for.
 * With `bench` (--bench), also its "bench" object; with `trace`
 * (--trace), "trace":{"events","dropped","write_errors","lost"}: events
 * the file took, dropped (its bound, or after a failed write), writes
 * that failed, and events the router could not make (no memory). */
void node_peers_print_stats(const node_peers *p, lp2p_node *node,
                            const char *const *topics, size_t ntopics, FILE *f,
                            uint64_t output_dropped, const node_bench *bench,
                            const trace_file *trace);

/* Dials `ma` (text), retrying every 250 ms for 20 s while it fails, then
 * prints one line on stderr. Returns 0 or prints why the address is bad
 * and returns 1. */
int node_dial_retrying(uv_loop_t *loop, lp2p_node *node, const char *ma);
/* Stops every retry (before the node closes). */
void node_dial_cancel_all(void);

#endif
