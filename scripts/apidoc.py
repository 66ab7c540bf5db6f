#!/usr/bin/env python3
"""lp2p's API reference, generated from the public headers as they are.

The headers are the API documentation (DESIGN.md): a plain /* */ comment
directly above a declaration documents it, and so does a comment on the
same line after it. This script reads include/lp2p/*.h (or the headers it
is given), writes one Markdown page per header and an index into --out,
and lists every public symbol without a comment: LP2P_API functions and
variables, lp2p_ typedefs, structs and enums, and LP2P_ macros. It exits 1
when there is one (unless --no-check), so that CI fails on them.

What counts as a comment, in the headers' own conventions:
- the comment must end on the line just above the declaration (only
  #if / #else / #endif lines may stand between); a blank line breaks it;
- a run of #defines on consecutive lines shares the comment above the first
  (a block of constants under one comment, as LP2P_MA_* or the GoAway
  codes); every other declaration needs its own;
- a section title alone ("/* ---- multihash ---- */") documents nothing;
- an enum's comment documents its constants; struct fields and enum
  constants are shown with their comments but are not required to have one.

Python 3 standard library only, so that it runs wherever the build does.
"""

import argparse
import glob
import os
import re
import sys

# ---- reading the header into tokens -------------------------------------


class Token:
    """A comment, a preprocessor line or one lexeme of code."""

    def __init__(self, kind, text, line, end_line, start, end):
        self.kind = kind  # 'comment', 'directive' or 'code'
        self.text = text
        self.line = line  # 1-based first line
        self.end_line = end_line
        self.start = start  # offsets into the header's text
        self.end = end

    def __repr__(self):
        return "Token(%s, %r, %d)" % (self.kind, self.text, self.line)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _skip_literal(text, i):
    """Index past the string or character literal starting at text[i]."""
    quote = text[i]
    i += 1
    while i < len(text) and text[i] != quote:
        i += 2 if text[i] == "\\" else 1
    return i + 1


def tokenize(text):
    """Comments, directives (up to a comment on their line) and lexemes."""
    tokens = []
    i, line, n = 0, 1, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            at_line_start = True
            continue
        if c.isspace():
            i += 1
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            body = text[i:j]
            tokens.append(Token("comment", body, line,
                                line + body.count("\n"), i, j))
            line += body.count("\n")
            i = j
            at_line_start = False
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            tokens.append(Token("comment", text[i:j], line, line, i, j))
            i = j
            continue
        if c == "#" and at_line_start:
            j, start_line = i, line
            while j < n and text[j] != "\n":
                if text.startswith("/*", j) or text.startswith("//", j):
                    break
                if text[j] in "\"'":
                    j = _skip_literal(text, j)
                    continue
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
                    line += 1
                    j += 2
                    continue
                j += 1
            tokens.append(Token("directive", text[i:j].rstrip(), start_line,
                                line, i, j))
            i = j
            at_line_start = False
            continue
        at_line_start = False
        if c in "\"'":
            j = _skip_literal(text, i)
        else:
            m = _IDENT.match(text, i) or re.compile(r"[0-9][\w.]*").match(
                text, i)
            j = m.end() if m else i + 1
        tokens.append(Token("code", text[i:j], line, line, i, j))
        i = j
    return tokens


# ---- comments -----------------------------------------------------------

_SECTION = re.compile(r"^\s*[-=]{3,}\s*(.*?)\s*[-=]*\s*$")


def comment_lines(body):
    """The lines of a comment without its markers and the leading ' * '."""
    if body.startswith("//"):
        return [body[2:].strip()]
    inner = body[2:-2] if body.endswith("*/") else body[2:]
    lines = []
    for raw in inner.split("\n"):
        s = raw.strip()
        if s.startswith("*"):
            # keep what is indented beyond "* ": it is laid out on purpose
            s = raw.lstrip()[1:]
            s = s[1:] if s.startswith(" ") else s
            s = s.rstrip()
        lines.append(s)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) == 1:
        lines[0] = lines[0].strip()
    return lines


