/* The framing of pubsub streams (src/net/pubsub_stream.c): bytes split
 * anywhere in, whole RPCs out, lengths checked before any byte is kept. */
#include <stdlib.h>

#include "net/pubsub_stream.h"
#include "testutil.h"

#define MAX_SEEN 16

/* What the reader handed up. */
typedef struct seen {
  size_t n;
  size_t len[MAX_SEEN];
  uint8_t first[MAX_SEEN]; /* first byte of each RPC (0 when empty) */
  uint8_t last[MAX_SEEN];
  int fail_with; /* returned by the callback */
} seen;

static int on_rpc(const uint8_t *rpc, size_t len, void *user) {
  seen *s = user;
  assert_true(s->n < MAX_SEEN);
  s->len[s->n] = len;
  s->first[s->n] = len ? rpc[0] : 0;
  s->last[s->n] = len ? rpc[len - 1] : 0;
  s->n++;
  return s->fail_with;
}

/* Appends one framed RPC of `len` bytes, each `fill`, to `out`. */
static void put_rpc(lp2p_buf *out, size_t len, uint8_t fill) {
  uint8_t *body = malloc(len ? len : 1);
  assert_non_null(body);
  memset(body, fill, len);
  assert_int_equal(lp2p__pubsub_frame(out, body, len), 0);
  free(body);
}

static void rpc_split_at_every_byte_arrives_whole(void **state) {
  (void)state;
  lp2p_buf wire;
  lp2p_buf_init(&wire, NULL);
  put_rpc(&wire, 300, 0xab); /* two prefix bytes */
  for (size_t cut = 0; cut <= wire.len; cut++) {
    lp2p__pubsub_reader r;
    seen s = {0};
    lp2p__pubsub_reader_init(&r, 1024, NULL);
    assert_int_equal(lp2p__pubsub_reader_recv(&r, wire.data, cut, on_rpc, &s),
                     0);
    assert_int_equal(s.n, cut == wire.len);
    assert_int_equal(lp2p__pubsub_reader_recv(&r, wire.data + cut,
                                              wire.len - cut, on_rpc, &s),
                     0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.len[0], 300);
    assert_int_equal(s.first[0], 0xab);
    assert_int_equal(s.last[0], 0xab);
    assert_false(lp2p__pubsub_reader_mid_rpc(&r));
    lp2p__pubsub_reader_free(&r);
  }
  lp2p_buf_free(&wire);
}

static void rpcs_fed_one_byte_at_a_time_arrive_in_order(void **state) {
  (void)state;
  lp2p_buf wire;
  lp2p_buf_init(&wire, NULL);
  put_rpc(&wire, 200, 1);
  put_rpc(&wire, 0, 0);
  put_rpc(&wire, 5, 3);
  lp2p__pubsub_reader r;
  seen s = {0};
  lp2p__pubsub_reader_init(&r, 1024, NULL);
  for (size_t i = 0; i < wire.len; i++) {
    assert_int_equal(lp2p__pubsub_reader_recv(&r, wire.data + i, 1, on_rpc, &s),
                     0);
  }
  assert_int_equal(s.n, 3);
  assert_int_equal(s.len[0], 200);
  assert_int_equal(s.len[1], 0);
  assert_int_equal(s.len[2], 5);
  assert_int_equal(s.first[2], 3);
  assert_int_equal(r.rpcs, 3);
  lp2p__pubsub_reader_free(&r);
  lp2p_buf_free(&wire);
}

