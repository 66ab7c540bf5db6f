/* IDONTWANT (dontwant.c): the ids peers do not want, router-wide,
 * keyed by id hash. */
#ifndef LP2P_GOSSIPSUB_DONTWANT_H
#define LP2P_GOSSIPSUB_DONTWANT_H

#include "lp2p/gossipsub.h"

typedef struct lp2p_router_peer gs_peer;

/* The peers that sent IDONTWANT for one message id. */
typedef struct gs_dontwant {
  uint32_t beat; /* the heartbeat of the last IDONTWANT for the id */
  uint32_t n, cap;
  uint32_t serials[]; /* n distinct, of cap */
} gs_dontwant;

/* The peers that do not want the message of `id_hash`, or NULL. */
const gs_dontwant *lp2p_gs_dontwant_find(const lp2p_router *r,
                                         uint64_t id_hash);
/* Is the peer of `serial` among them (false for NULL)? */
bool lp2p_gs_dontwant_lists(const gs_dontwant *d, uint32_t serial);
bool lp2p_gs_dontwant_has(const lp2p_router *r, const gs_peer *p,
                          uint64_t id_hash);
int lp2p_gs_dontwant_add(lp2p_router *r, gs_peer *p, uint64_t id_hash);
/* Forgets the ids last received idontwant_message_ttl heartbeats ago. */
void lp2p_gs_dontwant_expire(lp2p_router *r);
void lp2p_gs_dontwant_free_all(lp2p_router *r);

#endif
