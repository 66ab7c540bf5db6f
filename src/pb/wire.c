#include "pb/wire.h"

#include <string.h>

void lp2p_pb_reader_init(lp2p_pb_reader *r, const uint8_t *data, size_t len) {
  r->pos = data;
  /* data may be NULL for an absent field: NULL + 0 is undefined in C */
  r->end = len ? data + len : data;
}

int lp2p_pb_read_varint(const uint8_t **pos, const uint8_t *end, uint64_t *v) {
  const uint8_t *p = *pos;
  uint64_t x = 0;
  for (unsigned i = 0; i < LP2P_PB_VARINT_MAX; i++) {
    if (p == end) {
      return LP2P_ERR_TRUNCATED;
    }
    uint8_t b = *p++;
    /* the 10th byte may only carry the top bit of a uint64 */
    if (i == LP2P_PB_VARINT_MAX - 1 && b > 1) {
      return LP2P_ERR_OVERLONG;
    }
    x |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *v = x;
      *pos = p;
      return 0;
    }
  }
  return LP2P_ERR_OVERLONG;
}

static int read_fixed(lp2p_pb_reader *r, size_t n, uint64_t *v) {
  if ((size_t)(r->end - r->pos) < n) {
    return LP2P_ERR_TRUNCATED;
  }
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    x |= (uint64_t)r->pos[i] << (8 * i);
  }
  r->pos += n;
  *v = x;
  return 0;
}

int lp2p_pb_next(lp2p_pb_reader *r, lp2p_pb_field *f) {
  if (r->pos == r->end) {
    return 0;
  }
  uint64_t tag, len;
  int rv = lp2p_pb_read_varint(&r->pos, r->end, &tag);
  if (rv != 0) {
    return rv;
  }
  if (tag >> 3 == 0 || tag >> 3 > UINT32_MAX >> 3) {
    return LP2P_ERR_MALFORMED;
  }
  f->num = (uint32_t)(tag >> 3);
  f->wire_type = (uint8_t)(tag & 7);
  f->data = NULL;
  f->len = 0;
  f->value = 0;
  switch (f->wire_type) {
  case LP2P_PB_VARINT:
    rv = lp2p_pb_read_varint(&r->pos, r->end, &f->value);
    break;
  case LP2P_PB_FIXED64:
    rv = read_fixed(r, 8, &f->value);
    break;
  case LP2P_PB_FIXED32:
    rv = read_fixed(r, 4, &f->value);
    break;
  case LP2P_PB_LEN:
    rv = lp2p_pb_read_varint(&r->pos, r->end, &len);
    if (rv == 0 && len > (uint64_t)(r->end - r->pos)) {
      rv = LP2P_ERR_TRUNCATED;
    }
    if (rv == 0) {
      f->data = r->pos;
      f->len = (size_t)len;
      r->pos += len;
    }
    break;
  default: /* groups (3, 4) are obsolete; 6 and 7 do not exist */
    rv = LP2P_ERR_MALFORMED;
  }
  return rv == 0 ? 1 : rv;
}

size_t lp2p_pb_varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

uint8_t *lp2p_pb_write_varint(uint8_t *out, uint64_t v) {
  while (v >= 0x80) {
    *out++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *out++ = (uint8_t)v;
  return out;
}

size_t lp2p_pb_len_field_size(uint32_t num, size_t len) {
  return lp2p_pb_varint_size((uint64_t)num << 3) + lp2p_pb_varint_size(len) +
         len;
}

int lp2p_pb_put_varint(lp2p_buf *b, uint32_t num, uint64_t v) {
  uint8_t tmp[2 * LP2P_PB_VARINT_MAX];
  uint8_t *p = lp2p_pb_write_varint(tmp, (uint64_t)num << 3 | LP2P_PB_VARINT);
  p = lp2p_pb_write_varint(p, v);
  return lp2p_buf_append(b, tmp, (size_t)(p - tmp));
}

int lp2p_pb_put_len_header(lp2p_buf *b, uint32_t num, size_t len) {
  uint8_t tmp[2 * LP2P_PB_VARINT_MAX];
  uint8_t *p = lp2p_pb_write_varint(tmp, (uint64_t)num << 3 | LP2P_PB_LEN);
  p = lp2p_pb_write_varint(p, len);
  return lp2p_buf_append(b, tmp, (size_t)(p - tmp));
}

int lp2p_pb_put_bytes(lp2p_buf *b, uint32_t num, const void *data, size_t len) {
  size_t start = b->len;
  int rv = lp2p_pb_put_len_header(b, num, len);
  if (rv == 0) {
    rv = lp2p_buf_append(b, data, len);
  }
  if (rv != 0) {
    lp2p_buf_truncate(b, start);
  }
  return rv;
}
