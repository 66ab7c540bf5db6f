/*
 * lp2p: the host, the part of lp2p that touches the operating system.
 * Everything else is sans-IO and takes time and randomness from here.
 */
#ifndef LP2P_HOST_H
#define LP2P_HOST_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An lp2p_rand_fn that reads the operating system's CSPRNG (libsodium's
 * randombytes). `user` is ignored. Suitable for key generation. */
LP2P_API void lp2p_host_rand(uint8_t *dest, size_t len, void *user);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_HOST_H */
