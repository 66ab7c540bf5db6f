/* lp2p sim: run a simulated GossipSub network and report on it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"
#include "lp2p/sim.h"
#include "sim_plot.h"
#include "trace_file.h"

static int bad_value(const char *opt, const char *accepted, const char *v) {
  fprintf(stderr, "lp2p sim: %s takes %s, not '%s'\n", opt, accepted, v);
  return 2;
}

static int on_off(const char *opt, const char *v, bool *out) {
  if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0) {
    *out = v[1] == 'n';
    return 0;
  }
  return bad_value(opt, "on or off", v);
}

#define UNSET UINT64_MAX

typedef struct sim_args {
  lp2p_sim_config c;
  bool json;
  const char *scenario; /* NULL: none */
  const char *trace;    /* --trace FILE, or NULL */
  const char *plot;     /* --plot FILE.svg, or NULL */
  /* --plot-against FILE.json, each a run drawn beside this one */
  const char *against[SIM_PLOT_MAX_RUNS - 1];
  size_t nagainst;
  /* explicit values, UNSET when the scenario decides */
  uint64_t join_s, start_s, attacker_ips;
  /* --partial: the partial-messages run, beside the full-message one */
  const lp2p_sim_result *partial;
} sim_args;

static const char *const attack_names[LP2P_SIM_ATTACKS] = {
    "none",       "invalid",    "drop",          "ihave-spam",
    "graft-spam", "drop-serve", "ihave-withhold"};

static const char *const batch_order_names[] = {"rarest", "rr", "one-by-one"};

static int parse_name(const char *v, const char *const *names, int n,
                      int *out) {
  for (int i = 1; i < n; i++) {
    if (strcmp(v, names[i]) == 0) {
      *out = i;
      return 0;
    }
  }
  return -1;
}

static int parse_attack(const char *v, lp2p_sim_attack *out) {
  int i;
  int rv = parse_name(v, attack_names, LP2P_SIM_ATTACKS, &i);
  *out = rv == 0 ? (lp2p_sim_attack)i : *out;
  return rv;
}

/* Fills what the scenario decides, then what the flags said. */
static int apply_scenario(sim_args *a) {
  lp2p_sim_config *c = &a->c;
  if (a->scenario && lp2p_sim_scenario(c, a->scenario) != 0) {
    fprintf(stderr, "lp2p sim: unknown scenario '%s'\n", a->scenario);
    return -1;
  }
  if (a->join_s != UNSET) {
    c->attack_join = a->join_s * LP2P_SECONDS;
  }
  if (a->start_s != UNSET) {
    c->attack_start = a->start_s * LP2P_SECONDS;
  }
  if (a->attacker_ips != UNSET) {
    c->attacker_ips = (size_t)a->attacker_ips;
  }
  return 0;
}

static int parse_flag(sim_args *a, int argc, char **argv, int *i) {
  const char *arg = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
  if (strcmp(arg, "--json") == 0) {
    a->json = true;
  } else if (strcmp(arg, "--wire") == 0) {
    a->c.wire = true;
  } else if (strcmp(arg, "--sign") == 0 || strcmp(arg, "--no-sign") == 0) {
    a->c.sign = arg[2] == 's';
  } else if (strcmp(arg, "--idontwant") == 0 && val) {
    (*i)++;
    return on_off(arg, val, &a->c.idontwant);
  } else if (strcmp(arg, "--score") == 0 && val) {
    (*i)++;
    return on_off(arg, val, &a->c.scoring);
  } else if (strcmp(arg, "--attack") == 0 && val) {
    (*i)++;
    return parse_attack(val, &a->c.attack) == 0
               ? 0
               : bad_value(arg,
                           "drop, drop-serve, ihave-withhold, invalid, "
                           "ihave-spam or graft-spam",
                           val);
  } else if (strcmp(arg, "--scenario") == 0 && val) {
    (*i)++;
    a->scenario = val;
  } else if (strcmp(arg, "--trace") == 0 && val) {
    (*i)++;
    a->trace = val;
  } else if (strcmp(arg, "--plot") == 0 && val) {
    (*i)++;
    a->plot = val;
  } else if (strcmp(arg, "--plot-against") == 0 && val) {
    (*i)++;
    if (a->nagainst == SIM_PLOT_MAX_RUNS - 1) {
      fprintf(stderr, "lp2p sim: --plot-against at most %d times\n",
              SIM_PLOT_MAX_RUNS - 1);
      return 2;
    }
    a->against[a->nagainst++] = val;
  } else if (strcmp(arg, "--partial") == 0) {
    a->c.partial = true;
  } else if (strcmp(arg, "--eclipse") == 0) {
    a->c.eclipse = true;
  } else if (strcmp(arg, "--model") == 0 && val) {
    (*i)++;
    if (strcmp(val, "uniform") != 0 && strcmp(val, "interop") != 0) {
      return bad_value(arg, "uniform or interop", val);
    }
    a->c.model = val[0] == 'i' ? LP2P_SIM_INTEROP : LP2P_SIM_UNIFORM;
  } else if (strcmp(arg, "--batch-order") == 0 && val) {
    (*i)++;
    int k = -1;
    for (int j = 0; j < 3; j++) {
      k = strcmp(val, batch_order_names[j]) == 0 ? j : k;
    }
    if (k < 0) {
      return bad_value(arg, "rarest, rr or one-by-one", val);
    }
    a->c.batch_order = (lp2p_sim_batch_order)k;
  } else if (strcmp(arg, "--loss") == 0 && val) {
    (*i)++;
    return cli_parse_decimal(&cli_cmd_sim, arg, val, 0, 0.999999, &a->c.loss)
               ? 2
               : 0;
  } else {
    return 1;
  }
  return 0;
}

