#!/usr/bin/env python3
"""scripts/apidoc.py on tests/docs/fixture.h: the checker flags exactly the
symbols the fixture leaves without a comment (those named *undoc*), and the
reference carries the comments of what is documented."""

import io
import os
import re
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import apidoc  # noqa: E402

FIXTURE = os.path.join(HERE, "fixture.h")


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = apidoc.main(list(args))
    return rc, out.getvalue(), err.getvalue()


class ApidocTest(unittest.TestCase):
    def test_flags_exactly_the_undocumented_symbols(self):
        rc, out, _ = run(FIXTURE)
        self.assertEqual(rc, 1)
        flagged = set(re.findall(r": (\w+) \([^)]*\) has no comment", out))
        self.assertEqual(flagged, {"LP2P_FIX_UNDOC_TITLED",
                                   "LP2P_FIX_UNDOC_SPACED",
                                   "lp2p_fix_undoc_opaque",
                                   "lp2p_fix_undoc_del"})

    def test_reports_file_and_line_of_each_gap(self):
        _, out, _ = run(FIXTURE)
        with open(FIXTURE, encoding="utf-8") as f:
            lines = f.read().split("\n")
        for path, line, name in re.findall(r"^(.*):(\d+): (\w+) ", out,
                                           re.M):
            self.assertEqual(path, FIXTURE)
            self.assertIn(name, lines[int(line) - 1])

    def test_no_check_writes_the_reference_and_succeeds(self):
        with tempfile.TemporaryDirectory() as d:
            rc, _, err = run("--no-check", "--out", d, FIXTURE)
            self.assertEqual(rc, 0)
            self.assertIn("lp2p_fix_undoc_del (function) has no comment",
                          err)
            with open(os.path.join(d, "fixture.md"), encoding="utf-8") as f:
                page = f.read()
            with open(os.path.join(d, "index.md"), encoding="utf-8") as f:
                index = f.read()
        self.assertIn("Creates a fixture. Returns 0 or LP2P_ERR_NOMEM.", page)
        self.assertIn("- `int commented_above;`: said above the field", page)
        self.assertIn("- `size_t trailing;`: said after the field", page)
        self.assertIn("- `LP2P_FIX_BLUE = 1`: cold", page)
        # a block of constants is one entry, each name with its anchor
        self.assertIn('<a id="lp2p_fix_b"></a>', page)
        self.assertIn("documented on its line", page)
        # only lp2p_ / LP2P_ names are the public API
        self.assertNotIn("helper", page)
        self.assertIn("(fixture.md#lp2p_fix_new)", index)


if __name__ == "__main__":
    unittest.main()
