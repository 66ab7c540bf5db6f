/* lp2p node --partial (node_partial.h). */
#include <stdlib.h>
#include <string.h>

#include "node_partial.h"

int node_partial_mode(const char *v, lp2p_partial_mode *out) {
  if (strcmp(v, "requests") == 0) {
    *out = LP2P_PARTIAL_REQUESTS;
  } else if (strcmp(v, "supports") == 0) {
    *out = LP2P_PARTIAL_SUPPORTS;
  } else {
    return -1;
  }
  return 0;
}

static void print_event(const cli_partial_event *ev, void *user) {
  node_partial *p = user;
  char from[LP2P_PEER_ID_TEXT_MAX];
  if (ev->completed) {
    FILE *f = node_output_line(p->out);
    fprintf(f, "{\"event\":\"partial_complete\",\"topic\":");
    cli_json_string(f, ev->topic.data, ev->topic.len);
    fprintf(f, ",\"group\":%llu}\n", (unsigned long long)ev->group);
    node_output_end_line(p->out, true);
  }
  if (!p->events || !ev->from) {
    return;
  }
  cli_peer_text(ev->from, from);
  FILE *f = node_output_line(p->out);
  fprintf(f, "{\"event\":\"partial\",\"peer_id\":\"%s\",\"topic\":", from);
  cli_json_string(f, ev->topic.data, ev->topic.len);
  fprintf(f,
          ",\"group\":%llu,\"parts\":%u,\"new\":%u,\"have\":%u,"
          "\"metadata\":",
          (unsigned long long)ev->group, ev->received, ev->added, ev->have);
  fprintf(f, ev->peer_metadata < 0 ? "null" : "%d", ev->peer_metadata);
  fprintf(f, ",\"invalid\":%s}\n", ev->invalid ? "true" : "false");
  node_output_end_line(p->out, false);
}

void node_partial_settings(const node_partial *p, lp2p_node_settings *s) {
  s->router.extensions.partial_messages = p->mode != LP2P_PARTIAL_OFF;
}

void node_partial_start(node_partial *p, lp2p_node *n, node_output *out,
                        bool events) {
  cli_partial_init(&p->app, n, print_event, p);
  p->out = out;
  p->events = events;
}

int node_partial_topic(node_partial *p, const char *topic) {
  if (p->mode == LP2P_PARTIAL_OFF) {
    return 0;
  }
  return lp2p_router_set_topic_partial(lp2p_node_router(p->app.node),
                                       (const uint8_t *)topic, strlen(topic),
                                       p->mode);
}

/* Reads a decimal number (no sign) up to `max` at *s; moves *s past it. */
static bool read_number(const char **s, const char *end, uint64_t max,
                        uint64_t *out) {
  const char *p = *s;
  uint64_t v = 0;
  while (p < end && *p >= '0' && *p <= '9') {
    unsigned d = (unsigned)(*p - '0');
    if (v > (max - d) / 10) {
      return false;
    }
    v = v * 10 + d;
    p++;
  }
  if (p == *s) {
    return false;
  }
  *s = p;
  *out = v;
  return true;
}

/* Reads the peer ids after PARTS, each after one space, into `peers`
 * (room for NODE_PARTIAL_MAX_TO). Returns how many, or -1. */
static int read_peers(const char *s, const char *end, lp2p_peer_id *peers) {
  int n = 0;
  while (s < end) {
    if (*s++ != ' ' || n == NODE_PARTIAL_MAX_TO) {
      return -1;
    }
    const char *sp = memchr(s, ' ', (size_t)(end - s));
    const char *word_end = sp ? sp : end;
    if (lp2p_peer_id_parse(s, (size_t)(word_end - s), &peers[n++]) != 0) {
      return -1;
    }
    s = word_end;
  }
  return n;
}

bool node_partial_line(node_partial *p, const char *topic, const lp2p_buf *line,
                       const char **err) {
  static const char cmd[] = "partial ";
  const char *s = (const char *)line->data, *end = s + line->len;
  if (p->mode == LP2P_PARTIAL_OFF || line->len < sizeof(cmd) - 1 ||
      memcmp(s, cmd, sizeof(cmd) - 1) != 0) {
    return false;
  }
  s += sizeof(cmd) - 1;
  uint64_t group, parts;
  lp2p_peer_id to[NODE_PARTIAL_MAX_TO];
  int nto = -1;
  *err = NULL;
  if (read_number(&s, end, UINT64_MAX, &group) && s < end && *s++ == ' ' &&
      read_number(&s, end, CLI_PARTIAL_ALL, &parts)) {
    nto = read_peers(s, end, to);
  }
  if (nto < 0) {
    *err = "a partial line is: partial GROUP PARTS (0-255) [PEER_ID]... "
           "(at most 64 peers)";
    return true;
  }
  size_t tlen = strlen(topic);
  int rv = cli_partial_add(&p->app, (const uint8_t *)topic, tlen, group,
                           (uint8_t)parts);
  if (rv == 0) {
    rv = cli_partial_publish(&p->app, (const uint8_t *)topic, tlen, group, to,
                             (size_t)nto);
  }
  *err = rv < 0 ? lp2p_strerror(rv) : NULL;
  return true;
}

void node_partial_free(node_partial *p) {
  cli_partial_free(&p->app);
}