static void several_rpcs_in_one_chunk_all_arrive(void **state) {
  (void)state;
  lp2p_buf wire;
  lp2p_buf_init(&wire, NULL);
  for (uint8_t i = 1; i <= 5; i++) {
    put_rpc(&wire, 10u * i, i);
  }
  put_rpc(&wire, 7, 9); /* and the start of a sixth */
  size_t partial = wire.len - 3;
  lp2p__pubsub_reader r;
  seen s = {0};
  lp2p__pubsub_reader_init(&r, 1024, NULL);
  assert_int_equal(lp2p__pubsub_reader_recv(&r, wire.data, partial, on_rpc, &s),
                   0);
  assert_int_equal(s.n, 5);
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(s.len[i], 10 * (i + 1));
    assert_int_equal(s.first[i], i + 1);
  }
  assert_true(lp2p__pubsub_reader_mid_rpc(&r));
  assert_int_equal(
      lp2p__pubsub_reader_recv(&r, wire.data + partial, 3, on_rpc, &s), 0);
  assert_int_equal(s.n, 6);
  assert_int_equal(s.len[5], 7);
  assert_int_equal(s.last[5], 9);
  lp2p__pubsub_reader_free(&r);
  lp2p_buf_free(&wire);
}

/* an empty RPC is valid protobuf: go's reader hands it on as an RPC
 * with nothing in it */
static void zero_length_rpc_is_handed_up_empty(void **state) {
  (void)state;
  const uint8_t wire[] = {0x00, 0x00, 0x01, 0x42};
  lp2p__pubsub_reader r;
  seen s = {0};
  lp2p__pubsub_reader_init(&r, 1024, NULL);
  assert_int_equal(lp2p__pubsub_reader_recv(&r, wire, 1, on_rpc, &s), 0);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.len[0], 0);
  assert_false(lp2p__pubsub_reader_mid_rpc(&r));
  assert_int_equal(
      lp2p__pubsub_reader_recv(&r, wire + 1, sizeof(wire) - 1, on_rpc, &s), 0);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.len[1], 0);
  assert_int_equal(s.len[2], 1);
  assert_int_equal(s.first[2], 0x42);
  lp2p__pubsub_reader_free(&r);
}

static void rpc_of_exactly_max_size_is_accepted(void **state) {
  (void)state;
  lp2p_buf wire;
  lp2p_buf_init(&wire, NULL);
  put_rpc(&wire, 1000, 7);
  lp2p__pubsub_reader r;
  seen s = {0};
  lp2p__pubsub_reader_init(&r, 1000, NULL);
  assert_int_equal(
      lp2p__pubsub_reader_recv(&r, wire.data, wire.len, on_rpc, &s), 0);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.len[0], 1000);
  lp2p__pubsub_reader_free(&r);
  lp2p_buf_free(&wire);
}

/* refused on the prefix alone: not one byte of the RPC is kept */
static void length_one_past_max_is_refused_and_counted(void **state) {
  (void)state;
  uint8_t hdr[LP2P_UVARINT_MAX_LEN];
  size_t h = lp2p__pubsub_frame_header(1001, hdr);
  lp2p__pubsub_reader r;
  seen s = {0};
  lp2p__pubsub_reader_init(&r, 1000, NULL);
  assert_int_equal(lp2p__pubsub_reader_recv(&r, hdr, h, on_rpc, &s),
                   LP2P_ERR_TOO_LARGE);
  assert_int_equal(s.n, 0);
  assert_int_equal(r.oversized, 1);
  assert_int_equal(r.refused_len, 1001);
  assert_int_equal(r.partial.cap, 0);
  assert_non_null(strstr(lp2p__pubsub_reader_reason(&r), "maximum RPC size"));
  /* failed for good: the stream is to be reset */
  const uint8_t more[] = {0x01, 0x00};
  assert_int_equal(lp2p__pubsub_reader_recv(&r, more, 2, on_rpc, &s),
                   LP2P_ERR_TOO_LARGE);
  assert_int_equal(s.n, 0);
  /* a new stream on the same reader starts clean, counters kept */
  lp2p__pubsub_reader_reset(&r);
  assert_null(lp2p__pubsub_reader_reason(&r));
  assert_int_equal(lp2p__pubsub_reader_recv(&r, more, 2, on_rpc, &s), 0);
  assert_int_equal(s.n, 1);
  assert_int_equal(r.oversized, 1);
  lp2p__pubsub_reader_free(&r);
}

