#!/usr/bin/env python3
"""Fake "list collections" servers for the collectionsfs tests and demo.

One loopback HTTP server imitates the list endpoints of Honcho v1.1.0, HIVO,
WPP BAV Fount v2 and Scenario (wire formats: /work/shared/providers.md), and a
test-only plain-array API ("jsonarray"), each under its own path prefix, so a
client's base URL is http://127.0.0.1:PORT/<provider>.  Python 3 standard
library only.

    python3 tests/fake_providers.py --port 0 --port-file /tmp/port [--seed 1]
        [--count N] [--honcho N] [--hivo N] ... [--hostile] [--sample] [--cred P.KEY=VALUE]
    python3 tests/fake_providers.py --expect honcho --seed 1 --honcho 150 --hostile
    python3 tests/fake_providers.py --config-sections http://127.0.0.1:PORT [--json]

Every provider is one subclass of Provider below (its data generator, wire
style, request handler, error body, retry hint, auth check, config section,
default count), listed once in REGISTRY; PROVIDERS and the command line are
derived from that list, so adding a provider is one class and one list entry.

Data is generated deterministically from --seed: the same arguments always
give the same collections, in ascending creation order (created times are
strictly increasing but in a /_fake/config "burst").  --hostile makes the first
~38 collections of each provider awkward but legal (names with '/', '.', '..',
'', controls, 300 bytes, duplicates, lone UTF-16 surrogates, pre-1970 times, raw
numbers such as 1e-7 and 2**64+...).  --sample gives five friendly collections
per provider for the demo.  --count N sets every provider's count; --<provider>
N one provider's.

--expect PROVIDER prints, for the data the same arguments would serve, a JSON
array (creation order) of {"id", "name", "created", "updated",
"metadata_json"}; metadata_json is the exact text collectionsfs must put in
metadata.json: pretty(item_raw_text), i.e. json.dumps(obj, indent=2,
ensure_ascii=False) + "\\n" except that numbers keep the digits the provider
sent and a lone UTF-16 surrogate becomes U+FFFD (see pretty()).

Fixed values: Honcho app "demo-app" = app_aaaaaaaaaaaaaaaaa, user "demo-user" =
usr_bbbbbbbbbbbbbbbbb (21 chars each; the 22-char spellings are accepted as
aliases); no Honcho auth unless a token is set.  HIVO X-User-Id u1 and
X-Api-Key hivo-secret-key; Fount Bearer fount-secret-token; Scenario Basic
sk-key:sk-secret; jsonarray Bearer jsonarray-token.  Each credential can be
overridden with --cred PROVIDER.KEY=VALUE (KEY as in the config section) or
its own flag (see --help), or at run time through /_fake/config.

Control endpoints (JSON in/out unless said otherwise, never counted, never faulted):
  GET  /_fake/providers           ["honcho", ...] the providers served, in order;
                                  ?detail=1: [{"name", "type", "count", "default_count",
                                  "max_page", "page_param", "paging", "states_more"}]
  GET  /_fake/config-sections     collectionsfs config sections (text/plain) for every
                                  provider served (or ?provider=P, repeatable), with the
                                  credentials the fake checks; ?format=json gives
                                  [{"section", "type", "settings": [[k, v]], "secrets":
                                  [[k, v]], "unset_secrets": [k] (not required now, can
                                  be set), "wire": [credential text as sent]}]
  GET  /_fake/requests?provider=P  the "requests" count of /_fake/stats for P, as plain
                                  text: cheap enough to poll (no JSON parser to start)
  GET  /_fake/stats    {"requests": {provider: n}, "paths": {"METHOD /path": n},
                        "log": ["METHOD /path?query STATUS", ... last 200],
                        "timed_log": [[arrived, answered, "METHOD /path?query STATUS"], ...],
                        "wire_bytes": {provider: n}, "raw_bytes": {provider: n},
                        "connections": n, "connections_by": {provider: n},
                        "windows": {provider: [[window start (unix s), requests], ...]}}
                       (STATUS 0: the request arrived and is held by a stall/hold/reset;
                       times in seconds of a monotonic clock, answered = when logged;
                       wire_bytes: response body bytes as sent, gzipped or not;
                       raw_bytes: the same bodies uncompressed; connections: TCP
                       connections that carried a provider request, connections_by:
                       those that carried one for the provider (both since the reset); windows: requests per rate-limit
                       window, for providers with a rate limit)
  POST /_fake/reset    zero counters, clear faults; {"data": true} also restores
                       the data sets and the wire settings given at start
  POST /_fake/config   {"provider": P, "count", "seed", "hostile", "sample", "burst"}
                       regenerates; "burst": [I, N] gives collections I..I+N-1 one
                       creation second (a bulk import; [] or null: none);
                       "delete": [ids], "rename": {id: name}, "add": {"name": .., "id": ..},
                       "retouch": [ids] changes bytes of each at their length, keeping
                       name, id and times (providers whose info says "retouch": true);
                       "credentials": {key: value} (null: not required);
                       "order_seed": N lists the same items in another order
                       (Scenario, whose order is a seeded shuffle);
                       wire settings: "gzip": false answers uncompressed (default: gzip
                       when the client accepts it, at "gzip_level" 6, zlib's default;
                       each distinct body is compressed once and kept: GzipCache);
                       "rate_limit": N, "rate_window": S make the limit real: N
                       requests per window of S seconds (default 60, fixed windows
                       aligned to the unix clock), past N a 429 with the provider's
                       retry hint, and every answer carries X-RateLimit-Limit,
                       -Remaining and -Reset (unix time the window ends); rate_limit 0
                       removes it. "reset_header": "429" sends -Reset only with a
                       429, as Fount documents ("always", the default: on every
                       answer). Without a rate_limit, Fount only reports 500 per
                       minute in X-RateLimit-Limit/-Remaining and never refuses.
  POST /_fake/fault    {"provider": P, "mode": M, "status", "k", "seconds", "retry_after"}
  GET  /_fake/expect?provider=P   same as --expect, for the data served now;
                                  &count=1: only how many, as plain text
Fault modes: none stall hold latency status every 429 reset truncate html wrongtypes
absurd_total cursor_loop short_pages empty (described at apply_fault()).
"""
import argparse
import base64
import bisect
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
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

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


SURROGATE = re.compile("[\ud800-\udfff]")
CONTROL_STYLE = (False, ",", ":", False)   # the control endpoints' answers


