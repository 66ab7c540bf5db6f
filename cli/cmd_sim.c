/* lp2p sim: run a simulated GossipSub network and report on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"
#include "lp2p/sim.h"

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

typedef struct sim_args {
  lp2p_sim_config c;
  bool json;
} sim_args;

static const char *const attack_names[] = {"none", "invalid", "drop",
                                           "ihave-spam", "graft-spam"};

static int parse_attack(const char *v, lp2p_sim_attack *out) {
  for (int i = 1; i < 5; i++) {
    if (strcmp(v, attack_names[i]) == 0) {
      *out = (lp2p_sim_attack)i;
      return 0;
    }
  }
  return -1;
}

static int parse_flag(sim_args *a, int argc, char **argv, int *i) {
  const char *arg = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
  if (strcmp(arg, "--json") == 0) {
    a->json = true;
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
               : bad_value(arg, "invalid, drop, ihave-spam or graft-spam", val);
  } else if (strcmp(arg, "--model") == 0 && val) {
    (*i)++;
    if (strcmp(val, "uniform") != 0 && strcmp(val, "interop") != 0) {
      return bad_value(arg, "uniform or interop", val);
    }
    a->c.model = val[0] == 'i' ? LP2P_SIM_INTEROP : LP2P_SIM_UNIFORM;
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

static int parse_args(sim_args *a, int argc, char **argv) {
  uint64_t nodes = a->c.nodes, degree = a->c.degree, msgs = a->c.messages;
  uint64_t size = a->c.size, seed = a->c.seed, interval_ms = 100;
  uint64_t latency_ms = 50, drain_s = 5, attackers = 0;
  const int_opt opts[] = {
      {"--nodes", &nodes, 2, 1000000},
      {"--degree", &degree, 2, 1000000},
      {"--messages", &msgs, 0, 100000000},
      {"--size", &size, 8, (1u << 20) - 1024},
      {"--seed", &seed, 0, UINT64_MAX},
      {"--interval-ms", &interval_ms, 1, 3600000},
      {"--latency-ms", &latency_ms, 0, 3600000},
      {"--drain-s", &drain_s, 0, 86400},
      {"--attackers", &attackers, 0, 1000000},
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
  if (attackers && a->c.attack == LP2P_ATTACK_NONE) {
    fprintf(stderr, "lp2p sim: --attackers needs --attack\n");
    return 2;
  }
  if (!attackers && a->c.attack != LP2P_ATTACK_NONE) {
    fprintf(stderr, "lp2p sim: --attack needs --attackers N\n");
    return 2;
  }
  return 0;
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
         "\"trace_hash\":\"%s\",\"run\":{\"wall_s\":%.3f,"
         "\"peak_rss_mb\":%.1f}}\n",
         a->c.nodes, a->c.degree, a->c.messages, a->c.size,
         (unsigned long long)a->c.seed, a->c.sign ? "true" : "false",
         a->c.idontwant ? "true" : "false",
         a->c.model == LP2P_SIM_INTEROP ? "interop" : "uniform", a->c.attackers,
         attack_names[a->c.attack], a->c.scoring ? "true" : "false",
         r->attacker_score_mean, r->delivery_ratio, r->latency_p50_ms,
         r->latency_p90_ms, r->latency_p99_ms, r->latency_max_ms,
         r->duplicates_per_message, r->bytes_per_delivered_byte, r->mesh_min,
         r->mesh_mean, r->mesh_max, (unsigned long long)r->events,
         (unsigned long long)r->rpcs_lost, hash, wall, peak_rss_mb());
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
  if (a->c.attackers) {
    printf("attackers   %zu (%s), scoring %s, their mean score %.2f\n",
           a->c.attackers, attack_names[a->c.attack],
           a->c.scoring ? "on" : "off", r->attacker_score_mean);
  }
  printf("%llu events in %.2f s wall, peak RSS %.0f MiB\n",
         (unsigned long long)r->events, wall, peak_rss_mb());
}

static int run_sim(int argc, char **argv) {
  sim_args a = {0};
  lp2p_sim_result r;
  struct timespec t0, t1;
  lp2p_sim_config_default(&a.c);
  int rv = parse_args(&a, argc, argv);
  if (rv != 0) {
    return rv;
  }
  if (!a.json) {
    a.c.progress = progress;
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  rv = lp2p_sim_run(&a.c, &r);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (!a.json) {
    fputc('\n', stderr);
  }
  if (rv != 0) {
    return cli_fail("simulation failed: %s", lp2p_strerror(rv));
  }
  double wall =
      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  (a.json ? print_json : print_summary)(&a, &r, wall);
  return 0;
}

const cli_command cli_cmd_sim = {
    "sim",
    "simulate a GossipSub network of lp2p routers",
    "usage: lp2p sim [--nodes N] [--degree K] [--messages M] [--size BYTES]\n"
    "                [--seed S] [--sign|--no-sign] [--idontwant on|off]\n"
    "                [--model uniform|interop] [--latency-ms MS] [--loss P]\n"
    "                [--interval-ms MS] [--drain-s S] [--json]\n"
    "                [--attackers A --attack invalid|drop|ihave-spam|"
    "graft-spam]\n"
    "                [--score on|off]\n"
    "\n"
    "Runs N lp2p routers (the code of the node) in one process on a virtual\n"
    "clock. Each node dials K/2 random others (degree K on average) and\n"
    "joins one topic; after 3 s, M messages are published by random nodes,\n"
    "one every --interval-ms (100), and the run ends --drain-s (5) after\n"
    "the last. Links: --latency-ms one way (50) at 1 Gbit/s in the uniform\n"
    "model; the interop model is the gossipsub-interop harness's network\n"
    "(8 regions, 2-220 ms, 20% of nodes at 1 Gbit/s, 80% at 50 Mbit/s).\n"
    "--loss drops that fraction of RPCs. Defaults: 100 nodes, degree 20,\n"
    "100 messages of 1024 bytes, seed 1, signed, IDONTWANT on.\n"
    "\n"
    "--attackers adds A nodes that connect like the others and attack:\n"
    "invalid (publish and forward bad signatures), drop (stay in meshes,\n"
    "forward nothing), ihave-spam (advertise ids, never answer IWANT) or\n"
    "graft-spam (GRAFT again and again during backoff). --score on turns\n"
    "on peer scoring with parameters modelled on Ethereum's (one slot a\n"
    "second); delivery counts honest nodes only, and attacker_score_mean\n"
    "is the mean score honest nodes give attackers.\n"
    "\n"
    "--json prints one object: delivery_ratio, latency_ms {p50,p90,p99,max},\n"
    "duplicates_per_message, bytes_per_delivered_byte, mesh_degree\n"
    "{min,mean,max}, events, trace_hash and run {wall_s, peak_rss_mb};\n"
    "everything but run is the same for the same arguments. Otherwise a\n"
    "progress bar on stderr, then a summary.\n",
    run_sim,
};
