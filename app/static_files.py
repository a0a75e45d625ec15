"""Static files and responses as the browser should get them: compressed, and under URLs that change with
their content.

At start-up every file under static/ is read once, and the whole tree gets one version: a hash of every
path and every byte in it. `/static/v/<version>/<path>` serves a file with a year of immutable caching.
Because the version is part of the directory, a relative ES-module import inside a script (`./views/x.js`)
resolves under the same version, so no import needs rewriting and one changed file gives every file a new
URL. Templates get that URL from the Jinja global `asset(path)`. The unversioned `/static/<path>` still
works, revalidated by ETag on every use.

Text files (scripts, styles, JSON, SVG) are compressed at start-up with brotli and gzip, and sent in the
best encoding the request's Accept-Encoding allows. Every other response of a text type (the HTML pages,
the API's JSON: an analysis is about 250 KB) is compressed on the way out, at a faster setting. Bodies too
small to gain and types that are already compressed (PNG, JPEG, ...) are sent as they are.

brotli (Google's reference library, `brotli` on PyPI) because it makes plotly's bundle 10 % smaller than
gzip -9 does, and the analysis JSON smaller still; gzip stays for clients that do not send `br`.
"""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import brotli
from flask import Flask, Response, abort, request, url_for

# Below this a compressed body gains less than the headers cost (and gzip may even grow it).
MIN_SIZE = 1024
COMPRESSIBLE = {"text/html", "text/css", "text/javascript", "text/plain", "text/markdown", "application/json",
                "image/svg+xml"}
# Python's mimetypes table varies between versions for these; the page needs exactly these types.
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".json": "application/json",
         ".svg": "image/svg+xml", ".md": "text/markdown", ".txt": "text/plain"}
# Our preference when the client weighs several equally: brotli is smaller.
ENCODINGS = ("br", "gzip")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Start-up compression: brotli 9 costs 0.1 s for plotly's 1.5 MB (quality 11 takes 2.6 s for 8 % less),
# so a server, and every test server, starts without a noticeable wait.
STATIC_BROTLI_QUALITY, STATIC_GZIP_LEVEL = 9, 9
# Per-response compression: a 250 KB analysis in a few milliseconds, against a 25 ms budget for the request.
DYNAMIC_BROTLI_QUALITY, DYNAMIC_GZIP_LEVEL = 4, 6


def compress(body: bytes, encoding: str, dynamic: bool = False) -> bytes:
    if encoding == "br":
        return brotli.compress(body, quality=DYNAMIC_BROTLI_QUALITY if dynamic else STATIC_BROTLI_QUALITY)
    # mtime=0: the same bytes give the same gzip stream, so ETags stay stable across restarts.
    return gzip.compress(body, compresslevel=DYNAMIC_GZIP_LEVEL if dynamic else STATIC_GZIP_LEVEL, mtime=0)


def compressible(mimetype: str | None, size: int) -> bool:
    return mimetype in COMPRESSIBLE and size >= MIN_SIZE


def chosen_encoding(available) -> str | None:
    """The best of `available` encodings the request accepts (q > 0), or None for the body as it is."""
    accepted = request.accept_encodings
    best = max(available, key=lambda e: accepted[e], default=None)  # max keeps the first of equals
    return best if best is not None and accepted[best] > 0 else None


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    mimetype: str
    etag: str  # of the identity body; an encoded body's ETag adds its encoding
    encoded: dict  # encoding -> compressed body, only where it is smaller


class StaticTree:
    """Every file under `root`, read once, with its compressed forms and the tree's version."""

    def __init__(self, root: Path):
        self.files: dict[str, StaticFile] = {}
        tree = hashlib.sha256()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            name = path.relative_to(root).as_posix()
            if any(part.startswith(".") for part in name.split("/")):
                continue
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()
            tree.update(f"{name}\0{digest}\0".encode())
            mimetype = TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
            encoded = {}
            if compressible(mimetype, len(body)):
                for e in ENCODINGS:
                    packed = compress(body, e)
                    if len(packed) < len(body):
                        encoded[e] = packed
            self.files[name] = StaticFile(body, mimetype, digest[:16], encoded)
        self.version = tree.hexdigest()[:12]

    def response(self, name: str, immutable: bool) -> Response:
        f = self.files.get(name)
        if f is None:
            abort(404)
        encoding = chosen_encoding(list(f.encoded))
        etag = f"{f.etag}-{encoding}" if encoding else f.etag
        headers = {"Cache-Control": IMMUTABLE if immutable else REVALIDATE}
        if request.if_none_match.contains(etag):
            response = Response(status=304, headers=headers)
        else:
            response = Response(f.encoded[encoding] if encoding else f.body, mimetype=f.mimetype, headers=headers)
            if encoding:
                response.headers["Content-Encoding"] = encoding
        response.set_etag(etag)
        if compressible(f.mimetype, len(f.body)):
            response.vary.add("Accept-Encoding")
        return response


def init_app(app: Flask) -> None:
    tree = StaticTree(Path(app.static_folder))
    app.extensions["static_tree"] = tree

    def versioned(version: str, filename: str) -> Response:
        # An old version (a page rendered before a restart) still gets the file, but never an immutable
        # promise: its bytes may no longer be what that version named.
        return tree.response(filename, immutable=version == tree.version)

    app.add_url_rule(f"{app.static_url_path}/v/<version>/<path:filename>", "static_versioned", versioned)
    # Flask's own static route (endpoint "static") serves from the same store, compressed, revalidated.
    app.view_functions["static"] = lambda filename: tree.response(filename, immutable=False)

    def asset(path: str) -> str:
        if path not in tree.files:
            raise ValueError(f"asset({path!r}): no such file under static/")
        return url_for("static_versioned", version=tree.version, filename=path)

    app.jinja_env.globals["asset"] = asset

    @app.after_request
    def compress_response(response: Response) -> Response:
        if (response.status_code != 200 or response.direct_passthrough or response.is_streamed
                or "Content-Encoding" in response.headers or request.method == "HEAD"
                or request.endpoint in ("static", "static_versioned")):  # encoded at start-up, or not worth it
            return response
        body = response.get_data()
        if not compressible(response.mimetype, len(body)):
            return response
        response.vary.add("Accept-Encoding")
        encoding = chosen_encoding(ENCODINGS)
        if not encoding:
            return response
        etag, _ = response.get_etag()
        if etag:
            # The ETag named the identity body; the encoded body is equivalent, not the same bytes, so the tag
            # becomes weak (as nginx does). If-None-Match compares weakly: a client that sends it back gets
            # a 304 here, whether or not the view itself checked.
            response.set_etag(etag, weak=True)
            response.make_conditional(request)
            if response.status_code == 304:
                return response
        response.set_data(compress(body, encoding, dynamic=True))
        response.headers["Content-Encoding"] = encoding
        return response
