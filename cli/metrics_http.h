/* The Prometheus endpoint of `lp2p node --metrics ADDR`: GET /metrics on
 * the node's own loop, answered with the metrics of the moment. */
#ifndef LP2P_CLI_METRICS_HTTP_H
#define LP2P_CLI_METRICS_HTTP_H

#include <uv.h>

#include "lp2p/node.h"
#include "node_output.h"

typedef struct cli_metrics cli_metrics;

/* Serves http://ADDR/metrics, ADDR being HOST:PORT (an IPv4 or IPv6
 * literal; [::1]:9090 for IPv6): the node's metrics and what its stdout
 * `out` dropped. Returns NULL after printing the cause. */
cli_metrics *cli_metrics_start(uv_loop_t *loop, lp2p_node *node,
                               const node_output *out, const char *addr);
/* Stops the server and closes its clients (the loop frees them). */
void cli_metrics_stop(cli_metrics *m);

#endif