def to_json(v, style):
    """JSON text of v in a wire style: (ensure_ascii, item sep, key sep, PHP "\\/" escapes)."""
    asc, isep, ksep, php = style
    try:                                # fast path: nothing Raw inside, no surrogates
        s = json.dumps(v, ensure_ascii=False, separators=(isep, ksep))
        if not SURROGATE.search(s):
            if asc:
                s = json.dumps(v, ensure_ascii=True, separators=(isep, ksep))
            return s.replace("/", "\\/") if php else s   # '/' only occurs in strings
    except TypeError:
        pass
    out = []
    _enc(v, out, style)
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
        s = json_str(v, asc)
        out.append(s.replace("/", "\\/") if php else s)
    else:
        out.append(json.dumps(v))


def _u16(c):
    """A character as \\u escapes (a surrogate pair beyond the BMP)."""
    n = ord(c)
    if n < 0x10000:
        return "\\u%04x" % n
    n -= 0x10000
    return "\\u%04x\\u%04x" % (0xD800 + (n >> 10), 0xDC00 + (n & 0x3FF))


def json_str(s, asc):
    """A JSON string literal.  Surrogate code points (lone ones, or a pair kept
    as two code points) go out as \\u escapes, as JSON.stringify and
    json.dumps(ensure_ascii=True) write them; the character after a lone high
    surrogate is escaped too, so a parser sees "\\ud800\\u0041", not "\\ud800A"."""
    if not SURROGATE.search(s):
        return json.dumps(s, ensure_ascii=asc)
    out, i = ['"'], 0
    while i < len(s):
        c = s[i]
        if SURROGATE.match(c):
            out.append(_u16(c))
            nxt = s[i + 1] if i + 1 < len(s) else ""
            if "\ud800" <= c <= "\udbff" and nxt and not SURROGATE.match(nxt):
                out.append(_u16(nxt))
                i += 1
        else:
            out.append(json.dumps(c, ensure_ascii=asc)[1:-1])
        i += 1
    out.append('"')
    return "".join(out)


class RawNum(str):
    """A JSON number kept as the text the provider sent."""


def pretty(text):
    """Expected metadata.json text for one item's raw JSON text.

    Same layout as json.dumps(obj, indent=2, ensure_ascii=False) + "\\n",
    keys in the provider's order, but every number is written exactly as it
    appears in `text` (parse hooks wrap number text in RawNum), and every
    unpaired surrogate escape (json.loads keeps it as a lone code point) is
    U+FFFD: "\\ud800\\u0041" is U+FFFD then "A"."""
    out = []
    _pp(json.loads(text, parse_int=RawNum, parse_float=RawNum,
                   parse_constant=RawNum), "", out)
    return "".join(out) + "\n"


def _text(s):
    return json.dumps(SURROGATE.sub("\ufffd", s), ensure_ascii=False)


def _pp(v, ind, out):
    if isinstance(v, RawNum):
        out.append(str(v))
    elif isinstance(v, str):
        out.append(_text(v))
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
                out.append(_text(k) + ": ")
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


# ---------------------------------------------------------------- shared data
MISSING = object()                     # the name key is absent
H_MISSING = 5                          # index of MISSING below (None is 4)
HOSTILE = ["a/b", ".", "..", "", None, MISSING, "line\nbreak", "tab\there",
           "ctl\x01\x1f end", "x" * 100 + "é" * 100, "dup", "🎨 Moodboard 😀",
           "Case", "case", "metadata.json", "dup", "100% done", "why?", "#tag",
           'say "hi" it\'s', "back\\slash", "مجموعة الصور", "abc\u202etxt.exe",
           "dup", ".directory", "desktop.ini", "autorun.inf", "a\uff0fb",
           "caf\u00e9", "cafe\u0301", " spaced  out ", "-rf", "n" * 255, "%2F..%2Fetc",
           # UTF-16 surrogates, sent as \u escapes (json_str); the last is a valid pair
           "lone high \ud800", "lone \udc00 low", "\ud800\u0041 after a lone high",
           "pair \ud83d\ude00 as escapes"]
ADJ = ["Autumn", "Brand", "Client", "Draft", "Evergreen", "Final", "Global", "Holiday",
       "Internal", "Launch", "Legacy", "Spring", "Summer", "Winter", "Q1", "Q2", "Q3", "Q4"]
NOUN = ["campaign", "moodboards", "product shots", "headshots", "logos", "assets",
        "renders", "concepts", "references", "textures", "interviews", "notes", "reports"]
TAGS = ["brand", "draft", "approved", "archive", "video", "print", "social", "2024"]


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


# ---------------------------------------------------------------- request helpers
class ApiError(Exception):
    def __init__(self, status, msg=None, body=None, headers=()):
        super().__init__(status)
        self.status, self.msg, self.body, self.headers = status, msg, body, list(headers)