static void varint_length_split_across_chunks_is_joined(void **state) {
  (void)state;
  lp2p_buf wire;
  lp2p_buf_init(&wire, NULL);
  put_rpc(&wire, 20000, 5); /* three prefix bytes: 0xa0 0x9c 0x01 */
  assert_int_equal(wire.data[0] & 0x80, 0x80);
  assert_int_equal(wire.data[1] & 0x80, 0x80);
  lp2p__pubsub_reader r;
  seen s = {0};
  lp2p__pubsub_reader_init(&r, 1 << 20, NULL);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(lp2p__pubsub_reader_recv(&r, wire.data + i, 1, on_rpc, &s),
                     0);
    assert_true(lp2p__pubsub_reader_mid_rpc(&r));
  }
  assert_int_equal(
      lp2p__pubsub_reader_recv(&r, wire.data + 3, wire.len - 3, on_rpc, &s), 0);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.len[0], 20000);
  lp2p__pubsub_reader_free(&r);
  lp2p_buf_free(&wire);
}

/* as go (go-varint): a shorter encoding existed, or no end in 9 bytes */
static void non_minimal_or_endless_length_is_a_protocol_error(void **state) {
  (void)state;
  const uint8_t overlong[] = {0x81, 0x00};
  uint8_t endless[LP2P_UVARINT_MAX_LEN];
  memset(endless, 0x80, sizeof(endless));
  lp2p__pubsub_reader r;
  seen s = {0};
  lp2p__pubsub_reader_init(&r, 1 << 20, NULL);
  assert_int_equal(lp2p__pubsub_reader_recv(&r, overlong, 1, on_rpc, &s), 0);
  assert_int_equal(lp2p__pubsub_reader_recv(&r, overlong + 1, 1, on_rpc, &s),
                   LP2P_ERR_PROTOCOL);
  assert_int_equal(r.bad_lengths, 1);
  lp2p__pubsub_reader_reset(&r);
  assert_int_equal(lp2p__pubsub_reader_recv(&r, endless, 4, on_rpc, &s), 0);
  assert_int_equal(lp2p__pubsub_reader_recv(&r, endless + 4,
                                            sizeof(endless) - 4, on_rpc, &s),
                   LP2P_ERR_PROTOCOL);
  assert_int_equal(r.bad_lengths, 2);
  assert_int_equal(s.n, 0);
  lp2p__pubsub_reader_free(&r);
}

static void consumer_failure_stops_the_reader(void **state) {
  (void)state;
  lp2p_buf wire;
  lp2p_buf_init(&wire, NULL);
  put_rpc(&wire, 3, 1);
  put_rpc(&wire, 3, 2);
  lp2p__pubsub_reader r;
  seen s = {.fail_with = LP2P_ERR_NOMEM};
  lp2p__pubsub_reader_init(&r, 1024, NULL);
  assert_int_equal(
      lp2p__pubsub_reader_recv(&r, wire.data, wire.len, on_rpc, &s),
      LP2P_ERR_NOMEM);
  assert_int_equal(s.n, 1); /* the second is not handed up */
  lp2p__pubsub_reader_free(&r);
  lp2p_buf_free(&wire);
}

static int split_rpc_round(const lp2p_mem *mem, void *arg) {
  (void)arg;
  const uint8_t wire[] = {0x03, 0x0a, 0x0b, 0x0c};
  lp2p__pubsub_reader r;
  seen s = {0};
  lp2p__pubsub_reader_init(&r, 1024, mem);
  int rv = lp2p__pubsub_reader_recv(&r, wire, 2, on_rpc, &s);
  if (rv == 0) {
    rv = lp2p__pubsub_reader_recv(&r, wire + 2, 2, on_rpc, &s);
  }
  assert_int_equal(s.n, rv == 0);
  lp2p__pubsub_reader_free(&r);
  return rv;
}

