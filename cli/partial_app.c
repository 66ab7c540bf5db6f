/* The test-plans partial-messages application (partial_app.h). Our own
 * implementation of the behaviour of gossipsub-interop's go-libp2p
 * partial.go: merge what arrives, tell the mesh when our parts grow,
 * answer a peer whose metadata differs from ours. */
#include <stdlib.h>
#include <string.h>

#include "partial_app.h"

struct cli_partial_group {
  uint8_t topic[CLI_PARTIAL_MAX_TOPIC];
  size_t topic_len;
  uint64_t id;
  uint8_t have; /* bit i: we have part i */
  uint64_t touched;
  uint8_t parts[CLI_PARTIAL_PARTS][CLI_PARTIAL_PART_LEN];
};

#define ENCODED_MAX                                                            \
  (1 + CLI_PARTIAL_PARTS * CLI_PARTIAL_PART_LEN + CLI_PARTIAL_GROUP_LEN)

void cli_partial_init(cli_partial_app *a, lp2p_node *n,
                      cli_partial_report_fn report, void *user) {
  memset(a, 0, sizeof(*a));
  a->node = n;
  a->report = report;
  a->user = user;
}

void cli_partial_free(cli_partial_app *a) {
  for (size_t i = 0; i < a->ngroups; i++) {
    free(a->groups[i]);
  }
  a->ngroups = 0;
}

/* ---- encoding ----------------------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static uint64_t get_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    v = v << 8 | p[i];
  }
  return v;
}

static int popcount8(uint8_t b) {
  int n = 0;
  for (; b; b &= (uint8_t)(b - 1)) {
    n++;
  }
  return n;
}

/* Part i of a group: consecutive big-endian u64 from id + 128 i. */
static void fill_part(cli_partial_group *g, int i) {
  uint64_t v = g->id + (uint64_t)i * (CLI_PARTIAL_PART_LEN / 8);
  for (size_t j = 0; j < CLI_PARTIAL_PART_LEN / 8; j++) {
    put_be64(&g->parts[i][8 * j], v + j);
  }
}

/* [send][the parts of `send` in index order][group id]; returns its
 * length (out holds ENCODED_MAX). */
static size_t encode(const cli_partial_group *g, uint8_t send, uint8_t *out) {
  size_t n = 0;
  out[n++] = send;
  for (int i = 0; i < CLI_PARTIAL_PARTS; i++) {
    if (send & (1u << i)) {
      memcpy(out + n, g->parts[i], CLI_PARTIAL_PART_LEN);
      n += CLI_PARTIAL_PART_LEN;
    }
  }
  put_be64(out + n, g->id);
  return n + CLI_PARTIAL_GROUP_LEN;
}

/* The bitmap of an encoded partial message of group `id`, or -1 when its
 * length does not match its bitmap or it names another group. */
static int decode_bitmap(lp2p_bytes enc, uint64_t id) {
  if (enc.len < 1 + CLI_PARTIAL_GROUP_LEN) {
    return -1;
  }
  size_t body = enc.len - 1 - CLI_PARTIAL_GROUP_LEN;
  if (body != (size_t)popcount8(enc.data[0]) * CLI_PARTIAL_PART_LEN ||
      get_be64(enc.data + enc.len - CLI_PARTIAL_GROUP_LEN) != id) {
    return -1;
  }
  return enc.data[0];
}

/* Copies the parts of an encoded message (decode_bitmap said `bitmap`)
 * that we lack; returns those added. */
static uint8_t merge(cli_partial_group *g, const uint8_t *enc, uint8_t bitmap) {
  const uint8_t *p = enc + 1;
  uint8_t added = 0;
  for (int i = 0; i < CLI_PARTIAL_PARTS; i++) {
    if (!(bitmap & (1u << i))) {
      continue;
    }
    if (!(g->have & (1u << i))) {
      memcpy(g->parts[i], p, CLI_PARTIAL_PART_LEN);
      added |= (uint8_t)(1u << i);
    }
    p += CLI_PARTIAL_PART_LEN;
  }
  g->have |= added;
  return added;
}

/* ---- groups ------------------------------------------------------------- */