def section_title(lines):
    """'multihash' for "---- multihash ----", else None."""
    if lines:
        m = _SECTION.match(lines[0])
        if m and m.group(1):
            return m.group(1)
    return None


def doc_of_comment(lines):
    """The documenting text of a comment: a section title alone has none."""
    if section_title(lines):
        lines = lines[1:]
    return lines if any(s.strip() for s in lines) else None


# ---- declarations -------------------------------------------------------


class Symbol:
    """One documented unit: a declaration with its comment."""

    def __init__(self, kind, name, decl, line):
        self.kind = kind  # function, variable, struct, enum, type, macro...
        self.name = name
        self.decl = decl  # the declaration as shown
        self.line = line
        self.doc = None  # comment lines, or None
        self.members = []  # (declaration, comment lines or None)
        self.names = [name]  # every name the entry defines
        self.section = None  # section title this symbol opens
        self.section_doc = None


def _strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)


def _collapse(text):
    return " ".join(_strip_comments(text).split())


def _display(text):
    """A declaration as written (LP2P_API and alignment kept), comments
    and the lines they leave empty removed."""
    lines = [s.rstrip() for s in _strip_comments(text).split("\n")]
    return "\n".join(s for s in lines if s.strip())


def _members(tokens, text, sep):
    """Fields (sep ';') or enumerators (sep ',') of a body, with comments."""
    members = []  # [tokens, comments before, comments after, end line]
    cur = [[], [], [], 0]
    depth = 0
    for t in tokens:
        if t.kind == "comment":
            lines = comment_lines(t.text)
            if not cur[0] and members and t.line == members[-1][3]:
                members[-1][2].append(lines)  # after the previous member
            elif cur[0] and t.line == cur[0][-1].end_line:
                cur[2].append(lines)  # the last member, without separator
            else:
                cur[1].append(lines)
            continue
        if t.kind != "code":
            continue
        if t.text in "({[":
            depth += 1
        elif t.text in ")}]":
            depth -= 1
        if t.text == sep and depth == 0:
            cur[3] = t.line
            members.append(cur)
            cur = [[], [], [], 0]
            continue
        cur[0].append(t)
    if cur[0]:
        cur[3] = cur[0][-1].line
        members.append(cur)
    out = []
    for toks, before, after, _ in members:
        decl = _collapse(text[toks[0].start:toks[-1].end])
        if sep == ";":
            decl += ";"
        docs = [doc for doc in (doc_of_comment(c) for c in before + after)
                if doc]
        doc = [s for d in docs for s in d] if docs else None
        out.append((decl, doc))
    return out


def _body(code):
    """The tokens strictly inside the first {...} of a statement."""
    open_i = next(i for i, t in enumerate(code) if t.text == "{")
    depth = 0
    for i in range(open_i, len(code)):
        if code[i].kind != "code":
            continue
        if code[i].text == "{":
            depth += 1
        elif code[i].text == "}":
            depth -= 1
            if depth == 0:
                return code[open_i + 1:i]
    return code[open_i + 1:]


def _last_ident(lexemes, stop=(";", "[")):
    name = None
    for t in lexemes:
        if t in stop:
            break
        if _IDENT.fullmatch(t):
            name = t
    return name


