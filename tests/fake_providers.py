#!/usr/bin/env python3
"""Fake "list collections" servers for the collectionsfs tests and demo.

One loopback HTTP server imitates the list endpoints of Honcho v1.1.0, HIVO,
WPP BAV Fount v2 and Scenario (wire formats: /work/shared/providers.md), each
under its own path prefix, so a client's base URL is
http://127.0.0.1:PORT/<provider>.  Python 3 standard library only.

    python3 tests/fake_providers.py --port 0 --port-file /tmp/port [--seed 1]
        [--honcho N] [--hivo N] [--fount N] [--scenario N] [--hostile] [--sample]
    python3 tests/fake_providers.py --expect honcho --seed 1 --honcho 150 --hostile

Data is generated deterministically from --seed: the same arguments always
give the same collections, in ascending creation order (created times are
strictly increasing).  --hostile makes the first ~34 collections of each
provider awkward but legal (names with '/', '.', '..', '', controls, 300 bytes,
duplicates, pre-1970 times, raw numbers such as 1e-7 and 2**64+...).
--sample gives five friendly collections per provider for the demo.

--expect PROVIDER prints, for the data the same arguments would serve, a JSON
array (creation order) of {"id", "name", "created", "updated",
"metadata_json"}; metadata_json is the exact text collectionsfs must put in
metadata.json: pretty(item_raw_text), i.e. json.dumps(obj, indent=2,
ensure_ascii=False) + "\\n" except that numbers keep the digits the provider
sent (see pretty()).

Fixed values: Honcho app "demo-app" = app_aaaaaaaaaaaaaaaaa, user "demo-user" =
usr_bbbbbbbbbbbbbbbbb (21 chars each; the 22-char spellings are accepted as
aliases); no Honcho auth unless --honcho-token.  HIVO X-User-Id u1 and
X-Api-Key hivo-secret-key; Fount Bearer fount-secret-token; Scenario Basic
sk-key:sk-secret (each overridable, see --help).

Control endpoints (JSON in/out, never counted, never faulted):
  GET  /_fake/stats    {"requests": {provider: n}, "paths": {"METHOD /path": n},
                        "log": ["METHOD /path?query STATUS", ... last 200]}
  POST /_fake/reset    zero counters, clear faults; {"data": true} also restores
                       the data sets given on the command line
  POST /_fake/config   {"provider": P, "count", "seed", "hostile", "sample"} regenerates;
                       "delete": [ids], "rename": {id: name}, "add": {"name": ..}
  POST /_fake/fault    {"provider": P, "mode": M, "status", "k", "seconds", "retry_after"}
  GET  /_fake/expect?provider=P   same as --expect, for the data served now
Fault modes: none stall hold latency status every 429 reset truncate html wrongtypes
absurd_total cursor_loop short_pages empty (described at apply_fault()).
"""
import argparse
import base64
import copy
import gzip
import hashlib
import json
import math
import os
import random
import re
import signal
import socket
import string
import struct
import sys
import threading
import time
import traceback
from collections import deque
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

PROVIDERS = ("honcho", "hivo", "fount", "scenario")
SEED_OFFSET = {"honcho": 1000, "hivo": 2000, "fount": 3000, "scenario": 4000}
DEFAULT_COUNT = {"honcho": 150, "hivo": 300, "fount": 1200, "scenario": 250}
APP_ID, APP_NAME = "app_" + "a" * 17, "demo-app"      # 21 chars, like a nanoid
USER_ID, USER_NAME = "usr_" + "b" * 17, "demo-user"
ID_ALIASES = {"app_" + "a" * 18: APP_ID, "usr_" + "b" * 18: USER_ID}  # 22-char typos
HIVO_SKIP_MAX = 65536
NANO = string.ascii_letters + string.digits + "_-"
ALNUM = string.ascii_letters + string.digits
EPOCH = datetime(1970, 1, 1)
MOON = -14182940                       # 1969-07-20T20:17:40Z
Y2020, Y2024 = 1577836800, 1704067200

# ---------------------------------------------------------------- JSON text
class Raw:
    """JSON text spliced into a response verbatim (keeps numbers like 1e-7)."""
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __deepcopy__(self, memo):
        return self


# Wire style per provider: (ensure_ascii, item sep, key sep, PHP "\/" escapes)
STYLE = {"honcho": (False, ",", ":", False),    # Starlette JSONResponse
         "hivo": (False, ",", ":", False),      # Node JSON.stringify
         "fount": (True, ",", ":", True),       # PHP json_encode defaults
         "scenario": (True, ", ", ": ", False)}


def to_json(v, prov):
    asc, isep, ksep, php = STYLE[prov]
    try:                                # fast path: nothing Raw inside
        s = json.dumps(v, ensure_ascii=asc, separators=(isep, ksep))
        return s.replace("/", "\\/") if php else s   # '/' only occurs in strings
    except TypeError:
        out = []
        _enc(v, out, STYLE[prov])
        return "".join(out)


def _enc(v, out, style):
    asc, isep, ksep, php = style
    if isinstance(v, Raw):
        out.append(v.text)
    elif isinstance(v, dict):
        out.append("{")
        for i, (k, x) in enumerate(v.items()):
            out.append(isep if i else "")
            _enc(k, out, style)
            out.append(ksep)
            _enc(x, out, style)
        out.append("}")
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, x in enumerate(v):
            out.append(isep if i else "")
            _enc(x, out, style)
        out.append("]")
    elif isinstance(v, str):
        s = json.dumps(v, ensure_ascii=asc)
        out.append(s.replace("/", "\\/") if php else s)
    else:
        out.append(json.dumps(v))


class RawNum(str):
    """A JSON number kept as the text the provider sent."""


def pretty(text):
    """Expected metadata.json text for one item's raw JSON text.

    Same layout as json.dumps(obj, indent=2, ensure_ascii=False) + "\\n",
    keys in the provider's order, but every number is written exactly as it
    appears in `text` (parse hooks wrap number text in RawNum)."""
    out = []
    _pp(json.loads(text, parse_int=RawNum, parse_float=RawNum,
                   parse_constant=RawNum), "", out)
    return "".join(out) + "\n"


