/* The seen cache (seen.c): ids seen lately, with each message's
 * delivery record. */
#ifndef LP2P_GOSSIPSUB_SEEN_H
#define LP2P_GOSSIPSUB_SEEN_H

#include "lp2p/gossipsub.h"

typedef struct gs_msg gs_msg;

/* What became of a message, for scoring the copies that follow it. */
enum { GS_VALIDATING, GS_VALID, GS_INVALID, GS_IGNORED };

/* The peers whose copies of one message were counted: this many inline,
 * the rest (rare: a message from more peers than a mesh holds) in a
 * spill array, so that every sender is remembered and a replay never
 * earns a second mesh delivery. */
#define GS_SEEN_PEERS 16

typedef struct gs_seen_spill {
  uint32_t n, cap;
  uint32_t serials[]; /* n of cap, after the inline ones */
} gs_seen_spill;

/* A seen-cache entry, in arrival order for expiry: also the message's
 * delivery record (who sent copies, and whether it proved valid), and the
 * message itself while the application validates it. */
typedef struct gs_seen {
  struct gs_seen *next; /* arrival order */
  lp2p_tstamp expiry;
  lp2p_tstamp first_seen;
  lp2p_tstamp validated; /* when it was accepted */
  uint8_t status;
  uint8_t npeers;
  uint32_t source; /* serial of the peer that sent it first; 0: us */
  uint32_t peers[GS_SEEN_PEERS]; /* serials of those that sent copies */
  gs_seen_spill *spill;          /* the senders past the inline ones */
  gs_msg *pending;               /* message awaiting validation, or NULL */
  lp2p_peer_id pending_from;
  uint64_t hash; /* of the id */
} gs_seen;

gs_seen *lp2p_gs_seen_find(const lp2p_router *r, uint64_t id_hash);
gs_seen *lp2p_gs_seen_add(lp2p_router *r, uint64_t id_hash, lp2p_tstamp now);
/* Did the peer of `serial` send us this message, first or as a copy?
 * False for no entry. */
bool lp2p_gs_seen_sent_by(const gs_seen *e, uint32_t serial);
void lp2p_gs_seen_expire(lp2p_router *r, lp2p_tstamp now);
void lp2p_gs_seen_free_all(lp2p_router *r);

#endif
