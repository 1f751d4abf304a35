#!/usr/bin/env python3
"""Independent, by-the-rules computations for stage-1 cases (hash ring).

Written from the rules in stages/01-hash-ring/README.md, not from the Rust reference, so case
authors can check expected values two ways. Usage:

    python3 tests/tools/ring.py position A#0 user-42
    python3 tests/tools/ring.py tokens --vnodes 2 A B C
    python3 tests/tools/ring.py owner --vnodes 1 --nodes A,B,C key1 key2
    python3 tests/tools/ring.py pref --vnodes 1 --nodes A,B,C,D -n 3 key1
    python3 tests/tools/ring.py join --vnodes 2 --nodes A,B,C F
    python3 tests/tools/ring.py leave --vnodes 2 --nodes A,B,C,H H
    python3 tests/tools/ring.py join --tokens 'A=100,900;B=500' --placed 700,300 C

`--tokens` places nodes' tokens by hand (vnode i at the i-th position), as a case's
`setup.tokens` does; `--placed` gives the joining node's positions.
"""
import argparse
import hashlib


def position(s: str) -> int:
    return int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "big")


def tokens(vnodes, nodes):
    return sorted((position(f"{n}#{i}"), n, i) for n in nodes for i in range(vnodes))


def placed(spec):
    """`A=100,900;B=500` -> [(100, 'A', 0), (900, 'A', 1), (500, 'B', 0)]."""
    out = []
    for part in filter(None, spec.split(";")):
        node, positions = part.split("=")
        out += [(int(p), node, i) for i, p in enumerate(positions.split(","))]
    return out


def transfers(old, new, node, join):
    """One (start, end, from, to) per token of `node`, in ring order of that token.

    The range is measured in the ring that holds the token (the new ring for a join, the old one
    for a leave); the other side is the owner of the token's position in the other ring."""
    ring, other = (new, old) if join else (old, new)
    out = []
    for i, t in enumerate(ring):
        if t[1] != node or not other:
            continue
        start = ring[i - 1][0]
        peer = other[owning_index(other, t[0])][1]
        out.append((start, t[0], peer, node) if join else (start, t[0], node, peer))
    return out


def owning_index(toks, pos):
    for i, t in enumerate(toks):
        if t[0] >= pos:
            return i
    return 0


def pref(toks, key, n):
    start = owning_index(toks, position(key))
    out = []
    for k in range(len(toks)):
        node = toks[(start + k) % len(toks)][1]
        if node not in out:
            out.append(node)
        if len(out) == n:
            break
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["position", "tokens", "owner", "pref", "join", "leave"])
    ap.add_argument("args", nargs="*")
    ap.add_argument("--vnodes", type=int, default=1)
    ap.add_argument("--nodes", default="")
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--tokens", default="")
    ap.add_argument("--placed", default="")
    a = ap.parse_intermixed_args()
    nodes = [n for n in a.nodes.split(",") if n]
    if a.what == "position":
        for s in a.args:
            print(f"{s}\t{position(s)}\t{hashlib.sha256(s.encode()).hexdigest()[:16]}")
    elif a.what == "tokens":
        for t in tokens(a.vnodes, a.args):
            print(f"{t[0]}\t{t[1]}#{t[2]}")
    elif a.what == "owner":
        toks = tokens(a.vnodes, nodes)
        for k in a.args:
            print(f"{k}\t{position(k)}\t{toks[owning_index(toks, position(k))][1]}")
    elif a.what in ("join", "leave"):
        base = sorted(tokens(a.vnodes, nodes) + placed(a.tokens))
        (node,) = a.args
        if a.what == "join":
            mine = placed(f"{node}={a.placed}") if a.placed else tokens(a.vnodes, [node])
            old, new = base, sorted(base + mine)
        else:
            old, new = base, [t for t in base if t[1] != node]
        for start, end, frm, to in transfers(old, new, node, a.what == "join"):
            print(f"({start}, {end}]\tfrom {frm}\tto {to}")
    else:
        toks = tokens(a.vnodes, nodes) + placed(a.tokens)
        toks.sort()
        for k in a.args:
            print(f"{k}\t{position(k)}\t{pref(toks, k, a.n)}")


if __name__ == "__main__":
    main()
