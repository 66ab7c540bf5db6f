/* Shared by the libFuzzer targets: the entry point's prototype and a check
 * that aborts, so that libFuzzer reports a broken property as a crash and
 * saves the input. */
#ifndef LP2P_FUZZ_H
#define LP2P_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,      \
              #cond);                                                          \
      abort();                                                                 \
    }                                                                          \
  } while (0)

#endif