typedef struct int_opt {
  const char *name;
  uint64_t *value;
  uint64_t min, max; /* what lp2p_sim_run accepts, or a sane bound */
} int_opt;

/* An integer option at argv[*i]: 0 when taken, 2 after printing why its
 * value is bad, -1 when none of them. */
static int parse_int_opt(const int_opt *opts, size_t n, int argc, char **argv,
                         int *i) {
  for (size_t k = 0; k < n; k++) {
    if (strcmp(argv[*i], opts[k].name) == 0 && *i + 1 < argc) {
      (*i)++;
      return cli_parse_uint(&cli_cmd_sim, opts[k].name, argv[*i], opts[k].min,
                            opts[k].max, opts[k].value);
    }
  }
  return -1;
}

/* --batch, --batch-order, --copies and --uplink-mbps, once parsed.
 * Returns 0 or 2 (printed why). */
static int check_batch(sim_args *a, uint64_t batch, uint64_t copies,
                       uint64_t uplink_mbps) {
  a->c.batch = (size_t)batch;
  a->c.copies = (size_t)copies;
  if (batch && copies >= a->c.nodes) {
    fprintf(stderr, "lp2p sim: --copies is below --nodes\n");
    return 2;
  }
  if (!batch && a->c.batch_order != LP2P_SIM_BATCH_RAREST_FIRST) {
    fprintf(stderr, "lp2p sim: --batch-order needs --batch N\n");
    return 2;
  }
  if (uplink_mbps && a->c.model != LP2P_SIM_UNIFORM) {
    fprintf(stderr, "lp2p sim: --uplink-mbps is for the uniform model (the "
                    "interop model sets its own)\n");
    return 2;
  }
  if (uplink_mbps) {
    a->c.uplink_bps = uplink_mbps * 1000 * 1000;
  }
  return 0;
}

/* What --partial needs of the rest; 0 or 2 after printing why. */
static int check_partial(const lp2p_sim_config *c, bool trace_or_plot) {
  const char *why = NULL;
  if (!c->partial) {
    return 0;
  }
  if (c->attackers || c->wire || c->batch) {
    why = "--partial runs no attackers, --wire or --batch yet";
  } else if (trace_or_plot) {
    why = "--partial takes no --trace or --plot yet";
  } else if (c->publishers > c->parts || c->publishers >= c->nodes) {
    why = "--publishers is at most --parts, and below --nodes";
  } else if (c->size % c->parts || c->size / c->parts < 8) {
    why = "--size is a multiple of --parts, of at least 8 bytes a part";
  }
  if (why) {
    fprintf(stderr, "lp2p sim: %s\n", why);
    return 2;
  }
  return 0;
}

