/* GossipSubParams JSON: see params.h. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "params.h"

typedef enum kind { K_INT, K_DURATION, K_REAL, K_IGNORED } kind;

typedef struct field {
  const char *name;
  kind kind;
  size_t offset; /* into lp2p_router_params */
} field;

#define F(name, kind, member)                                                  \
  { name, kind, offsetof(lp2p_router_params, member) }

static const field fields[] = {
    F("D", K_INT, mesh.d),
    F("Dlo", K_INT, mesh.d_lo),
    F("Dhi", K_INT, mesh.d_hi),
    F("Dscore", K_INT, mesh.d_score),
    F("Dout", K_INT, mesh.d_out),
    F("Dlazy", K_INT, mesh.d_lazy),
    F("HistoryLength", K_INT, history_length),
    F("HistoryGossip", K_INT, history_gossip),
    F("GossipFactor", K_REAL, gossip_factor),
    F("GossipRetransmission", K_INT, gossip_retransmission),
    F("HeartbeatInitialDelay", K_DURATION, heartbeat_initial_delay),
    F("HeartbeatInterval", K_DURATION, heartbeat_interval),
    F("FanoutTTL", K_DURATION, fanout_ttl),
    F("PrunePeers", K_INT, prune_peers),
    F("PruneBackoff", K_DURATION, prune_backoff),
    F("UnsubscribeBackoff", K_DURATION, unsubscribe_backoff),
    F("DirectConnectTicks", K_INT, direct_connect_ticks),
    F("OpportunisticGraftTicks", K_INT, opportunistic_graft_ticks),
    F("OpportunisticGraftPeers", K_INT, opportunistic_graft_peers),
    F("GraftFloodThreshold", K_DURATION, graft_flood_threshold),
    F("MaxIHaveLength", K_INT, max_ihave_length),
    F("MaxIHaveMessages", K_INT, max_ihave_messages),
    F("MaxIDontWantMessages", K_INT, max_idontwant_messages),
    F("MaxIDontWantLength", K_INT, max_idontwant_length),
    F("IDontWantMessageTTL", K_INT, idontwant_message_ttl),
    F("IWantFollowupTime", K_DURATION, iwant_followup_time),
    {"IDontWantMessageThreshold", K_INT, (size_t)-1},
    {"SlowHeartbeatWarning", K_IGNORED, 0},
    {"Connectors", K_IGNORED, 0},
    {"MaxPendingConnections", K_IGNORED, 0},
    {"ConnectionTimeout", K_IGNORED, 0},
    {"DirectConnectInitialDelay", K_IGNORED, 0},
};

static const field *find(const char *name) {
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
    if (strcmp(fields[i].name, name) == 0) {
      return &fields[i];
    }
  }
  return NULL;
}

static int set(const field *f, json_t *v, lp2p_router_params *p,
               lp2p_errdetail *err) {
  char *base = (char *)p;
  if (f->kind == K_IGNORED) {
    return 0;
  }
  if (f->kind == K_REAL) {
    if (!json_is_number(v)) {
      snprintf(err->msg, sizeof(err->msg), "%s must be a number", f->name);
      return -1;
    }
    *(double *)(base + f->offset) = json_number_value(v);
    return 0;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 0) {
    snprintf(err->msg, sizeof(err->msg), "%s must be a non-negative integer%s",
             f->name, f->kind == K_DURATION ? " of nanoseconds" : "");
    return -1;
  }
  json_int_t x = json_integer_value(v);
  if (f->offset == (size_t)-1) {
    p->idontwant_message_threshold = (size_t)x;
  } else if (f->kind == K_DURATION) {
    *(lp2p_tstamp *)(base + f->offset) = (lp2p_tstamp)x;
  } else if (x > 1000000000) {
    snprintf(err->msg, sizeof(err->msg), "%s is too large", f->name);
    return -1;
  } else {
    *(int *)(base + f->offset) = (int)x;
  }
  return 0;
}

/* Applies `obj`; on failure `*bad` is the field at fault, when one is. */
static int apply(json_t *obj, lp2p_router_params *p, lp2p_errdetail *err,
                 const char **bad) {
  *bad = NULL;
  if (!json_is_object(obj)) {
    snprintf(err->msg, sizeof(err->msg), "the parameters must be an object");
    return -1;
  }
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    const field *f = find(key);
    *bad = key;
    if (!f) {
      snprintf(err->msg, sizeof(err->msg), "unknown parameter '%s'", key);
      return -1;
    }
    if (set(f, v, p, err) != 0) {
      return -1;
    }
  }
  *bad = NULL;
  return lp2p_router_params_validate(p, err) == 0 ? 0 : -1;
}

int cli_params_apply(json_t *obj, lp2p_router_params *p, lp2p_errdetail *err) {
  const char *bad;
  return apply(obj, p, err, &bad);
}

/* The first field the validator's message names ("Dout 3 must be below
 * Dlo 2"): the consistency rules name the fields they relate. */
static const char *field_named_in(const char *msg, json_t *obj) {
  for (const char *w = msg; *w; w++) {
    static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "abcdefghijklmnopqrstuvwxyz";
    size_t n = strspn(w, letters);
    char word[64];
    if (n > 0 && n < sizeof(word) && (w == msg || w[-1] == ' ')) {
      memcpy(word, w, n);
      word[n] = 0;
      const field *f = find(word);
      if (f && json_object_get(obj, f->name)) {
        return f->name;
      }
    }
    w += n ? n - 1 : 0;
  }
  return NULL;
}

/* The line of `"name":` in the JSON text, 0 when not found. jansson keeps
 * no positions of values, and a key's text is unique enough. */
static int line_of(const lp2p_buf *text, const char *name) {
  char quoted[128];
  int n = snprintf(quoted, sizeof(quoted), "\"%s\"", name);
  if (n <= 0 || (size_t)n >= sizeof(quoted)) {
    return 0;
  }
  int line = 1;
  for (size_t i = 0; i + (size_t)n <= text->len; i++) {
    if (memcmp(text->data + i, quoted, (size_t)n) == 0) {
      return line;
    }
    line += text->data[i] == '\n';
  }
  return 0;
}

/* Parameter files are small: every GossipSubParams field is ~1 KiB. */
#define PARAMS_FILE_MAX (1u << 20)

int cli_params_load(const char *path, lp2p_router_params *p) {
  lp2p_buf text;
  lp2p_buf_init(&text, NULL);
  if (cli_read_file(path, PARAMS_FILE_MAX, &text) != 0) {
    return 1;
  }
  json_error_t jerr;
  json_t *root = json_loadb((const char *)text.data, text.len, 0, &jerr);
  int rv = 0;
  if (!root) {
    rv = cli_fail("%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
  } else {
    lp2p_errdetail err;
    const char *bad;
    if (apply(root, p, &err, &bad) != 0) {
      bad = bad ? bad : field_named_in(err.msg, root);
      int line = bad ? line_of(&text, bad) : 0;
      rv = bad && line
               ? cli_fail("%s:%d: field %s: %s", path, line, bad, err.msg)
               : cli_fail("%s: %s", path, err.msg);
      rv = bad && !find(bad) ? 2 : rv; /* an unknown name: a usage error */
    }
    json_decref(root);
  }
  lp2p_buf_free(&text);
  return rv;
}