def classify(stmt, text):
    """A Symbol for a top-level statement, or None to leave it out."""
    lex = [t.text for t in stmt if t.kind == "code"]
    raw = text[stmt[0].start:stmt[-1].end]
    line = stmt[0].line
    if "LP2P_API" in lex:
        if "(" in lex:
            i = lex.index("(")
            return Symbol("function", lex[i - 1], _display(raw), line)
        return Symbol("variable", _last_ident(lex), _display(raw), line)
    if lex[0] == "typedef":
        if lex[1] in ("struct", "enum", "union") and "{" in lex:
            after = lex[len(lex) - 1 - lex[::-1].index("}"):]
            sym = Symbol(lex[1], _last_ident(after), "", line)
            code_body = _body(stmt)
            sym.members = _members(code_body, text,
                                   "," if lex[1] == "enum" else ";")
            sym.decl = _display(raw)
            return sym
        if lex[1] in ("struct", "union", "enum"):
            return Symbol("opaque type", _last_ident(lex), _display(raw),
                          line)
        for i in range(len(lex) - 2):
            if lex[i] == "(" and lex[i + 1] == "*":
                return Symbol("callback type", lex[i + 2], _display(raw),
                              line)
        return Symbol("type", _last_ident(lex), _display(raw), line)
    if lex[0] in ("enum", "struct", "union") and "{" in lex:
        tag = lex[1] if lex[1] != "{" else None
        sym = Symbol(lex[0], tag, _display(raw), line)
        sym.members = _members(_body(stmt), text,
                               "," if lex[0] == "enum" else ";")
        if tag is None and lex[0] == "enum":
            consts = [m[0].split("=")[0].strip() for m in sym.members]
            sym.name = consts[0] if consts else "enum"
            sym.names = consts
        return sym
    if lex[0] in ("struct", "union", "enum"):
        return None  # a forward declaration (struct uv_loop_s;)
    if "(" in lex:  # declared without LP2P_API: flagged if lp2p_ named
        i = lex.index("(")
        return Symbol("function", lex[i - 1], _display(raw), line)
    return Symbol("declaration", _last_ident(lex), _display(raw), line)


_DEFINE = re.compile(r"#\s*define\s+([A-Za-z_]\w*)(\()?\s*(.*)$", re.S)
_COND = re.compile(r"#\s*(if|ifdef|ifndef|elif|else|endif)\b")


def is_public(name):
    return bool(name) and name.lower().startswith("lp2p_")


class Header:
    """A parsed header: its overview, symbols in order, parse warnings."""

    def __init__(self, path, display_name):
        self.path = path
        self.name = display_name  # "lp2p/common.h"
        self.overview = None
        self.symbols = []
        self.warnings = []


def parse_header(path, display_name=None):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    hdr = Header(path, display_name or os.path.basename(path))
    tokens = tokenize(text)
    # the candidate comment: (lines, last line it reaches, or 0)
    pending, pending_end = None, 0
    section, section_doc = None, None
    prev = None  # the last symbol, for comments after it on its line
    prev_end = 0
    guard = None
    extern_c = 0
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind == "comment":
            lines = comment_lines(t.text)
            if prev is not None and t.line == prev_end:
                doc = doc_of_comment(lines)
                if doc and prev.doc is None:
                    prev.doc = doc
                i += 1
                continue
            if hdr.overview is None and not hdr.symbols and guard is None:
                hdr.overview = lines
            title = section_title(lines)
            if title:
                section, section_doc = title, lines[1:] or None
            pending, pending_end = lines, t.end_line
            i += 1
            continue
        if t.kind == "directive":
            m = _DEFINE.match(t.text)
            if _COND.match(t.text):
                g = re.match(r"#\s*ifndef\s+(\w+)", t.text)
                if g and guard is None and g.group(1).endswith("_H"):
                    guard = g.group(1)
                if pending is not None and t.line == pending_end + 1:
                    pending_end = t.end_line  # see through #if lines
            elif m and m.group(1) == guard:
                pending = None
            elif m:
                name = m.group(1)
                seen = next((s for s in hdr.symbols if name in s.names),
                            None)
                if seen is None:
                    sym = Symbol("function-like macro" if m.group(2)
                                 else "macro", name,
                                 " ".join(t.text.replace("\\\n", " ")
                                          .split()), t.line)
                    if pending is not None and t.line == pending_end + 1:
                        sym.doc = doc_of_comment(pending)
                    if (sym.doc is None and prev is not None
                            and prev.kind == "macro" and prev_end + 1 == t.line
                            and prev.doc is not None):
                        # a block of constants under one comment
                        prev.decl += "\n" + sym.decl
                        prev.names.append(name)
                        prev_end = t.end_line
                        pending = None
                        i += 1
                        continue
                    _open_section(sym, section, section_doc)
                    section = None
                    hdr.symbols.append(sym)
                    prev, prev_end = sym, t.end_line
                pending = None
            else:
                pending = None  # #include and the like
            i += 1
            continue
        # code: skip extern "C" { ... }
        if (t.text == "extern" and i + 2 < len(tokens)
                and tokens[i + 1].text == '"C"' and tokens[i + 2].text == "{"):
            extern_c += 1
            i += 3
            continue
        if t.text == "}" and extern_c:
            extern_c -= 1
            i += 1
            continue
        # one top-level statement, up to ';' outside brackets
        j, depth = i, 0
        while j < len(tokens):
            u = tokens[j]
            if u.kind == "code":
                if u.text in "({[":
                    depth += 1
                elif u.text in ")}]":
                    depth -= 1
                elif u.text == ";" and depth == 0:
                    break
            j += 1
        stmt = tokens[i:j + 1]
        sym = classify(stmt, text)
        if sym is not None:
            if pending is not None and t.line == pending_end + 1:
                sym.doc = doc_of_comment(pending)
            if sym.name is None or sym.kind == "declaration":
                hdr.warnings.append("%s:%d: declaration not understood: %s" %
                                    (path, t.line, _collapse(
                                        text[stmt[0].start:stmt[-1].end])))
            _open_section(sym, section, section_doc)
            section = None
            hdr.symbols.append(sym)
            prev, prev_end = sym, stmt[-1].end_line
        pending = None
        i = j + 1
    return hdr