static int parse_args(sim_args *a, int argc, char **argv) {
  uint64_t nodes = a->c.nodes, degree = a->c.degree, msgs = a->c.messages;
  uint64_t size = a->c.size, seed = a->c.seed, interval_ms = 100;
  uint64_t latency_ms = 50, drain_s = 5, attackers = 0, warmup_s = 3;
  uint64_t trace_node = 0, batch = 0, copies = a->c.copies, uplink_mbps = 0;
  uint64_t parts = a->c.parts, publishers = a->c.publishers;
  const int_opt opts[] = {
      {"--batch", &batch, 1, LP2P_SIM_MAX_BATCH},
      {"--copies", &copies, 1, 1000000},
      {"--uplink-mbps", &uplink_mbps, 1, 1000000},
      {"--nodes", &nodes, 2, 1000000},
      {"--degree", &degree, 2, 1000000},
      {"--messages", &msgs, 0, 100000000},
      {"--size", &size, 8, (1u << 20) - 1024},
      {"--seed", &seed, 0, UINT64_MAX},
      {"--interval-ms", &interval_ms, 1, 3600000},
      {"--latency-ms", &latency_ms, 0, 3600000},
      {"--drain-s", &drain_s, 0, 86400},
      {"--attackers", &attackers, 0, 1000000},
      {"--warmup-s", &warmup_s, 0, 86400},
      {"--attack-join-s", &a->join_s, 0, 86400},
      {"--attack-start-s", &a->start_s, 0, 86400},
      {"--attacker-ips", &a->attacker_ips, 1, 1000000},
      {"--trace-node", &trace_node, 0, 1999999},
      {"--parts", &parts, 1, 64},
      {"--publishers", &publishers, 1, 64},
  };
  for (int i = 0; i < argc; i++) {
    int rv = parse_flag(a, argc, argv, &i);
    if (rv == 1) {
      rv = parse_int_opt(opts, sizeof(opts) / sizeof(opts[0]), argc, argv, &i);
    }
    if (rv != 0) {
      return rv == 2 ? 2 : cli_usage_error(&cli_cmd_sim, "unknown option");
    }
  }
  a->c.nodes = (size_t)nodes;
  a->c.degree = (size_t)degree;
  a->c.messages = (size_t)msgs;
  a->c.size = (size_t)size;
  a->c.seed = seed;
  a->c.interval = interval_ms * LP2P_MILLISECONDS;
  a->c.latency = latency_ms * LP2P_MILLISECONDS;
  a->c.drain = drain_s * LP2P_SECONDS;
  a->c.attackers = (size_t)attackers;
  a->c.warmup = warmup_s * LP2P_SECONDS;
  a->c.trace_node = (size_t)trace_node;
  a->c.parts = (size_t)parts;
  a->c.publishers = (size_t)publishers;
  if (check_batch(a, batch, copies, uplink_mbps) != 0) {
    return 2;
  }
  if (a->nagainst && !a->plot) {
    fprintf(stderr, "lp2p sim: --plot-against needs --plot FILE.svg\n");
    return 2;
  }
  if (trace_node >= nodes + attackers) {
    fprintf(stderr, "lp2p sim: --trace-node is below nodes + attackers\n");
    return 2;
  }
  if (a->scenario && a->c.attack == LP2P_ATTACK_NONE && attackers) {
    a->c.attack = LP2P_ATTACK_DROP; /* a scenario's default behaviour */
  }
  if (apply_scenario(a) != 0) {
    return 2;
  }
  if (attackers && a->c.attack == LP2P_ATTACK_NONE) {
    fprintf(stderr, "lp2p sim: --attackers needs --attack\n");
    return 2;
  }
  if (attackers && a->c.wire) {
    fprintf(stderr, "lp2p sim: --wire runs no attackers yet\n");
    return 2;
  }
  if (!attackers && a->c.attack != LP2P_ATTACK_NONE) {
    fprintf(stderr, "lp2p sim: --attack needs --attackers N\n");
    return 2;
  }
  return check_partial(&a->c, a->trace || a->plot);
}

static void progress(double done, void *user) {
  (void)user;
  int width = 40, fill = (int)(done * width);
  fprintf(stderr, "\r[%.*s%*s] %3d%%", fill,
          "########################################", width - fill, "",
          (int)(done * 100));
}

static double peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

/* The attack's settings and measures, as JSON fields (with a leading
 * comma), when there are attackers. */
static void print_json_attack(const sim_args *a, const lp2p_sim_result *r) {
  const lp2p_sim_config *c = &a->c;
  if (!c->attackers) {
    return;
  }
  printf(",\"scenario\":\"%s\",\"attack_join_s\":%.3f,"
         "\"attack_start_s\":%.3f,\"eclipse\":%s,\"attacker_ips\":%zu,"
         "\"attacker_mesh_fraction_max\":%.4f,"
         "\"attacker_mesh_score_mean\":%.3f,\"recovery_s\":%.3f",
         a->scenario ? a->scenario : "none", (double)c->attack_join / 1e9,
         (double)c->attack_start / 1e9, c->eclipse ? "true" : "false",
         c->attacker_ips, r->attacker_mesh_fraction_max,
         r->attacker_mesh_score_mean, r->recovery_s);
  if (c->eclipse) {
    printf(",\"target\":{\"delivery_ratio\":%.6f,\"latency_p99_ms\":%.3f}",
           r->target_delivery_ratio, r->target_latency_p99_ms);
  }
}

/* With --batch: how soon the groups spread, with a leading comma. */
static void print_json_batch(const sim_args *a, const lp2p_sim_result *r) {
  const lp2p_sim_config *c = &a->c;
  if (!c->batch) {
    return;
  }
  printf(",\"batch\":{\"size\":%zu,\"order\":\"%s\",\"copies\":%zu,"
         "\"uplink_mbps\":%.0f,\"to_copies_ms\":{\"mean\":%.3f,"
         "\"p50\":%.3f,\"max\":%.3f},\"short\":%zu}",
         c->batch, batch_order_names[c->batch_order], c->copies,
         (double)c->uplink_bps / 1e6, r->batch_to_copies_ms_mean,
         r->batch_to_copies_ms_p50, r->batch_to_copies_ms_max,
         r->batches_short);
}

