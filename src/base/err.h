/* Error details for parsers and validators. */
#ifndef LP2P_BASE_ERR_H
#define LP2P_BASE_ERR_H

#include "lp2p/common.h"

/* Formats a detail into `d` when it is not NULL; returns `err` so that a
 * parser can write `return lp2p_errdetail_set(d, LP2P_ERR_X, "...");`. */
int lp2p_errdetail_set(lp2p_errdetail *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For validators: returns LP2P_ERR_INVALID_ARG with the detail in `err`
 * (a variable of the caller) unless `cond` holds. */
#define LP2P_REQUIRE(cond, ...)                                                \
  do {                                                                         \
    if (!(cond)) {                                                             \
      return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG, __VA_ARGS__);       \
    }                                                                          \
  } while (0)

#endif
