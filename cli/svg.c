/* A small SVG writer: see svg.h. */
#include "svg.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

const char *const svg_colours[5] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                    "#7f7f7f"};

#define FONT 12.0
#define MAX_TICKS 12 /* five or so, at a 1-2-5 step */

/* Numbers as SVG takes them: never "nan" or "inf", which would make the
 * attribute invalid, and no more digits than a pixel needs. */
static double num(double v) {
  return isfinite(v) ? v : 0;
}

void svg_begin(svg *s, FILE *f, double width, double height) {
  s->f = f;
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
          "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
          "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
          num(width), num(height), num(width), num(height));
  svg_rect(s, 0, 0, width, height, "#ffffff");
}

int svg_end(svg *s) {
  fputs("</svg>\n", s->f);
  return ferror(s->f) ? -1 : 0;
}

/* The length of the UTF-8 sequence at c that XML 1.0 allows (no
 * overlong forms, surrogates, U+FFFE or U+FFFF), or 0. */
static size_t utf8_len(const unsigned char *c) {
  size_t n = c[0] >= 0xf0 ? 4 : c[0] >= 0xe0 ? 3 : 2;
  unsigned lo = 0x80, hi = 0xbf; /* of the second byte */
  if (c[0] < 0xc2 || c[0] > 0xf4) {
    return 0;
  }
  lo = c[0] == 0xe0 ? 0xa0 : c[0] == 0xf0 ? 0x90 : lo;
  hi = c[0] == 0xed ? 0x9f : c[0] == 0xf4 ? 0x8f : hi;
  for (size_t i = 1; i < n; i++) {
    if (c[i] < (i == 1 ? lo : 0x80) || c[i] > (i == 1 ? hi : 0xbf)) {
      return 0; /* also at the NUL that ends the text */
    }
  }
  if (n == 3 && c[0] == 0xef && c[1] == 0xbf && c[2] >= 0xbe) {
    return 0;
  }
  return n;
}

/* Writes `text` with XML's five special characters escaped; control
 * characters other than tab and bytes that are not UTF-8 are not allowed
 * in XML 1.0: '?' instead (a truncated file name may end mid-sequence). */
static void put_escaped(FILE *f, const char *text) {
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    if (*c >= 0x80) {
      size_t n = utf8_len(c);
      fwrite(n ? (const char *)c : "?", 1, n ? n : 1, f);
      c += n ? n - 1 : 0;
      continue;
    }
    switch (*c) {
    case '&':
      fputs("&amp;", f);
      break;
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    case '\'':
      fputs("&apos;", f);
      break;
    default:
      fputc(*c < 0x20 && *c != '\t' ? '?' : *c, f);
    }
  }
}

void svg_text(svg *s, double x, double y, const char *anchor, double size,
              const char *fmt, ...) {
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  fprintf(s->f,
          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%.1f\" "
          "fill=\"#222222\">",
          num(x), num(y), anchor, num(size));
  put_escaped(s->f, text);
  fputs("</text>\n", s->f);
}

void svg_text_up(svg *s, double x, double y, double size, const char *text) {
  fprintf(s->f,
          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
          "font-size=\"%.1f\" fill=\"#222222\" "
          "transform=\"rotate(-90 %.1f %.1f)\">",
          num(x), num(y), num(size), num(x), num(y));
  put_escaped(s->f, text);
  fputs("</text>\n", s->f);
}

void svg_line(svg *s, double x1, double y1, double x2, double y2,
              const char *colour, double width, bool dashed) {
  fprintf(s->f,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
          "stroke=\"%s\" stroke-width=\"%.2f\"%s/>\n",
          num(x1), num(y1), num(x2), num(y2), colour, num(width),
          dashed ? " stroke-dasharray=\"4 3\"" : "");
}

void svg_rect(svg *s, double x, double y, double w, double h,
              const char *fill) {
  fprintf(s->f,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
          "fill=\"%s\"/>\n",
          num(x), num(y), w > 0 ? num(w) : 0, h > 0 ? num(h) : 0, fill);
}

void svg_circle(svg *s, double cx, double cy, double r, const char *fill,
                const char *stroke) {
  fprintf(s->f,
          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" "
          "stroke=\"%s\" stroke-width=\"1\"/>\n",
          num(cx), num(cy), num(r), fill, stroke);
}

void svg_polyline(svg *s, const double *x, const double *y, size_t n,
                  const char *colour, double width) {
  fputs("<polyline points=\"", s->f);
  for (size_t i = 0; i < n; i++) {
    fprintf(s->f, "%s%.1f,%.1f", i ? " " : "", num(x[i]), num(y[i]));
  }
  fprintf(s->f,
          "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.2f\" "
          "stroke-linejoin=\"round\"/>\n",
          colour, num(width));
}