def _open_section(sym, section, section_doc):
    sym.section, sym.section_doc = section, section_doc


def undocumented(hdr):
    """(line, name, kind) of every public symbol without a comment."""
    return [(s.line, s.name, s.kind) for s in hdr.symbols
            if s.doc is None and any(is_public(n) for n in s.names)]


# ---- Markdown -----------------------------------------------------------


def _escape(text):
    """Markdown-escapes prose outside `code spans`."""
    parts = re.split(r"(`[^`]*`)", text)
    for k in range(0, len(parts), 2):
        p = parts[k].replace("\\", "\\\\").replace("*", "\\*")
        p = p.replace("<", "&lt;").replace(">", "&gt;")
        p = re.sub(r"(?<![A-Za-z0-9])_", r"\\_", p)
        parts[k] = p
    return "".join(parts)


def render_doc(lines):
    """Comment lines as Markdown: prose, lists, and laid-out text as is."""
    out, para, pre, in_item = [], [], [], False

    def flush_para():
        if para:
            text = _escape("\n".join(para))
            out.append(re.sub(r"^#", r"\\#", text, flags=re.M))
            out.append("")
            para.clear()

    def flush_pre():
        if pre:
            while pre and not pre[-1].strip():
                pre.pop()
            out.append("```text")
            out.extend(pre)
            out.append("```")
            out.append("")
            pre.clear()

    for s in lines:
        if not s.strip():
            if pre:
                pre.append("")
            else:
                flush_para()
            in_item = False
            continue
        if s.startswith("- "):
            flush_pre()
            para.append(s)
            in_item = True
        elif s.startswith("  ") and in_item and s.startswith("  ") \
                and not s.startswith("   "):
            para.append(s)
        elif s.startswith("  "):
            flush_para()
            pre.append(s)
            in_item = False
        else:
            flush_pre()
            para.append(s)
    flush_pre()
    flush_para()
    return out


def _slug(header_name):
    return os.path.splitext(os.path.basename(header_name))[0]


def _public_symbols(hdr):
    return [s for s in hdr.symbols if any(is_public(n) for n in s.names)]