def _pp(v, ind, out):
    if isinstance(v, RawNum):
        out.append(str(v))
    elif isinstance(v, str):
        out.append(json.dumps(v, ensure_ascii=False))
    elif isinstance(v, (dict, list)):
        if not v:
            out.append("{}" if isinstance(v, dict) else "[]")
            return
        inner = ind + "  "
        pairs = v.items() if isinstance(v, dict) else ((None, x) for x in v)
        out.append("{\n" if isinstance(v, dict) else "[\n")
        for i, (k, x) in enumerate(pairs):
            out.append(",\n" if i else "")
            out.append(inner)
            if k is not None:
                out.append(json.dumps(k, ensure_ascii=False) + ": ")
            _pp(x, inner, out)
        out.append("\n" + ind + ("}" if isinstance(v, dict) else "]"))
    else:
        out.append(json.dumps(v))          # true, false, null


# The first hostile Honcho item carries this metadata text byte for byte.
HONCHO_META = r'{"pi": 0.1, "tiny": 1e-7, "big": 12345678901234567890, "huge": 123456789012345678901234567890, "neg": -0.0, "nested": {"a": [1, 2.50, {"b": null}], "e": {}, "l": []}, "s": "tab\there \"q\" \\ / é 😀 \u0001"}'

# ---------------------------------------------------------------- times
def iso(us, frac=-1, off_min=0):
    """ISO-8601 text for unix microseconds; frac 0/3/6 digits, -1 = 6 if nonzero."""
    d = EPOCH + timedelta(microseconds=us + off_min * 60_000_000)
    s = d.strftime("%Y-%m-%dT%H:%M:%S")
    if frac == 6 or (frac == -1 and d.microsecond):
        s += ".%06d" % d.microsecond
    elif frac == 3:
        s += ".%03d" % (d.microsecond // 1000)
    if not off_min:
        return s + "Z"
    return s + "%s%02d:%02d" % ("+" if off_min > 0 else "-", abs(off_min) // 60, abs(off_min) % 60)


ISO_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def parse_iso(s):
    """Unix seconds (float) for an ISO-8601 string, None if it is not one."""
    m = ISO_RE.match(s) if isinstance(s, str) else None
    if not m:
        return None
    d = datetime(*map(int, m.groups()[:6]))
    us = (d - EPOCH) // timedelta(microseconds=1) + int((m[7] or "0")[:6].ljust(6, "0"))
    if m[8] != "Z":
        sign = 1 if m[8][0] == "+" else -1
        us -= sign * (int(m[8][1:3]) * 60 + int(m[8][4:6])) * 60_000_000
    return us / 1e6


def now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------- data
MISSING = object()                     # the name key is absent
H_MISSING = 5                          # index of MISSING below (None is 4)
HOSTILE = ["a/b", ".", "..", "", None, MISSING, "line\nbreak", "tab\there",
           "ctl\x01\x1f end", "x" * 100 + "é" * 100, "dup", "🎨 Moodboard 😀",
           "Case", "case", "metadata.json", "dup", "100% done", "why?", "#tag",
           'say "hi" it\'s', "back\\slash", "مجموعة الصور", "abc\u202etxt.exe",
           "dup", ".directory", "desktop.ini", "autorun.inf", "a\uff0fb",
           "caf\u00e9", "cafe\u0301", " spaced  out ", "-rf", "n" * 255, "%2F..%2Fetc"]
# What None / MISSING become where the schema has no nullable name.
NAME_FALLBACK = {"honcho": ("honcho", "é" * 256), "scenario": ("", "Untitled"),
                 "hivo": (None, MISSING), "fount": (None, MISSING)}
ADJ = ["Autumn", "Brand", "Client", "Draft", "Evergreen", "Final", "Global", "Holiday",
       "Internal", "Launch", "Legacy", "Spring", "Summer", "Winter", "Q1", "Q2", "Q3", "Q4"]
NOUN = ["campaign", "moodboards", "product shots", "headshots", "logos", "assets",
        "renders", "concepts", "references", "textures", "interviews", "notes", "reports"]
TAGS = ["brand", "draft", "approved", "archive", "video", "print", "social", "2024"]
SAMPLE = {
    "honcho": [("Brand moodboards", {"kind": "moodboard", "owner": "maria", "tags": ["brand"]}),
               ("Q3 campaign", {"kind": "notes", "quarter": 3, "budget": 12500.5}),
               ("Customer interviews", {"kind": "research", "count": 14}),
               ("Onboarding notes", {"kind": "notes", "team": {"name": "growth"}}),
               ("Reading list", {})],
    "hivo": [("Product shots", None), ("Team headshots", None), ("Trade show 2024", None),
             ("Logo explorations", None), ("Social media", None)],
    "fount": [("Brand health tracker", None), ("Competitor set EU", None),
              ("Q3 campaign", None), ("Gen Z study", None), ("Retail brands", None)],
    "scenario": [("Character concepts", None), ("Isometric props", None),
                 ("Texture library", None), ("Moodboard – autumn", None), ("UI icons", None)],
}


def new_id(ctx, make):
    while True:
        v = make()
        if v not in ctx["ids"]:
            ctx["ids"].add(v)
            return v


def rand_meta(rng):
    if rng.random() < 0.15:
        return {}
    m = {"kind": rng.choice(["notes", "images", "moodboard", "research"])}
    if rng.random() < 0.6:
        m["priority"] = rng.randint(1, 5)
    if rng.random() < 0.5:
        m["tags"] = rng.sample(TAGS, rng.randint(0, 3))
    if rng.random() < 0.3:
        m["owner"] = {"team": rng.choice(["design", "growth", "research"]), "active": rng.random() < 0.5}
    if rng.random() < 0.2:
        m["ratio"] = round(rng.random(), 3)
    if rng.random() < 0.1:
        m["note"] = None
    return m


def make_honcho(rng, t, name, h, ctx, extra):
    o = {"id": new_id(ctx, lambda: "".join(rng.choices(NANO, k=21))), "name": name,
         "user_id": USER_ID, "app_id": APP_ID}
    if h == 0:
        o["metadata"] = Raw(HONCHO_META)
    elif h == 1:
        o["metadata"] = {"": "empty key", "k\ny": 1, "ünï": True, "nul": None, "l": [[], {}]}
    elif h == 2:
        o["metadata"] = {"huge": "z" * 20000}
    else:
        o["metadata"] = rand_meta(rng)
    o["created_at"] = iso(t, -1, 0 if h == 0 else rng.choice((0, 0, 120, -210)))
    o.update(extra or {})
    return o


def make_hivo(rng, t, name, h, ctx, extra):
    cid = new_id(ctx, lambda: "%024x" % rng.getrandbits(96))
    sec = t // 10**6
    a = {"name": name, "createdAt": sec}
    if rng.random() < 0.9:
        a["lastModified"] = sec + rng.randint(0, 30 * 86400)
    a.update(createdBy=ctx["owner"], lastModifiedBy=ctx["owner"], clientId=ctx["client"],
             description=rng.choice([None, "", "Shared with the studio"]),
             path="/Collections/" + (name if isinstance(name, str) else ""),
             status="active", tags=rng.sample(TAGS, rng.randint(0, 2)),
             isPublicCollection=rng.random() < 0.3)
    if name is MISSING:
        del a["name"]
    self_url = "https://app.hivo.com.au/api/rest/v1/collections/" + cid
    o = {"type": "collections", "id": cid, "attributes": a,
         "links": {"self": {"href": self_url, "meta": {"version": 2}} if rng.random() < 0.2 else self_url}}
    if h == 0:
        a["weight"] = Raw("1.50E+3")
    elif h == 2:
        a["custom"] = {"x": [1, {"y": None}], "": ""}
        o["relationships"] = {"owner": {"data": {"type": "users", "id": ctx["owner"]}}}
    elif h == 3:
        a["createdAt"] = None
    elif h == H_MISSING:
        del o["attributes"]
    a.update(extra or {})
    return o


def make_fount(rng, t, name, h, ctx, extra):
    fid = ctx["next_id"]
    ctx["next_id"] += rng.randint(1, 3)
    u = "%032x" % rng.getrandbits(128)
    sec = t // 10**6 * 10**6
    o = {"id": fid, "name": name, "collection_type": rng.choice(("private", "public")),
         "uuid": "%s-%s-4%s-a%s-%s" % (u[:8], u[8:12], u[13:16], u[17:20], u[20:]),
         "created_at": iso(sec, 6), "updated_at": iso(sec + rng.randint(0, 30 * 86400) * 10**6, 6)}
    if name is MISSING:
        del o["name"]
    if h == 0:
        o.update(score=Raw("-0.0"), currency=None, isin="US0378331005")
    elif h == 1:
        o.update(uuid=None, collection_type=None)
    elif h == 2:
        o["created_at"] = None
        o = dict(reversed(list(o.items())))
    o.update(extra or {})
    return o


def make_scenario(rng, t, name, h, ctx, extra):
    prefix = "asset_" if h == 6 else "col_"
    cid = new_id(ctx, lambda: prefix + "".join(rng.choices(ALNUM, k=22)))
    n = rng.randint(0, 40)
    o = {"id": cid, "name": name, "ownerId": ctx["owner"], "assetCount": n, "itemCount": float(n),
         "modelCount": rng.randint(0, 3), "createdAt": iso(t, 3),
         "updatedAt": iso(t + rng.randint(0, 30 * 86400 * 1000) * 1000, 3)}
    r = rng.random()
    if r < 0.1:
        o["thumbnail"] = None
    elif r >= 0.25:
        aid = "asset_" + "".join(rng.choices(ALNUM, k=22))
        o["thumbnail"] = {"assetId": aid, "url": "https://cdn.cloud.scenario.com/assets-transform/%s?p=100" % aid}
    if h == 2:
        o = dict(reversed(list(o.items())))
    o.update(extra or {})
    return o


MAKERS = {"honcho": make_honcho, "hivo": make_hivo, "fount": make_fount, "scenario": make_scenario}
FRAC = {"honcho": lambda r: r.choice((0, r.randrange(1, 10**4) * 100, r.randrange(1, 10**6))),
        "hivo": lambda r: 0, "fount": lambda r: 0, "scenario": lambda r: r.randrange(1000) * 1000}


class Item:
    """One collection: wire object, its rendered JSON text, creation time."""
    __slots__ = ("key", "t", "obj", "raw", "meta")

    def __init__(self, prov, t, obj):
        self.t, self.obj, self.key = t, obj, str(obj["id"])
        self.raw = Raw(to_json(obj, prov))
        m = obj.get("metadata")
        self.meta = json.loads(m.text) if isinstance(m, Raw) else m


class Data:
    """One provider's data set; `items` (creation order) is replaced, never mutated."""

    def __init__(self, prov, count, seed, hostile, sample):
        self.prov, self.count, self.seed, self.hostile, self.sample = prov, count, seed, hostile, sample
        r = random.Random(seed + SEED_OFFSET[prov] + 7)
        self.ctx = {"ids": set(), "next_id": 1, "owner": "%024x" % r.getrandbits(96),
                    "client": "%024x" % r.getrandbits(96), "adds": 0}
        if prov == "scenario":
            self.ctx["owner"] = "%032x" % r.getrandbits(128)
        self.items = self._generate()
        self._order = None

    def _generate(self):
        prov, rng, ctx = self.prov, random.Random(self.seed + SEED_OFFSET[self.prov]), self.ctx
        if self.sample:
            plan = [(n, None, {"metadata": x} if x is not None else None) for n, x in SAMPLE[prov]]
            nh, sec = 0, Y2024
        else:
            nh = min(self.count, len(HOSTILE)) if self.hostile else 0
            plan = [(HOSTILE[i], i, None) for i in range(nh)] + [(None, None, None)] * (self.count - nh)
            sec = MOON if self.hostile else Y2020
        items = []                     # a longer list extends a shorter one: same prefix
        for i, (name, h, extra) in enumerate(plan):
            if h is None and extra is None and not self.sample:
                name = "%s %s %04d" % (rng.choice(ADJ), rng.choice(NOUN), i)
            if i == nh and nh:         # ordinary items follow the hostile ones
                sec = max(sec, Y2020)
                if prov == "fount":
                    ctx["next_id"] = 2**53 + 1
            if name is None or name is MISSING:
                name = NAME_FALLBACK[prov][name is MISSING]
            t = sec * 10**6 + (0 if h == 0 else FRAC[prov](rng))
            items.append(Item(prov, t, MAKERS[prov](rng, t, name, h, ctx, extra)))
            if self.sample:
                sec += 3 * 86400 + rng.randint(0, 3600)
            else:
                sec += rng.randint(1, 40 * 86400) if h is not None else rng.randint(1, 600)
        return items

    def order(self):
        """Scenario's listing order: a seed-dependent shuffle, stable under add/delete."""
        items, c = self.items, self._order
        if c is None or c[0] is not items:
            key = lambda it: hashlib.sha256(("%d:%s" % (self.seed, it.key)).encode()).digest()
            c = self._order = (items, sorted(items, key=key))
        return c[1]

    def add(self, body):
        p, ctx = self.prov, self.ctx
        ctx["adds"] += 1
        rng = random.Random("%s:%d:add:%d" % (p, self.seed, ctx["adds"]))
        last = self.items[-1].t if self.items else 0
        t = max(int(time.time()) * 10**6, (last // 10**6 + 1) * 10**6)
        if p == "fount" and self.items:
            ctx["next_id"] = max(ctx["next_id"], self.items[-1].obj["id"] + 1)
        extra = {"metadata": body["metadata"]} if p == "honcho" and "metadata" in body else None
        o = MAKERS[p](rng, t, body.get("name", "new"), None, ctx, extra)
        for c, u in (("createdAt", "lastModified"), ("created_at", "updated_at"), ("createdAt", "updatedAt")):
            top = o.get("attributes", o)               # a new item was last updated when created
            if u in top:
                top[u] = top[c]
        it = Item(p, t, o)
        self.items = self.items + [it]
        return it.key

    def rename(self, key, name):
        now = int(time.time()) * 10**6
        for i, it in enumerate(self.items):
            if it.key == key:
                o = copy.deepcopy(it.obj)
                if self.prov == "hivo":
                    a = o.setdefault("attributes", {})
                    a["name"] = name
                    a["lastModified"] = max(now // 10**6, (a.get("lastModified") or 0) + 1)
                else:
                    o["name"] = name
                    if self.prov == "fount":
                        old = int(parse_iso(o.get("updated_at")) or 0)
                        o["updated_at"] = iso(max(now, (old + 1) * 10**6), 6)
                    elif self.prov == "scenario":
                        old = round((parse_iso(o.get("updatedAt")) or 0) * 1000)
                        o["updatedAt"] = iso(max(now, (old + 1) * 1000), 3)
                self.items = self.items[:i] + [Item(self.prov, it.t, o)] + self.items[i + 1:]
                return True
        return False

    def delete(self, keys):
        keys = set(map(str, keys))
        self.items = [it for it in self.items if it.key not in keys]


def describe(prov, o):
    """(id, name, created, updated) as a client reads them from the wire object."""
    if prov == "hivo":
        a = o.get("attributes") or {}
        num = lambda v: float(v) if isinstance(v, int) and not isinstance(v, bool) else None
        return o["id"], a.get("name"), num(a.get("createdAt")), num(a.get("lastModified"))
    c, u = {"honcho": ("created_at", None), "fount": ("created_at", "updated_at"),
            "scenario": ("createdAt", "updatedAt")}[prov]
    return o["id"], o.get("name"), parse_iso(o.get(c)), parse_iso(o.get(u)) if u else None


def expected(prov, items):
    out = []
    for it in items:
        i, n, c, u = describe(prov, json.loads(it.raw.text))
        out.append({"id": str(i), "name": n, "created": c, "updated": u,
                    "metadata_json": pretty(it.raw.text)})
    return out


# ---------------------------------------------------------------- providers
class ApiError(Exception):
    def __init__(self, status, msg=None, body=None, headers=()):
        super().__init__(status)
        self.status, self.msg, self.body, self.headers = status, msg, body, list(headers)


def err_body(prov, status, msg=None):
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if prov == "honcho":
        return {"detail": msg or ("An unexpected error occurred" if status == 500 else phrase)}
    if prov == "hivo":
        e = {"status": str(status), "title": phrase}
        if msg:
            e["detail"] = msg
        return {"meta": {"timestamp": now_ms()}, "errors": [e]}
    if prov == "fount":
        return {"message": msg or phrase}
    return {"reason": msg or phrase}


def need(h, method):
    if h.command != method:
        raise ApiError(405, "Method Not Allowed", headers=[("Allow", method)])


def contains(a, b):
    """Postgres jsonb `a @> b`: objects partially, arrays by containment, strict types."""
    if isinstance(b, dict):
        return isinstance(a, dict) and all(k in a and contains(a[k], v) for k, v in b.items())
    if isinstance(b, list):
        return isinstance(a, list) and all(any(contains(x, y) for x in a) for y in b)
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def honcho(h, d, mode):
    tok = h.server.args.honcho_token
    if tok:
        scheme, _, cred = h.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not cred.strip():
            raise ApiError(401, "No access token provided")
        if cred.strip() != tok:
            raise ApiError(401, "Invalid JWT")
    p = [ID_ALIASES.get(x, x) for x in h.parts]
    if len(p) == 4 and p[:3] == ["v1", "apps", "name"]:
        need(h, "GET")
        if p[3] != APP_NAME:
            raise ApiError(404, "App with name '%s' not found" % p[3])
        return 200, {"id": APP_ID, "name": APP_NAME, "metadata": {}, "created_at": "2024-01-02T03:04:05.678900Z"}
    if len(p) == 6 and p[:2] == ["v1", "apps"] and p[3:5] == ["users", "name"]:
        need(h, "GET")
        if p[2] != APP_ID or p[5] != USER_NAME:
            raise ApiError(404, "User with name '%s' not found" % p[5])
        return 200, {"id": USER_ID, "name": USER_NAME, "app_id": APP_ID,
                     "created_at": "2024-01-02T03:05:00Z", "metadata": {}}
    if not (len(p) == 7 and p[:2] == ["v1", "apps"] and p[3] == "users" and p[5:] == ["collections", "list"]):
        raise ApiError(404, "Not Found")
    need(h, "POST")
    errs, q = [], h.q

    def qint(name, default, lo, hi):
        raw = q.get(name)
        if raw is None:
            return default
        e = lambda t, msg, **ctx: errs.append(dict(type=t, loc=["query", name], msg=msg, input=raw, **ctx))
        try:
            v = int(raw)
        except ValueError:
            e("int_parsing", "Input should be a valid integer, unable to parse string as an integer")
            return default
        if v < lo:
            e("greater_than_equal", "Input should be greater than or equal to %d" % lo, ctx={"ge": lo})
        elif hi is not None and v > hi:
            e("less_than_equal", "Input should be less than or equal to %d" % hi, ctx={"le": hi})
        return v
    page, size = qint("page", 1, 1, None), qint("size", 50, 1, 100)
    rev = q.get("reverse", "false").lower()
    if rev not in ("0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes"):
        errs.append({"type": "bool_parsing", "loc": ["query", "reverse"],
                     "msg": "Input should be a valid boolean, unable to interpret input", "input": q["reverse"]})
    filt = None
    if h.body.strip():
        try:
            b = json.loads(h.body)
        except ValueError as e:
            b = None
            errs.append({"type": "json_invalid", "loc": ["body", getattr(e, "pos", 0)],
                         "msg": "JSON decode error", "input": {}, "ctx": {"error": getattr(e, "msg", str(e))}})
        if b is not None and not isinstance(b, dict):
            errs.append({"type": "model_attributes_type", "loc": ["body"],
                         "msg": "Input should be a valid dictionary or object to extract fields from", "input": b})
        elif isinstance(b, dict):
            filt = b.get("filter")
            if filt is not None and not isinstance(filt, dict):
                errs.append({"type": "dict_type", "loc": ["body", "filter"],
                             "msg": "Input should be a valid dictionary", "input": filt})
    if errs:
        raise ApiError(422, body={"detail": errs})
    items = d.items if (p[2], p[4]) == (APP_ID, USER_ID) else []
    if filt:
        items = [it for it in items if contains(it.meta, filt)]
    if rev in ("1", "on", "t", "true", "y", "yes"):
        items = items[::-1]
    total = len(items)
    rows = items[size * (page - 1): size * page]
    if mode == "absurd_total":
        total = 6_700_000_000
    rows = shape_rows(mode, rows, items, size)
    out = {"items": [it.raw for it in rows], "total": total, "page": page, "size": size,
           "pages": math.ceil(total / size) if total else 0}
    if mode == "wrongtypes":
        out.update(total=str(total), items={it.key: it.raw for it in rows})
    return 200, out


def shape_rows(mode, rows, items, size):
    """Content faults shared by the providers."""
    if mode == "empty":
        return []
    if mode == "short_pages":
        return rows[:size - 1]
    if mode == "cursor_loop":
        return items[:size]
    return rows


def hivo(h, d, mode):
    a = h.server.args
    if h.headers.get("X-User-Id") != a.hivo_user or h.headers.get("X-Api-Key") != a.hivo_key:
        raise ApiError(401)
    if h.parts != ["v1", "collections"]:
        raise ApiError(404, "Not Found")
    need(h, "GET")
    q = h.q

    def qint(name, default, lo, hi):
        try:
            v = int(q.get(name, default))
            if lo <= v <= hi:
                return v
        except ValueError:
            pass
        raise ApiError(400, "%s must be an integer from %d to %d" % (name, lo, hi))
    limit, skip = qint("limit", 32, 1, 256), qint("skip", 0, 0, HIVO_SKIP_MAX)
    for k in ("createdMin", "createdMax", "modifiedMin", "modifiedMax"):
        qint("filter[%s]" % k, 0, -2**63, 2**63)
    sort = q.get("sort", "-createdAt")
    if sort.lstrip("-") not in ("createdAt", "lastModified", "name"):
        raise ApiError(400, "sort must be one of createdAt, lastModified, name (optionally prefixed by -)")
    rows = list(enumerate(d.items))
    attr = lambda it, k: (it.obj.get("attributes") or {}).get(k)
    for k, field, ge in (("createdMin", "createdAt", True), ("createdMax", "createdAt", False),
                         ("modifiedMin", "lastModified", True), ("modifiedMax", "lastModified", False)):
        if "filter[%s]" % k in q:
            b = int(q["filter[%s]" % k])
            rows = [(i, it) for i, it in rows if isinstance(attr(it, field), int)
                    and (attr(it, field) >= b if ge else attr(it, field) <= b)]
    if "filter[search]" in q:
        s = q["filter[search]"].casefold()
        rows = [(i, it) for i, it in rows if str(attr(it, "name") or "").casefold().startswith(s)]
    ids = {x for k, v in h.qlist if k == "filter[id]" for x in v.split(",") if x}
    if ids:
        rows = [(i, it) for i, it in rows if it.key in ids]
    key = {"createdAt": lambda r: r[0],
           "lastModified": lambda r: (attr(r[1], "lastModified") or r[1].t // 10**6, r[0]),
           "name": lambda r: (str(attr(r[1], "name") or ""), r[0])}[sort.lstrip("-")]
    rows = [it for _, it in sorted(rows, key=key, reverse=sort.startswith("-"))]
    page = shape_rows(mode, rows[skip:skip + limit], rows, limit)
    nxt = skip + (len(page) if mode == "short_pages" else limit)
    if mode == "cursor_loop":
        nxt = limit
    elif nxt >= len(rows) and mode != "absurd_total":
        nxt = None
    if nxt is not None and nxt > HIVO_SKIP_MAX:
        nxt = None
    other = [(k, v) for k, v in h.qlist if k not in ("limit", "skip")]
    base = "http://%s/hivo/v1/collections" % h.host
    url = lambda s: base + "?" + urlencode(other + [("limit", limit), ("skip", s)])
    meta = {"timestamp": now_ms(), "authentication": "apiKey"}
    if mode == "absurd_total":
        meta.update(itemCount=6_700_000_000, pageCount=math.ceil(6_700_000_000 / limit))
    data = [it.raw for it in page]
    if mode == "wrongtypes":
        meta["total"], data = str(len(rows)), {it.key: it.raw for it in page}
    return 200, {"meta": meta,
                 "links": {"self": url(skip), "first": url(0),
                           "prev": url(max(0, skip - limit)) if skip > 0 else None,
                           "next": url(nxt) if nxt is not None else None,
                           "me": "http://%s/hivo/v1/users/%s" % (h.host, a.hivo_user)},
                 "data": data}


def fount(h, d, mode):
    scheme, _, cred = h.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or cred.strip() != h.server.args.fount_token:
        raise ApiError(401, "Unauthenticated.")
    if h.parts != ["api", "v2", "collections"]:
        raise ApiError(404, "Not Found")
    need(h, "GET")
    q = h.q
    try:
        page = max(1, int(q.get("page", 1)))
    except ValueError:
        page = 1                         # Laravel treats a bad page as page 1
    try:
        per = int(q.get("per_page", 25))
    except ValueError:
        per = 0
    if per < 1:
        raise ApiError(422, body={"message": "The per page field must be at least 1.",
                                  "errors": {"per_page": ["The per page field must be at least 1."]}})
    per = min(per, 1000)
    sort = q.get("sort", "id")
    if sort not in ("id", "created_at", "-id", "-created_at"):
        raise ApiError(400, "Requested sort(s) `%s` is not allowed. Allowed sort(s) are `id, created_at`." % sort)
    items = d.items[::-1] if sort.startswith("-") else d.items
    total = len(items)
    rows = shape_rows(mode, items[(page - 1) * per: page * per], items, per)
    if mode == "absurd_total":
        total = 6_700_000_000
    last = max(1, math.ceil(total / per))
    path = "http://%s/fount/api/v2/collections" % h.host
    keep = [(k, v) for k, v in h.qlist if k != "page"]
    url = lambda n: path + "?" + urlencode(keep + [("page", n)])
    links = [{"url": url(page - 1) if page > 1 else None, "label": "&laquo; Previous", "active": False}]
    shown = sorted({n for n in (1, 2, last - 1, last, *range(page - 3, page + 4)) if 1 <= n <= last}
                   if last > 13 else range(1, last + 1))
    for i, n in enumerate(shown):
        if i and n != shown[i - 1] + 1:
            links.append({"url": None, "label": "...", "active": False})
        links.append({"url": url(n), "label": n, "active": n == page})
    links.append({"url": url(page + 1) if page < last else None, "label": "Next &raquo;", "active": False})
    off = (page - 1) * per
    meta = {"current_page": page, "from": off + 1 if rows else None, "last_page": last,
            "links": links, "path": path, "per_page": per, "to": off + len(rows) if rows else None,
            "total": str(total) if mode == "wrongtypes" else total}
    data = {it.key: it.raw for it in rows} if mode == "wrongtypes" else [it.raw for it in rows]
    return 200, {"data": data,
                 "links": {"first": url(1), "last": url(last), "prev": url(page - 1) if page > 1 else None,
                           "next": url(page + 1) if page < last else None},
                 "meta": meta}


def scenario(h, d, mode):
    a = h.server.args
    scheme, _, cred = h.headers.get("Authorization", "").partition(" ")
    try:
        ok = scheme.lower() == "basic" and base64.b64decode(cred.strip(), validate=True) == \
            ("%s:%s" % (a.scenario_key, a.scenario_secret)).encode()
    except ValueError:
        ok = False
    if not ok:
        raise ApiError(401, "Unauthorized")
    if h.parts != ["v1", "collections"]:
        raise ApiError(404, "Not Found")
    need(h, "GET")
    try:
        ps = int(h.q.get("pageSize", 10))
    except ValueError:
        ps = 0
    if not 1 <= ps <= 100:
        raise ApiError(400, "pageSize must be an integer between 1 and 100")
    salt = hashlib.sha256(b"scenario:%d" % d.seed).hexdigest()[:12]
    tok = lambda off: base64.urlsafe_b64encode(("o=%d;s=%s" % (off, salt)).encode()).decode().rstrip("=")
    off, t = 0, h.q.get("paginationToken")
    if t:
        m = None
        try:
            m = re.fullmatch(r"o=(\d+);s=(\w+)", base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)).decode())
        except ValueError:
            pass
        if not m or m[2] != salt:
            raise ApiError(400, "Invalid paginationToken")
        off = int(m[1])
    order = d.order()
    rows = shape_rows(mode, order[off:off + ps], order, ps)
    nxt = off + (len(rows) if mode == "short_pages" else ps)
    out = {"collections": [it.raw for it in rows]}
    if mode == "wrongtypes":
        out["collections"] = {it.key: it.raw for it in rows}
    if mode == "cursor_loop":
        out["nextPaginationToken"] = tok(ps)
    elif nxt < len(order) or mode == "absurd_total":
        out["nextPaginationToken"] = tok(nxt)
    return 200, out


FAULT_MODES = ("none", "stall", "hold", "latency", "status", "every", "429", "reset", "truncate", "html",
               "wrongtypes", "absurd_total", "cursor_loop", "short_pages", "empty")
HANDLERS = {"honcho": honcho, "hivo": hivo, "fount": fount, "scenario": scenario}

# ---------------------------------------------------------------- server
class State:
    """Counters, faults and data; every field is guarded by `lock`."""

    def __init__(self, args):
        self.args, self.lock = args, threading.Lock()
        self.data = {}
        self.load_data()
        self.faults = {p: self._fault({"mode": "none"}) for p in PROVIDERS}
        self.reset_counters()

    def load_data(self):
        a = self.args
        for p in PROVIDERS:
            self.data[p] = Data(p, getattr(a, p), a.seed, a.hostile, a.sample)

    def reset_counters(self):
        self.requests = {p: 0 for p in PROVIDERS}
        self.paths, self.log = {}, deque(maxlen=200)
        self.minute, self.fount_used = 0, 0

    @staticmethod
    def _fault(spec):
        mode = str(spec.get("mode", "none"))
        k = int(spec.get("k", 1 if mode == "429" else 3))
        return {"mode": mode, "status": int(spec.get("status", 500 if mode != "status" else 503)),
                "k": max(1, k), "left": k, "n": 0, "seconds": float(spec.get("seconds", 2)),
                "retry_after": int(spec.get("retry_after", 1)), "event": threading.Event()}

    def set_fault(self, prov, spec):
        f = self._fault(spec)
        with self.lock:
            self.faults[prov]["event"].set()          # wake requests stalled by the old fault
            self.faults[prov] = f

    def arrive(self, prov, method, path):
        """Count one provider request and decide what its fault does to it."""
        with self.lock:
            self.requests[prov] += 1
            key = "%s %s" % (method, path)
            self.paths[key] = self.paths.get(key, 0) + 1
            f = self.faults[prov]
            f["n"] += 1
            hit = f["mode"] == "every" and f["n"] % f["k"] == 0
            if f["mode"] == "429" and f["left"] > 0:
                f["left"], hit = f["left"] - 1, True
            if prov == "fount":
                m = int(time.time() // 60)
                self.minute, self.fount_used = m, (self.fount_used + 1 if m == self.minute else 1)
            return dict(f, hit=hit), max(0, 500 - self.fount_used)

    def note(self, line):
        with self.lock:
            self.log.append(line)


def apply_fault(h, prov, f):
    """Transport-level faults. Returns (status, body, headers) to send instead of
    the real answer, "drop" when the connection was dealt with, or None.
    stall: never answer (until the fault changes, max 600 s), then close;
    hold: wait until the fault changes (max 600 s), then answer normally;
    reset: RST without a response; latency: sleep `seconds` then answer;
    status: every request gets `status`; every: each k-th request gets `status`;
    429: the next k requests get 429 with the provider's retry hint;
    html: 200 text/html.  Content faults (wrongtypes, absurd_total, cursor_loop,
    short_pages, empty) are handled by the provider functions; truncate by send."""
    mode = f["mode"]
    if mode in ("stall", "reset"):
        h.note(0)
        h.close_connection = True
        if mode == "stall":
            f["event"].wait(600)
            h.connection.shutdown(socket.SHUT_RDWR)     # FIN now, not when the handler ends
        else:                                          # linger 0 + close = RST, no FIN first
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(h.connection.detach())
        return "drop"
    if mode == "hold":
        h.note(0)
        f["event"].wait(600)
    if mode == "latency":
        time.sleep(f["seconds"])
    if mode == "status" or (mode == "every" and f["hit"]):
        return f["status"], err_body(prov, f["status"]), []
    if mode == "429" and f["hit"]:
        ra = f["retry_after"]
        body = err_body(prov, 429, "Too Many Attempts." if prov == "fount" else None)
        if prov == "hivo":
            body["meta"]["retryAfter"] = ra
            return 429, body, []
        if prov == "scenario":
            body["remainingSeconds"] = ra
            return 429, body, []
        hd = [("Retry-After", str(ra))]
        if prov == "fount":
            hd.append(("X-RateLimit-Reset", str(int(time.time()) + ra)))
        return 429, body, hd
    if mode == "html":
        return 200, b"<html><head><title>Just a moment...</title></head><body><h1>Checking your browser</h1></body></html>", []
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-providers/1.0"
    timeout = 300                        # drop idle keep-alive connections
    disable_nagle_algorithm = True       # headers and body go out in separate writes

    def log_message(self, *args):        # quiet: the stats endpoint has the log
        pass

    def dispatch(self):
        try:
            self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:                # keep serving; say what went wrong
            traceback.print_exc()
            self.send(500, {"error": "fake server bug", "trace": traceback.format_exc()}, "honcho")

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = dispatch

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = []
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(out)
                out.append(self.rfile.read(n))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def note(self, status):
        self.server.state.note("%s %s %s" % (self.command, self.path, status))

    def _dispatch(self):
        st = self.server.state
        u = urlsplit(self.path)
        self.body = self._read_body()
        self.qlist = parse_qsl(u.query, keep_blank_values=True)
        self.q = dict(self.qlist)
        self.host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        if u.path.startswith("/_fake/"):
            return self.control(u.path)
        segs = u.path.split("/")
        prov = segs[1] if len(segs) > 1 else ""
        if prov not in PROVIDERS:
            return self.send(404, {"error": "unknown provider; use /honcho, /hivo, /fount or /scenario"}, "honcho")
        self.parts = [unquote(s) for s in segs[2:]]
        f, remaining = st.arrive(prov, self.command, u.path)
        extra = [("X-RateLimit-Limit", "500"), ("X-RateLimit-Remaining", str(remaining))] if prov == "fount" else []
        r = apply_fault(self, prov, f)
        if r == "drop":
            return
        if r is None:
            try:
                r = HANDLERS[prov](self, st.data[prov], f["mode"]) + ([],)
            except ApiError as e:
                r = (e.status, e.body if e.body is not None else err_body(prov, e.status, e.msg), e.headers)
        status, body, hd = r
        if prov == "fount" and status == 429:
            extra[1] = ("X-RateLimit-Remaining", "0")
        self.send(status, body, prov, hd + extra, truncate=f["mode"] == "truncate")
        self.note(status)

    def send(self, status, body, prov, headers=(), truncate=False):
        if isinstance(body, bytes):
            data, ctype = body, "text/html; charset=utf-8"
        else:
            data = to_json(body, prov).encode()
            ctype = "application/json; charset=utf-8" if prov in ("hivo", "scenario") else "application/json"
        headers = list(headers)
        if prov == "hivo" and "gzip" in self.headers.get("Accept-Encoding", "") and not isinstance(body, bytes):
            data = gzip.compress(data, mtime=0)
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data[:len(data) // 2] if truncate else data)
        if truncate:
            self.close_connection = True

    def control(self, path):
        st = self.server.state
        try:
            req = json.loads(self.body) if self.body.strip() else {}
            prov = req.get("provider") if isinstance(req, dict) else None
        except ValueError:
            return self.send(400, {"error": "body is not JSON"}, "honcho")
        if path == "/_fake/stats" and self.command == "GET":
            with st.lock:
                out = {"requests": dict(st.requests), "paths": dict(st.paths), "log": list(st.log)}
        elif path == "/_fake/expect" and self.command == "GET":
            prov = self.q.get("provider")
            if prov not in PROVIDERS:
                return self.send(400, {"error": "provider must be one of %s" % ", ".join(PROVIDERS)}, "honcho")
            out = expected(prov, st.data[prov].items)
        elif self.command != "POST" or path not in ("/_fake/reset", "/_fake/config", "/_fake/fault"):
            return self.send(404, {"error": "unknown control endpoint"}, "honcho")
        elif path == "/_fake/reset":
            for p in PROVIDERS:
                st.set_fault(p, {"mode": "none"})
            with st.lock:
                st.reset_counters()
                if req.get("data"):
                    st.load_data()
            out = {"ok": True}
        elif prov not in PROVIDERS:
            return self.send(400, {"error": "provider must be one of %s" % ", ".join(PROVIDERS)}, "honcho")
        elif path == "/_fake/fault":
            if req.get("mode", "none") not in FAULT_MODES:
                return self.send(400, {"error": "mode must be one of %s" % ", ".join(FAULT_MODES)}, "honcho")
            try:
                st.set_fault(prov, req)
            except (ValueError, TypeError) as e:
                return self.send(400, {"error": "bad fault request: %s" % e}, "honcho")
            out = {"ok": True, "provider": prov, "mode": st.faults[prov]["mode"]}
        else:
            try:
                out = self.configure(st, prov, req)
            except (ValueError, TypeError, AttributeError) as e:
                return self.send(400, {"error": "bad config request: %s" % e}, "honcho")
            if out is None:
                return self.send(404, {"error": "no such id"}, "honcho")
        self.send(200, out, "honcho")

    @staticmethod
    def configure(st, prov, req):
        with st.lock:
            d = st.data[prov]
            if any(k in req for k in ("count", "seed", "hostile", "sample")):
                d = st.data[prov] = Data(prov, int(req.get("count", d.count)), int(req.get("seed", d.seed)),
                                         bool(req.get("hostile", d.hostile)), bool(req.get("sample", d.sample)))
            d.delete(req.get("delete", []))
            for key, name in (req.get("rename") or {}).items():
                if not d.rename(str(key), name):
                    return None
            added = [d.add(req["add"])] if isinstance(req.get("add"), dict) else []
            return {"ok": True, "provider": prov, "count": len(d.items), "added": added}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one")
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--seed", type=int, default=1)
    for p in PROVIDERS:
        ap.add_argument("--" + p, type=int, default=DEFAULT_COUNT[p], metavar="N",
                        help="number of %s collections (default %d)" % (p, DEFAULT_COUNT[p]))
    ap.add_argument("--hostile", action="store_true", help="start each provider with awkward-but-legal items")
    ap.add_argument("--sample", action="store_true", help="five friendly collections per provider (demo)")
    ap.add_argument("--expect", choices=PROVIDERS, help="print the expected items of PROVIDER and exit")
    ap.add_argument("--honcho-token", help="require this Bearer token on Honcho (default: no auth)")
    ap.add_argument("--hivo-user", default="u1")
    ap.add_argument("--hivo-key", default="hivo-secret-key")
    ap.add_argument("--fount-token", default="fount-secret-token")
    ap.add_argument("--scenario-key", default="sk-key")
    ap.add_argument("--scenario-secret", default="sk-secret")
    a = ap.parse_args(argv)
    if a.expect:
        d = Data(a.expect, getattr(a, a.expect), a.seed, a.hostile, a.sample)
        json.dump(expected(a.expect, d.items), sys.stdout, ensure_ascii=True, indent=1)
        sys.stdout.write("\n")
        return 0
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.args, srv.state = a, State(a)
    port = srv.server_address[1]
    if a.port_file:                      # atomic: readers never see half a file
        tmp = "%s.tmp.%d" % (a.port_file, os.getpid())
        with open(tmp, "w") as fh:
            fh.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    print("fake_providers: listening on http://127.0.0.1:%d" % port, file=sys.stderr, flush=True)
    for sig in (signal.SIGTERM, signal.SIGINT):     # also when started with SIGINT ignored (&)
        signal.signal(sig, lambda *_: sys.exit(0))
    try:
        srv.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        srv.server_close()
        if a.port_file:
            try:
                os.unlink(a.port_file)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
