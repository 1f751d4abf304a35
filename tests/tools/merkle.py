#!/usr/bin/env python3
"""Independent, by-the-rules Merkle tree computations for stage-5 cases.

Written from the byte layout in stages/05-anti-entropy/README.md, not from the Rust reference, so
case authors can check expected hashes two ways. Data is JSON: key -> value (one version with the
case files' shorthand clock {W: counter 1, timestamp 0}) or key -> list of versions, each
{"clock": {actor: [counter, timestamp]}, "value": "..."}.

    python3 tests/tools/merkle.py position apple             # ring position and top bits
    python3 tests/tools/merkle.py digest '"red"'              # object digest of one shorthand value
    python3 tests/tools/merkle.py tree 1 '{"apple":"red","banana":"yellow"}'   # every node, by level
    python3 tests/tools/merkle.py diff 2 '{"a":"1","b":"2"}' '{"a":"1","b":"3"}'  # keys and count
    python3 tests/tools/merkle.py empty 3                     # hashes of an empty tree of depth 3
"""
import hashlib
import json
import struct
import sys


def sha(b):
    return hashlib.sha256(b).digest()


def u64(n):
    return struct.pack(">Q", n)


def string(s):
    b = s.encode()
    return u64(len(b)) + b


def position(key):
    return struct.unpack(">Q", sha(key.encode())[:8])[0]


def segment(key, depth):
    return position(key) >> (64 - depth) if depth else 0


def versions(obj):
    """A value or a list of versions, as sortable (clock, value) tuples."""
    if isinstance(obj, str):
        return [((("W", 1, 0),), obj)]
    out = []
    for v in obj:
        clock = tuple(sorted((a, c[0], c[1]) for a, c in v["clock"].items()))
        out.append((clock, v["value"]))
    return out


def object_digest(obj):
    # Version order: clock (actor, counter, timestamp lexicographically), then value.
    sibs = sorted(versions(obj))
    b = u64(len(sibs))
    for clock, value in sibs:
        b += u64(len(clock))
        for actor, counter, ts in clock:
            b += string(actor) + u64(counter) + u64(ts)
        b += string(value)
    return sha(b)


def leaf_hash(entries):
    return sha(b"".join(string(k) + object_digest(o) for k, o in sorted(entries)))


def tree(depth, data):
    leaves = [[] for _ in range(2 ** depth)]
    for k, o in data.items():
        leaves[segment(k, depth)].append((k, o))
    levels = [[leaf_hash(l) for l in leaves]]
    while len(levels[0]) > 1:
        below = levels[0]
        levels.insert(0, [sha(below[i] + below[i + 1]) for i in range(0, len(below), 2)])
    return levels


def diff(depth, here, there):
    a, b = tree(depth, here), tree(depth, there)
    comparisons, frontier = 1, ([0] if a[0][0] != b[0][0] else [])
    for level in range(1, depth + 1):
        nxt = []
        for p in frontier:
            for c in (2 * p, 2 * p + 1):
                comparisons += 1
                if a[level][c] != b[level][c]:
                    nxt.append(c)
        frontier = nxt
    keys = []
    for k in sorted(set(here) | set(there)):
        if segment(k, depth) not in frontier:
            continue
        if k not in here:
            keys.append((k, "missing-here"))
        elif k not in there:
            keys.append((k, "missing-there"))
        elif object_digest(here[k]) != object_digest(there[k]):
            keys.append((k, "different"))
    return keys, comparisons


def main(argv):
    cmd = argv[1]
    if cmd == "position":
        p = position(argv[2])
        print(f"position {p} = {p:016x}, top bits {p >> 60:04b}…")
    elif cmd == "digest":
        print(object_digest(json.loads(argv[2])).hex())
    elif cmd == "empty":
        for i, level in enumerate(tree(int(argv[2]), {})):
            print(i, level[0].hex())
    elif cmd == "tree":
        depth, data = int(argv[2]), json.loads(argv[3])
        for k in sorted(data):
            print(f"key {k}: segment {segment(k, depth)}, digest {object_digest(data[k]).hex()}")
        for i, level in enumerate(tree(depth, data)):
            for j, h in enumerate(level):
                print(f"node ({i}, {j}) {h.hex()}")
    elif cmd == "diff":
        keys, n = diff(int(argv[2]), json.loads(argv[3]), json.loads(argv[4]))
        for k, d in keys:
            print(k, d)
        print("comparisons", n)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
