"""Rate limits counted in the database: fixed windows per key, shared by every process."""

from __future__ import annotations

import sqlalchemy as sa

from storage.db import make_engine
from storage.limits import forget_windows, hit, limit_key
from storage.models import RateWindow


def test_a_key_gets_its_limit_per_window_then_the_time_to_wait(database_url: str) -> None:
    engine = make_engine(database_url)
    a, b = limit_key("secret", "widget-ip:198.51.100.7"), limit_key("secret", "widget-ip:198.51.100.8")
    assert [hit(engine, a, 2, 60.0, 100.0), hit(engine, a, 2, 60.0, 110.0)] == [None, None]
    assert hit(engine, a, 2, 60.0, 115.0) == 45.0  # the window began at 100
    assert hit(engine, b, 2, 60.0, 115.0) is None
    assert hit(engine, a, 2, 60.0, 159.0) == 1.0
    assert hit(engine, a, 2, 60.0, 160.0) is None  # a new window
    assert forget_windows(engine, 120.0) == 1  # b's window began at 115
    with engine.connect() as connection:
        assert connection.execute(sa.select(RateWindow.key)).scalars().all() == [a]  # type: ignore[call-overload]
    engine.dispose()


def test_the_stored_key_names_no_address() -> None:
    stored = limit_key("secret", "widget-ip:198.51.100.7")
    assert "198.51" not in stored and len(stored) == 64
    assert stored != limit_key("another secret", "widget-ip:198.51.100.7")
