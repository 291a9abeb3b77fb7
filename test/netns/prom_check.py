#!/usr/bin/env python3
"""A strict parser and checker of the Prometheus text exposition format 0.0.4, for the observability tests.

It follows prometheus.io/docs/instrumenting/exposition_formats (text format 0.0.4) line by line and fails loudly
on anything a scraper could reject or misread:
  - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__"), each
    label name once per sample; label values in double quotes with only \\\\, \\" and \\n escapes;
  - "# HELP name text" (escapes \\\\ and \\n only) and "# TYPE name type" at most once per family, before its
    first sample; types counter, gauge, histogram, summary, untyped;
  - a family's samples in one contiguous group; no two samples of the same series (name and label set);
  - values parse as floats (NaN, +Inf, -Inf included), an optional integer timestamp; counters are not negative;
  - every line ends with a newline, the last one included.
Standard library only. Used as a program (exit 1 with "prom_check: line N: why") or imported (parse()).

  prom_check.py [FILE]            check FILE (default stdin); print a one-line summary
  prom_check.py --json [FILE]     check, then print {"series": {"name{a=\\"x\\"}": value}, "types": {...}}
  prom_check.py --self-test       run the checker against known good and bad inputs
"""

import json
import math
import re
import sys

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


class PromError(Exception):
    def __init__(self, lineno, message):
        super().__init__(f"line {lineno}: {message}")
        self.lineno = lineno


class Family:
    def __init__(self, name):
        self.name = name
        self.type = None
        self.help = None
        self.samples = []  # (sample name, {label: value}, value, timestamp or None)


def parse_float(text, lineno, what):
    if text in ("NaN", "+Inf", "-Inf", "Inf", "+inf", "-inf", "inf", "nan"):
        return float(text)
    if not FLOAT.fullmatch(text):
        raise PromError(lineno, f"{what} '{text}' is not a float")
    return float(text)


def unescape(text, lineno, quote_ok):
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                raise PromError(lineno, "a backslash ends the text")
            n = text[i + 1]
            if n == "\\":
                out.append("\\")
            elif n == "n":
                out.append("\n")
            elif n == '"' and quote_ok:
                out.append('"')
            else:
                raise PromError(lineno, f"invalid escape '\\{n}'")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_labels(text, pos, lineno):
    """text[pos] is '{'. Returns ({name: value}, position after '}')."""
    labels = {}
    pos += 1
    while True:
        if pos >= len(text):
            raise PromError(lineno, "unterminated label set")
        if text[pos] == "}":
            return labels, pos + 1
        m = LABEL_NAME.match(text, pos)
        if not m:
            raise PromError(lineno, f"bad label name at column {pos + 1}")
        name = m.group(0)
        if name.startswith("__"):
            raise PromError(lineno, f"label name '{name}' is reserved")
        if name in labels:
            raise PromError(lineno, f"label '{name}' given twice")
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise PromError(lineno, f"expected '=\"' after label '{name}'")
        pos += 2
        start = pos
        while pos < len(text) and text[pos] != '"':
            if text[pos] == "\\":
                pos += 1
            pos += 1
        if pos >= len(text):
            raise PromError(lineno, f"unterminated value of label '{name}'")
        labels[name] = unescape(text[start:pos], lineno, True)
        pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] != "}":
            raise PromError(lineno, f"expected ',' or '}}' after label '{name}'")


def family_of(name, families):
    """The family a sample name belongs to: itself, or a histogram/summary base name by its suffix."""
    for base, fam in families.items():
        for suffix in SUFFIXES.get(fam.type, ()):
            if name == base + suffix:
                return base
    return name


