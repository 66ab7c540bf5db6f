/* The Prometheus endpoint of `lp2p node --metrics ADDR`: libmicrohttpd
 * answers GET /metrics from its own thread with a snapshot of the node's
 * metrics that the loop thread renders every second, so that the node is
 * only ever touched by its loop. */
#ifndef LP2P_CLI_METRICS_HTTP_H
#define LP2P_CLI_METRICS_HTTP_H

#include <uv.h>

#include "lp2p/node.h"

typedef struct cli_metrics cli_metrics;

/* Serves http://ADDR/metrics, ADDR being HOST:PORT (an IPv4 or IPv6
 * literal; [::1]:9090 for IPv6). Returns NULL after printing the cause. */
cli_metrics *cli_metrics_start(uv_loop_t *loop, lp2p_node *node,
                               const char *addr);
/* Stops the server and the refresh timer (the loop frees the timer). */
void cli_metrics_stop(cli_metrics *m);

#endif