def phrase_of(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def need(h, method):
    if h.command != method:
        raise ApiError(405, "Method Not Allowed", headers=[("Allow", method)])


def bearer(h, token, msg_missing, msg_wrong):
    scheme, _, cred = h.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not cred.strip():
        raise ApiError(401, msg_missing)
    if cred.strip() != token:
        raise ApiError(401, msg_wrong)


def shape_rows(mode, rows, items, size):
    """Content faults shared by the providers."""
    if mode == "empty":
        return []
    if mode == "short_pages":
        return rows[:size - 1]
    if mode == "cursor_loop":
        return items[:size]
    return rows


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


# ---------------------------------------------------------------- providers
class Cred:
    """One credential: its key in the config section, default (None: not
    required), whether it is a secret, and extra command-line spellings."""

    def __init__(self, key, default, secret=True, aliases=()):
        self.key, self.default, self.secret, self.aliases = key, default, secret, aliases


class Provider:
    """Everything the fake knows about one provider.  A new provider is one
    subclass (data generator `make`, `describe`, `handle`, plus the class
    attributes) and one entry in REGISTRY; nothing else changes."""
    name = ""
    seed_offset = 0
    default_count = 100
    max_page, page_param = 100, "limit"   # the largest page the API allows, and its query key
    paging = "offset"       # how a client finds the next page: page | offset | cursor | array
    states_more = False     # an empty page contradicts the page itself (a total, a next link)
    style = (False, ",", ":", False)      # ensure_ascii, item sep, key sep, PHP "\/" escapes
    content_type = "application/json"
    gzip = True             # gzip the body when the client accepts it (/_fake/config "gzip")
    rate_limit = 0          # X-RateLimit-Limit/Remaining per minute; 0: no such headers
    creds = ()              # Cred objects, in config order
    name_fallback = (None, MISSING)       # what a hostile None / MISSING name becomes
    sample = ()             # (name, extra) for --sample
    sample_start = Y2024
    retouch = None          # keys to a string that "retouch" changes (None: no such string)

    # -- data
    def init_ctx(self, r, ctx):
        """Per-data-set values drawn after owner and client (same draws for every seed)."""

    def frac(self, rng):
        """Sub-second part (microseconds) of an item's created time."""
        return 0

    def make(self, rng, t, name, h, ctx, extra):
        """The wire object of one collection created at t (unix µs); h: hostile index or None."""
        raise NotImplementedError

    def after_hostile(self, ctx):
        """Called once when the ordinary items begin after the hostile ones."""

    def field(self, key, value):
        """`extra` that puts one more field into the collection object."""
        return {key: value}

    def add_extra(self, body):
        """`extra` for a collection created through /_fake/config "add"."""
        return None

    def before_add(self, ctx, items):
        pass

    def touch_new(self, o):
        """A new collection was last updated when it was created."""

    def rename(self, o, name, now_us):
        o["name"] = name

    def describe(self, o):
        """(id, name, created, updated) as a client reads them from the wire object."""
        raise NotImplementedError

    # -- wire
    def settings(self):
        """Config lines of the section besides type, url and credentials."""
        return []

    def authorize(self, h, creds):
        """Raise ApiError(401) unless the request carries the credentials."""

    def handle(self, h, d, mode):
        """(status, body) for a list request; d is the Data, mode the content fault."""
        raise NotImplementedError

    def err_body(self, status, msg=None):
        return {"error": msg or phrase_of(status)}

    def too_many(self, ra):
        """(body, headers) of a 429 asking to wait ra seconds."""
        return self.err_body(429), [("Retry-After", str(ra))]

    def wire_secrets(self, creds):
        """Secret text as it travels on the wire, where it differs from the credential."""
        return []

    def listing_order(self, seed, items):
        """The order the API lists in (Data.order() caches it); creation order by default."""
        return items


class Honcho(Provider):
    name = "honcho"
    retouch = ("user_id",)
    seed_offset, default_count = 1000, 150
    max_page, page_param, paging, states_more = 100, "size", "page", True
    style = (False, ",", ":", False)       # Starlette JSONResponse
    creds = (Cred("token", None),)         # no auth unless a token is set
    name_fallback = ("honcho", "é" * 256)
    sample = [("Brand moodboards", {"kind": "moodboard", "owner": "maria", "tags": ["brand"]}),
              ("Q3 campaign", {"kind": "notes", "quarter": 3, "budget": 12500.5}),
              ("Customer interviews", {"kind": "research", "count": 14}),
              ("Onboarding notes", {"kind": "notes", "team": {"name": "growth"}}),
              ("Reading list", {})]
    sample = [(n, {"metadata": x}) for n, x in sample]

    def frac(self, r):
        return r.choice((0, r.randrange(1, 10**4) * 100, r.randrange(1, 10**6)))

    def make(self, rng, t, name, h, ctx, extra):
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

    def field(self, key, value):
        return {"metadata": {key: value}}

    def add_extra(self, body):
        return {"metadata": body["metadata"]} if "metadata" in body else None

    def describe(self, o):
        return o["id"], o.get("name"), parse_iso(o.get("created_at")), None

    def settings(self):
        return [("app_id", APP_ID), ("user_id", USER_ID)]

    def authorize(self, h, creds):
        if creds["token"]:
            bearer(h, creds["token"], "No access token provided", "Invalid JWT")

    def err_body(self, status, msg=None):
        return {"detail": msg or ("An unexpected error occurred" if status == 500 else phrase_of(status))}

    def handle(self, h, d, mode):
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
        page, size = qint("page", 1, 1, None), qint("size", 50, 1, self.max_page)
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


class Tail:
    """items[start:] as rows, without copying a million references for every page."""
    __slots__ = ("items", "start")

    def __init__(self, items, start):
        self.items, self.start = items, start

    def __len__(self):
        return len(self.items) - self.start

    def __getitem__(self, k):
        a, b, step = k.indices(len(self))
        assert step == 1
        return self.items[self.start + a:self.start + b]


def hivo_created(items, attr):
    """Every item's createdAt when all are integers in list order, else None."""
    c = [attr(it, "createdAt") for it in items]
    ok = all(type(x) is int for x in c) and all(a <= b for a, b in zip(c, c[1:]))
    return c if ok else None


class Hivo(Provider):
    name = "hivo"
    retouch = ("attributes", "description")
    seed_offset, default_count = 2000, 300
    max_page, page_param, paging, states_more = 256, "limit", "offset", True
    style = (False, ",", ":", False)       # Node JSON.stringify
    content_type = "application/json; charset=utf-8"
    creds = (Cred("user_id", "u1", secret=False, aliases=("--hivo-user",)),
             Cred("api_key", "hivo-secret-key", aliases=("--hivo-key",)))
    sample = [("Product shots", None), ("Team headshots", None), ("Trade show 2024", None),
              ("Logo explorations", None), ("Social media", None)]

    def make(self, rng, t, name, h, ctx, extra):
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

    def touch_new(self, o):
        a = o["attributes"]
        if "lastModified" in a:
            a["lastModified"] = a["createdAt"]

    def rename(self, o, name, now_us):
        a = o.setdefault("attributes", {})
        a["name"] = name
        a["lastModified"] = max(now_us // 10**6, (a.get("lastModified") or 0) + 1)

    def describe(self, o):
        a = o.get("attributes") or {}
        num = lambda v: float(v) if isinstance(v, int) and not isinstance(v, bool) else None
        return o["id"], a.get("name"), num(a.get("createdAt")), num(a.get("lastModified"))

    def authorize(self, h, creds):
        if h.headers.get("X-User-Id") != creds["user_id"] or h.headers.get("X-Api-Key") != creds["api_key"]:
            raise ApiError(401)

    def err_body(self, status, msg=None):
        e = {"status": str(status), "title": phrase_of(status)}
        if msg:
            e["detail"] = msg
        return {"meta": {"timestamp": now_ms()}, "errors": [e]}

    def too_many(self, ra):
        body = self.err_body(429)
        body["meta"]["retryAfter"] = ra
        return body, []

    def rows(self, h, items, q, sort, attr):
        """The items the filters keep, in the order asked for."""
        rows = list(enumerate(items))
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
        return [it for _, it in sorted(rows, key=key, reverse=sort.startswith("-"))]

    def handle(self, h, d, mode):
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
        limit, skip = qint("limit", 32, 1, self.max_page), qint("skip", 0, 0, HIVO_SKIP_MAX)
        for k in ("createdMin", "createdMax", "modifiedMin", "modifiedMax"):
            qint("filter[%s]" % k, 0, -2**63, 2**63)
        sort = q.get("sort", "-createdAt")
        if sort.lstrip("-") not in ("createdAt", "lastModified", "name"):
            raise ApiError(400, "sort must be one of createdAt, lastModified, name (optionally prefixed by -)")
        attr = lambda it, k: (it.obj.get("attributes") or {}).get(k)
        items, created = d.items, None
        if sort == "createdAt" and {k for k, _ in h.qlist if k.startswith("filter[")} <= {"filter[createdMin]"}:
            created = d.memo("hivo_created", lambda items: hivo_created(items, attr), items)
        if created is not None:
            # the daemon's own query: the rows self.rows() gives, found by bisection
            # (its scan and sort of every item took seconds a page at a million)
            b = int(q["filter[createdMin]"]) if "filter[createdMin]" in q else None
            rows = Tail(items, bisect.bisect_left(created, b) if b is not None else 0)
        else:
            rows = self.rows(h, items, q, sort, attr)
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
                               "me": "http://%s/hivo/v1/users/%s" % (h.host, h.creds["user_id"])},
                     "data": data}


