/* Score parameters for lp2p node: see score_params.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "score_params.h"

#define SCORE_FILE_MAX (1u << 20)

typedef enum kind { K_REAL, K_DURATION, K_INT, K_IGNORED } kind;

typedef struct field {
  const char *name;
  kind kind;
  size_t offset;
} field;

#define P(name, kind, member)                                                  \
  { name, kind, offsetof(lp2p_score_params, member) }
#define TH(name, member)                                                       \
  { name, K_REAL, offsetof(lp2p_score_thresholds, member) }
#define TP(name, kind, member)                                                 \
  { name, kind, offsetof(lp2p_topic_score_params, member) }
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* go's PeerScoreParams; Topics and IPColocationFactorWhitelist apart.
 * SkipAtomicValidation is taken and has no effect: lp2p checks every
 * field, which go does only without it. */
static const field peer_fields[] = {
    P("TopicScoreCap", K_REAL, topic_score_cap),
    P("AppSpecificWeight", K_REAL, app_specific_weight),
    P("IPColocationFactorWeight", K_REAL, ip_colocation_factor_weight),
    P("IPColocationFactorThreshold", K_INT, ip_colocation_factor_threshold),
    P("BehaviourPenaltyWeight", K_REAL, behaviour_penalty_weight),
    P("BehaviourPenaltyThreshold", K_REAL, behaviour_penalty_threshold),
    P("BehaviourPenaltyDecay", K_REAL, behaviour_penalty_decay),
    P("DecayInterval", K_DURATION, decay_interval),
    P("DecayToZero", K_REAL, decay_to_zero),
    P("RetainScore", K_DURATION, retain_score),
    {"SkipAtomicValidation", K_IGNORED, 0},
};

static const field threshold_fields[] = {
    TH("GossipThreshold", gossip),
    TH("PublishThreshold", publish),
    TH("GraylistThreshold", graylist),
    TH("AcceptPXThreshold", accept_px),
    TH("OpportunisticGraftThreshold", opportunistic_graft),
    {"SkipAtomicValidation", K_IGNORED, 0},
};

static const field topic_fields[] = {
    TP("TopicWeight", K_REAL, topic_weight),
    TP("TimeInMeshWeight", K_REAL, time_in_mesh_weight),
    TP("TimeInMeshQuantum", K_DURATION, time_in_mesh_quantum),
    TP("TimeInMeshCap", K_REAL, time_in_mesh_cap),
    TP("FirstMessageDeliveriesWeight", K_REAL, first_message_deliveries_weight),
    TP("FirstMessageDeliveriesDecay", K_REAL, first_message_deliveries_decay),
    TP("FirstMessageDeliveriesCap", K_REAL, first_message_deliveries_cap),
    TP("MeshMessageDeliveriesWeight", K_REAL, mesh_message_deliveries_weight),
    TP("MeshMessageDeliveriesDecay", K_REAL, mesh_message_deliveries_decay),
    TP("MeshMessageDeliveriesCap", K_REAL, mesh_message_deliveries_cap),
    TP("MeshMessageDeliveriesThreshold", K_REAL,
       mesh_message_deliveries_threshold),
    TP("MeshMessageDeliveriesWindow", K_DURATION,
       mesh_message_deliveries_window),
    TP("MeshMessageDeliveriesActivation", K_DURATION,
       mesh_message_deliveries_activation),
    TP("MeshFailurePenaltyWeight", K_REAL, mesh_failure_penalty_weight),
    TP("MeshFailurePenaltyDecay", K_REAL, mesh_failure_penalty_decay),
    TP("InvalidMessageDeliveriesWeight", K_REAL,
       invalid_message_deliveries_weight),
    TP("InvalidMessageDeliveriesDecay", K_REAL,
       invalid_message_deliveries_decay),
    {"SkipAtomicValidation", K_IGNORED, 0},
};

/* Where a failure is: the message and the key, for its line. */
typedef struct where {
  lp2p_errdetail *err;
  const char *key;
} where;

static int fail_at(where *w, const char *key, const char *fmt,
                   const char *name) {
  snprintf(w->err->msg, sizeof(w->err->msg), fmt, name);
  w->key = key;
  return -1;
}

static int set_field(const field *f, const char *key, json_t *v, void *base,
                     where *w) {
  char *at = (char *)base + f->offset;
  if (f->kind == K_IGNORED) {
    return 0;
  }
  if (f->kind == K_REAL) {
    if (!json_is_number(v)) {
      return fail_at(w, key, "%s must be a number", f->name);
    }
    *(double *)at = json_number_value(v);
    return 0;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 0) {
    return fail_at(w, key,
                   f->kind == K_DURATION
                       ? "%s must be a non-negative integer of nanoseconds"
                       : "%s must be a non-negative integer",
                   f->name);
  }
  json_int_t x = json_integer_value(v);
  if (f->kind == K_DURATION) {
    *(lp2p_tstamp *)at = (lp2p_tstamp)x;
  } else if (x > 1000000000) {
    return fail_at(w, key, "%s is too large", f->name);
  } else {
    *(int *)at = (int)x;
  }
  return 0;
}

