/* Protocol buffers wire format: a bounds-checked field reader that yields
 * views into the input, and field writers into an lp2p_buf. Every protobuf
 * lp2p speaks is decoded with these. */
#ifndef LP2P_PB_WIRE_H
#define LP2P_PB_WIRE_H

#include "lp2p/common.h"

enum {
  LP2P_PB_VARINT = 0,
  LP2P_PB_FIXED64 = 1,
  LP2P_PB_LEN = 2,
  LP2P_PB_FIXED32 = 5,
};

/* protobuf varints: up to 10 bytes, the full uint64 range */
#define LP2P_PB_VARINT_MAX 10

typedef struct lp2p_pb_field {
  uint32_t num;
  uint8_t wire_type;
  uint64_t value;      /* VARINT, FIXED64, FIXED32 */
  const uint8_t *data; /* LEN: view into the input */
  size_t len;
} lp2p_pb_field;

typedef struct lp2p_pb_reader {
  const uint8_t *pos;
  const uint8_t *end;
} lp2p_pb_reader;

void lp2p_pb_reader_init(lp2p_pb_reader *r, const uint8_t *data, size_t len);
/* Reads the next field: 1 when one was read, 0 at the end of input, or
 * LP2P_ERR_TRUNCATED, LP2P_ERR_OVERLONG (a varint over 10 bytes) or
 * LP2P_ERR_MALFORMED (field number 0, groups, unknown wire types). */
int lp2p_pb_next(lp2p_pb_reader *r, lp2p_pb_field *f);
/* Reads a varint at *pos and advances it; same errors. */
int lp2p_pb_read_varint(const uint8_t **pos, const uint8_t *end, uint64_t *v);

size_t lp2p_pb_varint_size(uint64_t v);
/* Writes a varint at `out` (room for LP2P_PB_VARINT_MAX bytes) and returns
 * the pointer past it. */
uint8_t *lp2p_pb_write_varint(uint8_t *out, uint64_t v);
/* Bytes a LEN field of `len` bytes takes, tag and length included. */
size_t lp2p_pb_len_field_size(uint32_t num, size_t len);
/* Field writers; each returns 0 or LP2P_ERR_NOMEM. */
int lp2p_pb_put_varint(lp2p_buf *b, uint32_t num, uint64_t v);
int lp2p_pb_put_bytes(lp2p_buf *b, uint32_t num, const void *data, size_t len);
/* Writes only the tag and length of a LEN field; the caller appends the
 * `len` bytes of its body (an embedded message) after it. */
int lp2p_pb_put_len_header(lp2p_buf *b, uint32_t num, size_t len);

#endif