static void split_rpc_without_memory_fails_the_stream(void **state) {
  (void)state;
  failmem_sweep(split_rpc_round, NULL);
}

static void unframe_takes_exactly_one_whole_frame(void **state) {
  (void)state;
  lp2p_buf wire;
  lp2p_buf_init(&wire, NULL);
  put_rpc(&wire, 130, 4);
  const uint8_t *rpc;
  size_t len;
  assert_int_equal(lp2p__pubsub_unframe(wire.data, wire.len, &rpc, &len), 0);
  assert_int_equal(len, 130);
  assert_ptr_equal(rpc, wire.data + 2);
  assert_int_equal(lp2p__pubsub_unframe(wire.data, wire.len - 1, &rpc, &len),
                   LP2P_ERR_PROTOCOL);
  assert_int_equal(lp2p_buf_append(&wire, "x", 1), 0);
  assert_int_equal(lp2p__pubsub_unframe(wire.data, wire.len, &rpc, &len),
                   LP2P_ERR_PROTOCOL);
  assert_int_equal(lp2p__pubsub_unframe(wire.data, 1, &rpc, &len),
                   LP2P_ERR_PROTOCOL);
  lp2p_buf_free(&wire);
}

/* ---- the writer ------------------------------------------------------- */

/* A stream that takes at most `room` bytes, then none until given more;
 * what it took is kept in `got`. */
typedef struct stream_sim {
  size_t room;
  int fail; /* returned instead of taking, when non-zero */
  lp2p_buf got;
  size_t nwritten; /* RPCs reported written whole */
  size_t written_len[8];
  lp2p_tstamp since[8];
} stream_sim;

static ptrdiff_t sim_write(const uint8_t *p, size_t len, void *user) {
  stream_sim *st = user;
  if (st->fail) {
    return st->fail;
  }
  size_t n = len < st->room ? len : st->room;
  assert_int_equal(lp2p_buf_append(&st->got, p, n), 0);
  st->room -= n;
  return (ptrdiff_t)n;
}

static void sim_written(const uint8_t *rpc, size_t len, lp2p_tstamp since,
                        void *user) {
  stream_sim *st = user;
  assert_true(st->nwritten < 8);
  const uint8_t *bare;
  size_t bare_len;
  assert_int_equal(lp2p__pubsub_unframe(rpc, len, &bare, &bare_len), 0);
  st->written_len[st->nwritten] = len;
  st->since[st->nwritten++] = since;
}

static void
writer_holds_what_the_stream_refuses_and_reports_whole_rpcs(void **state) {
  (void)state;
  stream_sim st = {.room = 50};
  lp2p_buf_init(&st.got, NULL);
  const lp2p__pubsub_sink sink = {sim_write, sim_written, &st};
  lp2p__pubsub_writer w;
  lp2p__pubsub_writer_init(&w, 1000, NULL);
  lp2p_buf a, b;
  lp2p_buf_init(&a, NULL);
  lp2p_buf_init(&b, NULL);
  put_rpc(&a, 30, 0xa1); /* 31 bytes framed: taken at once */
  put_rpc(&b, 40, 0xb2); /* 41: 19 taken, 22 held */
  assert_int_equal(lp2p__pubsub_writer_put(&w, a.data, a.len, &sink, 10), 0);
  assert_int_equal(st.nwritten, 1);
  assert_int_equal(st.since[0], 10);
  assert_int_equal(lp2p__pubsub_writer_put(&w, b.data, b.len, &sink, 20), 0);
  assert_int_equal(lp2p__pubsub_writer_held(&w), 22);
  assert_int_equal(st.nwritten, 1); /* b not yet whole */
  /* held bytes go first: a third RPC waits behind b */
  assert_int_equal(lp2p__pubsub_writer_put(&w, a.data, a.len, &sink, 25), 0);
  assert_int_equal(lp2p__pubsub_writer_held(&w), 22 + 31);
  st.room = 30; /* b's rest and 8 bytes of the third */
  assert_int_equal(lp2p__pubsub_writer_flush(&w, &sink, 30), 0);
  assert_int_equal(st.nwritten, 2);
  assert_int_equal(st.written_len[1], 41);
  assert_int_equal(st.since[1], 20); /* when b was put */
  st.room = 100;
  assert_int_equal(lp2p__pubsub_writer_flush(&w, &sink, 40), 1);
  assert_int_equal(st.nwritten, 3);
  assert_int_equal(lp2p__pubsub_writer_held(&w), 0);
  assert_null(w.held.data); /* an idle stream holds no buffer */
  /* the stream got the three RPCs whole and in order */
  seen s = {0};
  lp2p__pubsub_reader r;
  lp2p__pubsub_reader_init(&r, 1000, NULL);
  assert_int_equal(
      lp2p__pubsub_reader_recv(&r, st.got.data, st.got.len, on_rpc, &s), 0);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.first[1], 0xb2);
  lp2p__pubsub_reader_free(&r);
  lp2p__pubsub_writer_free(&w);
  lp2p_buf_free(&a);
  lp2p_buf_free(&b);
  lp2p_buf_free(&st.got);
}

