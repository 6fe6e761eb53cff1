"""APScheduler drives the worker's ticks; the truth stays in our tables, so any number may run.

Jobs live in APScheduler's in-memory store on purpose: a shared job store cannot be used by several
processes, and we need none, because each tick asks the database what is due.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.discovery import discover
from bot.dispatch import run_tick
from bot.insights_digest import send_digest
from bot.learning import retrain
from bot.retention import apply_retention
from bot.runtime import Runtime
from bot.score_alerts import check_score_drops
from bot.telemetry import serve_worker_metrics
from bot.webhook_delivery import deliver_webhooks
from storage.limits import forget_windows
from storage.types import utcnow
from storage.webhooks import forget_finished

log = logging.getLogger("touchpoint.worker")

WEBHOOK_LOG_KEPT = timedelta(days=30)


def _tick(rt: Runtime, executor: ThreadPoolExecutor) -> None:
    try:
        report = run_tick(rt, executor)
    except Exception:
        log.exception("worker tick failed; the next tick tries again")
        return
    if any(vars(report).values()):
        log.info("tick %s", report)


def _webhooks(rt: Runtime, executor: ThreadPoolExecutor) -> None:
    """Its own job, so that a slow receiver never holds up the surveys' tick."""
    try:
        delivered = deliver_webhooks(rt, executor=executor)
    except Exception:
        log.exception("webhook pass failed; the next one tries again")
        return
    if delivered:
        log.info("webhooks delivered=%d", delivered)


def _housekeeping(rt: Runtime) -> None:
    """Hourly: retention, rate-limit windows long over, and webhook messages finished a month ago."""
    try:
        apply_retention(rt, utcnow())
        forget_windows(rt.engine, time.time() - 3600)
        with rt.session() as session:
            forget_finished(session, utcnow() - WEBHOOK_LOG_KEPT)
    except Exception:
        log.exception("housekeeping failed; it runs again within the hour")


def _insights(rt: Runtime) -> None:
    """Hourly: score drops told (and recoveries re-armed), and the digest of the period just ended, once."""
    try:
        report = check_score_drops(rt)
        if report.fired or report.recovered:
            log.info("score alerts fired=%d recovered=%d", report.fired, report.recovered)
    except Exception:
        log.exception("score alerts failed; they run again within the hour")
    try:
        send_digest(rt)
    except Exception:
        log.exception("insights digest failed; it is tried again within the hour")


def _discover(rt: Runtime) -> None:
    """Daily: theme proposals from the comments no theme covers (undecided ones are replaced)."""
    try:
        discover(rt)
    except Exception:
        log.exception("theme discovery failed; it runs again tomorrow")


def _learn(rt: Runtime) -> None:
    """Hourly: a new sentiment model from the comments and corrections since the last one (off every request path)."""
    try:
        trained = retrain(rt)
    except Exception:
        log.exception("retraining failed; the active model stays and it runs again within the hour")
        return
    if trained.version is None:
        log.info("sentiment model not retrained: %s", trained.reason)


def schedule_ticks(scheduler: BaseScheduler, rt: Runtime) -> None:
    executor = ThreadPoolExecutor(max_workers=rt.settings.worker_concurrency, thread_name_prefix="send")
    scheduler.add_job(
        _tick,
        "interval",
        args=[rt, executor],
        seconds=rt.settings.worker_interval,
        id="tick",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    hooks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook")
    scheduler.add_job(_webhooks, "interval", args=[rt, hooks], seconds=rt.settings.worker_interval, id="webhooks",
                      max_instances=1, coalesce=True, misfire_grace_time=None)
    scheduler.add_job(_housekeeping, "interval", args=[rt], hours=1, id="housekeeping", max_instances=1,
                      coalesce=True, next_run_time=utcnow() + timedelta(minutes=1))
    scheduler.add_job(_insights, "interval", args=[rt], hours=1, id="insights", max_instances=1, coalesce=True,
                      next_run_time=utcnow() + timedelta(minutes=2))
    scheduler.add_job(_learn, "interval", args=[rt], hours=1, id="learn", max_instances=1, coalesce=True,
                      next_run_time=utcnow() + timedelta(minutes=5))
    scheduler.add_job(_discover, "interval", args=[rt], hours=24, id="discover", max_instances=1, coalesce=True,
                      next_run_time=utcnow() + timedelta(minutes=10))


def start_background_worker(rt: Runtime) -> BackgroundScheduler:
    """For `touchpoint run`: the worker as a thread beside the web server."""
    scheduler = BackgroundScheduler(timezone="UTC")
    schedule_ticks(scheduler, rt)
    scheduler.start()
    return scheduler


def run_worker_forever(rt: Runtime) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    schedule_ticks(scheduler, rt)
    metrics = serve_worker_metrics(rt)
    log.info("worker started; tick every %ss", rt.settings.worker_interval)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)
    finally:
        if metrics is not None:
            metrics.close()
