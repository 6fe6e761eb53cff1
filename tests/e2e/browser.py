"""Debian's Chromium for the browser tests (the `browser` fixture is in conftest), and a look inside the
widget's shadow root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless as root, and nothing that reaches out to the network on its own.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} (Debian's chromium package) is missing")


def in_widget(page: Any, script: str) -> Any:
    """Evaluate `script` in the page (or frame) with `root` bound to the widget's shadow root."""
    return page.evaluate(f"() => {{ const root = document.querySelector('touchpoint-widget').shadowRoot; {script} }}")


def focused_label(page: Any) -> str | None:
    return in_widget(page, "const a = root.activeElement; return a && (a.getAttribute('aria-label') || a.tagName);")