/* One field of `tab` by name, or an error naming `key` in `what`. */
static int set_named(const field *tab, size_t n, const char *what,
                     const char *key, json_t *v, void *base, where *w) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(tab[i].name, key) == 0) {
      return set_field(&tab[i], key, v, base, w);
    }
  }
  snprintf(w->err->msg, sizeof(w->err->msg), "unknown %s field '%s'", what,
           key);
  w->key = key;
  return -1;
}

static int apply_table(json_t *obj, const field *tab, size_t n,
                       const char *what, void *base, where *w) {
  if (!json_is_object(obj)) {
    return fail_at(w, NULL, "%s must be an object", what);
  }
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    if (set_named(tab, n, what, key, v, base, w) != 0) {
      return -1;
    }
  }
  return 0;
}

/* "a.b.c.d/len" or "x::/len", IPv4 mapped into IPv6 as the score does. */
static int parse_net(const char *s, lp2p_ip_net *out) {
  char addr[64];
  const char *slash = strchr(s, '/');
  size_t alen = slash ? (size_t)(slash - s) : 0;
  if (!slash || alen == 0 || alen >= sizeof(addr)) {
    return -1;
  }
  memcpy(addr, s, alen);
  addr[alen] = 0;
  char *end;
  long bits = strtol(slash + 1, &end, 10);
  memset(out, 0, sizeof(*out));
  if (*end || slash[1] == 0) {
    return -1;
  }
  if (inet_pton(AF_INET, addr, out->addr + 12) == 1 && bits >= 0 &&
      bits <= 32) {
    out->addr[10] = out->addr[11] = 0xff;
    out->prefix_len = (uint8_t)(96 + bits);
    return 0;
  }
  if (inet_pton(AF_INET6, addr, out->addr) == 1 && bits >= 0 && bits <= 128) {
    out->prefix_len = (uint8_t)bits;
    return 0;
  }
  return -1;
}

static int apply_whitelist(json_t *arr, lp2p_score_params *p, where *w) {
  const char *key = "IPColocationFactorWhitelist";
  if (!json_is_array(arr) || json_array_size(arr) > LP2P_SCORE_MAX_WHITELIST) {
    snprintf(w->err->msg, sizeof(w->err->msg),
             "%s must be a list of at most %d CIDR strings", key,
             LP2P_SCORE_MAX_WHITELIST);
    w->key = key;
    return -1;
  }
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (!json_is_string(v) ||
        parse_net(json_string_value(v), &p->ip_colocation_whitelist[i]) != 0) {
      return fail_at(w, key, "%s: not a CIDR like 10.0.0.0/8", key);
    }
  }
  p->ip_colocation_whitelist_len = json_array_size(arr);
  return 0;
}

static int apply_topics(json_t *obj, cli_score *s, where *w) {
  if (!json_is_object(obj)) {
    return fail_at(w, "Topics", "%s must be an object of topics", "Topics");
  }
  const char *name;
  json_t *v;
  json_object_foreach(obj, name, v) {
    if (s->ntopics == CLI_SCORE_MAX_TOPICS) {
      snprintf(w->err->msg, sizeof(w->err->msg), "more than %d scored topics",
               CLI_SCORE_MAX_TOPICS);
      w->key = name;
      return -1;
    }
    lp2p_topic_score_params *tp = &s->topics[s->ntopics];
    memset(tp, 0, sizeof(*tp));
    if (!(s->names[s->ntopics] = strdup(name))) {
      return fail_at(w, NULL, "%s", "out of memory");
    }
    s->ntopics++;
    if (apply_table(v, topic_fields, COUNT(topic_fields), "TopicScoreParams",
                    tp, w) != 0) {
      return -1;
    }
    lp2p_errdetail why;
    if (lp2p_topic_score_params_validate(tp, &why) != 0) {
      snprintf(w->err->msg, sizeof(w->err->msg), "topic '%.40s': %.100s", name,
               why.msg);
      w->key = name;
      return -1;
    }
  }
  return 0;
}

static int apply_peer(json_t *obj, cli_score *s, where *w) {
  if (!json_is_object(obj)) {
    return fail_at(w, "PeerScoreParams", "%s must be an object",
                   "PeerScoreParams");
  }
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    int rv;
    if (strcmp(key, "Topics") == 0) {
      rv = apply_topics(v, s, w);
    } else if (strcmp(key, "IPColocationFactorWhitelist") == 0) {
      rv = apply_whitelist(v, &s->peer, w);
    } else {
      rv = set_named(peer_fields, COUNT(peer_fields), "PeerScoreParams", key, v,
                     &s->peer, w);
    }
    if (rv != 0) {
      return -1;
    }
  }
  return 0;
}