static cli_partial_group *find(cli_partial_app *a, const uint8_t *topic,
                               size_t len, uint64_t id) {
  for (size_t i = 0; i < a->ngroups; i++) {
    cli_partial_group *g = a->groups[i];
    if (g->id == id && g->topic_len == len &&
        memcmp(g->topic, topic, len) == 0) {
      return g;
    }
  }
  return NULL;
}

/* Frees the least recently changed group: bounded memory whatever group
 * ids peers make up. */
static void evict_one(cli_partial_app *a) {
  size_t old = 0;
  for (size_t i = 1; i < a->ngroups; i++) {
    if (a->groups[i]->touched < a->groups[old]->touched) {
      old = i;
    }
  }
  free(a->groups[old]);
  a->groups[old] = a->groups[--a->ngroups];
  a->evicted++;
}

/* The group, created when new; NULL when out of memory or the topic is
 * too long. */
static cli_partial_group *group_get(cli_partial_app *a, const uint8_t *topic,
                                    size_t len, uint64_t id) {
  if (len == 0 || len > CLI_PARTIAL_MAX_TOPIC) {
    return NULL;
  }
  cli_partial_group *g = find(a, topic, len, id);
  if (!g) {
    g = calloc(1, sizeof(*g));
    if (!g) {
      return NULL;
    }
    if (a->ngroups == CLI_PARTIAL_MAX_GROUPS) {
      evict_one(a);
    }
    memcpy(g->topic, topic, len);
    g->topic_len = len;
    g->id = id;
    a->groups[a->ngroups++] = g;
  }
  g->touched = ++a->clock;
  return g;
}

int cli_partial_add(cli_partial_app *a, const uint8_t *topic, size_t len,
                    uint64_t group, uint8_t bitmap) {
  if (len == 0 || len > CLI_PARTIAL_MAX_TOPIC) {
    return LP2P_ERR_INVALID_ARG;
  }
  cli_partial_group *g = group_get(a, topic, len, group);
  if (!g) {
    return LP2P_ERR_NOMEM;
  }
  uint8_t added = bitmap & (uint8_t)~g->have;
  for (int i = 0; i < CLI_PARTIAL_PARTS; i++) {
    if (added & (1u << i)) {
      fill_part(g, i);
    }
  }
  g->have |= added;
  cli_partial_event ev = {
      NULL,   {topic, len}, group,
      bitmap, added,        g->have,
      -1,     false,        added && g->have == CLI_PARTIAL_ALL};
  a->report(&ev, a->user);
  return 0;
}

/* ---- publishing --------------------------------------------------------- */

/* Encodings made during one publication: they must outlive it. */
typedef struct scratch {
  struct scratch *next;
  uint8_t peer_md;
  uint8_t enc[ENCODED_MAX];
} scratch;

typedef struct pub_ctx {
  cli_partial_group *g;
  bool eager; /* parts even to a peer whose metadata we do not know */
  scratch *blocks;
} pub_ctx;

static bool action(lp2p_router *r, const lp2p_partial_peer *peer,
                   lp2p_partial_action *out, void *arg) {
  (void)r;
  pub_ctx *c = arg;
  bool known = peer->metadata.data && peer->metadata.len == 1;
  uint8_t theirs = known ? peer->metadata.data[0] : 0;
  if (known && theirs == c->g->have) {
    return false; /* nothing either side lacks: no redundant metadata */
  }
  out->metadata = (lp2p_bytes){&c->g->have, 1};
  uint8_t send = c->g->have & (uint8_t)~theirs;
  if (!peer->requests_partial || !(known || c->eager) || !send) {
    return true; /* our metadata: it asks for what it lacks */
  }
  scratch *s = malloc(sizeof(*s));
  if (!s) {
    return true;
  }
  s->next = c->blocks;
  c->blocks = s;
  out->parts = (lp2p_bytes){s->enc, encode(c->g, send, s->enc)};
  s->peer_md = theirs | send; /* what it has once these arrive */
  out->peer_metadata = (lp2p_bytes){&s->peer_md, 1};
  return true;
}

