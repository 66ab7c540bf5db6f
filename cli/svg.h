/* A small SVG writer for the command's pictures (lp2p sim --plot, lp2p
 * demo --graph): shapes, text (escaped for XML) and plot frames with axes,
 * ticks and a legend. Coordinates are pixels from the top left; a
 * svg_plot maps data into its frame. SVG 1.1, no scripts or external
 * resources, so that any viewer or converter draws it. */
#ifndef LP2P_CLI_SVG_H
#define LP2P_CLI_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct svg {
  FILE *f;
} svg;

/* Colours of series, in order: blue, orange, green, red, grey. */
extern const char *const svg_colours[5];

/* Starts a document of `width` x `height` pixels on a white background. */
void svg_begin(svg *s, FILE *f, double width, double height);
/* Ends the document; 0, or -1 when a write failed (ferror). */
int svg_end(svg *s);

/* Text at (x, y), the baseline; anchor "start", "middle" or "end". The
 * formatted text is escaped, and bytes that are not UTF-8 become '?';
 * at most 511 bytes of it are written. */
void svg_text(svg *s, double x, double y, const char *anchor, double size,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The same, turned 90 degrees anticlockwise about (x, y): a y axis label. */
void svg_text_up(svg *s, double x, double y, double size, const char *text);
void svg_line(svg *s, double x1, double y1, double x2, double y2,
              const char *colour, double width, bool dashed);
void svg_rect(svg *s, double x, double y, double w, double h, const char *fill);
void svg_circle(svg *s, double cx, double cy, double r, const char *fill,
                const char *stroke);
/* A line through n points (pixels). */
void svg_polyline(svg *s, const double *x, const double *y, size_t n,
                  const char *colour, double width);

/* A plot: its frame in pixels and the data ranges it shows. */
typedef struct svg_plot {
  double left, top, width, height;
  double x0, x1, y0, y1;
  bool x_whole; /* x ticks at whole numbers only (bins of a histogram) */
} svg_plot;

/* Pixel coordinates of data coordinates (clamped to the frame). */
double svg_px(const svg_plot *p, double x);
double svg_py(const svg_plot *p, double y);
/* A round top for an axis: the smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5,
 * 6 or 8 times a power of ten at or above v; 1 for v <= 0 or a
 * non-finite v. */
double svg_nice_ceil(double v);
/* The frame, grid lines and labelled ticks of both axes (about five
 * each, at round values), a title above and the axes' labels. */
void svg_axes(svg *s, const svg_plot *p, const char *title, const char *xlabel,
              const char *ylabel);
/* A legend box in the frame's top right corner (bottom right when
 * `bottom`): a colour swatch per label. */
void svg_legend(svg *s, const svg_plot *p, const char *const *labels,
                const char *const *colours, size_t n, bool bottom);

#endif
