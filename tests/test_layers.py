"""The import graph: each layer imports only the layers below it, and nothing imports in a circle.

flows/ (the pure core) and storage/ import nothing of ours; channels/ only the core; bot/ anything below. In
bot/, services know no surface (bot/api, bot/pages), and the two surfaces do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("flows", "storage", "channels", "bot")
ALLOWED = {"flows": set(), "storage": set(), "channels": {"flows"}, "bot": {"flows", "storage", "channels"}}
SURFACES = ("bot.api", "bot.pages")
ASSEMBLY = ("bot.app", "bot.cli", "bot.wsgi", "bot.gunicorn", "bot.__main__")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
             if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        named: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                named |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in files else node.module
                          for alias in node.names}
            elif isinstance(node, ast.Import):
                named |= {alias.name for alias in node.names}
        graph[name] = {other for other in named if other in files and other != name}
    return graph


def _is(module: str, *prefixes: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = sorted((a, b) for a, deps in _graph().items() for b in deps
                   if b.split(".")[0] != a.split(".")[0] and b.split(".")[0] not in ALLOWED[a.split(".")[0]])
    assert wrong == []


def test_services_know_no_surface_and_the_surfaces_not_each_other() -> None:
    graph = _graph()
    services = [m for m in graph if _is(m, "bot") and not _is(m, *SURFACES, *ASSEMBLY)]
    assert sorted((a, b) for a in services for b in graph[a] if _is(b, *SURFACES)) == []
    assert sorted((a, b) for a in graph if _is(a, "bot.api") for b in graph[a] if _is(b, "bot.pages")) == []
    assert sorted((a, b) for a in graph if _is(a, "bot.pages") for b in graph[a] if _is(b, "bot.api")) == []


def test_no_module_imports_in_a_circle() -> None:
    graph = _graph()
    seen: dict[str, int] = {}  # 1 while on the current path, 2 once done
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        seen[module] = 1
        for other in sorted(graph[module]):
            if seen.get(other) == 1:
                circles.append(path[path.index(other):] + [other])
            elif other not in seen:
                visit(other, [*path, other])
        seen[module] = 2

    for module in sorted(graph):
        if module not in seen:
            visit(module, [module])
    assert circles == []