def parse(text):
    """Parses an exposition. Returns {family name: Family} in order of appearance; raises PromError."""
    if text and not text.endswith("\n"):
        raise PromError(text.count("\n") + 1, "the last line does not end with a newline")
    families = {}
    closed = set()  # families whose sample group has ended
    current = None
    seen = set()
    for lineno, line in enumerate(text.split("\n")[:-1] if text else [], 1):
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not METRIC_NAME.fullmatch(parts[2]):
                    raise PromError(lineno, f"bad metric name in {parts[1]} line")
                name = parts[2]
                fam = families.setdefault(name, Family(name))
                if fam.samples or name in closed:
                    raise PromError(lineno, f"{parts[1]} for '{name}' after its samples")
                if parts[1] == "HELP":
                    if fam.help is not None:
                        raise PromError(lineno, f"second HELP for '{name}'")
                    fam.help = unescape(line.split(" ", 3)[3] if len(parts) == 4 else "", lineno, False)
                else:
                    if fam.type is not None:
                        raise PromError(lineno, f"second TYPE for '{name}'")
                    if len(parts) != 4 or parts[3].strip() not in TYPES:
                        raise PromError(lineno, f"bad TYPE for '{name}': {parts[3:]}")
                    fam.type = parts[3].strip()
                if current is not None and current != name:
                    closed.add(current)
                current = name
            continue
        m = METRIC_NAME.match(line)
        if not m:
            raise PromError(lineno, "a sample line does not start with a metric name")
        name, pos = m.group(0), m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = parse_labels(line, pos, lineno)
        if pos >= len(line) or line[pos] not in " \t":
            raise PromError(lineno, f"expected a blank before the value of '{name}'")
        fields = line[pos:].split()
        if len(fields) not in (1, 2):
            raise PromError(lineno, f"expected a value and an optional timestamp, got {fields}")
        value = parse_float(fields[0], lineno, "value")
        ts = None
        if len(fields) == 2:
            if not re.fullmatch(r"-?\d+", fields[1]):
                raise PromError(lineno, f"timestamp '{fields[1]}' is not an integer")
            ts = int(fields[1])
        base = family_of(name, families)
        if base in closed:
            raise PromError(lineno, f"samples of '{base}' are not in one group")
        if current is not None and current != base:
            closed.add(current)
        current = base
        fam = families.setdefault(base, Family(base))
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise PromError(lineno, f"duplicate series {series_name(name, labels)}")
        seen.add(key)
        if fam.type == "counter" and (math.isnan(value) or value < 0):
            raise PromError(lineno, f"counter {series_name(name, labels)} has value {fields[0]}")
        fam.samples.append((name, labels, value, ts))
    return families


def series_name(name, labels):
    if not labels:
        return name
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def flatten(families):
    """{series name with sorted labels: value}, {family: type}."""
    series = {}
    for fam in families.values():
        for name, labels, value, _ in fam.samples:
            series[series_name(name, labels)] = value
    return series, {f.name: f.type or "untyped" for f in families.values()}


GOOD = [
    "",
    "# HELP a Help.\n# TYPE a gauge\na 1\n",
    '# TYPE a counter\na{x="1",y="2"} 3 1700000000000\na{x="2"} 4\n',
    'a{x="q\\"\\\\\\n"} NaN\nb +Inf\nc -Inf\nd 1e-07\ne .5\n',
    "# comment\n\n# TYPE a gauge\na{x=\"1\",} 1\n",
    "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
]

BAD = [
    ("a 1", "newline"),
    ("1a 1\n", "metric name"),
    ("a-b 1\n", "blank before the value"),
    ("a{1x=\"1\"} 1\n", "label name"),
    ("a{__x=\"1\"} 1\n", "reserved"),
    ("a{x=\"1\",x=\"2\"} 1\n", "twice"),
    ("a{x=\"1} 1\n", "unterminated"),
    ("a{x=1} 1\n", "=\""),
    ("a{x=\"\\t\"} 1\n", "escape"),
    ("a one\n", "not a float"),
    ("a 1 2 3\n", "optional timestamp"),
    ("a 1 1.5\n", "timestamp"),
    ("# HELP a x\n# HELP a y\na 1\n", "second HELP"),
    ("# TYPE a gauge\n# TYPE a gauge\na 1\n", "second TYPE"),
    ("# TYPE a gaugeish\na 1\n", "bad TYPE"),
    ("a 1\n# TYPE a gauge\n", "after its samples"),
    ("a 1\nb 1\na{x=\"1\"} 2\n", "one group"),
    ("a 1\na 2\n", "duplicate"),
    ("a{y=\"1\",x=\"2\"} 1\na{x=\"2\",y=\"1\"} 1\n", "duplicate"),
    ("# TYPE a counter\na -1\n", "counter"),
    ("# HELP a bad \\q escape\na 1\n", "escape"),
]


def self_test():
    for text in GOOD:
        parse(text)
    for text, why in BAD:
        try:
            parse(text)
        except PromError as e:
            if why not in str(e):
                raise AssertionError(f"{text!r}: expected an error about '{why}', got '{e}'")
        else:
            raise AssertionError(f"{text!r} was accepted (expected: {why})")
    print(f"prom_check: self-test passed ({len(GOOD)} good, {len(BAD)} bad inputs)")


def main(argv):
    as_json = False
    args = argv[1:]
    if args and args[0] == "--self-test":
        self_test()
        return 0
    if args and args[0] == "--json":
        as_json, args = True, args[1:]
    text = open(args[0], encoding="utf-8").read() if args else sys.stdin.read()
    try:
        families = parse(text)
    except PromError as e:
        print(f"prom_check: {e}", file=sys.stderr)
        return 1
    series, types = flatten(families)
    if as_json:
        json.dump({"series": series, "types": types}, sys.stdout, sort_keys=True)
        print()
    else:
        print(f"prom_check: ok: {len(families)} families, {len(series)} series")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
