#!/usr/bin/env python3
"""Compare a mounted provider directory with what the fake server says it holds.

    check_tree.py [--names-only] EXPECT_JSON MOUNTED_SECTION_DIR

EXPECT_JSON is the output of `fake_providers.py --expect` (or /_fake/expect).
The directory names are derived here independently of the C code, from the
rules of DESIGN section 2; every directory must hold metadata.json with the
exact expected bytes and the expected mtime. Prints one line per mismatch and
exits 1 if there is any; a mismatch of a collection whose name holds a lone
UTF-16 surrogate (which must show as U+FFFD, in the name and in metadata.json)
says so, so such failures are told apart from the others.
"""
import json
import os
import sys

MAX = 255


def encode(s):
    out = []
    for ch in s:
        c = ord(ch)
        if ch == "/":
            out.append("\uff0f")
        elif c < 0x20:
            out.append(chr(0x2400 + c))
        elif 0xD800 <= c <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    r = "".join(out)
    return {".": "\uff0e", "..": "\uff0e\uff0e"}.get(r, r)


def cut(s, limit):
    b = s.encode()
    if len(b) <= limit:
        return s
    return b[:limit].decode("utf-8", "ignore")


def with_id(name, ident):
    suffix = " (" + encode(ident) + ")"
    room = MAX - len(suffix.encode())
    if room < 0:
        return cut(name + suffix, MAX)
    return cut(name, room) + suffix


def base(item):
    name = item["name"]
    if not name:
        return cut(encode(item["id"]), MAX)
    e = encode(name)
    return with_id(e, item["id"]) if len(e.encode()) > MAX else e


def age_key(item):
    ident = item["id"]
    idkey = (0, len(ident.lstrip("0")), ident) if ident.isdigit() else (1, 0, ident)
    created = item["created"]
    return (created is None, created if created is not None else 0, idkey)


def expected_names(items):
    groups = {}
    for it in items:
        groups.setdefault(base(it), []).append(it)
    names = {}
    for b, members in groups.items():
        members.sort(key=age_key)
        names[b] = members[0]
        for it in members[1:]:
            names[with_id(b, it["id"])] = it
    return names


def surrogate_note(item):
    """A remark for mismatches of an item whose name has UTF-16 surrogate code points."""
    name = item["name"] if isinstance(item["name"], str) else ""
    if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        return " [name holds UTF-16 surrogates %r: each unpaired one must be U+FFFD]" % name
    return ""


def main():
    args = sys.argv[1:]
    names_only = args[0] == "--names-only"
    if names_only:
        args = args[1:]
    items = json.load(open(args[0]))
    root = args[1]
    want = expected_names(items)
    have = set(os.listdir(root))
    bad = surr = 0
    for name in sorted(set(want) - have):
        note = surrogate_note(want[name])
        print("missing: %r (id %s)%s" % (name, want[name]["id"], note))
        bad, surr = bad + 1, surr + bool(note)
    by_id = {it["id"]: it for it in items}
    for name in sorted(have - set(want)):
        note = ""
        try:        # which collection is it? (every provider so far has a top-level "id")
            with open(os.path.join(root, name, "metadata.json"), "rb") as f:
                it = by_id.get(str(json.loads(f.read()).get("id")))
            note = surrogate_note(it) if it else ""
        except (OSError, ValueError, AttributeError):
            pass
        print("unexpected: %r%s" % (name, note))
        bad, surr = bad + 1, surr + bool(note)
    for name in [] if names_only else sorted(set(want) & have):
        it = want[name]
        path = os.path.join(root, name, "metadata.json")
        with open(path, "rb") as f:
            data = f.read()
        if data != it["metadata_json"].encode():
            note = surrogate_note(it)
            print("content differs: %r%s" % (name, note))
            bad, surr = bad + 1, surr + bool(note)
        st = os.stat(path)
        if st.st_size != len(data):
            print("st_size %d != %d bytes read: %r" % (st.st_size, len(data), name))
            bad += 1
        when = it["updated"] if it["updated"] is not None else it["created"]
        if when is not None and abs(st.st_mtime - when) > 1e-3:
            print("mtime %s != %s: %r" % (st.st_mtime, when, name))
            bad += 1
    print("%d collections checked, %d mismatches (%d of them of names with UTF-16 surrogates)"
          % (len(want), bad, surr))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
