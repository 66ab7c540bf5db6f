/* A trace file: lp2p trace events written where go's tools read them, as
 * go-libp2p-pubsub's PBTracer writes them (uvarint-delimited TraceEvents),
 * gzip'd when the name ends in .gz (what go-libp2p-pubsub-tracer's
 * trace2json and tracestat open), or as JSONTracer's JSON lines when it
 * ends in .json or .jsonl.
 *
 * Tracing must never stop the node: events are encoded into a bounded
 * queue, and with a loop the queue goes to the file through libuv's
 * thread pool, so the loop never waits for the disk. Events that would
 * take the queue past its bound are dropped and counted, as the node's
 * output drops lines for a slow reader. Without a loop (the simulator,
 * tests) the queue is written synchronously as it fills. */
#ifndef LP2P_CLI_TRACE_FILE_H
#define LP2P_CLI_TRACE_FILE_H

#include <stdbool.h>
#include <uv.h>
#include <zlib.h>

#include "lp2p/lp2p.h"

/* Default bound of the queued, unwritten bytes. */
#define TRACE_FILE_DEFAULT_MAX (8u * 1024u * 1024u)

typedef enum trace_file_format {
  TRACE_FILE_PB,    /* delimited protobuf */
  TRACE_FILE_PB_GZ, /* the same, gzip'd (name ends in .gz) */
  TRACE_FILE_JSON,  /* JSON lines (name ends in .json or .jsonl) */
} trace_file_format;

typedef struct trace_file {
  trace_file_format format;
  uv_loop_t *loop; /* NULL: written synchronously */
  uv_file fd;
  z_stream z;
  bool z_open;
  lp2p_buf event;   /* the event being encoded */
  lp2p_buf queue;   /* bytes for the file, compressed already */
  lp2p_buf writing; /* the bytes of the write in flight */
  size_t written;   /* of `writing`, by earlier partial writes */
  int64_t offset;   /* where the next write goes */
  uv_fs_t req;
  bool busy;    /* a write is in flight */
  bool failed;  /* the file failed: every event is dropped from now on */
  bool closing; /* closed by the caller, still writing */
  size_t max;   /* bound of queued and unwritten bytes */
  uint64_t events, dropped, write_errors;
  void (*closed)(void *user);
  void *closed_user;
} trace_file;

/* The format a file name asks for. */
trace_file_format trace_file_format_of(const char *path);
/* Creates (truncates) `path` with a bound of `max` queued bytes (0: the
 * default). Returns 0, or a negative libuv error with nothing open. */
int trace_file_open(trace_file *t, const char *path, uv_loop_t *loop,
                    size_t max);
/* Encodes and queues one event. Returns true, or false when it was
 * dropped (bound reached, file failed, out of memory) and counted. */
bool trace_file_event(trace_file *t, const lp2p_trace_event *ev);
/* Hands what is queued to the file; with a loop call it once per loop
 * iteration, so that many events cost one write. */
void trace_file_flush(trace_file *t);
/* Ends the file (the gzip trailer), writes what is queued and closes it,
 * then calls `closed` (from the loop when there is one, else before
 * returning). Every event queued before is in the file. */
void trace_file_close(trace_file *t, void (*closed)(void *user), void *user);

#endif
