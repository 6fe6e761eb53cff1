"""/healthz says the process lives; /readyz says it can serve: the database answers at this release's schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient

from bot.app import create_app
from storage.db import make_engine
from storage.migrate import current_head, upgrade
from tests.conftest import empty_pg_database, make_settings


@contextmanager
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        with empty_pg_database() as url:
            yield url


@contextmanager
def client_on(url: str) -> Iterator[FlaskClient]:
    app = create_app(make_settings(url))
    try:
        yield app.test_client()
    finally:
        app.extensions["touchpoint"].close()


def test_a_migrated_database_is_ready(client: FlaskClient) -> None:
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_json()) == (200, {"status": "ready"})
    assert client.get("/healthz").status_code == 200


def test_an_empty_database_is_not_ready_and_says_why(database_url: str, tmp_path: Path) -> None:
    with empty_database(database_url, tmp_path) as url, client_on(url) as client:
        answer = client.get("/readyz")
        alive = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "unavailable",
                                 "reason": "the database has no tables yet; run `touchpoint db upgrade`"}
    assert alive.status_code == 200  # the process lives: restarting it would not help


def test_a_database_behind_this_release_is_not_ready_until_upgraded(database_url: str, tmp_path: Path) -> None:
    with empty_database(database_url, tmp_path) as url, client_on(url) as client:
        upgrade(url, "0009")
        behind = client.get("/readyz")
        upgrade(url)
        after = client.get("/readyz")
    assert behind.status_code == 503
    assert behind.get_json()["reason"] == (f"the database is at revision 0009; this release needs {current_head()} "
                                           "(run `touchpoint db upgrade`)")
    assert after.status_code == 200


def test_a_database_from_a_newer_release_stays_ready(database_url: str, tmp_path: Path) -> None:
    """During a rolling deploy the release step migrates first; the old processes keep serving."""
    with empty_database(database_url, tmp_path) as url, client_on(url) as client:
        upgrade(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        engine.dispose()
        answer = client.get("/readyz")
    assert answer.status_code == 200


def test_an_unreachable_database_is_not_ready(tmp_path: Path) -> None:
    with client_on(f"sqlite:///{tmp_path / 'missing' / 'folder' / 'touchpoint.db'}") as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "unavailable", "reason": "the database is unreachable"}
