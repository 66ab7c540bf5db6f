#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *lp2p_strerror(int err) {
  switch (err) {
  case LP2P_OK:
    return "success";
  case LP2P_ERR_NOMEM:
    return "out of memory";
  case LP2P_ERR_INVALID_ARG:
    return "invalid argument";
  case LP2P_ERR_TRUNCATED:
    return "input is truncated";
  case LP2P_ERR_OVERLONG:
    return "encoding is overlong or not minimal";
  case LP2P_ERR_MALFORMED:
    return "input is malformed";
  case LP2P_ERR_TRAILING:
    return "trailing bytes after the end of the input";
  case LP2P_ERR_TOO_LARGE:
    return "input exceeds a size limit";
  case LP2P_ERR_UNSUPPORTED:
    return "not supported";
  case LP2P_ERR_UNKNOWN_PROTOCOL:
    return "unknown multiaddr protocol";
  case LP2P_ERR_BAD_SIGNATURE:
    return "signature does not verify";
  case LP2P_ERR_BAD_KEY:
    return "invalid key";
  case LP2P_ERR_BUFFER_TOO_SMALL:
    return "output buffer is too small";
  case LP2P_ERR_WRONG_TYPE:
    return "wrong type";
  case LP2P_ERR_PEER_ID_MISMATCH:
    return "key does not match the peer id";
  case LP2P_ERR_NOT_FOUND:
    return "not found";
  case LP2P_ERR_IO:
    return "input/output error";
  case LP2P_ERR_CRYPTO:
    return "cryptographic library failure";
  case LP2P_ERR_STATE:
    return "operation not allowed in the current state";
  case LP2P_ERR_TIMEOUT:
    return "timed out";
  case LP2P_ERR_PROTOCOL:
    return "protocol violation by the remote";
  case LP2P_ERR_NOT_SENT:
    return "not sent: no peer could take it";
  case LP2P_ERR_CLOSED:
    return "closed by the remote";
  default:
    return "unknown error";
  }
}

int lp2p_errdetail_set(lp2p_errdetail *d, int err, const char *fmt, ...) {
  if (d) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
  }
  return err;
}
