"""Web widget sites: what a site key and an allowed origin look like, for every surface that makes a site."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SITE_KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str:
    """An origin exactly as browsers send it in the Origin header: scheme://host[:port], lowercase."""
    hint = f"{value!r} is not an origin; give the scheme and host only, such as https://app.example.com"
    parts = urlsplit(value.strip())
    try:
        port = parts.port
    except ValueError:
        raise ValueError(hint) from None
    if (parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/")
            or parts.query or parts.fragment or parts.username or parts.password):
        raise ValueError(hint)
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else "")


def site_origins(values: list[str]) -> list[str]:
    origins: list[str] = []
    for value in values:
        origin = normalize_origin(value)
        if origin not in origins:
            origins.append(origin)
    return origins


def check_site_key(value: str) -> str:
    if not SITE_KEY.fullmatch(value) or len(value) > 64:
        raise ValueError("use lowercase letters, digits and single hyphens (at most 64), such as web-app")
    return value
