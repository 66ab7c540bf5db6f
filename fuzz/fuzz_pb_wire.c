/* The protobuf field reader every control-plane decoder is built on:
 * lp2p_pb_next. Beyond "no crash": each field's bytes lie inside the input
 * and the reader always moves forward; re-writing the fields read with the
 * field writers gives a stream no longer than the input (the writers use
 * minimal varints) that reads back as the same fields. */
#include <string.h>

#include "fuzz.h"
#include "pb/wire.h"

#define MAX_FIELDS 4096

typedef struct field_list {
  size_t n;
  lp2p_pb_field f[MAX_FIELDS];
} field_list;

static field_list first, second;

static int put_field(lp2p_buf *b, const lp2p_pb_field *f) {
  uint8_t tmp[8];
  size_t n = f->wire_type == LP2P_PB_FIXED64 ? 8 : 4;
  switch (f->wire_type) {
  case LP2P_PB_VARINT:
    return lp2p_pb_put_varint(b, f->num, f->value);
  case LP2P_PB_LEN:
    return lp2p_pb_put_bytes(b, f->num, f->data, f->len);
  default:
    for (size_t i = 0; i < n; i++) {
      tmp[i] = (uint8_t)(f->value >> (8 * i));
    }
    uint8_t tag[LP2P_PB_VARINT_MAX];
    uint8_t *end =
        lp2p_pb_write_varint(tag, (uint64_t)f->num << 3 | f->wire_type);
    int rv = lp2p_buf_append(b, tag, (size_t)(end - tag));
    return rv != 0 ? rv : lp2p_buf_append(b, tmp, n);
  }
}

/* Reads every field; returns the reader's final code (0 or an error). */
static int read_all(const uint8_t *data, size_t size, field_list *out) {
  lp2p_pb_reader r;
  int rv;
  out->n = 0;
  lp2p_pb_reader_init(&r, data, size);
  const uint8_t *last = r.pos;
  while (out->n < MAX_FIELDS && (rv = lp2p_pb_next(&r, &out->f[out->n])) == 1) {
    const lp2p_pb_field *f = &out->f[out->n++];
    FUZZ_CHECK(r.pos > last && r.pos <= data + size);
    FUZZ_CHECK(f->num != 0 && f->wire_type != 3 && f->wire_type != 4);
    if (f->wire_type == LP2P_PB_LEN) {
      FUZZ_CHECK(f->data >= last && f->data + f->len == r.pos);
    } else {
      FUZZ_CHECK(f->data == NULL && f->len == 0);
    }
    last = r.pos;
  }
  return out->n == MAX_FIELDS ? 0 : rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int rv = read_all(data, size, &first);
  FUZZ_CHECK(rv <= 0);
  lp2p_buf b;
  lp2p_buf_init(&b, NULL);
  for (size_t i = 0; i < first.n; i++) {
    FUZZ_CHECK(put_field(&b, &first.f[i]) == 0);
  }
  FUZZ_CHECK(b.len <= size);
  FUZZ_CHECK(read_all(b.data, b.len, &second) == 0);
  FUZZ_CHECK(second.n == first.n);
  for (size_t i = 0; i < first.n; i++) {
    const lp2p_pb_field *x = &first.f[i], *y = &second.f[i];
    FUZZ_CHECK(x->num == y->num && x->wire_type == y->wire_type);
    FUZZ_CHECK(x->value == y->value && x->len == y->len);
    FUZZ_CHECK(x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
  }
  lp2p_buf_free(&b);
  return 0;
}
