/* The system CSPRNG, for the host and the command line. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "lp2p/host.h"

void lp2p_host_rand(uint8_t *dest, size_t len, void *user) {
  (void)user;
  if (sodium_init() < 0) {
    /* without a CSPRNG no key can be made safely: stop rather than go on */
    fputs("lp2p: libsodium failed to initialise\n", stderr);
    abort();
  }
  randombytes_buf(dest, len);
}