class Fount(Provider):
    name = "fount"
    retouch = ("collection_type",)
    seed_offset, default_count = 3000, 1200
    max_page, page_param, paging, states_more = 1000, "per_page", "page", True
    style = (True, ",", ":", True)         # PHP json_encode defaults
    rate_limit = 500
    creds = (Cred("token", "fount-secret-token"),)
    sample = [("Brand health tracker", None), ("Competitor set EU", None),
              ("Q3 campaign", None), ("Gen Z study", None), ("Retail brands", None)]

    def make(self, rng, t, name, h, ctx, extra):
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

    def after_hostile(self, ctx):
        ctx["next_id"] = 2**53 + 1         # ids beyond a double's exact integers

    def before_add(self, ctx, items):
        if items:
            ctx["next_id"] = max(ctx["next_id"], items[-1].obj["id"] + 1)

    def touch_new(self, o):
        o["updated_at"] = o["created_at"]

    def rename(self, o, name, now_us):
        o["name"] = name
        old = int(parse_iso(o.get("updated_at")) or 0)
        o["updated_at"] = iso(max(now_us, (old + 1) * 10**6), 6)

    def describe(self, o):
        return o["id"], o.get("name"), parse_iso(o.get("created_at")), parse_iso(o.get("updated_at"))

    def authorize(self, h, creds):
        scheme, _, cred = h.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or cred.strip() != creds["token"]:
            raise ApiError(401, "Unauthenticated.")

    def err_body(self, status, msg=None):
        return {"message": msg or phrase_of(status)}

    def too_many(self, ra):
        return self.err_body(429, "Too Many Attempts."), [
            ("Retry-After", str(ra)), ("X-RateLimit-Reset", str(int(time.time()) + ra))]

    def handle(self, h, d, mode):
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
        per = min(per, self.max_page)
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


class Scenario(Provider):
    name = "scenario"
    retouch = ("ownerId",)
    seed_offset, default_count = 4000, 250
    max_page, page_param, paging, states_more = 100, "pageSize", "cursor", False
    style = (True, ", ", ": ", False)
    content_type = "application/json; charset=utf-8"
    creds = (Cred("api_key", "sk-key", aliases=("--scenario-key",)),
             Cred("api_secret", "sk-secret", aliases=("--scenario-secret",)))
    name_fallback = ("", "Untitled")
    sample = [("Character concepts", None), ("Isometric props", None),
              ("Texture library", None), ("Moodboard – autumn", None), ("UI icons", None)]

    def init_ctx(self, r, ctx):
        ctx["owner"] = "%032x" % r.getrandbits(128)

    def frac(self, r):
        return r.randrange(1000) * 1000

    def make(self, rng, t, name, h, ctx, extra):
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

    def touch_new(self, o):
        o["updatedAt"] = o["createdAt"]

    def rename(self, o, name, now_us):
        o["name"] = name
        old = round((parse_iso(o.get("updatedAt")) or 0) * 1000)
        o["updatedAt"] = iso(max(now_us, (old + 1) * 1000), 3)

    def describe(self, o):
        return o["id"], o.get("name"), parse_iso(o.get("createdAt")), parse_iso(o.get("updatedAt"))

    def authorize(self, h, creds):
        scheme, _, cred = h.headers.get("Authorization", "").partition(" ")
        try:
            ok = scheme.lower() == "basic" and base64.b64decode(cred.strip(), validate=True) == \
                ("%s:%s" % (creds["api_key"], creds["api_secret"])).encode()
        except ValueError:
            ok = False
        if not ok:
            raise ApiError(401, "Unauthorized")

    def wire_secrets(self, creds):
        return [base64.b64encode(("%s:%s" % (creds["api_key"], creds["api_secret"])).encode()).decode()]

    def err_body(self, status, msg=None):
        return {"reason": msg or phrase_of(status)}

    def too_many(self, ra):
        body = self.err_body(429)
        body["remainingSeconds"] = ra
        return body, []

    def handle(self, h, d, mode):
        if h.parts != ["v1", "collections"]:
            raise ApiError(404, "Not Found")
        need(h, "GET")
        try:
            ps = int(h.q.get("pageSize", 10))
        except ValueError:
            ps = 0
        if not 1 <= ps <= self.max_page:
            raise ApiError(400, "pageSize must be an integer between 1 and %d" % self.max_page)
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

    def listing_order(self, seed, items):
        """Undocumented: a seed-dependent shuffle, stable under add/delete."""
        key = lambda it: hashlib.sha256(("%d:%s" % (seed, it.key)).encode()).digest()
        return sorted(items, key=key)