/* With --batch: how soon the groups spread. */
static void print_summary_batch(const sim_args *a, const lp2p_sim_result *r) {
  const lp2p_sim_config *c = &a->c;
  if (!c->batch) {
    return;
  }
  printf("batches     of %zu (%s): every message at %zu nodes after mean "
         "%.1f ms, p50 %.1f ms, max %.1f ms; %zu groups never\n",
         c->batch, batch_order_names[c->batch_order], c->copies,
         r->batch_to_copies_ms_mean, r->batch_to_copies_ms_p50,
         r->batch_to_copies_ms_max, r->batches_short);
}

/* Per-bucket measures, with a leading comma. */
static void print_json_buckets(const lp2p_sim_result *r) {
  printf(",\"bucket_s\":%.0f,\"buckets\":[", (double)r->bucket_len / 1e9);
  for (size_t i = 0; i < r->nbuckets; i++) {
    const lp2p_sim_bucket *b = &r->buckets[i];
    printf("%s{\"start_s\":%.3f,\"messages\":%llu,\"delivery_ratio\":%.6f,"
           "\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f},"
           "\"attacker_mesh_fraction\":%.4f,\"attacker_mesh_score\":%.3f}",
           i ? "," : "", (double)b->start / 1e9,
           (unsigned long long)b->messages, b->delivery_ratio,
           b->latency_p50_ms, b->latency_p99_ms, b->attacker_mesh_fraction,
           b->attacker_mesh_score);
  }
  printf("]");
}

/* What --plot-against reads back, with a leading comma. */
static void print_json_plot(const lp2p_sim_result *r) {
  printf(",\"latency_cdf_ms\":[");
  for (size_t i = 0; i < LP2P_SIM_CDF_POINTS; i++) {
    printf("%s%.3f", i ? "," : "", r->latency_cdf_ms[i]);
  }
  printf("],\"duplicates_histogram\":[");
  for (size_t i = 0; i < LP2P_SIM_DUP_BINS; i++) {
    printf("%s%llu", i ? "," : "",
           (unsigned long long)r->duplicates_histogram[i]);
  }
  printf("]");
}

/* The partial-messages run, with a leading comma: what it measured, and
 * its bytes per delivered byte over the full-message run's. */
static void print_json_partial(const sim_args *a, const lp2p_sim_result *full) {
  const lp2p_sim_result *r = a->partial;
  if (!r) {
    return;
  }
  const lp2p_sim_partial_result *p = &r->partial;
  char hash[65];
  for (int i = 0; i < 32; i++) {
    snprintf(hash + 2 * i, 3, "%02x", r->trace_hash[i]);
  }
  printf(",\"partial\":{\"parts\":%zu,\"part_size\":%zu,\"publishers\":%zu,"
         "\"delivery_ratio\":%.6f,\"groups_completed\":%llu,"
         "\"groups_expected\":%llu,\"latency_ms\":{\"p50\":%.3f,"
         "\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
         "\"bytes_per_delivered_byte\":%.4f,\"bytes_vs_full\":%.4f,"
         "\"bytes_sent\":%llu,\"delivered_bytes\":%llu,",
         a->c.parts, a->c.size / a->c.parts, a->c.publishers, r->delivery_ratio,
         (unsigned long long)r->delivered, (unsigned long long)r->expected,
         r->latency_p50_ms, r->latency_p90_ms, r->latency_p99_ms,
         r->latency_max_ms, r->bytes_per_delivered_byte,
         full->bytes_per_delivered_byte > 0
             ? r->bytes_per_delivered_byte / full->bytes_per_delivered_byte
             : 0,
         (unsigned long long)r->bytes_sent,
         (unsigned long long)p->delivered_bytes);
  printf("\"parts_new\":%llu,\"parts_duplicate\":%llu,\"rpcs\":%llu,"
         "\"rpcs_with_parts\":%llu,\"groups_dropped\":%llu,"
         "\"too_large\":%llu,\"queue_dropped\":%llu,\"invalid\":%llu,"
         "\"events\":%llu,\"trace_hash\":\"%s\"}",
         (unsigned long long)p->parts_new,
         (unsigned long long)p->parts_duplicate, (unsigned long long)p->rpcs,
         (unsigned long long)p->rpcs_with_parts,
         (unsigned long long)p->groups_dropped,
         (unsigned long long)p->too_large, (unsigned long long)p->queue_dropped,
         (unsigned long long)p->invalid, (unsigned long long)r->events, hash);
}

