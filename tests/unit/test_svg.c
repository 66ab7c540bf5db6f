/* The command's SVG writer (cli/svg.c): documents are well-formed XML
 * whatever the text and numbers drawn, and axes get round ticks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"
#include "testutil.h"

/* Everything written to a memory stream, as a NUL-terminated string. */
typedef struct doc {
  char *text;
  size_t len;
  FILE *f;
  svg s;
} doc;

static void doc_begin(doc *d) {
  d->f = open_memstream(&d->text, &d->len);
  assert_non_null(d->f);
  svg_begin(&d->s, d->f, 400, 300);
}

static void doc_end(doc *d) {
  assert_int_equal(svg_end(&d->s), 0);
  assert_int_equal(fclose(d->f), 0);
}

/* A tag's name at p (after '<' or '</'): letters only in what svg.c
 * writes. */
static size_t name_len(const char *p) {
  size_t n = 0;
  while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z')) {
    n++;
  }
  return n;
}

/* Well-formed for what svg.c writes: one <?xml?> declaration, then
 * elements that close in order under one root <svg>, attribute values in
 * double quotes without '<' or '&' but in entities, text with no raw '<',
 * '>' or '&' outside entities. Returns false at the first fault. */
static bool well_formed(const char *t) {
  const char *open[16];
  size_t depth = 0, roots = 0;
  if (strncmp(t, "<?xml ", 6) != 0 || !(t = strstr(t, "?>"))) {
    return false;
  }
  for (t += 2; *t; t++) {
    if (*t == '&') {
      const char *ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
      bool ok = false;
      for (size_t i = 0; i < 5; i++) {
        ok |= strncmp(t, ents[i], strlen(ents[i])) == 0;
      }
      if (!ok) {
        return false;
      }
    } else if (*t == '>') {
      return false; /* a '>' outside a tag */
    } else if (*t == '<' && t[1] == '/') {
      size_t n = name_len(t + 2);
      if (depth == 0 || strncmp(open[depth - 1], t + 2, n) != 0 ||
          name_len(open[depth - 1]) != n || t[2 + n] != '>') {
        return false;
      }
      depth--;
      t += 2 + n;
    } else if (*t == '<') {
      size_t n = name_len(t + 1);
      const char *end = t + 1 + n;
      bool quoted = false;
      for (; *end && (quoted || (*end != '>' && *end != '/')); end++) {
        if (*end == '"') {
          quoted = !quoted;
        } else if (quoted && *end == '<') {
          return false;
        }
      }
      if (n == 0 || !*end || (*end == '/' && end[1] != '>')) {
        return false;
      }
      roots += depth == 0;
      if (*end == '>') {
        if (depth == 16) {
          return false;
        }
        open[depth++] = t + 1;
      }
      t = *end == '/' ? end + 1 : end;
    }
  }
  return depth == 0 && roots == 1;
}

static void svg_text_escapes_xml_special_characters(void **state) {
  (void)state;
  doc d;
  doc_begin(&d);
  svg_text(&d.s, 10, 20, "start", 12, "a<b & \"c\" 'd'> %s", "</svg>");
  svg_text_up(&d.s, 10, 20, 12, "x<y&z\x01");
  /* kept: UTF-8; replaced: a stray continuation byte, an overlong '/',
   * a surrogate and a sequence cut short by the end of the text */
  svg_text(&d.s, 0, 0, "start", 12,
           "caf\xc3\xa9 \x80 \xc0\xaf \xed\xa0\x80 \xe2\x82");
  doc_end(&d);
  assert_non_null(strstr(d.text,
                         ">a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt; "
                         "&lt;/svg&gt;</text>"));
  assert_non_null(strstr(d.text, ">x&lt;y&amp;z?</text>"));
  assert_non_null(strstr(d.text, ">caf\xc3\xa9 ? ?? ??? ??"
                                 "</text>"));
  assert_true(well_formed(d.text));
  free(d.text);
}

/* Every shape, a plot with axes and a legend, and numbers that are not
 * numbers: well-formed, and never "nan" or "inf" in an attribute. */
