/* lp2p sim --plot: see sim_plot.h. */
#include "sim_plot.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "svg.h"

/* ---- a run's data ----------------------------------------------------------
 */

/* Appends to `buf` (NUL-terminated, `cap` bytes), truncating. */
static void append(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t cap, const char *fmt, ...) {
  size_t len = strlen(buf);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + len, cap - len, fmt, ap);
  va_end(ap);
}

void sim_plot_caption(sim_plot_run *run, const sim_plot_setup *st) {
  char *c = run->caption;
  size_t cap = sizeof(run->caption);
  snprintf(c, cap, "%s:", run->label);
  if (st->nodes) {
    append(c, cap, " %llu nodes,", (unsigned long long)st->nodes);
  }
  if (st->degree) {
    append(c, cap, " degree %llu,", (unsigned long long)st->degree);
  }
  if (st->messages) {
    append(c, cap, " %llu messages", (unsigned long long)st->messages);
    if (st->size) {
      append(c, cap, " of %llu B", (unsigned long long)st->size);
    }
    append(c, cap, ",");
  }
  if (st->sign >= 0) {
    append(c, cap, " %s,", st->sign ? "signed" : "unsigned");
  }
  if (st->idontwant >= 0) {
    append(c, cap, " IDONTWANT %s,", st->idontwant ? "on" : "off");
  }
  if (st->model) {
    append(c, cap, " %s links,", st->model);
  }
  if (st->attackers) {
    append(c, cap, " %llu attackers (%s),", (unsigned long long)st->attackers,
           st->attack ? st->attack : "?");
  }
  append(c, cap, " seed %llu; delivered %.2f%%", (unsigned long long)st->seed,
         100 * run->delivery_ratio);
}

void sim_plot_from_result(sim_plot_run *run, const char *label,
                          const lp2p_sim_result *r) {
  memset(run, 0, sizeof(*run));
  snprintf(run->label, sizeof(run->label), "%s", label);
  run->delivery_ratio = r->delivery_ratio;
  memcpy(run->latency_cdf_ms, r->latency_cdf_ms, sizeof(run->latency_cdf_ms));
  memcpy(run->duplicates, r->duplicates_histogram, sizeof(run->duplicates));
}

/* ---- reading lp2p sim --json ----------------------------------------------
 */

static int fail(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, len, fmt, ap);
  va_end(ap);
  return -1;
}

/* Latencies above a day are no simulation's. */
#define MAX_LATENCY_MS 86400000.0

static int read_cdf(const json_t *root, sim_plot_run *run, char *why,
                    size_t len) {
  const json_t *a = json_object_get(root, "latency_cdf_ms");
  if (!json_is_array(a) || json_array_size(a) != LP2P_SIM_CDF_POINTS) {
    return fail(why, len, "latency_cdf_ms: not an array of %d numbers",
                LP2P_SIM_CDF_POINTS);
  }
  for (size_t i = 0; i < LP2P_SIM_CDF_POINTS; i++) {
    const json_t *v = json_array_get(a, i);
    double ms = json_is_number(v) ? json_number_value(v) : -1;
    if (!(ms >= 0 && ms <= MAX_LATENCY_MS)) {
      return fail(why, len,
                  "latency_cdf_ms[%zu]: not a latency from 0 to %.0f ms", i,
                  MAX_LATENCY_MS);
    }
    if (i > 0 && ms < run->latency_cdf_ms[i - 1]) {
      return fail(why, len, "latency_cdf_ms[%zu]: below the point before", i);
    }
    run->latency_cdf_ms[i] = ms;
  }
  return 0;
}

static int read_duplicates(const json_t *root, sim_plot_run *run, char *why,
                           size_t len) {
  const json_t *a = json_object_get(root, "duplicates_histogram");
  if (!json_is_array(a) || json_array_size(a) != LP2P_SIM_DUP_BINS) {
    return fail(why, len, "duplicates_histogram: not an array of %d counts",
                LP2P_SIM_DUP_BINS);
  }
  for (size_t i = 0; i < LP2P_SIM_DUP_BINS; i++) {
    const json_t *v = json_array_get(a, i);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
      return fail(why, len, "duplicates_histogram[%zu]: not a count", i);
    }
    run->duplicates[i] = (uint64_t)json_integer_value(v);
  }
  return 0;
}

/* An optional count of the configuration: 0 when absent or not one. */
static uint64_t count_of(const json_t *root, const char *key) {
  const json_t *v = json_object_get(root, key);
  return json_is_integer(v) && json_integer_value(v) > 0
             ? (uint64_t)json_integer_value(v)
             : 0;
}

static int flag_of(const json_t *root, const char *key) {
  const json_t *v = json_object_get(root, key);
  return json_is_boolean(v) ? json_is_true(v) : -1;
}

/* An optional short name (model, attack): NULL when absent or longer. */
static const char *name_of(const json_t *root, const char *key) {
  const json_t *v = json_object_get(root, key);
  return json_is_string(v) && json_string_length(v) <= 24 ? json_string_value(v)
                                                          : NULL;
}

static int read_run(const json_t *root, sim_plot_run *run, char *why,
                    size_t len) {
  if (!json_is_object(root)) {
    return fail(why, len, "not an object, as lp2p sim --json prints");
  }
  const json_t *dr = json_object_get(root, "delivery_ratio");
  run->delivery_ratio = json_is_number(dr) ? json_number_value(dr) : -1;
  if (!(run->delivery_ratio >= 0 && run->delivery_ratio <= 1)) {
    return fail(why, len, "delivery_ratio: not a number from 0 to 1");
  }
  if (read_cdf(root, run, why, len) != 0 ||
      read_duplicates(root, run, why, len) != 0) {
    return -1;
  }
  sim_plot_setup st = {count_of(root, "nodes"),    count_of(root, "degree"),
                       count_of(root, "messages"), count_of(root, "size"),
                       count_of(root, "seed"),     count_of(root, "attackers"),
                       flag_of(root, "sign"),      flag_of(root, "idontwant"),
                       name_of(root, "model"),     name_of(root, "attack")};
  sim_plot_caption(run, &st);
  return 0;
}

