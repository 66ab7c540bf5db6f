/* lp2p node's stdout, which must never stop the node: lines are formatted
 * one at a time, queued in a bounded buffer and written when stdout can
 * take them, without blocking. When the reader falls behind, the lines
 * beyond the bound are dropped and counted, as go-libp2p-pubsub drops
 * messages for a subscriber that does not keep up; heartbeats, keepalives
 * and forwarding go on meanwhile. A reader that keeps up sees exactly the
 * bytes a blocking stdout would have given it. */
#ifndef LP2P_CLI_NODE_OUTPUT_H
#define LP2P_CLI_NODE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

#include "lp2p/lp2p.h"

/* Event, stats and error lines may exceed the bound by this much: they are
 * few, and a stats line is what tells the user about the drops. */
#define NODE_OUTPUT_RESERVE (64u * 1024u)

typedef struct node_output {
  uv_loop_t *loop;
  FILE *line; /* an open_memstream where the line being made goes */
  char *line_mem;
  size_t line_len;
  union {
    uv_pipe_t pipe;
    uv_tty_t tty;
    uv_tcp_t tcp;
  } handle;
  uv_stream_t *stream; /* NULL: stdout is a file, written as lines come */
  uv_write_t req;
  uv_timer_t drain; /* how long a closing node waits for its reader */
  lp2p_buf queue;   /* lines not yet handed to a write */
  lp2p_buf writing; /* the bytes of the write in flight */
  size_t max;       /* bound of what waits: queue and unwritten bytes */
  uint64_t dropped_messages, dropped_events;
  bool writing_busy;
  bool dropping;      /* in an episode of drops, already reported */
  bool caught_up;     /* nothing waited for stdout since the last drop */
  uint64_t last_drop; /* uv_now of the last drop */
  bool broken;        /* stdout failed: everything is dropped from now on */
  bool closing;
  int open_handles;
  void (*closed)(void *user);
  void *closed_user;
} node_output;

/* Takes over stdout (fd 1) with a bound of `max` bytes of queued lines.
 * Returns 0 or prints the cause and returns 1. */
int node_output_open(node_output *o, uv_loop_t *loop, size_t max);
/* The stream to print the next line into (one line, ending in '\n'). */
FILE *node_output_line(node_output *o);
/* Ends the line: queues it, or drops and counts it when the reader is
 * behind. `message` tells a delivered message from an event line. */
void node_output_end_line(node_output *o, bool message);
/* Hands what is queued to stdout; call once per loop iteration, so that
 * an RPC of many messages costs one write. */
void node_output_flush(node_output *o);
/* Writes what is queued, waiting for the reader up to `wait_ms`, then
 * closes stdout's handles and calls `done` (from the loop). */
void node_output_close(node_output *o, uint64_t wait_ms,
                       void (*done)(void *user), void *user);
/* Frees what the output holds, once closed. */
void node_output_free(node_output *o);

#endif