static void print_json(const sim_args *a, const lp2p_sim_result *r,
                       double wall) {
  char hash[65];
  for (int i = 0; i < 32; i++) {
    snprintf(hash + 2 * i, 3, "%02x", r->trace_hash[i]);
  }
  printf("{\"nodes\":%zu,\"degree\":%zu,\"messages\":%zu,\"size\":%zu,"
         "\"seed\":%llu,\"sign\":%s,\"idontwant\":%s,\"model\":\"%s\","
         "\"attackers\":%zu,\"attack\":\"%s\",\"score\":%s,"
         "\"attacker_score_mean\":%.3f,"
         "\"delivery_ratio\":%.6f,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
         "\"p99\":%.3f,\"max\":%.3f},\"duplicates_per_message\":%.4f,"
         "\"bytes_per_delivered_byte\":%.4f,\"mesh_degree\":{\"min\":%zu,"
         "\"mean\":%.3f,\"max\":%zu},\"events\":%llu,\"rpcs_lost\":%llu,"
         "\"trace_hash\":\"%s\"",
         a->c.nodes, a->c.degree, a->c.messages, a->c.size,
         (unsigned long long)a->c.seed, a->c.sign ? "true" : "false",
         a->c.idontwant ? "true" : "false",
         a->c.model == LP2P_SIM_INTEROP ? "interop" : "uniform", a->c.attackers,
         attack_names[a->c.attack], a->c.scoring ? "true" : "false",
         r->attacker_score_mean, r->delivery_ratio, r->latency_p50_ms,
         r->latency_p90_ms, r->latency_p99_ms, r->latency_max_ms,
         r->duplicates_per_message, r->bytes_per_delivered_byte, r->mesh_min,
         r->mesh_mean, r->mesh_max, (unsigned long long)r->events,
         (unsigned long long)r->rpcs_lost, hash);
  if (a->c.wire) {
    printf(",\"wire\":{\"sessions\":%llu,\"failures\":%llu}",
           (unsigned long long)r->sessions_established,
           (unsigned long long)r->wire_failures);
  }
  print_json_attack(a, r);
  print_json_batch(a, r);
  print_json_buckets(r);
  print_json_plot(r);
  print_json_partial(a, r);
  printf(",\"run\":{\"wall_s\":%.3f,\"peak_rss_mb\":%.1f}}\n", wall,
         peak_rss_mb());
}

/* The partial-messages run beside the full-message one above it. */
static void print_summary_partial(const sim_args *a,
                                  const lp2p_sim_result *full) {
  const lp2p_sim_result *r = a->partial;
  if (!r) {
    return;
  }
  printf("partial     %zu parts of %zu bytes, %zu publishers a message: "
         "completed %.4f (%llu of %llu)\n",
         a->c.parts, a->c.size / a->c.parts, a->c.publishers, r->delivery_ratio,
         (unsigned long long)r->delivered, (unsigned long long)r->expected);
  printf("            latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f "
         "ms\n",
         r->latency_p50_ms, r->latency_p90_ms, r->latency_p99_ms,
         r->latency_max_ms);
  printf("            %.2f bytes sent per byte delivered (full messages: "
         "%.2f, %.2fx); %.2f duplicate parts per node and message\n",
         r->bytes_per_delivered_byte, full->bytes_per_delivered_byte,
         full->bytes_per_delivered_byte > 0
             ? r->bytes_per_delivered_byte / full->bytes_per_delivered_byte
             : 0,
         r->duplicates_per_message);
}

static void print_summary(const sim_args *a, const lp2p_sim_result *r,
                          double wall) {
  printf("%zu nodes, degree %zu, %zu messages of %zu bytes (%s, IDONTWANT "
         "%s)\n",
         a->c.nodes, a->c.degree, a->c.messages, a->c.size,
         a->c.sign ? "signed" : "unsigned", a->c.idontwant ? "on" : "off");
  printf("delivered   %.4f (%llu of %llu)\n", r->delivery_ratio,
         (unsigned long long)r->delivered, (unsigned long long)r->expected);
  printf("latency     p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
         r->latency_p50_ms, r->latency_p90_ms, r->latency_p99_ms,
         r->latency_max_ms);
  printf("duplicates  %.2f per node and message; %.2f bytes sent per byte "
         "delivered\n",
         r->duplicates_per_message, r->bytes_per_delivered_byte);
  printf("mesh degree min %zu, mean %.2f, max %zu\n", r->mesh_min, r->mesh_mean,
         r->mesh_max);
  print_summary_batch(a, r);
  if (a->c.wire) {
    printf("wire        %llu sessions (Noise XX, yamux, /meshsub/1.2.0), "
           "%llu failures\n",
           (unsigned long long)r->sessions_established,
           (unsigned long long)r->wire_failures);
  }
  if (a->c.attackers) {
    printf("attackers   %zu (%s, scenario %s), scoring %s, their mean score "
           "%.2f\n",
           a->c.attackers, attack_names[a->c.attack],
           a->scenario ? a->scenario : "none", a->c.scoring ? "on" : "off",
           r->attacker_score_mean);
    printf("            held at most %.1f%% of honest mesh slots, at a mean "
           "score of %.2f; recovery %.1f s\n",
           100 * r->attacker_mesh_fraction_max, r->attacker_mesh_score_mean,
           r->recovery_s);
    if (a->c.eclipse) {
      printf("target      delivered %.4f, p99 %.1f ms\n",
             r->target_delivery_ratio, r->target_latency_p99_ms);
    }
    for (size_t i = 0; i < r->nbuckets; i++) {
      const lp2p_sim_bucket *b = &r->buckets[i];
      printf("  t=%5.0f s  delivered %.4f  p50 %7.1f ms  p99 %7.1f ms  "
             "attackers hold %5.1f%% of mesh slots (score %.2f)\n",
             (double)b->start / 1e9, b->delivery_ratio, b->latency_p50_ms,
             b->latency_p99_ms, 100 * b->attacker_mesh_fraction,
             b->attacker_mesh_score);
    }
  }
  print_summary_partial(a, r);
  printf("%llu events in %.2f s wall, peak RSS %.0f MiB\n",
         (unsigned long long)r->events, wall, peak_rss_mb());
}