def render_header(hdr):
    """One header's page: its overview, contents, then every public
    declaration in the header's order, under its sections."""
    symbols = _public_symbols(hdr)
    out = ["# %s" % hdr.name, ""]
    if hdr.overview:
        out += render_doc(hdr.overview)
    out += ["Included with `#include <%s>` (or `<lp2p/lp2p.h>`, which "
            "includes every header)." % hdr.name, ""]
    if symbols:
        out += ["## Contents", ""]
        for s in symbols:
            out.append("- [`%s`](#%s) (%s)" % (s.name, s.name.lower(), s.kind))
        out.append("")
    for s in symbols:
        if s.section:
            out += ["## %s" % s.section, ""]
            if s.section_doc and doc_of_comment(s.section_doc) \
                    and s.section_doc != s.doc:
                out += render_doc(s.section_doc)
        for n in s.names:
            out.append('<a id="%s"></a>' % n.lower())
        out += ["", "### %s" % s.name, "", "```c", s.decl, "```", ""]
        if s.doc:
            out += render_doc(s.doc)
        else:
            out += ["(undocumented)", ""]
        if any(doc for _, doc in s.members):
            label = "Constants" if s.kind == "enum" else "Fields"
            out += ["%s:" % label, ""]
            for decl, doc in s.members:
                item = "- `%s`" % decl
                if doc:
                    item += ": " + _escape(" ".join(x.strip() for x in doc))
                out.append(item)
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_index(headers):
    out = ["# lp2p API reference", "",
           "Generated by `scripts/apidoc.py` from the comments of the public "
           "headers (`include/lp2p/`). The guide (docs/guide.md) says how "
           "the pieces fit together.", "", "## Headers", ""]
    for h in headers:
        first = ""
        if h.overview:
            first = " ".join(h.overview).split(". ")[0].rstrip(".")
            first = re.sub(r"^lp2p:\s*", "", first)
        out.append("- [%s](%s.md): %s" % (h.name, _slug(h.name),
                                           _escape(first)))
    out += ["", "## Symbols", ""]
    entries = sorted(((n, h, s) for h in headers for s in _public_symbols(h)
                      for n in s.names if is_public(n)), key=lambda e: e[0].lower())
    for n, h, s in entries:
        out.append("- [`%s`](%s.md#%s) (%s)" % (n, _slug(h.name), n.lower(),
                                                 s.kind))
    return "\n".join(out) + "\n"


# ---- command ------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("headers", nargs="*",
                    help="headers to read (default: include/lp2p/*.h)")
    ap.add_argument("--out", help="directory for the Markdown reference")
    ap.add_argument("--no-check", action="store_true",
                    help="write the reference, exit 0 even with gaps")
    args = ap.parse_args(argv)
    paths = args.headers or sorted(glob.glob(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "include", "lp2p",
        "*.h")))
    if not paths:
        print("apidoc: no headers", file=sys.stderr)
        return 2
    headers = []
    for p in paths:
        parent = os.path.basename(os.path.dirname(os.path.abspath(p)))
        shown = "%s/%s" % (parent, os.path.basename(p)) \
            if parent == "lp2p" else os.path.basename(p)
        headers.append(parse_header(p, shown))
    for h in headers:
        for w in h.warnings:
            print("apidoc: warning: " + w, file=sys.stderr)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for h in headers:
            with open(os.path.join(args.out, _slug(h.name) + ".md"), "w",
                      encoding="utf-8") as f:
                f.write(render_header(h))
        with open(os.path.join(args.out, "index.md"), "w",
                  encoding="utf-8") as f:
            f.write(render_index(headers))
    gaps = [(h.path, line, name, kind) for h in headers
            for line, name, kind in undocumented(h)]
    for path, line, name, kind in gaps:
        print("%s:%d: %s (%s) has no comment" % (path, line, name, kind),
              file=sys.stderr if args.no_check else sys.stdout)
    nsyms = sum(len(h.symbols) for h in headers)
    print("apidoc: %d headers, %d entries, %d undocumented" %
          (len(headers), nsyms, len(gaps)), file=sys.stderr)
    return 1 if gaps and not args.no_check else 0


if __name__ == "__main__":
    sys.exit(main())