class JsonArray(Provider):
    """A test-only API: GET /v1/collections?offset=&limit= answers a plain JSON
    array of {"id", "title", "created", "modified"}; a page shorter than limit
    (or empty) is the end.  Bearer auth.  The daemon knows this type only in a
    test build, so the suites must not assume it."""
    name = "jsonarray"
    seed_offset, default_count = 5000, 150
    max_page, page_param, paging, states_more = 100, "limit", "array", False
    creds = (Cred("token", "jsonarray-token"),)
    sample = [("Sketches", None), ("Field recordings", None), ("Press kit", None),
              ("Lookbook 2024", None), ("Archive", None)]

    def frac(self, r):
        return r.randrange(1000) * 1000

    def make(self, rng, t, name, h, ctx, extra):
        o = {"id": new_id(ctx, lambda: "ja_" + "".join(rng.choices(ALNUM, k=12))), "title": name,
             "created": iso(t, 3), "modified": iso(t + rng.randint(0, 30 * 86400 * 1000) * 1000, 3)}
        if name is MISSING:
            del o["title"]
        if h == 3:
            o["modified"] = None
        o.update(extra or {})
        return o

    def touch_new(self, o):
        o["modified"] = o["created"]

    def rename(self, o, name, now_us):
        o["title"] = name
        old = round((parse_iso(o.get("modified")) or 0) * 1000)
        o["modified"] = iso(max(now_us, (old + 1) * 1000), 3)

    def describe(self, o):
        return o["id"], o.get("title"), parse_iso(o.get("created")), parse_iso(o.get("modified"))

    def authorize(self, h, creds):
        bearer(h, creds["token"], "missing token", "invalid token")

    def handle(self, h, d, mode):
        if h.parts != ["v1", "collections"]:
            raise ApiError(404, "Not Found")
        need(h, "GET")
        try:
            off, limit = int(h.q.get("offset", 0)), int(h.q.get("limit", 20))
        except ValueError:
            off = limit = -1
        if off < 0 or not 1 <= limit <= self.max_page:
            raise ApiError(400, "offset must be >= 0 and limit from 1 to %d" % self.max_page)
        rows = d.items[off:off + limit]
        if mode == "absurd_total":         # no total to inflate: the first page, forever
            mode = "cursor_loop"
        rows = shape_rows(mode, rows, d.items, limit)
        if mode == "wrongtypes":
            return 200, {it.key: it.raw for it in rows}
        return 200, [it.raw for it in rows]


REGISTRY = (Honcho(), Hivo(), Fount(), Scenario(), JsonArray())
PROV = {p.name: p for p in REGISTRY}
PROVIDERS = tuple(PROV)


# ---------------------------------------------------------------- data sets
class Item:
    """One collection: wire object, its rendered JSON text, creation time."""
    __slots__ = ("key", "t", "obj", "raw", "meta")

    def __init__(self, prov, t, obj):
        self.t, self.obj, self.key = t, obj, str(obj["id"])
        self.raw = Raw(to_json(obj, prov.style))
        m = obj.get("metadata")
        self.meta = json.loads(m.text) if isinstance(m, Raw) else m


