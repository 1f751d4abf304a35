#!/usr/bin/env python3
"""Independent, by-the-rules vector-clock computations for stage-4 cases.

Written from the rules in stages/04-vector-clocks/README.md, not from the Rust reference, so case
authors can check expected values two ways. A clock is written as JSON, actor -> [counter, timestamp]:

    python3 tests/tools/clocks.py compare '{"Sx":[2,1],"Sy":[1,1]}' '{"Sx":[1,50],"Sy":[2,60]}'
    python3 tests/tools/clocks.py merge '{"Sx":[2,4],"Sy":[1,2]}' '{"Sx":[1,9],"Sz":[3,6]}'
    python3 tests/tools/clocks.py increment '{"Sx":[2,2]}' Sy 3
    python3 tests/tools/clocks.py truncate '{"A":[1,40],"B":[3,10],"C":[2,30],"D":[1,20]}' 3
    python3 tests/tools/clocks.py cart      # the paper's D1..D5, printed step by step
"""
import json
import sys


def increment(c, actor, t):
    out = dict(c)
    out[actor] = (out.get(actor, (0, 0))[0] + 1, t)
    return out


def compare(a, b):
    actors = set(a) | set(b)
    a_ahead = any(a.get(x, (0, 0))[0] > b.get(x, (0, 0))[0] for x in actors)
    b_ahead = any(b.get(x, (0, 0))[0] > a.get(x, (0, 0))[0] for x in actors)
    return {(False, False): "equal", (False, True): "before",
            (True, False): "after", (True, True): "concurrent"}[(a_ahead, b_ahead)]


def merge(a, b):
    return {x: max(a.get(x, (0, 0)), b.get(x, (0, 0))) for x in set(a) | set(b)}


def truncate(c, threshold):
    out = dict(c)
    while len(out) > threshold:
        del out[min(out, key=lambda x: (out[x][1], x))]
    return out


def show(c):
    return "{" + ", ".join(f"{x}: {c[x][0]}@{c[x][1]}" for x in sorted(c)) + "}"


def parse(s):
    return {k: tuple(v) for k, v in json.loads(s).items()}


def cart():
    d1 = increment({}, "Sx", 1)
    d2 = increment(d1, "Sx", 2)
    d3 = increment(d2, "Sy", 3)
    d4 = increment(d2, "Sz", 4)
    ctx = merge(d3, d4)
    d5 = increment(ctx, "Sx", 5)
    for name, c in [("D1", d1), ("D2", d2), ("D3", d3), ("D4", d4), ("context", ctx), ("D5", d5)]:
        print(f"{name:8} {show(c)}")
    print("D3 vs D4:", compare(d3, d4), "| D5 vs D3:", compare(d5, d3), "| D5 vs D4:", compare(d5, d4))


def main(argv):
    op, *args = argv
    if op == "cart":
        cart()
    elif op == "compare":
        print(compare(parse(args[0]), parse(args[1])))
    elif op == "merge":
        print(show(merge(parse(args[0]), parse(args[1]))))
    elif op == "increment":
        print(show(increment(parse(args[0]), args[1], int(args[2]))))
    elif op == "truncate":
        print(show(truncate(parse(args[0]), int(args[1]))))
    else:
        sys.exit(f"unknown operation {op}; see the docstring")


if __name__ == "__main__":
    main(sys.argv[1:])
