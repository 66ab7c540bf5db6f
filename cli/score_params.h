/* Peer score parameters for `lp2p node`: from a JSON file with
 * go-libp2p-pubsub's field names (--score-params FILE), or derived from
 * the expected message rate (--score auto --expected-rate R). */
#ifndef LP2P_CLI_SCORE_PARAMS_H
#define LP2P_CLI_SCORE_PARAMS_H

#include <jansson.h>

#include "lp2p/gossipsub.h"

#define CLI_SCORE_MAX_TOPICS 64

typedef struct cli_score {
  lp2p_score_params peer;
  size_t ntopics;
  char *names[CLI_SCORE_MAX_TOPICS]; /* owned */
  lp2p_topic_score_params topics[CLI_SCORE_MAX_TOPICS];
} cli_score;

/* Applies a JSON object {"PeerScoreParams": {..., "Topics": {"name":
 * {TopicScoreParams}}}, "PeerScoreThresholds": {...}} to `s` (fields not
 * given are 0, as in go; durations in nanoseconds) and validates it.
 * Returns 0, or -1 with `err` naming the field and `*bad_key` (when not
 * NULL) the key at fault, for its line. */
int cli_score_apply(json_t *obj, cli_score *s, lp2p_errdetail *err,
                    const char **bad_key);
/* Reads FILE and applies it; prints the cause (file, line, field) and
 * returns 1 on failure. */
int cli_score_load(const char *path, cli_score *s);
/* Derives parameters for `topics`, each expecting `rate` messages a
 * second, with Ethereum's slot and epoch and the router's heartbeat and
 * D. Prints the cause and returns 1 on failure. */
int cli_score_auto(double rate, const lp2p_router_params *rp,
                   const char *const *topics, size_t ntopics, cli_score *s);
/* Scores each topic of `s` on `r`. Prints the cause and returns 1 on
 * failure. */
int cli_score_set_topics(lp2p_router *r, const cli_score *s);
void cli_score_free(cli_score *s);

#endif
