#include "base/mem.h"

#include <string.h>

void lp2p_buf_init(lp2p_buf *buf, const lp2p_mem *mem) {
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
  buf->mem = mem;
}

void lp2p_buf_free(lp2p_buf *buf) {
  lp2p_free(buf->mem, buf->data);
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
}

int lp2p_buf_reserve(lp2p_buf *buf, size_t extra) {
  if (extra > SIZE_MAX - buf->len - 1) {
    return LP2P_ERR_NOMEM;
  }
  /* one spare byte keeps room for a terminating NUL */
  size_t need = buf->len + extra + 1;
  if (need <= buf->cap) {
    return 0;
  }
  size_t cap = buf->cap ? buf->cap : 64;
  while (cap < need) {
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  }
  uint8_t *data = lp2p_reallocarray(buf->mem, buf->data, cap, 1);
  if (!data) {
    return LP2P_ERR_NOMEM;
  }
  buf->data = data;
  buf->cap = cap;
  return 0;
}

int lp2p_buf_append(lp2p_buf *buf, const void *data, size_t len) {
  int rv = lp2p_buf_reserve(buf, len);
  if (rv != 0) {
    return rv;
  }
  if (len) {
    memcpy(buf->data + buf->len, data, len);
  }
  buf->len += len;
  buf->data[buf->len] = 0;
  return 0;
}

int lp2p_buf_append_str(lp2p_buf *buf, const char *str) {
  return lp2p_buf_append(buf, str, strlen(str));
}

void lp2p_buf_truncate(lp2p_buf *buf, size_t len) {
  if (len < buf->len) {
    buf->len = len;
    buf->data[len] = 0;
  }
}