static int apply_root(json_t *obj, cli_score *s, where *w) {
  memset(s, 0, sizeof(*s));
  if (!json_is_object(obj)) {
    return fail_at(w, NULL, "%s", "the score parameters must be an object");
  }
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    int rv;
    if (strcmp(key, "PeerScoreParams") == 0) {
      rv = apply_peer(v, s, w);
    } else if (strcmp(key, "PeerScoreThresholds") == 0) {
      rv = apply_table(v, threshold_fields, COUNT(threshold_fields),
                       "PeerScoreThresholds", &s->peer.thresholds, w);
    } else {
      rv = fail_at(w, key,
                   "unknown field '%s' (PeerScoreParams and "
                   "PeerScoreThresholds are)",
                   key);
    }
    if (rv != 0) {
      return -1;
    }
  }
  return lp2p_score_params_validate(&s->peer, w->err) == 0 ? 0 : -1;
}

int cli_score_apply(json_t *obj, cli_score *s, lp2p_errdetail *err,
                    const char **bad_key) {
  where w = {err, NULL};
  int rv = apply_root(obj, s, &w);
  if (bad_key) {
    *bad_key = w.key;
  }
  return rv;
}

/* The line of the first `"key":` in `text`, 0 when not found. */
static int line_of(const char *text, const char *key) {
  size_t klen = strlen(key);
  for (const char *p = strchr(text, '"'); p; p = strchr(p + 1, '"')) {
    if (strncmp(p + 1, key, klen) != 0 || p[1 + klen] != '"') {
      continue;
    }
    const char *q = p + 2 + klen;
    q += strspn(q, " \t\r\n");
    if (*q != ':') {
      continue;
    }
    int line = 1;
    for (const char *c = text; c < p; c++) {
      line += *c == '\n';
    }
    return line;
  }
  return 0;
}

int cli_score_load(const char *path, cli_score *s) {
  lp2p_buf text;
  lp2p_buf_init(&text, NULL);
  memset(s, 0, sizeof(*s));
  if (cli_read_file(path, SCORE_FILE_MAX, &text) != 0 ||
      lp2p_buf_append(&text, (const uint8_t *)"", 1) != 0) {
    lp2p_buf_free(&text);
    return 1;
  }
  json_error_t jerr;
  json_t *root = json_loads((const char *)text.data, 0, &jerr);
  int rv;
  if (!root) {
    rv = cli_fail("'%s': %s (line %d)", path, jerr.text, jerr.line);
  } else {
    lp2p_errdetail err;
    const char *key = NULL;
    rv = 0;
    if (cli_score_apply(root, s, &err, &key) != 0) {
      int line = key ? line_of((const char *)text.data, key) : 0;
      rv = line ? cli_fail("'%s' line %d: %s", path, line, err.msg)
                : cli_fail("'%s': %s", path, err.msg);
    }
    json_decref(root);
  }
  lp2p_buf_free(&text);
  return rv;
}

int cli_score_auto(double rate, const lp2p_router_params *rp,
                   const char *const *topics, size_t ntopics, cli_score *s) {
  lp2p_score_traffic t;
  lp2p_score_topic_traffic tt[CLI_SCORE_MAX_TOPICS];
  lp2p_errdetail err;
  memset(s, 0, sizeof(*s));
  if (ntopics > CLI_SCORE_MAX_TOPICS) {
    return cli_fail("--score auto: more than %d topics", CLI_SCORE_MAX_TOPICS);
  }
  lp2p_score_traffic_default(&t);
  t.heartbeat = rp->heartbeat_interval;
  t.mesh_d = rp->mesh.d;
  t.prune_backoff = rp->prune_backoff;
  for (size_t i = 0; i < ntopics; i++) {
    lp2p_score_topic_traffic_default(&tt[i], &t, rate);
    if (!(s->names[i] = strdup(topics[i]))) {
      return cli_fail("out of memory");
    }
    s->ntopics = i + 1;
  }
  if (lp2p_score_params_derive(&t, tt, ntopics, &s->peer, s->topics, &err)) {
    return cli_fail("--score auto --expected-rate %g: %s", rate, err.msg);
  }
  return 0;
}

int cli_score_set_topics(lp2p_router *r, const cli_score *s) {
  for (size_t i = 0; i < s->ntopics; i++) {
    lp2p_errdetail err;
    const char *name = s->names[i];
    if (lp2p_router_set_topic_score_params(
            r, (const uint8_t *)name, strlen(name), &s->topics[i], &err) != 0) {
      return cli_fail("cannot score topic '%s': %s", name, err.msg);
    }
  }
  return 0;
}

void cli_score_free(cli_score *s) {
  for (size_t i = 0; i < s->ntopics; i++) {
    free(s->names[i]);
  }
  s->ntopics = 0;
}
