/* lp2p node --partial: partial messages from the command line, with the
 * test-plans application of partial_app.h. Every --topic is joined
 * requesting parts (or only supporting them); a stdin line
 * "partial GROUP PARTS [PEER_ID]..." adds the parts of bitmap PARTS
 * (0-255) of group GROUP (a decimal u64) and publishes what we have of
 * the group on the first topic: to the peers named, all parts at once
 * (test-plans' publishToNodeIDs, the fanout scenario), else as the
 * router chooses. A "partial_complete" line reports each group completed;
 * with --events, a "partial" line each RPC.partial taken. */
#ifndef LP2P_CLI_NODE_PARTIAL_H
#define LP2P_CLI_NODE_PARTIAL_H

#include "node_output.h"
#include "partial_app.h"

/* Peers a "partial" line may name. */
#define NODE_PARTIAL_MAX_TO 64

typedef struct node_partial {
  lp2p_partial_mode mode; /* LP2P_PARTIAL_OFF: no --partial */
  bool events;
  node_output *out;
  cli_partial_app app;
} node_partial;

/* Parses --partial's value (requests|supports). Returns 0 or -1. */
int node_partial_mode(const char *v, lp2p_partial_mode *out);
/* Turns the router's extension on for a mode; the node's partial
 * callbacks go to cli_partial_on_rpc / _on_gossip of p->app. */
void node_partial_settings(const node_partial *p, lp2p_node_settings *s);
/* After lp2p_node_new: the application state, reporting to `out`. */
void node_partial_start(node_partial *p, lp2p_node *n, node_output *out,
                        bool events);
/* Our mode on `topic`, before it is joined so that the subscription
 * carries it. Returns 0 or an lp2p_router_set_topic_partial error. */
int node_partial_topic(node_partial *p, const char *topic);
/* A stdin line: true when it was a "partial" command (done, or an error
 * put in `err`), false for a message to publish. */
bool node_partial_line(node_partial *p, const char *topic, const lp2p_buf *line,
                       const char **err);
void node_partial_free(node_partial *p);

#endif