static void on_trace(const lp2p_trace_event *ev, void *user) {
  trace_file_event(user, ev); /* a drop is counted, and reported below */
}

static void trace_closed(void *user) {
  (void)user;
}

/* The traced node's line: what its trace must count (tests/cli). */
static void print_trace(const sim_args *a, const lp2p_sim_result *r,
                        const trace_file *tf) {
  fprintf(stderr,
          "trace       node %zu: %llu events (%llu dropped) to %s; it "
          "delivered %llu messages of others and published %llu\n",
          a->c.trace_node, (unsigned long long)tf->events,
          (unsigned long long)tf->dropped, a->trace,
          (unsigned long long)r->trace_node_delivered,
          (unsigned long long)r->trace_node_published);
}

/* Reads the runs of --plot-against into runs[1..]: before the run, so
 * that a bad file costs no simulation. Returns 0 or 1 (printed why). */
static int read_against(const sim_args *a, sim_plot_run *runs) {
  for (size_t i = 0; i < a->nagainst; i++) {
    const char *path = a->against[i], *slash = strrchr(path, '/');
    lp2p_buf text;
    char why[200];
    lp2p_buf_init(&text, NULL);
    int rv = cli_read_file(path, 1 << 20, &text);
    int bad = rv == 0 ? sim_plot_read_json((const char *)text.data, text.len,
                                           slash ? slash + 1 : path,
                                           &runs[i + 1], why, sizeof(why))
                      : 0;
    lp2p_buf_free(&text);
    if (rv != 0) {
      return rv;
    }
    if (bad != 0) {
      return cli_fail("--plot-against %s: %s (the output of lp2p sim --json "
                      "is expected)",
                      path, why);
    }
  }
  return 0;
}

/* --plot's inputs and file, before the run: a bad file or path costs no
 * simulation. Returns 0 or 1 (printed why). */
static int prepare_plot(const sim_args *a, sim_plot_run *runs, FILE **f) {
  if (read_against(a, runs) != 0) {
    return 1;
  }
  *f = fopen(a->plot, "w");
  return *f ? 0 : cli_fail("--plot %s: %s", a->plot, strerror(errno));
}

/* A run that failed leaves no empty picture behind. */
static void drop_plot(const sim_args *a, FILE *f) {
  if (f) {
    fclose(f);
    remove(a->plot);
  }
}

/* This run beside those of --plot-against, into --plot's file `f`. */
static int write_plot(const sim_args *a, const lp2p_sim_result *r,
                      sim_plot_run *runs, FILE *f) {
  const lp2p_sim_config *c = &a->c;
  sim_plot_setup st = {c->nodes,
                       c->degree,
                       c->messages,
                       c->size,
                       c->seed,
                       c->attackers,
                       c->sign,
                       c->idontwant,
                       c->model == LP2P_SIM_INTEROP ? "interop" : "uniform",
                       attack_names[c->attack]};
  sim_plot_from_result(&runs[0], "this run", r);
  sim_plot_caption(&runs[0], &st);
  int rv = sim_plot_write(f, runs, 1 + a->nagainst);
  if (fclose(f) != 0 || rv != 0) {
    return cli_fail("--plot %s: cannot write it", a->plot);
  }
  return 0;
}

/* The run; with --partial, the full-message run on the same seed first
 * (the baseline, its fields the usual ones), then the partial one. */
static int run_both(sim_args *a, lp2p_sim_result *r, lp2p_sim_result *partial) {
  if (!a->c.partial) {
    return lp2p_sim_run(&a->c, r);
  }
  a->c.partial = false;
  int rv = lp2p_sim_run(&a->c, r);
  a->c.partial = true;
  if (rv == 0) {
    rv = lp2p_sim_run(&a->c, partial);
  }
  a->partial = rv == 0 ? partial : NULL;
  return rv;
}

