/* lp2p node's score dump (SIGUSR2): one JSON line per scored peer with
 * its score broken down, P1 to P4 per topic and P5 to P7. */
#ifndef LP2P_CLI_NODE_SCORES_H
#define LP2P_CLI_NODE_SCORES_H

#include "node_output.h"

/* Writes {"event":"score",...} for every peer the router holds a score
 * for, connected or retained, to `out`. Returns how many, or a negative
 * LP2P_ERR_* when the router could not list them. */
int node_scores_print(lp2p_node *n, node_output *out);

#endif