int sim_plot_read_json(const char *text, size_t len, const char *label,
                       sim_plot_run *run, char *why, size_t why_len) {
  json_error_t jerr;
  memset(run, 0, sizeof(*run));
  snprintf(run->label, sizeof(run->label), "%s", label);
  /* jansson bounds nesting (JSON_PARSER_MAX_DEPTH) and checks UTF-8 */
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    return fail(why, why_len, "not JSON: line %d column %d: %s", jerr.line,
                jerr.column, jerr.text);
  }
  int rv = read_run(root, run, why, why_len);
  json_decref(root);
  return rv;
}

/* ---- the picture -----------------------------------------------------------
 */

#define WIDTH 980.0
#define PANEL_TOP 40.0
#define PANEL_W 390.0
#define PANEL_H 270.0
#define CAPTIONS_TOP 380.0
#define CAPTION_LINE 18.0

static void legend(svg *s, const svg_plot *p, const sim_plot_run *runs,
                   size_t n, bool bottom) {
  const char *labels[SIM_PLOT_MAX_RUNS];
  for (size_t i = 0; i < n; i++) {
    labels[i] = runs[i].label;
  }
  svg_legend(s, p, labels, svg_colours, n, bottom);
}

/* Latency against the fraction of expected deliveries made within it. */
static void draw_cdf(svg *s, const sim_plot_run *runs, size_t n) {
  double top = 0;
  for (size_t i = 0; i < n; i++) {
    double last = runs[i].latency_cdf_ms[LP2P_SIM_CDF_POINTS - 1];
    top = last > top ? last : top;
  }
  svg_plot p = {75, PANEL_TOP, PANEL_W, PANEL_H, 0, svg_nice_ceil(top),
                0,  1,         false};
  svg_axes(s, &p, "delivery latency (CDF)", "latency (ms)",
           "fraction of deliveries expected");
  for (size_t i = 0; i < n; i++) {
    double x[LP2P_SIM_CDF_POINTS], y[LP2P_SIM_CDF_POINTS];
    for (size_t k = 0; k < LP2P_SIM_CDF_POINTS; k++) {
      x[k] = svg_px(&p, runs[i].latency_cdf_ms[k]);
      y[k] = svg_py(&p, runs[i].delivery_ratio * (double)k /
                            (LP2P_SIM_CDF_POINTS - 1));
    }
    svg_polyline(s, x, y, LP2P_SIM_CDF_POINTS, svg_colours[i], 2);
  }
  legend(s, &p, runs, n, true);
}

/* Bins up to the last any run filled (at least 0 and 1). */
static size_t bins_shown(const sim_plot_run *runs, size_t n) {
  size_t bins = 2;
  for (size_t i = 0; i < n; i++) {
    for (size_t b = bins; b < LP2P_SIM_DUP_BINS; b++) {
      bins = runs[i].duplicates[b] ? b + 1 : bins;
    }
  }
  return bins;
}

static double total(const uint64_t *bins) {
  double sum = 0;
  for (size_t b = 0; b < LP2P_SIM_DUP_BINS; b++) {
    sum += (double)bins[b];
  }
  return sum > 0 ? sum : 1;
}

/* Bars side by side, one per run in each bin, as fractions of the pairs. */
static void draw_duplicates(svg *s, const sim_plot_run *runs, size_t n) {
  size_t bins = bins_shown(runs, n);
  double top = 0;
  for (size_t i = 0; i < n; i++) {
    double sum = total(runs[i].duplicates);
    for (size_t b = 0; b < bins; b++) {
      double f = (double)runs[i].duplicates[b] / sum;
      top = f > top ? f : top;
    }
  }
  svg_plot p = {580,     PANEL_TOP,
                PANEL_W, PANEL_H,
                -0.5,    (double)bins - 0.5,
                0,       svg_nice_ceil(top) < 1 ? svg_nice_ceil(top) : 1,
                true};
  svg_axes(s, &p, "duplicates per node and message",
           bins == LP2P_SIM_DUP_BINS
               ? "duplicates received (64: 64 or more)"
               : "duplicates a node received of a message",
           "fraction of (node, message) pairs");
  double slot = PANEL_W / (double)bins, bar = 0.8 * slot / (double)n;
  for (size_t i = 0; i < n; i++) {
    double sum = total(runs[i].duplicates);
    for (size_t b = 0; b < bins; b++) {
      double y = svg_py(&p, (double)runs[i].duplicates[b] / sum);
      svg_rect(s, svg_px(&p, (double)b - 0.4) + bar * (double)i, y, bar,
               p.top + p.height - y, svg_colours[i]);
    }
  }
  legend(s, &p, runs, n, false);
}

int sim_plot_write(FILE *f, const sim_plot_run *runs, size_t n) {
  svg s;
  n = n < SIM_PLOT_MAX_RUNS ? n : SIM_PLOT_MAX_RUNS;
  svg_begin(&s, f, WIDTH, CAPTIONS_TOP + CAPTION_LINE * (double)n);
  draw_cdf(&s, runs, n);
  draw_duplicates(&s, runs, n);
  for (size_t i = 0; i < n; i++) {
    double y = CAPTIONS_TOP + CAPTION_LINE * (double)i;
    svg_rect(&s, 20, y - 10, 12, 10, svg_colours[i]);
    svg_text(&s, 38, y, "start", 12, "%s", runs[i].caption);
  }
  return svg_end(&s);
}
