#!/usr/bin/env python3
"""Independent, by-the-rules computations for stage-1 cases (hash ring).

Written from the rules in stages/01-hash-ring/README.md, not from the Rust reference, so case
authors can check expected values two ways. Usage:

    python3 tests/tools/ring.py position A#0 user-42
    python3 tests/tools/ring.py tokens --vnodes 2 A B C
    python3 tests/tools/ring.py owner --vnodes 1 --nodes A,B,C key1 key2
    python3 tests/tools/ring.py pref --vnodes 1 --nodes A,B,C,D -n 3 key1
"""
import argparse
import hashlib


def position(s: str) -> int:
    return int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "big")


def tokens(vnodes, nodes):
    return sorted((position(f"{n}#{i}"), n, i) for n in nodes for i in range(vnodes))


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
    ap.add_argument("what", choices=["position", "tokens", "owner", "pref"])
    ap.add_argument("args", nargs="*")
    ap.add_argument("--vnodes", type=int, default=1)
    ap.add_argument("--nodes", default="")
    ap.add_argument("-n", type=int, default=3)
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
    else:
        toks = tokens(a.vnodes, nodes)
        for k in a.args:
            print(f"{k}\t{position(k)}\t{pref(toks, k, a.n)}")


if __name__ == "__main__":
    main()
