/* The delivery counts and latency histogram of `lp2p node --bench`. */
#include "node_bench.h"

#include <time.h>

unsigned node_bench_bucket(uint64_t us) {
  if (us < NODE_BENCH_SUB) {
    return (unsigned)us;
  }
  /* us is in [2^(e-1), 2^e); its top 6 bits (32..63) pick the sub-bucket */
  unsigned e = 64u - (unsigned)__builtin_clzll(us);
  uint64_t b =
      (uint64_t)NODE_BENCH_SUB * (e - 5u) + (us >> (e - 6u)) - NODE_BENCH_SUB;
  return b < NODE_BENCH_BUCKETS ? (unsigned)b : NODE_BENCH_BUCKETS - 1u;
}

/* The stamp "t=<digits> " at the start of the data; 0 when there is none
 * (the data is the network's: at most 19 digits are read). */
static uint64_t stamp_of(const uint8_t *data, size_t len) {
  if (len < 4 || data[0] != 't' || data[1] != '=') {
    return 0;
  }
  uint64_t t = 0;
  size_t i = 2;
  for (; i < len && i < 21 && data[i] >= '0' && data[i] <= '9'; i++) {
    t = t * 10u + (uint64_t)(data[i] - '0');
  }
  return i > 2 && i < len && data[i] == ' ' ? t : 0;
}

void node_bench_record(node_bench *b, const uint8_t *data, size_t len,
                       uint64_t now_us) {
  b->delivered++;
  b->bytes += len;
  uint64_t t = stamp_of(data, len);
  if (t == 0) {
    return;
  }
  b->timed++;
  /* a stamp from the future (another clock) counts as no delay */
  uint64_t lat = now_us > t ? now_us - t : 0;
  uint32_t *slot = &b->hist[node_bench_bucket(lat)];
  if (*slot < UINT32_MAX) {
    (*slot)++;
  }
}

void node_bench_print(const node_bench *b, FILE *f) {
  fprintf(f,
          ",\"bench\":{\"delivered\":%llu,\"bytes\":%llu,\"timed\":%llu,"
          "\"hist\":[",
          (unsigned long long)b->delivered, (unsigned long long)b->bytes,
          (unsigned long long)b->timed);
  const char *sep = "";
  for (unsigned i = 0; i < NODE_BENCH_BUCKETS; i++) {
    if (b->hist[i]) {
      fprintf(f, "%s[%u,%lu]", sep, i, (unsigned long)b->hist[i]);
      sep = ",";
    }
  }
  fprintf(f, "]}");
}

uint64_t node_bench_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