class Data:
    """One provider's data set; `items` (creation order) is replaced, never mutated."""

    def __init__(self, prov, count, seed, hostile, sample, burst=None):
        self.p = PROV[prov] if isinstance(prov, str) else prov
        self.prov = self.p.name
        self.count, self.seed, self.hostile, self.sample = count, seed, hostile, sample
        self.burst = tuple(burst) if burst else ()     # (first index, how many)
        r = random.Random(seed + self.p.seed_offset + 7)
        self.ctx = {"ids": set(), "next_id": 1, "owner": "%024x" % r.getrandbits(96),
                    "client": "%024x" % r.getrandbits(96), "adds": 0}
        self.p.init_ctx(r, self.ctx)
        self.items = self._generate()
        self._memo, self.order_seed = {}, None

    def _generate(self):
        p, rng, ctx = self.p, random.Random(self.seed + self.p.seed_offset), self.ctx
        if self.sample:
            plan = [(n, None, x) for n, x in p.sample]
            nh, sec = 0, p.sample_start
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
                p.after_hostile(ctx)
            if name is None or name is MISSING:
                name = p.name_fallback[name is MISSING]
            elif h is not None and SURROGATE.search(name):
                extra = p.field("label", name)     # the same text in a field besides the name
            t = sec * 10**6 + (0 if h == 0 else p.frac(rng))
            items.append(Item(p, t, p.make(rng, t, name, h, ctx, extra)))
            if self.sample:
                sec += 3 * 86400 + rng.randint(0, 3600)
            else:
                gap = rng.randint(1, 40 * 86400) if h is not None else rng.randint(1, 600)
                # drawn inside a burst too: the names stay those of the same seed without one
                if not (self.burst and self.burst[0] <= i < self.burst[0] + self.burst[1] - 1):
                    sec += gap
        return items

    def memo(self, name, fn, items=None):
        """fn(items), computed once per items list (the list is replaced, never mutated);
        items: the list the caller took from self.items, by default the current one."""
        items, c = self.items if items is None else items, self._memo.get(name)
        if c is None or c[0] is not items:
            c = self._memo[name] = (items, fn(items))
        return c[1]

    def order(self):
        """The items in the provider's listing order (/_fake/config "order_seed" reorders
        an API whose order is a shuffle: Scenario)."""
        seed = self.seed if self.order_seed is None else self.order_seed
        return self.memo("order:%d" % seed, lambda items: self.p.listing_order(seed, items))

    def add(self, body):
        p, ctx = self.p, self.ctx
        ctx["adds"] += 1
        rng = random.Random("%s:%d:add:%d" % (p.name, self.seed, ctx["adds"]))
        last = self.items[-1].t if self.items else 0
        t = max(int(time.time()) * 10**6, (last // 10**6 + 1) * 10**6)
        p.before_add(ctx, self.items)
        o = p.make(rng, t, body.get("name", "new"), None, ctx, p.add_extra(body))
        if "id" in body:               # an id a test chose (two that share an inode number)
            if any(it.key == str(body["id"]) for it in self.items):
                raise ValueError("id %r is taken" % body["id"])
            o["id"] = body["id"]
            ctx["ids"].add(body["id"])
        p.touch_new(o)
        it = Item(p, t, o)
        self.items = self.items + [it]
        return it.key

    def rename(self, key, name):
        now = int(time.time()) * 10**6
        for i, it in enumerate(self.items):
            if it.key == key:
                o = copy.deepcopy(it.obj)
                self.p.rename(o, name, now)
                self.items = self.items[:i] + [Item(self.p, it.t, o)] + self.items[i + 1:]
                return True
        return False

    def retouch(self, key):
        """Swap the case of the letters of one string of the collection: its bytes change,
        their length, name, id and times do not (a server that changes a field without
        moving the update time)."""
        if not self.p.retouch:
            raise ValueError("%s has no string to retouch" % self.prov)
        for i, it in enumerate(self.items):
            if it.key == key:
                o = copy.deepcopy(it.obj)
                *path, last = self.p.retouch
                d = o
                for k in path:
                    d = d[k]
                if not isinstance(d.get(last), str) or d[last] == d[last].swapcase():
                    return False
                d[last] = d[last].swapcase()
                self.items = self.items[:i] + [Item(self.p, it.t, o)] + self.items[i + 1:]
                return True
        return False

    def delete(self, keys):
        keys = set(map(str, keys))
        self.items = [it for it in self.items if it.key not in keys]


def expected(prov, items):
    out = []
    for it in items:
        i, n, c, u = PROV[prov].describe(json.loads(it.raw.text))
        out.append({"id": str(i), "name": n, "created": c, "updated": u,
                    "metadata_json": pretty(it.raw.text)})
    return out


def config_sections(base_url, creds, provs):
    """The collectionsfs config sections for these providers (see /_fake/config-sections)."""
    out = []
    for name in provs:
        p, c = PROV[name], creds[name]
        out.append({"section": name, "type": name,
                    "settings": [["url", "%s/%s" % (base_url.rstrip("/"), name)]]
                    + [[k, v] for k, v in p.settings()]
                    + [[x.key, c[x.key]] for x in p.creds if not x.secret and c[x.key] is not None],
                    "secrets": [[x.key, c[x.key]] for x in p.creds if x.secret and c[x.key] is not None],
                    "unset_secrets": [x.key for x in p.creds if x.secret and c[x.key] is None],
                    "wire": p.wire_secrets(c) if all(v is not None for v in c.values()) else []})
    return out


def sections_ini(sections):
    text = []
    for s in sections:
        text.append("[%s]\ntype = %s\n" % (s["section"], s["type"]))
        text += ["%s = %s\n" % (k, v) for k, v in s["settings"] + s["secrets"]]
        text.append("\n")
    return "".join(text)


def provider_info(name, count):
    p = PROV[name]
    return {"name": name, "type": name, "count": count, "default_count": p.default_count,
            "max_page": p.max_page, "page_param": p.page_param, "paging": p.paging,
            "states_more": p.states_more, "retouch": p.retouch is not None}


FAULT_MODES = ("none", "stall", "hold", "latency", "status", "every", "429", "reset", "truncate", "html",
               "wrongtypes", "absurd_total", "cursor_loop", "short_pages", "empty")

# ---------------------------------------------------------------- server
class State:
    """Counters, faults, credentials and data; every field is guarded by `lock`."""

    def __init__(self, args):
        self.args, self.lock = args, threading.Lock()
        self.data = {}
        self.creds = copy.deepcopy(args.creds)
        self.load_data()
        self.faults = {p: self._fault({"mode": "none"}) for p in PROVIDERS}
        self.reset_counters()

    def load_data(self):
        a = self.args
        for p in PROVIDERS:
            self.data[p] = Data(p, a.counts[p], a.seed, a.hostile, a.sample)
        # wire settings (/_fake/config): gzip, and a rate limit that is real or only reported
        self.wire = {p: {"gzip": PROV[p].gzip, "gzip_level": 6, "rate_limit": PROV[p].rate_limit,
                         "rate_window": 60.0, "enforce": False, "reset_header": "always"}
                     for p in PROVIDERS}

    def reset_counters(self):
        self.requests = {p: 0 for p in PROVIDERS}
        self.paths, self.log = {}, deque(maxlen=200)
        self.used = {}                       # provider -> (window, requests answered in it)
        self.windows = {p: {} for p in PROVIDERS}    # window -> requests that arrived in it
        self.wire_bytes = {p: 0 for p in PROVIDERS}
        self.raw_bytes = {p: 0 for p in PROVIDERS}
        self.conns_by = {p: 0 for p in PROVIDERS}
        self.connections = 0
        self.generation = getattr(self, "generation", 0) + 1   # connections count anew

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
        """Count one provider request and decide what its fault does to it.
        Returns (fault, rate limit: None or {"limit", "left", "reset", "over"},
        credentials, wire settings)."""
        with self.lock:
            self.requests[prov] += 1
            key = "%s %s" % (method, path)
            self.paths[key] = self.paths.get(key, 0) + 1
            f = self.faults[prov]
            f["n"] += 1
            hit = f["mode"] == "every" and f["n"] % f["k"] == 0
            if f["mode"] == "429" and f["left"] > 0:
                f["left"], hit = f["left"] - 1, True
            w = self.wire[prov]
            rate = None
            if w["rate_limit"]:
                now, win = time.time(), w["rate_window"]
                m = int(now // win)
                self.windows[prov][m] = self.windows[prov].get(m, 0) + 1
                minute, used = self.used.get(prov, (m, 0))
                if minute != m:
                    used = 0
                # an enforced limit refuses past it and does not count the refused
                over = w["enforce"] and used >= w["rate_limit"]
                used += not over
                self.used[prov] = (m, used)
                end = (m + 1) * win
                named = w["enforce"] and (over or w["reset_header"] == "always")
                rate = {"limit": w["rate_limit"], "left": max(0, w["rate_limit"] - used),
                        "reset": int(math.ceil(end)) if named else None, "over": over,
                        "wait": max(1, int(math.ceil(end - now)))}
            return dict(f, hit=hit), rate, dict(self.creds[prov]), dict(w)

    def sent(self, prov, wire, raw):
        with self.lock:
            self.wire_bytes[prov] += wire
            self.raw_bytes[prov] += raw

    def count_connection(self, h, prov):
        """Count h's connection once per reset, and once per provider it carries."""
        with self.lock:
            if h.conn_gen != self.generation:
                h.conn_gen, h.conn_provs = self.generation, set()
                self.connections += 1
            if prov not in h.conn_provs:
                h.conn_provs.add(prov)
                self.conns_by[prov] += 1

    def note(self, t_arrived, line):
        with self.lock:
            self.log.append((t_arrived, time.monotonic(), line))


def apply_fault(h, p, f):
    """Transport-level faults. Returns (status, body, headers) to send instead of
    the real answer, "drop" when the connection was dealt with, or None.
    stall: never answer (until the fault changes, max 600 s), then close;
    hold: wait until the fault changes (max 600 s), then answer normally;
    reset: RST without a response; latency: sleep `seconds` then answer;
    status: every request gets `status`; every: each k-th request gets `status`;
    429: the next k requests get 429 with the provider's retry hint;
    html: 200 text/html.  Content faults (wrongtypes, absurd_total, cursor_loop,
    short_pages, empty) are handled by the providers' handle(); truncate by send."""
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
        return f["status"], p.err_body(f["status"]), []
    if mode == "429" and f["hit"]:
        body, headers = p.too_many(f["retry_after"])
        return 429, body, headers
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

    def setup(self):                     # once per TCP connection
        super().setup()
        self.conn_gen, self.conn_provs = 0, set()

    def dispatch(self):
        try:
            self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:                # keep serving; say what went wrong
            traceback.print_exc()
            self.send(500, {"error": "fake server bug", "trace": traceback.format_exc()})

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
        self.server.state.note(self.t_arrived, "%s %s %s" % (self.command, self.path, status))

    def _dispatch(self):
        st = self.server.state
        self.t_arrived = time.monotonic()
        u = urlsplit(self.path)
        self.body = self._read_body()
        self.qlist = parse_qsl(u.query, keep_blank_values=True)
        self.q = dict(self.qlist)
        self.host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        if u.path.startswith("/_fake/"):
            return self.control(u.path)
        segs = u.path.split("/")
        p = PROV.get(segs[1] if len(segs) > 1 else "")
        if p is None:
            return self.send(404, {"error": "unknown provider; use %s" % ", ".join("/" + n for n in PROVIDERS)})
        self.parts = [unquote(s) for s in segs[2:]]
        st.count_connection(self, p.name)
        f, rate, self.creds, self.wire = st.arrive(p.name, self.command, u.path)
        extra = []
        if rate:
            extra = [("X-RateLimit-Limit", str(rate["limit"])), ("X-RateLimit-Remaining", str(rate["left"]))]
            if rate["reset"] is not None:
                extra.append(("X-RateLimit-Reset", str(rate["reset"])))
        r = apply_fault(self, p, f)
        if r == "drop":
            return
        if r is None and rate and rate["over"]:
            body, headers = p.too_many(rate["wait"])
            r = (429, body, [h for h in headers if h[0] != "X-RateLimit-Reset"])
        if r is None:
            try:
                p.authorize(self, self.creds)
                r = p.handle(self, st.data[p.name], f["mode"]) + ([],)
            except ApiError as e:
                r = (e.status, e.body if e.body is not None else p.err_body(e.status, e.msg), e.headers)
        status, body, hd = r
        if rate and status == 429:
            extra[1] = ("X-RateLimit-Remaining", "0")
        self.send(status, body, p, hd + extra, truncate=f["mode"] == "truncate")
        self.note(status)

    def send(self, status, body, p=None, headers=(), truncate=False):
        """Answer with body (bytes: HTML; str: plain text; else JSON in p's wire style)."""
        if isinstance(body, bytes):
            data, ctype = body, "text/html; charset=utf-8"
        elif isinstance(body, str):
            data, ctype = body.encode(), "text/plain; charset=utf-8"
        else:
            data = to_json(body, p.style if p else CONTROL_STYLE).encode()
            ctype = p.content_type if p else "application/json"
        headers = list(headers)
        raw = len(data)
        if p and self.wire["gzip"] and "gzip" in self.headers.get("Accept-Encoding", "") \
                and not isinstance(body, bytes):
            data = GZIP.get(data, self.wire["gzip_level"])
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        if p:
            self.server.state.sent(p.name, len(data) // 2 if truncate else len(data), raw)
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
            return self.send(400, {"error": "body is not JSON"})
        bad_provider = {"error": "provider must be one of %s" % ", ".join(PROVIDERS)}
        if self.command == "GET" and path == "/_fake/requests":
            prov = self.q.get("provider")
            if prov not in PROVIDERS:
                return self.send(400, bad_provider)
            with st.lock:
                n = st.requests[prov]
            return self.send(200, "%d\n" % n)
        if self.command == "GET" and path in ("/_fake/stats", "/_fake/expect", "/_fake/providers",
                                              "/_fake/config-sections"):
            if path == "/_fake/stats":
                with st.lock:
                    out = {"requests": dict(st.requests), "paths": dict(st.paths),
                           "log": [e[2] for e in st.log], "timed_log": [list(e) for e in st.log],
                           "wire_bytes": dict(st.wire_bytes), "raw_bytes": dict(st.raw_bytes),
                           "connections": st.connections, "connections_by": dict(st.conns_by),
                           "windows": {p: [[m * st.wire[p]["rate_window"], n]
                                           for m, n in sorted(w.items())]
                                       for p, w in st.windows.items() if w}}
            elif path == "/_fake/expect":
                prov = self.q.get("provider")
                if prov not in PROVIDERS:
                    return self.send(400, bad_provider)
                items = st.data[prov].items
                if self.q.get("count"):    # one entry per item: no need to render 100,000
                    return self.send(200, "%d\n" % len(items))
                out = expected(prov, items)
            elif path == "/_fake/providers":
                with st.lock:
                    counts = {p: len(st.data[p].items) for p in PROVIDERS}
                out = [provider_info(p, counts[p]) for p in PROVIDERS] if self.q.get("detail") \
                    else list(PROVIDERS)
            else:
                provs = [v for k, v in self.qlist if k == "provider"] or list(PROVIDERS)
                if any(p not in PROVIDERS for p in provs):
                    return self.send(400, bad_provider)
                with st.lock:
                    creds = copy.deepcopy(st.creds)
                out = config_sections("http://" + self.host, creds, provs)
                if self.q.get("format") != "json":
                    out = sections_ini(out)
        elif self.command != "POST" or path not in ("/_fake/reset", "/_fake/config", "/_fake/fault"):
            return self.send(404, {"error": "unknown control endpoint"})
        elif path == "/_fake/reset":
            for p in PROVIDERS:
                st.set_fault(p, {"mode": "none"})
            with st.lock:
                st.reset_counters()
                if req.get("data"):
                    st.load_data()
            out = {"ok": True}
        elif prov not in PROVIDERS:
            return self.send(400, bad_provider)
        elif path == "/_fake/fault":
            if req.get("mode", "none") not in FAULT_MODES:
                return self.send(400, {"error": "mode must be one of %s" % ", ".join(FAULT_MODES)})
            try:
                st.set_fault(prov, req)
            except (ValueError, TypeError) as e:
                return self.send(400, {"error": "bad fault request: %s" % e})
            out = {"ok": True, "provider": prov, "mode": st.faults[prov]["mode"]}
        else:
            try:
                out = self.configure(st, prov, req)
            except (ValueError, TypeError, AttributeError, KeyError) as e:
                return self.send(400, {"error": "bad config request: %s" % e})
            if out is None:
                return self.send(404, {"error": "no such id"})
        self.send(200, out)

    @staticmethod
    def configure(st, prov, req):
        with st.lock:
            d = st.data[prov]
            if any(k in req for k in ("count", "seed", "hostile", "sample", "burst")):
                burst = req.get("burst", d.burst)
                if burst and (len(burst) != 2 or min(map(int, burst)) < 0):
                    raise ValueError("burst is [first index, how many]")
                d = st.data[prov] = Data(prov, int(req.get("count", d.count)), int(req.get("seed", d.seed)),
                                         bool(req.get("hostile", d.hostile)), bool(req.get("sample", d.sample)),
                                         [int(x) for x in burst] if burst else None)
            if "order_seed" in req:
                d.order_seed = int(req["order_seed"])
            w = st.wire[prov]
            if "gzip" in req:
                w["gzip"] = bool(req["gzip"])
            if "gzip_level" in req:
                w["gzip_level"] = min(9, max(1, int(req["gzip_level"])))
            if "rate_window" in req:
                w["rate_window"] = float(req["rate_window"])
                if not w["rate_window"] > 0:
                    raise ValueError("rate_window must be > 0")
            if "reset_header" in req:
                if req["reset_header"] not in ("always", "429"):
                    raise ValueError("reset_header is always or 429")
                w["reset_header"] = req["reset_header"]
            if "rate_limit" in req:
                w["rate_limit"] = max(0, int(req["rate_limit"]))
                w["enforce"] = w["rate_limit"] > 0
            if "rate_limit" in req or "rate_window" in req:
                st.used.pop(prov, None)
                st.windows[prov] = {}
            for key, value in (req.get("credentials") or {}).items():
                if key not in st.creds[prov]:
                    raise KeyError("%s has no credential %r" % (prov, key))
                st.creds[prov][key] = None if value is None else str(value)
            d.delete(req.get("delete", []))
            for key, name in (req.get("rename") or {}).items():
                if not d.rename(str(key), name):
                    return None
            for key in req.get("retouch") or []:
                if not d.retouch(str(key)):
                    return None
            added = [d.add(req["add"])] if isinstance(req.get("add"), dict) else []
            return {"ok": True, "provider": prov, "count": len(d.items), "added": added}


class GzipCache:
    """Each distinct body is compressed once, as a server that keeps compressed
    answers (nginx's gzip_static, a CDN) does: otherwise every client that asks
    for gzip pays for the fake's zlib on the same cores, and the benchmark would
    time the fake's compression, not the client (tests/bench/RESULTS.md, R)."""

    LIMIT = 256 << 20  # compressed bytes kept; the oldest go first

    def __init__(self):
        self.lock, self.kept, self.size = threading.Lock(), OrderedDict(), 0

    def get(self, data, level):
        key = (level, hashlib.blake2b(data, digest_size=16).digest())
        with self.lock:
            z = self.kept.get(key)
        if z is None:
            z = gzip.compress(data, compresslevel=level, mtime=0)
            with self.lock:
                if key not in self.kept:
                    self.kept[key], self.size = z, self.size + len(z)
                while self.size > self.LIMIT:
                    self.size -= len(self.kept.popitem(last=False)[1])
        return z


GZIP = GzipCache()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one")
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, metavar="N", help="number of collections of every provider")
    for p in REGISTRY:
        ap.add_argument("--" + p.name, type=int, metavar="N",
                        help="number of %s collections (default %d)" % (p.name, p.default_count))
        for c in p.creds:
            flag = "--%s-%s" % (p.name, c.key.replace("_", "-"))
            ap.add_argument(flag, *[a for a in c.aliases if a != flag], dest="cred:%s.%s" % (p.name, c.key),
                            metavar="VALUE", help="%s's %s (default %s)" % (p.name, c.key, c.default or "none"))
    ap.add_argument("--cred", action="append", default=[], metavar="P.KEY=VALUE",
                    help="set a credential, KEY as in the config section")
    ap.add_argument("--hostile", action="store_true", help="start each provider with awkward-but-legal items")
    ap.add_argument("--sample", action="store_true", help="five friendly collections per provider (demo)")
    ap.add_argument("--expect", choices=PROVIDERS, help="print the expected items of PROVIDER and exit")
    ap.add_argument("--config-sections", metavar="URL",
                    help="print the config sections of every provider for a fake at URL and exit")
    ap.add_argument("--json", action="store_true", help="with --config-sections: as JSON")
    a = ap.parse_args(argv)
    a.counts = {p.name: next(n for n in (getattr(a, p.name), a.count, p.default_count) if n is not None)
                for p in REGISTRY}
    a.creds = {p.name: {c.key: c.default for c in p.creds} for p in REGISTRY}
    for p in REGISTRY:
        for c in p.creds:
            v = getattr(a, "cred:%s.%s" % (p.name, c.key))
            if v is not None:
                a.creds[p.name][c.key] = v
    for spec in a.cred:
        m = re.fullmatch(r"([^.=]+)\.([^=]+)=(.*)", spec, re.S)
        if not m or m[1] not in a.creds or m[2] not in a.creds[m[1]]:
            ap.error("--cred %s: want PROVIDER.KEY=VALUE with a known provider and key" % spec)
        a.creds[m[1]][m[2]] = m[3]
    return a


def main(argv=None):
    a = parse_args(argv)
    if a.expect:
        d = Data(a.expect, a.counts[a.expect], a.seed, a.hostile, a.sample)
        json.dump(expected(a.expect, d.items), sys.stdout, ensure_ascii=True, indent=1)
        sys.stdout.write("\n")
        return 0
    if a.config_sections:
        s = config_sections(a.config_sections, a.creds, PROVIDERS)
        sys.stdout.write(json.dumps(s, indent=1) + "\n" if a.json else sections_ini(s))
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