/* ---- plots ----------------------------------------------------------------
 */

static double clamp01(double v) {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

double svg_px(const svg_plot *p, double x) {
  double span = p->x1 - p->x0;
  double f = span > 0 ? clamp01((x - p->x0) / span) : 0;
  return p->left + f * p->width;
}

double svg_py(const svg_plot *p, double y) {
  double span = p->y1 - p->y0;
  double f = span > 0 ? clamp01((y - p->y0) / span) : 0;
  return p->top + p->height - f * p->height;
}

/* The smallest of steps[] times a power of ten at or above v. */
static double round_up(double v, const double *steps, size_t n) {
  if (!(v > 0) || !isfinite(v)) {
    return 1;
  }
  double mag = pow(10, floor(log10(v)));
  for (size_t i = 0; i < n; i++) {
    if (steps[i] * mag >= v * (1 - 1e-12)) {
      return steps[i] * mag;
    }
  }
  return 10 * mag;
}

double svg_nice_ceil(double v) {
  static const double tops[] = {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10};
  return round_up(v, tops, sizeof(tops) / sizeof(tops[0]));
}

/* A round step that cuts [lo, hi] into about five. */
static double tick_step(double lo, double hi) {
  double raw = (hi - lo) / 5;
  static const double steps[] = {1, 2, 5, 10};
  return round_up(raw, steps, 4);
}

static void x_ticks(svg *s, const svg_plot *p) {
  double step = tick_step(p->x0, p->x1);
  step = p->x_whole && step < 1 ? 1 : step;
  double first = ceil(p->x0 / step) * step;
  double bottom = p->top + p->height;
  /* counted: where step is below the precision of x0, v += step would
   * never reach x1 */
  for (int i = 0; i < MAX_TICKS; i++) {
    double v = first + i * step;
    if (v > p->x1 + step * 1e-9) {
      break;
    }
    double x = svg_px(p, v);
    svg_line(s, x, p->top, x, bottom, "#e5e5e5", 1, false);
    svg_line(s, x, bottom, x, bottom + 4, "#444444", 1, false);
    svg_text(s, x, bottom + 17, "middle", FONT - 1, "%g",
             fabs(v) < step * 1e-9 ? 0 : v);
  }
}

static void y_ticks(svg *s, const svg_plot *p) {
  double step = tick_step(p->y0, p->y1), first = ceil(p->y0 / step) * step;
  for (int i = 0; i < MAX_TICKS; i++) {
    double v = first + i * step;
    if (v > p->y1 + step * 1e-9) {
      break;
    }
    double y = svg_py(p, v);
    svg_line(s, p->left, y, p->left + p->width, y, "#e5e5e5", 1, false);
    svg_line(s, p->left - 4, y, p->left, y, "#444444", 1, false);
    svg_text(s, p->left - 7, y + 4, "end", FONT - 1, "%g",
             fabs(v) < step * 1e-9 ? 0 : v);
  }
}

void svg_axes(svg *s, const svg_plot *p, const char *title, const char *xlabel,
              const char *ylabel) {
  x_ticks(s, p);
  y_ticks(s, p);
  fprintf(s->f,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
          "fill=\"none\" stroke=\"#444444\" stroke-width=\"1\"/>\n",
          p->left, p->top, p->width, p->height);
  svg_text(s, p->left + p->width / 2, p->top - 12, "middle", FONT + 2, "%s",
           title);
  svg_text(s, p->left + p->width / 2, p->top + p->height + 38, "middle", FONT,
           "%s", xlabel);
  svg_text_up(s, p->left - 46, p->top + p->height / 2, FONT, ylabel);
}

void svg_legend(svg *s, const svg_plot *p, const char *const *labels,
                const char *const *colours, size_t n, bool bottom) {
  size_t longest = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(labels[i]);
    longest = len > longest ? len : longest;
  }
  double w = 34 + 0.6 * FONT * (double)longest, h = 8 + 18 * (double)n;
  double x = p->left + p->width - w - 8;
  double y = bottom ? p->top + p->height - h - 8 : p->top + 8;
  fprintf(s->f,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
          "fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#bbbbbb\"/>\n",
          x, y, w, h);
  for (size_t i = 0; i < n; i++) {
    double row = y + 16 + 18 * (double)i;
    svg_rect(s, x + 8, row - 9, 16, 10, colours[i]);
    svg_text(s, x + 30, row, "start", FONT, "%s", labels[i]);
  }
}