static int publish(cli_partial_app *a, cli_partial_group *g,
                   const lp2p_peer_id *peers, size_t npeers, bool eager) {
  lp2p_router *r = lp2p_node_router(a->node);
  uint8_t gid[CLI_PARTIAL_GROUP_LEN];
  put_be64(gid, g->id);
  pub_ctx c = {g, eager, NULL};
  int rv =
      lp2p_router_publish_partial(r, g->topic, g->topic_len, gid, sizeof(gid),
                                  peers, npeers, action, &c, lp2p_host_now());
  while (c.blocks) {
    scratch *next = c.blocks->next;
    free(c.blocks);
    c.blocks = next;
  }
  return rv;
}

int cli_partial_publish(cli_partial_app *a, const uint8_t *topic, size_t len,
                        uint64_t group, const lp2p_peer_id *peers,
                        size_t npeers) {
  cli_partial_group *g = find(a, topic, len, group);
  if (!g) {
    return LP2P_ERR_NOT_FOUND;
  }
  int rv = publish(a, g, peers, npeers, npeers > 0);
  if (rv == LP2P_ERR_STATE) {
    /* a topic we did not join (the fanout publisher): go publishes parts
     * on any topic; we send and do not ask */
    rv = lp2p_router_set_topic_partial(lp2p_node_router(a->node), topic, len,
                                       LP2P_PARTIAL_SUPPORTS);
    if (rv == 0) {
      rv = publish(a, g, peers, npeers, npeers > 0);
    }
  }
  lp2p_node_flush(a->node);
  return rv;
}

/* ---- the router's callbacks --------------------------------------------- */

/* Merges the parts of `pm` into `g`, filling `ev`; false when their
 * encoding is wrong. */
static bool take_parts(cli_partial_group *g, const lp2p_partial_rpc *pm,
                       cli_partial_event *ev) {
  if (!pm->parts.data) {
    return true;
  }
  int bitmap = decode_bitmap(pm->parts, g->id);
  if (bitmap < 0) {
    return false;
  }
  ev->received = (uint8_t)bitmap;
  ev->added = merge(g, pm->parts.data, (uint8_t)bitmap);
  return true;
}

void cli_partial_on_rpc(cli_partial_app *a, const lp2p_partial_rpc *pm) {
  lp2p_router *r = lp2p_node_router(a->node);
  cli_partial_group *g = pm->group.len == CLI_PARTIAL_GROUP_LEN
                             ? group_get(a, pm->topic.data, pm->topic.len,
                                         get_be64(pm->group.data))
                             : NULL;
  if (!g) {
    a->invalid += pm->group.len != CLI_PARTIAL_GROUP_LEN;
    return;
  }
  cli_partial_event ev = {pm->from, pm->topic, g->id, 0,    0,
                          0,        -1,        false, false};
  if (pm->metadata.data && pm->metadata.len == 1) {
    ev.peer_metadata = pm->metadata.data[0];
  }
  ev.invalid = !take_parts(g, pm, &ev);
  ev.have = g->have;
  ev.completed = ev.added && g->have == CLI_PARTIAL_ALL;
  a->invalid += ev.invalid;
  if (ev.invalid || ev.added) {
    (void)lp2p_router_partial_feedback(
        r, pm->topic.data, pm->topic.len, pm->from,
        ev.invalid ? LP2P_PARTIAL_INVALID : LP2P_PARTIAL_USEFUL);
  }
  a->report(&ev, a->user);
  if (ev.invalid) {
    return;
  }
  if (ev.added) {
    (void)publish(a, g, NULL, 0, false); /* our mesh: what we have now */
  }
  if (ev.peer_metadata >= 0 && ev.peer_metadata != g->have) {
    (void)publish(a, g, pm->from, 1, false); /* it has or lacks parts */
  }
}

void cli_partial_on_gossip(cli_partial_app *a, lp2p_bytes topic,
                           lp2p_bytes group, const lp2p_peer_id *peers,
                           size_t npeers) {
  cli_partial_group *g =
      group.len == CLI_PARTIAL_GROUP_LEN
          ? find(a, topic.data, topic.len, get_be64(group.data))
          : NULL;
  if (g) {
    (void)publish(a, g, peers, npeers, false);
  }
}