static void svg_document_of_every_shape_is_well_formed(void **state) {
  (void)state;
  doc d;
  doc_begin(&d);
  svg_plot p = {60, 40, 300, 200, 0, 250, 0, 1, false};
  const double x[] = {0, 50, NAN, 250}, y[] = {0, 0.5, INFINITY, 1};
  double px[4], py[4];
  for (size_t i = 0; i < 4; i++) {
    px[i] = svg_px(&p, x[i]);
    py[i] = svg_py(&p, y[i]);
  }
  svg_axes(&d.s, &p, "latency <CDF>", "ms & more", "fraction");
  svg_polyline(&d.s, px, py, 4, svg_colours[0], 2);
  svg_line(&d.s, 0, 0, NAN, 10, "#000000", 1, true);
  svg_rect(&d.s, 1, 2, -3, 4, "#ff0000");
  svg_circle(&d.s, 5, 5, 3, "#ffffff", "#000000");
  const char *labels[] = {"this run", "a&b.json"};
  svg_legend(&d.s, &p, labels, svg_colours, 2, true);
  doc_end(&d);
  assert_true(well_formed(d.text));
  assert_null(strstr(d.text, "nan"));
  assert_null(strstr(d.text, "inf"));
  /* a point out of range is drawn on the frame's edge */
  assert_true(py[2] == 40 && svg_px(&p, 1e9) == 360);
  free(d.text);
}

/* The checker itself: it must tell a broken document from a good one. */
static void well_formed_check_rejects_broken_documents(void **state) {
  (void)state;
  const char *head = "<?xml version=\"1.0\"?>\n";
  const char *bad[] = {
      "<svg><text>a</svg></text>", "<svg><g></svg>", "<svg>a & b</svg>",
      "<svg>a > b</svg>",          "<svg x=\"<\"/>", "<svg/><svg/>"};
  char buf[128];
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(buf, sizeof(buf), "%s%s", head, bad[i]);
    assert_false(well_formed(buf));
  }
  snprintf(buf, sizeof(buf), "%s<svg><g a=\"1\"><line/></g>&amp;</svg>\n",
           head);
  assert_true(well_formed(buf));
}

/* Tops fit the data within a quarter or so; ticks stay 1-2-5. */
static void axes_top_rounds_up_to_a_round_number(void **state) {
  (void)state;
  assert_true(svg_nice_ceil(0.73) == 0.8);
  assert_true(svg_nice_ceil(1.3) == 1.5);
  assert_true(svg_nice_ceil(3) == 3);
  assert_true(svg_nice_ceil(7) == 8);
  assert_true(svg_nice_ceil(202) == 250);
  assert_true(svg_nice_ceil(1000) == 1000);
  assert_true(svg_nice_ceil(8.5) == 10);
  assert_true(fabs(svg_nice_ceil(0.0123) - 0.015) < 1e-12);
  assert_true(svg_nice_ceil(0) == 1 && svg_nice_ceil(NAN) == 1);
}

/* Ticks of 0..250 are every 50, labelled with round numbers. */
static void axes_ticks_are_round_numbers(void **state) {
  (void)state;
  doc d;
  doc_begin(&d);
  svg_plot p = {60, 40, 300, 200, 0, 250, 0, 1, false};
  svg_axes(&d.s, &p, "t", "x", "y");
  doc_end(&d);
  for (int v = 0; v <= 250; v += 50) {
    char want[32];
    snprintf(want, sizeof(want), "\">%d</text>", v);
    assert_non_null(strstr(d.text, want));
  }
  assert_non_null(strstr(d.text, "\">0.2</text>"));
  assert_null(strstr(d.text, "\">25</text>"));
  free(d.text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(svg_text_escapes_xml_special_characters),
      cmocka_unit_test(svg_document_of_every_shape_is_well_formed),
      cmocka_unit_test(well_formed_check_rejects_broken_documents),
      cmocka_unit_test(axes_top_rounds_up_to_a_round_number),
      cmocka_unit_test(axes_ticks_are_round_numbers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
