/* lp2p demo --graph: see demo_graph.h. */
#include "demo_graph.h"

#include <math.h>

#include "svg.h"

#define SIZE 640.0
#define CENTRE 320.0
#define RADIUS 250.0
#define NODE_R 10.0
#define LEGEND_H 78.0

static const char *const MUTUAL = "#1f77b4", *const ONE_WAY = "#ff7f0e",
                         *const LINK = "#dddddd";
/* mesh size below Dlo, within [Dlo, Dhi], above Dhi */
static const char *const BELOW = "#d62728", *const WITHIN = "#2ca02c",
                         *const ABOVE = "#9467bd";

static double node_x(const demo_graph *g, size_t i) {
  return CENTRE + RADIUS * sin(2 * M_PI * (double)i / (double)g->n);
}

static double node_y(const demo_graph *g, size_t i) {
  return 30 + CENTRE - RADIUS * cos(2 * M_PI * (double)i / (double)g->n);
}

/* Each pair once: its connection, then its mesh link if any. */
static void draw_edges(svg *s, const demo_graph *g) {
  for (size_t i = 0; i < g->n; i++) {
    for (size_t j = i + 1; j < g->n; j++) {
      bool ij = g->mesh[i * g->n + j], ji = g->mesh[j * g->n + i];
      const char *colour = ij && ji ? MUTUAL : ij || ji ? ONE_WAY : LINK;
      if (g->linked[i * g->n + j] || ij || ji) {
        svg_line(s, node_x(g, i), node_y(g, i), node_x(g, j), node_y(g, j),
                 colour, ij || ji ? 1.8 : 1, ij != ji);
      }
    }
  }
}

static void draw_nodes(svg *s, const demo_graph *g) {
  for (size_t i = 0; i < g->n; i++) {
    int size = 0;
    for (size_t j = 0; j < g->n; j++) {
      size += g->mesh[i * g->n + j];
    }
    const char *fill = size < g->d_lo ? BELOW : size > g->d_hi ? ABOVE : WITHIN;
    double x = node_x(g, i), y = node_y(g, i);
    svg_circle(s, x, y, NODE_R, fill, "#333333");
    /* the number outside the circle, away from the centre */
    double dx = (x - CENTRE) / RADIUS, dy = (y - 30 - CENTRE) / RADIUS;
    svg_text(s, x + dx * 22, y + dy * 22 + 4, "middle", 11, "%zu", i);
  }
}

static void draw_legend(svg *s, const demo_graph *g) {
  double y = SIZE + 40;
  svg_line(s, 20, y, 50, y, MUTUAL, 1.8, false);
  svg_text(s, 56, y + 4, "start", 12, "mesh link, both ways");
  svg_line(s, 230, y, 260, y, ONE_WAY, 1.8, true);
  svg_text(s, 266, y + 4, "start", 12, "one way (a graft in flight)");
  svg_line(s, 470, y, 500, y, LINK, 1, false);
  svg_text(s, 506, y + 4, "start", 12, "connection");
  y += 24;
  svg_circle(s, 30, y, 6, BELOW, "#333333");
  svg_text(s, 42, y + 4, "start", 12, "mesh below Dlo %d", g->d_lo);
  svg_circle(s, 200, y, 6, WITHIN, "#333333");
  svg_text(s, 212, y + 4, "start", 12, "within [%d, %d], D = %d", g->d_lo,
           g->d_hi, g->d);
  svg_circle(s, 420, y, 6, ABOVE, "#333333");
  svg_text(s, 432, y + 4, "start", 12, "above Dhi %d", g->d_hi);
}

int demo_graph_write(FILE *f, const demo_graph *g) {
  svg s;
  svg_begin(&s, f, SIZE, SIZE + LEGEND_H);
  svg_text(&s, CENTRE, 24, "middle", 14, "%s", g->title);
  draw_edges(&s, g);
  draw_nodes(&s, g);
  draw_legend(&s, g);
  return svg_end(&s);
}
