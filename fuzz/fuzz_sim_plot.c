/* `lp2p sim --plot-against FILE`: a file a user names, read as the output
 * of `lp2p sim --json` (cli/sim_plot.c) and drawn. Beyond "no crash": a
 * refusal says why on one line; what is accepted holds what the plot
 * relies on (a delivery ratio within 0..1, a CDF in order) and draws as a
 * whole document with no "nan" or "inf" in its attributes. */
#include <string.h>

#include "fuzz.h"
#include "sim_plot.h"

/* Text contents blanked: a caption may name a model "nan"; what must
 * not hold one is an attribute. */
static void blank_texts(char *svg) {
  char *p = svg;
  while ((p = strstr(p, "<text")) != NULL) {
    char *start = strchr(p, '>'),
         *end = start ? strstr(start, "</text>") : NULL;
    FUZZ_CHECK(end != NULL);
    memset(start + 1, ' ', (size_t)(end - start - 1));
    p = end;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sim_plot_run runs[2];
  char why[200];
  if (sim_plot_read_json((const char *)data, size, "fuzz.json", &runs[1], why,
                         sizeof(why)) != 0) {
    FUZZ_CHECK(why[0] && !strchr(why, '\n'));
    return 0;
  }
  FUZZ_CHECK(runs[1].delivery_ratio >= 0 && runs[1].delivery_ratio <= 1);
  for (size_t i = 1; i < LP2P_SIM_CDF_POINTS; i++) {
    FUZZ_CHECK(runs[1].latency_cdf_ms[i - 1] <= runs[1].latency_cdf_ms[i]);
  }
  runs[0] = runs[1];
  char *svg = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&svg, &len);
  FUZZ_CHECK(f != NULL);
  FUZZ_CHECK(sim_plot_write(f, runs, 2) == 0);
  FUZZ_CHECK(fclose(f) == 0);
  FUZZ_CHECK(len > 7 && strcmp(svg + len - 7, "</svg>\n") == 0);
  blank_texts(svg);
  FUZZ_CHECK(!strstr(svg, "nan") && !strstr(svg, "inf"));
  free(svg);
  return 0;
}
