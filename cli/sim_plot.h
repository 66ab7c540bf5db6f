/* lp2p sim --plot: a run's delivery-latency CDF and duplicates histogram
 * as SVG, beside another run's read back from `lp2p sim --json`. */
#ifndef LP2P_CLI_SIM_PLOT_H
#define LP2P_CLI_SIM_PLOT_H

#include <stdint.h>
#include <stdio.h>

#include "lp2p/sim.h"

/* Most runs on one plot. */
#define SIM_PLOT_MAX_RUNS 4

/* What the plot shows of one run. */
typedef struct sim_plot_run {
  char label[48];    /* in the legends */
  char caption[200]; /* its configuration, under the panels */
  double delivery_ratio;
  double latency_cdf_ms[LP2P_SIM_CDF_POINTS];
  uint64_t duplicates[LP2P_SIM_DUP_BINS];
} sim_plot_run;

/* The configuration a caption names. */
typedef struct sim_plot_setup {
  uint64_t nodes, degree, messages, size, seed, attackers;
  int sign, idontwant;        /* 1, 0, or -1: not said */
  const char *model, *attack; /* NULL: not said */
} sim_plot_setup;

/* Fills run->caption from `setup`. */
void sim_plot_caption(sim_plot_run *run, const sim_plot_setup *setup);

/* A run from its result. */
void sim_plot_from_result(sim_plot_run *run, const char *label,
                          const lp2p_sim_result *r);

/* A run from the object `lp2p sim --json` printed: `text` of `len`
 * bytes (not NUL-terminated) is hostile input. Needs delivery_ratio (0 to
 * 1), latency_cdf_ms (LP2P_SIM_CDF_POINTS non-negative, finite numbers in
 * order) and duplicates_histogram (LP2P_SIM_DUP_BINS counts); the caption
 * comes from the configuration fields present. Returns 0, or -1 with why
 * in `why` (one line). */
int sim_plot_read_json(const char *text, size_t len, const char *label,
                       sim_plot_run *run, char *why, size_t why_len);

/* Writes the picture of n (1 to SIM_PLOT_MAX_RUNS) runs: the latency CDF
 * on the left, the duplicates histogram on the right, a caption per run
 * below. Returns 0, or -1 when writing failed. */
int sim_plot_write(FILE *f, const sim_plot_run *runs, size_t n);

#endif