static void
writer_refuses_one_past_its_bound_and_drops_on_stream_error(void **state) {
  (void)state;
  stream_sim st = {.room = 0};
  lp2p_buf_init(&st.got, NULL);
  const lp2p__pubsub_sink sink = {sim_write, sim_written, &st};
  lp2p__pubsub_writer w;
  lp2p_buf a;
  lp2p_buf_init(&a, NULL);
  put_rpc(&a, 30, 1); /* 31 bytes framed */
  lp2p__pubsub_writer_init(&w, 62, NULL);
  assert_int_equal(lp2p__pubsub_writer_put(&w, a.data, a.len, &sink, 0), 0);
  assert_int_equal(lp2p__pubsub_writer_put(&w, a.data, a.len, &sink, 0), 0);
  assert_int_equal(lp2p__pubsub_writer_held(&w), 62); /* exactly the bound */
  assert_int_equal(lp2p__pubsub_writer_put(&w, a.data, 1, &sink, 0),
                   LP2P_ERR_TOO_LARGE);
  assert_int_equal(lp2p__pubsub_writer_held(&w), 62);
  /* the stream breaks: what is held is dropped (a torn RPC cannot go on) */
  st.fail = LP2P_ERR_STATE;
  st.room = 10;
  assert_int_equal(lp2p__pubsub_writer_flush(&w, &sink, 0), LP2P_ERR_STATE);
  assert_int_equal(lp2p__pubsub_writer_held(&w), 0);
  assert_int_equal(st.nwritten, 0);
  lp2p__pubsub_writer_free(&w);
  lp2p_buf_free(&a);
  lp2p_buf_free(&st.got);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rpc_split_at_every_byte_arrives_whole),
      cmocka_unit_test(rpcs_fed_one_byte_at_a_time_arrive_in_order),
      cmocka_unit_test(several_rpcs_in_one_chunk_all_arrive),
      cmocka_unit_test(zero_length_rpc_is_handed_up_empty),
      cmocka_unit_test(rpc_of_exactly_max_size_is_accepted),
      cmocka_unit_test(length_one_past_max_is_refused_and_counted),
      cmocka_unit_test(varint_length_split_across_chunks_is_joined),
      cmocka_unit_test(non_minimal_or_endless_length_is_a_protocol_error),
      cmocka_unit_test(consumer_failure_stops_the_reader),
      cmocka_unit_test(split_rpc_without_memory_fails_the_stream),
      cmocka_unit_test(unframe_takes_exactly_one_whole_frame),
      cmocka_unit_test(
          writer_holds_what_the_stream_refuses_and_reports_whole_rpcs),
      cmocka_unit_test(
          writer_refuses_one_past_its_bound_and_drops_on_stream_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
