/* Writes a fixed set of trace events of every type through the encoders
 * and the `lp2p` command's trace file sink, for go's tools to read:
 *   trace_emit [--sync] [--max BYTES] PREFIX
 * writes PREFIX.pb, PREFIX.pb.gz and PREFIX.jsonl (the same events: type
 * t appears t + 1 times, each with its own message id, peers and topic,
 * real Ed25519 peer ids, topics with characters JSON escapes) and, for
 * each file, FILE.counts: "TYPE_NAME N" per type queued, then "dropped N".
 * By default the events go from a libuv timer through the loop's thread
 * pool; --sync writes without a loop, as the simulator will. --max bounds
 * each file's queue, to show that overflow drops whole events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../cli/trace_file.h"
#include "testutil_trace.h"

#define N_FILES 3

typedef struct emitter {
  const char *prefix;
  size_t max;
  uv_loop_t *loop;
  trace_file files[N_FILES];
  char paths[N_FILES][4096];
  uint64_t queued[N_FILES][LP2P_TRACE_TYPE_COUNT];
  int open_files;
} emitter;

static const char *const suffixes[N_FILES] = {".pb", ".pb.gz", ".jsonl"};

/* an Ed25519 peer id: identity multihash of the key's protobuf */
static void peer_id(uint8_t out[38], uint8_t seed) {
  static const uint8_t head[6] = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20};
  memcpy(out, head, sizeof head);
  for (int i = 0; i < 32; i++) {
    out[6 + i] = (uint8_t)(seed * 31 + i * 7);
  }
}

static const char *const topics[] = {"blocks", "tx/<pending>&\"new\"", "",
                                     "caf\xc3\xa9\n\xe2\x80\xa8\x01"};

static void emit_all(emitter *e) {
  uint8_t self[38], peer[38], peer2[38], mid[16];
  peer_id(self, 0);
  int k = 0;
  for (int t = 0; t < LP2P_TRACE_TYPE_COUNT; t++) {
    for (int i = 0; i <= t; i++, k++) {
      peer_id(peer, (uint8_t)(1 + k));
      peer_id(peer2, (uint8_t)(100 + k));
      /* go's default id: author then seqno, binary bytes */
      memcpy(mid, "\x00\xffmsg", 5);
      snprintf((char *)mid + 5, sizeof mid - 5, "%06d", k % 1000000);
      const char *topic = topics[k % 4];
      trace_fixture f = {
          .self = {self, sizeof self},
          .peer = {peer, sizeof peer},
          .peer2 = {peer2, sizeof peer2},
          .message_id = {mid, 11},
          .topic = {(const uint8_t *)topic, strlen(topic)},
          .reason = {(const uint8_t *)LP2P_TRACE_REJECT_VALIDATION_IGNORED,
                     strlen(LP2P_TRACE_REJECT_VALIDATION_IGNORED)},
          .proto = {(const uint8_t *)"/meshsub/1.2.0", 14},
          .timestamp = 1767225600000000000 + (int64_t)k * 1000003,
          .write_duration_ns = 15000 + k};
      lp2p_trace_event ev;
      trace_fixture_event(&f, (lp2p_trace_type)t, &ev);
      for (int j = 0; j < N_FILES; j++) {
        e->queued[j][t] += trace_file_event(&e->files[j], &ev);
        /* as a loop iteration would: one write for a few events */
        if (k % 8 == 7) {
          trace_file_flush(&e->files[j]);
        }
      }
    }
  }
}

static int write_counts(const emitter *e, int j) {
  char path[4200];
  snprintf(path, sizeof path, "%s.counts", e->paths[j]);
  FILE *out = fopen(path, "w");
  if (!out) {
    perror(path);
    return 1;
  }
  for (int t = 0; t < LP2P_TRACE_TYPE_COUNT; t++) {
    if (e->queued[j][t]) {
      fprintf(out, "%s %llu\n", lp2p_trace_type_name((lp2p_trace_type)t),
              (unsigned long long)e->queued[j][t]);
    }
  }
  fprintf(out, "dropped %llu\n", (unsigned long long)e->files[j].dropped);
  return fclose(out) == 0 ? 0 : 1;
}

static void on_closed(void *user) {
  ((emitter *)user)->open_files--;
}

static void emit_and_close(emitter *e) {
  emit_all(e);
  for (int j = 0; j < N_FILES; j++) {
    trace_file_close(&e->files[j], on_closed, e);
  }
}

static void on_timer(uv_timer_t *timer) {
  emit_and_close(timer->data);
  uv_close((uv_handle_t *)timer, NULL);
}

int main(int argc, char **argv) {
  emitter e = {0};
  bool sync = false;
  int a = 1;
  for (; a < argc - 1; a++) {
    if (strcmp(argv[a], "--sync") == 0) {
      sync = true;
    } else if (strcmp(argv[a], "--max") == 0 && a + 2 < argc) {
      e.max = (size_t)strtoull(argv[++a], NULL, 10);
    } else {
      break;
    }
  }
  if (a != argc - 1) {
    fprintf(stderr, "usage: trace_emit [--sync] [--max BYTES] PREFIX\n");
    return 2;
  }
  e.prefix = argv[a];
  e.loop = sync ? NULL : uv_default_loop();
  for (int j = 0; j < N_FILES; j++) {
    snprintf(e.paths[j], sizeof e.paths[j], "%s%s", e.prefix, suffixes[j]);
    int rv = trace_file_open(&e.files[j], e.paths[j], e.loop, e.max);
    if (rv != 0) {
      fprintf(stderr, "%s: %s\n", e.paths[j], uv_strerror(rv));
      return 1;
    }
    e.open_files++;
  }
  uint64_t dropped[N_FILES];
  if (sync) {
    emit_and_close(&e);
  } else {
    uv_timer_t timer;
    uv_timer_init(e.loop, &timer);
    timer.data = &e;
    uv_timer_start(&timer, on_timer, 0, 0);
    uv_run(e.loop, UV_RUN_DEFAULT);
  }
  int rv = e.open_files != 0;
  for (int j = 0; j < N_FILES; j++) {
    dropped[j] = e.files[j].dropped;
    rv |= write_counts(&e, j);
    rv |= e.files[j].write_errors != 0;
  }
  printf("dropped: pb %llu, pb.gz %llu, jsonl %llu\n",
         (unsigned long long)dropped[0], (unsigned long long)dropped[1],
         (unsigned long long)dropped[2]);
  return rv;
}
