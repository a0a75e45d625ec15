"""What protects a server running on the user's own machine: the Host check (a page on another site
cannot reach the API by pointing its own name at 127.0.0.1, "DNS rebinding"), and the response headers
every answer carries (scripts only from this server, no sniffing, no framing, per-request results never
cached)."""
from __future__ import annotations

import re

from flask import Flask, Response, jsonify, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# The names a browser on this machine uses for a server bound to loopback; ALLOWED_HOSTS adds others.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
# host[:port], where host is a name, an IPv4 address or a bracketed IPv6 address.
_HOST = re.compile(r"(\[[0-9a-fA-F:.]+\]|[^\[\]:/@\s]+)(?::[0-9]{1,5})?", re.ASCII)


def host_name(header: str) -> str | None:
    """The name part of a Host header, lower case, or None if the header is malformed."""
    m = _HOST.fullmatch(header or "")
    return m.group(1).lower() if m else None


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def init_app(app: Flask) -> None:
    allowed = {h.lower() for h in (*LOOPBACK_HOSTS, *app.config.get("ALLOWED_HOSTS", ()))}
    # "/static//x" would otherwise answer a 308 whose Location is built from the Host header.
    app.url_map.merge_slashes = False

    @app.before_request
    def check_host():
        # Checked before routing's redirects and before any view: a refused Host gets nothing else.
        header = request.headers.get("Host", "")
        if host_name(header) not in allowed:
            shown = header if len(header) <= 40 else header[:39] + "…"
            return jsonify(error=f"this server answers only to the host names {', '.join(sorted(allowed))} "
                                 f"(got Host {shown!r}); start it with --allowed-host NAME to add one"), 421
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if is_api(request.path) and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response