static int run_sim(int argc, char **argv) {
  sim_args a = {.join_s = UNSET, .start_s = UNSET, .attacker_ips = UNSET};
  lp2p_sim_result r;
  struct timespec t0, t1;
  lp2p_sim_config_default(&a.c);
  int rv = parse_args(&a, argc, argv);
  if (rv != 0) {
    return rv;
  }
  sim_plot_run runs[SIM_PLOT_MAX_RUNS];
  FILE *plot = NULL;
  if (a.plot && prepare_plot(&a, runs, &plot) != 0) {
    return 1;
  }
  if (!a.json) {
    a.c.progress = progress;
  }
  trace_file tf;
  if (a.trace) {
    /* no loop: written synchronously, so no event is dropped */
    rv = trace_file_open(&tf, a.trace, NULL, 0);
    if (rv != 0) {
      drop_plot(&a, plot);
      return cli_fail("--trace %s: %s", a.trace, lp2p_strerror(rv));
    }
    a.c.trace = on_trace;
    a.c.trace_user = &tf;
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  lp2p_sim_result partial;
  rv = run_both(&a, &r, &partial);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (a.trace) {
    trace_file_close(&tf, trace_closed, NULL);
  }
  if (!a.json) {
    fputc('\n', stderr);
  }
  if (rv != 0) {
    drop_plot(&a, plot);
    return cli_fail("simulation failed: %s", lp2p_strerror(rv));
  }
  double wall =
      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  (a.json ? print_json : print_summary)(&a, &r, wall);
  if (a.trace) {
    print_trace(&a, &r, &tf);
  }
  return plot ? write_plot(&a, &r, runs, plot) : 0;
}

const cli_command cli_cmd_sim = {
    "sim",
    "simulate a GossipSub network of lp2p routers",
    "usage: lp2p sim [--nodes N] [--degree K] [--messages M] [--size BYTES]\n"
    "                [--seed S] [--sign|--no-sign] [--idontwant on|off]\n"
    "                [--model uniform|interop] [--latency-ms MS] [--loss P]\n"
    "                [--interval-ms MS] [--drain-s S] [--json]\n"
    "                [--warmup-s S] [--score on|off] [--wire]\n"
    "                [--partial [--parts N] [--publishers P]]\n"
    "                [--attackers A [--attack BEHAVIOUR] [--scenario NAME]\n"
    "                 [--attack-join-s S] [--attack-start-s S] [--eclipse]\n"
    "                 [--attacker-ips N]]\n"
    "                [--trace FILE [--trace-node N]]\n"
    "                [--plot FILE.svg [--plot-against OTHER.json]...]\n"
    "                [--batch N [--batch-order rarest|rr|one-by-one]\n"
    "                 [--copies K]] [--uplink-mbps X]\n"
    "\n"
    "Runs N lp2p routers (the code of the node) in one process on a virtual\n"
    "clock. Each node dials K/2 random others (degree K on average) and\n"
    "joins one topic; after --warmup-s (3), M messages are published by\n"
    "random nodes, one every --interval-ms (100), and the run ends\n"
    "--drain-s (5) after the last. Links: --latency-ms one way (50) at 1 "
    "Gbit/s in the uniform\n"
    "model; the interop model is the gossipsub-interop harness's network\n"
    "(8 regions, 2-220 ms, 20% of nodes at 1 Gbit/s, 80% at 50 Mbit/s).\n"
    "--loss drops that fraction of RPCs. Defaults: 100 nodes, degree 20,\n"
    "100 messages of 1024 bytes, seed 1, signed, IDONTWANT on.\n"
    "\n"
    "--wire runs the whole stack byte for byte: every link is a pair of\n"
    "libp2p sessions (multistream-select, Noise XX with each node's\n"
    "Ed25519 key, yamux, a /meshsub/1.2.0 stream each way carrying\n"
    "varint-framed RPCs), and the sessions' bytes, not RPCs, cross the\n"
    "links, on the same clock and model (a lost chunk is resent 200 ms\n"
    "later, as TCP would). 10x the time, 5x the memory per node of the\n"
    "RPC level (docs/sim-wire.md): for hundreds of nodes. No attackers.\n"
    "Same seed, same trace_hash.\n"
    "\n"
    "--attackers adds A sybils (4:1 is A = 4N), each dialling K/2 honest\n"
    "nodes. --attack BEHAVIOUR (drop with a --scenario):\n"
    "  drop            stay in meshes, forward nothing, answer no IWANT\n"
    "  drop-serve      stay in meshes, forward nothing, answer IWANTs\n"
    "  ihave-withhold  forward nothing; IHAVE every message received to\n"
    "                  every peer at once, answer no IWANT\n"
    "  invalid         publish and forward bad signatures\n"
    "  ihave-spam      IHAVE ids that exist nowhere\n"
    "  graft-spam      GRAFT again and again during backoff\n"
    "--scenario NAME (of the GossipSub v1.1 evaluation; flags override):\n"
    "  cold-boot       attackers dial honest nodes at t=0, beside the\n"
    "                  honest links (--attack-join-s 0)\n"
    "  warm            the attackers dial in once the meshes stand\n"
    "                  (--attack-join-s = warmup)\n"
    "  covert-flash    there from t=0, behaving as honest routers until a\n"
    "                  third of the publishing is done, then all attack at\n"
    "                  once (--attack-start-s)\n"
    "  eclipse         every attacker also dials honest node 0, the target\n"
    "                  (--eclipse)\n"
    "  ip-colocation   attackers behind 4 addresses\n"
    "                  (--attacker-ips; honest nodes have one each)\n"
    "--score on turns on peer scoring with parameters derived as Ethereum\n"
    "clients derive theirs, from one message every --interval-ms and the\n"
    "mesh degree. Delivery counts honest nodes only.\n"
    "\n"
    "--trace FILE: go's trace events of node --trace-node N (0), on the\n"
    "virtual clock (docs/tracing.md: .json/.jsonl, .gz or protobuf).\n"
    "\n"
    "--plot FILE.svg draws two panels in one picture: the delivery-latency\n"
    "CDF (the fraction of expected deliveries made within each latency)\n"
    "and the histogram of duplicates per honest node and message.\n"
    "--plot-against OTHER.json (up to 3 times) draws, beside this run, a\n"
    "run saved with --json: lp2p sim ... --json > a.json, then\n"
    "lp2p sim ... --plot b.svg --plot-against a.json.\n"
    "\n",
    run_sim,
    "--json prints one object: delivery_ratio, latency_ms {p50,p90,p99,max},\n"
    "duplicates_per_message, bytes_per_delivered_byte, mesh_degree\n"
    "{min,mean,max}, events, trace_hash, buckets (per bucket_s, 10 s, of\n"
    "publish time: delivery_ratio, latency_ms {p50,p99}, and at its end\n"
    "attacker_mesh_fraction, the share of honest mesh slots attackers\n"
    "hold, and attacker_mesh_score, the mean score honest nodes give\n"
    "them there), latency_cdf_ms (101 points: the latency of 0%, 1%, ...\n"
    "100% of deliveries), duplicates_histogram (65 counts of (node,\n"
    "message) pairs by duplicates received: 0 to 63, then 64 or more)\n"
    "and run {wall_s, peak_rss_mb}; with --partial, partial {parts,\n"
    "part_size, publishers, delivery_ratio, groups_completed,\n"
    "groups_expected, latency_ms, bytes_per_delivered_byte, bytes_vs_full\n"
    "(over the full-message run's), bytes_sent, delivered_bytes,\n"
    "parts_new, parts_duplicate, rpcs, rpcs_with_parts, groups_dropped,\n"
    "too_large, queue_dropped, invalid, events, trace_hash}; with\n"
    "attackers also attacker_score_mean, their mesh_fraction\n"
    "max and mesh score mean, recovery_s (from the attack's start until\n"
    "every later message reaches 99% of honest nodes; -1: never) and,\n"
    "for an eclipse, target {delivery_ratio, latency_p99_ms}; with\n"
    "--wire, wire {sessions, failures}: sessions upgraded, and failed\n"
    "sessions, reset streams or dropped RPCs; with --batch, batch {size,\n"
    "order, copies, uplink_mbps, to_copies_ms {mean,p50,max}, short};\n"
    "all but run is the same for the same arguments. Otherwise a\n"
    "progress bar on stderr, then a summary.\n"
    "\n"
    "--batch N publishes the messages in groups of N, each group at once\n"
    "by one random node, one group every --interval-ms, and reports the\n"
    "time until every message of a group has reached --copies K (8)\n"
    "honest nodes. --batch-order: rarest (lp2p_router_publish_batch: each\n"
    "write to a peer sends the message with the fewest copies sent so\n"
    "far), rr (go's batch: copies queued in rounds, each peer's queue in\n"
    "its order) or one-by-one (lp2p_router_publish for each). --uplink-mbps\n"
    "X sets every node's uplink (the publisher's too) in the uniform\n"
    "model: a node's RPCs leave one after another at X Mbit/s. Compare\n"
    "the orders on the same seed (bench/run-batch.sh).\n"
    "\n"
    "--partial (gossipsub v1.3 partial messages, docs/partial-messages.md)\n"
    "runs twice on the same seed: full messages as above, then each\n"
    "message split into --parts N (8) parts of size/N bytes, dealt round\n"
    "robin across --publishers P (2) random nodes. Every node joins\n"
    "requesting parts and runs the application of docs/sim-partial.md:\n"
    "it announces the parts it holds, asks each part it lacks of one\n"
    "peer that has it, and completes a group when it holds every part.\n"
    "Delivery is then completions, latency from publication to\n"
    "completion, bytes per delivered byte over the bytes nodes lacked.\n"
    "No attackers, --wire, --trace or --plot with it.\n",
};
