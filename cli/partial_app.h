/* The partial-messages application of libp2p/test-plans' gossipsub-interop
 * scenarios, shared by `lp2p interop` and `lp2p node --partial`: a full
 * message is 8 parts of 1024 bytes, named by an 8-byte big-endian group
 * id; partsMetadata is one byte, bit i set when we have part i; an
 * encoded partial message is [bitmap][the parts of the bitmap in index
 * order][group id]. Part i of group G holds the big-endian u64 values
 * G + 128 i, G + 128 i + 1, ... A node merges the parts it receives,
 * tells its mesh what it has when that grows, and answers a peer whose
 * metadata differs from its own (it has parts we lack, or lacks ours)
 * with the parts it lacks and our metadata. */
#ifndef LP2P_CLI_PARTIAL_APP_H
#define LP2P_CLI_PARTIAL_APP_H

#include "net.h"

#define CLI_PARTIAL_PARTS 8
#define CLI_PARTIAL_PART_LEN 1024
#define CLI_PARTIAL_GROUP_LEN 8
#define CLI_PARTIAL_ALL 0xffu
/* groups kept at once; one past, the least recently changed goes */
#define CLI_PARTIAL_MAX_GROUPS 256
#define CLI_PARTIAL_MAX_TOPIC 256

/* What happened to a group, for the application's report. */
typedef struct cli_partial_event {
  const lp2p_peer_id *from; /* NULL: our own addPartialMessage */
  lp2p_bytes topic;
  uint64_t group;
  uint8_t received;  /* parts in the RPC (or added) */
  uint8_t added;     /* of them, new to us */
  uint8_t have;      /* our bitmap after merging */
  int peer_metadata; /* the peer's bitmap, -1 when it sent none */
  bool invalid;      /* the encoding was wrong: nothing merged */
  bool completed;    /* this made the group complete */
} cli_partial_event;

typedef void (*cli_partial_report_fn)(const cli_partial_event *ev, void *user);

typedef struct cli_partial_group cli_partial_group;

typedef struct cli_partial_app {
  lp2p_node *node;
  cli_partial_report_fn report;
  void *user;
  cli_partial_group *groups[CLI_PARTIAL_MAX_GROUPS];
  size_t ngroups;
  uint64_t clock; /* orders groups by last change, for eviction */
  /* counters: groups evicted, RPCs with a bad encoding or group id */
  uint64_t evicted, invalid;
} cli_partial_app;

void cli_partial_init(cli_partial_app *a, lp2p_node *n,
                      cli_partial_report_fn report, void *user);
void cli_partial_free(cli_partial_app *a);

/* Adds the parts of `bitmap` (test-plans' addPartialMessage) to our group
 * state. Returns 0, LP2P_ERR_INVALID_ARG (topic too long) or
 * LP2P_ERR_NOMEM. */
int cli_partial_add(cli_partial_app *a, const uint8_t *topic, size_t len,
                    uint64_t group, uint8_t bitmap);

/* Publishes what we have of a group (test-plans' publishPartial): to
 * `peers` when npeers > 0, with every part they lack when we do not
 * know what they have (the fanout publication), else to the group's
 * peers and the mesh, telling them our metadata. Returns the number of
 * peers an RPC went to, or a negative lp2p_router_publish_partial error;
 * LP2P_ERR_NOT_FOUND when we have no such group. */
int cli_partial_publish(cli_partial_app *a, const uint8_t *topic, size_t len,
                        uint64_t group, const lp2p_peer_id *peers,
                        size_t npeers);

/* The node's `partial` callback: merge, report, answer. */
void cli_partial_on_rpc(cli_partial_app *a, const lp2p_partial_rpc *pm);
/* The node's `partial_gossip` callback: our metadata to those peers. */
void cli_partial_on_gossip(cli_partial_app *a, lp2p_bytes topic,
                           lp2p_bytes group, const lp2p_peer_id *peers,
                           size_t npeers);

#endif
