"""Check an installed Touchpoint: `pip check` passes, every module of its four packages imports, and the test
data (some of it licensed for testing only) is not in it.

Run it with the Python of a venv that holds only the runtime dependencies (`pip install -c constraints.txt .`),
from outside the checkout, so that a dependency the test extras happen to pull in cannot hide a missing one.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

PACKAGES = ("flows", "bot", "channels", "storage")
# Entry points that do their work when imported: the CLI's `python -m bot`, and Alembic's env, which needs
# Alembic's running context. Their imports are those of bot.cli and storage.migrate, which are checked.
RUN_ON_IMPORT = {"bot.__main__", "storage.migrations.env"}


def modules() -> list[str]:
    """Found on disk, without importing anything: SQLAlchemy raises its missing-greenlet ImportError only on the
    first import of sqlalchemy.ext.asyncio, and pkgutil.walk_packages would swallow that one."""
    names = []

    def walk(folder: Path, prefix: str) -> None:
        for info in pkgutil.iter_modules([str(folder)], prefix):
            names.append(info.name)
            if info.ispkg:
                walk(folder / info.name.rsplit(".", 1)[-1], f"{info.name}.")

    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"package {package} is not installed")
        names.append(package)
        walk(Path(spec.submodule_search_locations[0]), f"{package}.")
    return [name for name in names if name not in RUN_ON_IMPORT]


def _imports(name: str) -> bool:
    try:
        importlib.import_module(name)
        return True
    except Exception:
        print(f"cannot import {name}:\n{traceback.format_exc()}", file=sys.stderr)
        return False


def main() -> int:
    pip = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    if pip.returncode != 0:
        print(f"pip check failed:\n{pip.stdout}{pip.stderr}", file=sys.stderr)
        return 1
    if importlib.util.find_spec("tests") is not None:
        print("the install holds a `tests` package: the test data must stay out of the built package", file=sys.stderr)
        return 1
    names = modules()
    # bot.wsgi builds the app at import: give it a database of its own, never the user's.
    with tempfile.TemporaryDirectory(prefix="touchpoint-check-", ignore_cleanup_errors=True) as scratch:
        os.environ.update(TOUCHPOINT_DATABASE_URL=f"sqlite:///{Path(scratch) / 'check.db'}",
                          TOUCHPOINT_LOG_LEVEL="WARNING")
        failed = [name for name in names if not _imports(name)]
    if failed:
        print(f"{len(failed)} of {len(names)} modules do not import: {', '.join(failed)}", file=sys.stderr)
        return 1
    where = Path(importlib.import_module("bot").__file__).parent.parent
    print(f"pip check passed; {len(names)} modules import from {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
