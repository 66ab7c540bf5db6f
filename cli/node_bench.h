/* `lp2p node --bench`: what the network benchmark (bench/run-network.sh)
 * needs from a node, without a line per message. A reader of thousands of
 * message lines a second would be part of what is measured, so delivered
 * messages are only counted here, and those whose data begins with
 * "t=<unix time in microseconds> " (the benchmark's publish stamp) have
 * their latency on the machine's wall clock put in a histogram. The stats
 * line carries it all (node_bench_print); the go and js reference nodes
 * under tests/interop/gossipsub print the same object. */
#ifndef LP2P_CLI_NODE_BENCH_H
#define LP2P_CLI_NODE_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Log-linear buckets of microseconds: values below 32 have their own
 * bucket, each further power of two is cut in 32 (about 3% wide). 1024
 * buckets reach past 2^36 us (19 hours); larger values go in the last. */
#define NODE_BENCH_SUB 32u
#define NODE_BENCH_BUCKETS 1024u

typedef struct node_bench {
  uint64_t delivered; /* messages of other authors */
  uint64_t bytes;     /* their data bytes */
  uint64_t timed;     /* of them, those that carried a stamp */
  uint32_t hist[NODE_BENCH_BUCKETS];
} node_bench;

/* The bucket of a latency of `us` microseconds. */
unsigned node_bench_bucket(uint64_t us);
/* Counts one delivered message; `now_us` is the wall clock. */
void node_bench_record(node_bench *b, const uint8_t *data, size_t len,
                       uint64_t now_us);
/* ,"bench":{"delivered":n,"bytes":n,"timed":n,"hist":[[bucket,count],...]}
 * (only buckets with a count). */
void node_bench_print(const node_bench *b, FILE *f);
/* The wall clock in microseconds since the Unix epoch. */
uint64_t node_bench_now_us(void);

#endif
