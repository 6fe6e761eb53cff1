"""The fault run of bench/faults.py, smaller: nothing accepted is lost and no contact is surveyed twice."""

from __future__ import annotations

from pathlib import Path

from bench.faults import FaultConfig, print_report, run_faults
from tests.conftest import empty_pg_database


def test_postgresql_under_faults_nothing_is_lost_or_sent_twice(tmp_path: Path) -> None:
    config = FaultConfig(events=200, rate=25.0, drain_timeout=90.0)
    with empty_pg_database() as url:
        report = run_faults(config, url, tmp_path)
    print_report(config, report)
    assert (report.accepted, report.repeats_acknowledged, report.refused) == (180, 20, 0)
    assert report.deliveries == 180
    assert report.in_flight_at_kill > 0 and report.connections_dropped > 0
    assert report.max_sent_per_delivery == 1 and report.duplicates == 0
    assert report.lost == 0 and report.unknown_without_call == 0
    assert report.statuses.keys() <= {"sent", "unknown"}
    # Scraped after the run and parsed as Prometheus parses it: the web processes counted every post (their
    # counts meet across gunicorn's processes), the surviving workers their provider calls.
    assert report.scraped["requests POST /api/v1/events"] >= 200
    assert report.scraped["provider calls sms"] > 0
