#!/usr/bin/env python3
"""Self cost (instructions spent in a function itself, not in what it calls) per request from a callgrind dump,
by function and grouped by where the code comes from. bench/instructions.sh --top N calls it.

  callgrind_self.py DUMP REQUESTS [TOP]

callgrind_annotate --inclusive=no gives the same per function, but on a dump of a threaded program it can
print only the thread entry (clone) as the single line; this reads the dump's cost lines directly."""
import collections
import re
import sys

# Where a function's code comes from: its name first (Beast and Asio are header-only, so they live in the
# slipway binary), then the shared object it is in.
GROUPS = [
    (r"(?:[\w*&]+ )*simdjson::", "simdjson (JSON parsing)"),
    (r"(?:[\w*&]+ )*boost::beast::", "Beast (HTTP parsing, header fields)"),
    (r"(?:[\w*&]+ )*boost::(?:asio|system)::|_Z+N5boost4asio", "Asio (scheduler, reactor, handlers)"),
    (r"(?:[\w*&]+ )*boost::intrusive::", "Beast (HTTP parsing, header fields)"),
    (r"(?:[\w*&]+ )*boost::json::", "Boost.JSON"),
    (r"(?:[\w*&]+ )*slipway::validators::", "validators"),
    (r"(?:[\w*&]+ )*slipway::", "slipway (the rest of its own code)"),
    (r"(?:[\w*&]+ )*std::", "libstdc++ (strings, containers)"),
    (r"operator new|operator delete|malloc|free|memalign|realloc|calloc|tc_|tcmalloc", "allocation"),
    (r"__mem|__str|memmem|memchr|memcmp|memcpy|memset|strlen", "libc string functions"),
    (r"pthread|__lll", "locks"),
    (r"recv|sendmsg|send|epoll_wait|ioctl|clock_gettime", "libc system call wrappers"),
    (r"(?:[\w*&]+ )*re2::", "RE2 (refusal phrases, schema patterns)"),
]
# Functions without a name (stripped libraries) by the shared object they are in.
OBJECT_GROUPS = [
    ("libre2", "RE2 (refusal phrases, schema patterns)"),
    ("libtcmalloc", "allocation"),
    ("libsimdjson", "simdjson (JSON parsing)"),
]


def main():
    dump, requests = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    names, objects = {}, {}
    cost = collections.Counter()
    object_of = {}
    fn = ob = None
    after_calls = False

    def resolve(token, table):
        m = re.match(r"\((\d+)\)(?: (.*))?", token)
        if not m:
            return token
        if m.group(2):
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1), token)

    with open(dump, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("ob="):
                ob = resolve(line[3:], objects)
            elif line.startswith("fn="):
                fn = resolve(line[3:], names)
                object_of.setdefault(fn, ob)
            elif line.startswith("cfn="):
                resolve(line[4:], names)
            elif line.startswith("cob="):
                resolve(line[4:], objects)
            elif line.startswith("calls="):
                after_calls = True  # the next cost line is the call's inclusive cost, not fn's own
            elif line and (line[0].isdigit() or line[0] in "+-*"):
                if after_calls:
                    after_calls = False
                    continue
                parts = line.split()
                if len(parts) >= 2 and fn:
                    cost[fn] += int(parts[1])

    total = sum(cost.values())
    if total == 0 or requests <= 0:
        sys.exit("no cost lines in " + dump)
    groups = collections.Counter()
    for name, c in cost.items():
        for pattern, group in GROUPS:
            if re.match(pattern, name):
                groups[group] += c
                break
        else:
            obj = (object_of.get(name) or "?").rsplit("/", 1)[-1]
            group = next((g for prefix, g in OBJECT_GROUPS if obj.startswith(prefix)), "other: " + obj)
            groups[group] += c
    print(f"self cost by where the code comes from ({total / requests:,.0f} instructions per request):")
    for group, c in groups.most_common(12):
        print(f"  {100 * c / total:5.1f} %  {c / requests:>8,.0f}  {group}")
    if top <= 0:
        return
    print(f"the {top} functions with the most self cost, instructions per request:")
    for name, c in cost.most_common(top):
        print(f"  {100 * c / total:5.1f} %  {c / requests:>8,.0f}  {name[:140]}")


if __name__ == "__main__":
    main()
