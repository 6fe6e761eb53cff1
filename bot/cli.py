"""The `touchpoint` command."""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlmodel import Session

from bot.logs import setup_logging
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from storage.apikeys import SCOPES
from storage.webhooks import EVENT_TYPES

log = logging.getLogger("touchpoint.cli")


def _database(settings: Settings) -> str:
    """Says on stderr which database the command uses (password masked), so a command run against an
    unexpected one shows it; stdout stays for what is meant to be piped (a key, YAML)."""
    import sqlalchemy as sa

    try:
        shown = sa.make_url(settings.database_url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        raise click.ClickException("TOUCHPOINT_DATABASE_URL is not a database URL") from None
    if _as_service:
        log.info("database: %s", shown)
    else:
        click.echo(f"database: {shown}", err=True)
    return settings.database_url


_as_service = False


def _service_logs() -> Settings:
    """`touchpoint web` and `touchpoint worker` run as services, whose lines a log pipeline reads: JSON unless
    TOUCHPOINT_LOG_FORMAT says otherwise (set in the environment, so gunicorn's workers see it too), and what the
    command says goes through the log as well."""
    global _as_service
    if Settings().log_format is None:
        os.environ["TOUCHPOINT_LOG_FORMAT"] = "json"
    settings = Settings()
    setup_logging(settings.log_level, settings.secret_key_value, fmt=settings.log_format)
    _as_service = True
    return settings


def _one_process_metrics() -> None:
    """`touchpoint run` and `touchpoint worker` are one process each and keep their Prometheus counts in memory:
    PROMETHEUS_MULTIPROC_DIR is `touchpoint web`'s, and a worker writing into the web's folder would be counted by
    both. Before prometheus_client is imported, which reads it once."""
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def _ready(settings: Settings) -> None:
    """Tables first: the embedded SQLite upgrades itself; a database left behind gets a clear message."""
    from storage.migrate import SchemaNotReady, ensure_schema

    try:
        ensure_schema(_database(settings))
    except SchemaNotReady as exc:
        raise click.ClickException(f"{exc}. Run `touchpoint db upgrade` first.") from None


@contextmanager
def _runtime() -> Iterator[Runtime]:
    settings = Settings()
    _ready(settings)
    rt = build_runtime(settings)
    try:
        yield rt
    finally:
        rt.close()


@contextmanager
def _session() -> Iterator[Session]:
    with _runtime() as rt, rt.session() as session:
        yield session


@click.group()
def main() -> None:
    """Touchpoint: one-question customer surveys with closed-loop follow-up."""


@main.command()
@click.option("--host", default=None, help="Interface to listen on (TOUCHPOINT_HOST).")
@click.option("--port", default=None, type=int, help="Port to listen on (TOUCHPOINT_PORT).")
@click.option("--demo", is_flag=True, help="Load the demo flows, contacts and events first.")
def run(host: str | None, port: int | None, demo: bool) -> None:
    """Web and worker in one process: the embedded default."""
    _one_process_metrics()
    from werkzeug.serving import make_server

    from bot.app import create_app, freeze_startup_heap
    from bot.worker import start_background_worker
    from storage.migrate import upgrade

    settings = Settings()
    upgrade(_database(settings))
    app = create_app(settings)
    rt: Runtime = app.extensions["touchpoint"]
    if demo:
        from bot.demo import load_demo

        click.echo(load_demo(rt))
    scheduler = start_background_worker(rt)
    freeze_startup_heap()
    server = make_server(host or settings.host, port or settings.port, app, threaded=True)
    click.echo(f"Touchpoint is running on {settings.public_url} (sign in: {settings.public_url}/login, "
               f"sandbox: {settings.public_url}/sandbox)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=False)
        rt.close()


@main.command()
@click.option("--bind", default=None, help="host:port for gunicorn (default TOUCHPOINT_HOST:TOUCHPOINT_PORT).")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
def web(bind: str | None, workers: int) -> None:
    """The web server alone, under gunicorn."""
    from bot.gunicorn import serve

    settings = _service_logs()
    _ready(settings)
    if "secret_key" not in settings.model_fields_set:
        # One random key for every worker of this server (they inherit it), or a session signed by one worker
        # would be refused by the next; it changes at each start, so set it to keep sessions across restarts.
        os.environ["TOUCHPOINT_SECRET_KEY"] = settings.secret_key_value
    serve(bind or f"{settings.host}:{settings.port}", workers)


@main.command()
def worker() -> None:
    """The worker alone: dispatch, reminders, expiry. Run as many as you like on PostgreSQL."""
    _one_process_metrics()
    from bot.worker import run_worker_forever

    _service_logs()
    with _runtime() as rt:
        if rt.engine.dialect.name == "sqlite":
            log.warning("on SQLite run a single worker; use PostgreSQL to scale out")
        run_worker_forever(rt)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (works on an empty database and on earlier releases)."""
    from storage.migrate import upgrade

    upgrade(_database(Settings()), revision)
    click.echo("database is up to date")


@db.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(target: Path) -> None:
    """Copy the SQLite database to TARGET while the service runs (PostgreSQL: use pg_dump)."""
    from storage.backup import backup_sqlite

    url = _database(Settings())
    try:
        pages = backup_sqlite(url, target)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backed up to {target} ({pages} pages)")


@db.command("restore")
@click.argument("backup", type=click.Path(dir_okay=False, path_type=Path))
@click.confirmation_option(prompt="This replaces everything in the database with the backup. Stop the service "
                           "first. Go on?")
def db_restore(backup: Path) -> None:
    """Replace the SQLite database with BACKUP (made by `db backup`); stop the service first."""
    from storage.backup import restore_sqlite

    url = _database(Settings())
    try:
        pages = restore_sqlite(url, backup)
    except (ValueError, OSError, sqlite3.DatabaseError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored from {backup} ({pages} pages); run `touchpoint db upgrade` if it is from an older release")


@main.group()
def flows() -> None:
    """Flow files: validate, import, export."""


def _read_flow_files(files: tuple[str, ...]) -> list:
    from channels.registry import CHANNEL_NAMES
    from flows.loader import FlowError, load_flows

    texts = {}
    for name in files:
        try:
            texts[name] = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{name}: cannot read: {exc}") from None
    try:
        return load_flows(texts, CHANNEL_NAMES)
    except FlowError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


@flows.command("validate")
@click.argument("files", nargs=-1, required=True)
def flows_validate(files: tuple[str, ...]) -> None:
    """Check flow files; errors name the file, line, field and reason."""
    definitions = _read_flow_files(files)
    for definition in definitions:
        click.echo(f"ok  {definition.key}")


@flows.command("import")
@click.argument("files", nargs=-1, required=True)
def flows_import(files: tuple[str, ...]) -> None:
    """Validate then import flow files, all or nothing."""
    from bot.flow_admin import store_definitions

    definitions = _read_flow_files(files)
    with _session() as session:
        imported = store_definitions(session, definitions, actor="cli")
    for item in imported:
        state = f"version {item.version}" if item.changed else f"unchanged (version {item.version})"
        click.echo(f"{item.key}: {state}")


@flows.command("export")
@click.option("--out", "out_dir", default=None, help="Write one file per flow into this folder.")
def flows_export(out_dir: str | None) -> None:
    """Print every current flow as YAML, or write them to a folder."""
    from bot.flow_admin import export_yaml

    with _session() as session:
        files = export_yaml(session)
    if out_dir is None:
        click.echo("\n---\n".join(files.values()), nl=False)
        return
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
        click.echo(str(target / name))


@main.group()
def apikey() -> None:
    """API keys."""


@apikey.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(SCOPES),
              help="What the key may do; repeat for more (default: admin, everything).")
def apikey_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create an API key and print it (only the key, once; it is stored hashed)."""
    from bot.apikeys import create_key
    from bot.errors import ServiceError
    from storage.apikeys import ADMIN, scope_text

    chosen = scopes or (ADMIN,)
    with _session() as session:
        try:
            key = create_key(session, name, chosen, actor="cli")
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"scopes: {scope_text(chosen)}", err=True)
    click.echo(key)


@apikey.command("list")
def apikey_list() -> None:
    """List API keys: id, name, scopes, created, last used, revoked (never the key itself)."""
    from storage.apikeys import list_api_keys

    def when(moment: object) -> str:
        return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"

    with _session() as session:
        keys = list_api_keys(session)
    click.echo(f"{'id':>4}  {'name':<24} {'scopes':<30} {'created':<16}  {'last used':<16}  revoked")
    for key in keys:
        click.echo(f"{key.id:>4}  {key.name:<24} {key.scopes:<30} {when(key.created_at):<16}  "
                   f"{when(key.last_used_at):<16}  {when(key.revoked_at)}")


@apikey.command("revoke")
@click.argument("name_or_id")
def apikey_revoke(name_or_id: str) -> None:
    """Revoke an API key by id or name; every process refuses it from the next request on."""
    from bot.apikeys import revoke_key
    from storage.apikeys import AmbiguousKeyName, find_api_key

    with _session() as session:
        try:
            key = find_api_key(session, name_or_id)
        except AmbiguousKeyName:
            raise click.ClickException(f"several keys are named {name_or_id}; give the id (touchpoint apikey list)") \
                from None
        if key is None:
            raise click.ClickException(f"no API key has the id or name {name_or_id}")
        key, revoked_at, already = revoke_key(session, key, actor="cli")
    state = "was already revoked" if already else "revoked"
    click.echo(f"API key {key.id} ({key.name}) {state} at {revoked_at:%Y-%m-%d %H:%M} UTC")


@main.group()
def users() -> None:
    """People who use the web app."""


@contextmanager
def _user_runtime() -> Iterator[Runtime]:
    """The runtime for a user service, whose refusal (no such user, the last admin...) is a clear error, exit 1."""
    from bot.errors import ServiceError

    with _runtime() as rt:
        try:
            yield rt
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None


def _email(text: str) -> str:
    from bot.users import normalize_email

    try:
        return normalize_email(text)
    except ValueError as exc:
        raise click.ClickException(f"EMAIL {text!r} {exc}") from None


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "agent"]), required=True)
def users_create(email: str, role: str) -> None:
    """Create a user and print a one-time password (changed at first sign-in)."""
    from bot.users import create_user
    from storage.models import Role

    address = _email(email)
    with _user_runtime() as rt:
        new = create_user(rt, address, Role(role), actor="cli")
        login = f"{rt.settings.public_url}/login"
    click.echo(f"created {role} {address}; password: {new.password}")
    click.echo(f"It is shown only this once. Sign in at {login} and choose your own password.", err=True)


@users.command("list")
def users_list() -> None:
    """Every user with their role, state and last sign-in (never a password)."""
    from bot.users import list_users

    with _user_runtime() as rt:
        accounts = list_users(rt)
    width = max([len("email"), *(len(a.email) for a in accounts)])
    click.echo(f"{'email':<{width}}  {'role':<5}  {'state':<17}  last sign-in (UTC)")
    for account in accounts:
        last = f"{account.last_sign_in_at:%Y-%m-%d %H:%M}" if account.last_sign_in_at else "never"
        click.echo(f"{account.email:<{width}}  {account.role.value:<5}  {account.state:<17}  {last}")


@users.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Stop a user from signing in; their sessions end at once."""
    from bot.users import set_disabled

    address = _email(email)
    with _user_runtime() as rt:
        set_disabled(rt, address, True, actor="cli")
    click.echo(f"disabled {address}; their sessions have ended")


@users.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Let a disabled user sign in again."""
    from bot.users import set_disabled

    address = _email(email)
    with _user_runtime() as rt:
        set_disabled(rt, address, False, actor="cli")
    click.echo(f"enabled {address}")


@users.command("reset-password")
@click.argument("email")
def users_reset_password(email: str) -> None:
    """Print a new one-time password for a user; their sessions end and they choose a new one at sign-in."""
    from bot.users import reset_password

    address = _email(email)
    with _user_runtime() as rt:
        new = reset_password(rt, address, actor="cli")
    click.echo(f"reset {address}; password: {new.password}")
    click.echo("It is shown only this once; it must be changed at the next sign-in.", err=True)


@main.command()
@click.option("--history", default=None, metavar="DAYS",
              help="Also fill this many past days (such as 90d) with answers, cases and skips for /app/insights.")
def demo(history: str | None) -> None:
    """Load the example flows, a few contacts and events, and say where to look."""
    from bot.demo import load_demo
    from bot.demo_history import load_history, parse_days

    try:
        days = parse_days(history) if history else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--history") from None
    with _runtime() as rt:
        click.echo(load_demo(rt))
        if days:
            click.echo(load_history(rt, days))


@main.group()
def sites() -> None:
    """Web widget sites: where the pop-up may run, and the secret that verifies its users."""


@sites.command("create")
@click.argument("key")
@click.option("--origin", "origins", multiple=True, required=True,
              help="An origin the widget runs on, such as https://app.example.com; repeat for more.")
@click.option("--recontact-days", default=14, show_default=True, type=click.IntRange(0, 365),
              help="Days after any widget survey during which the widget shows the same user no other.")
@click.option("--name", default=None, help="A readable name (default: the key).")
def sites_create(key: str, origins: tuple[str, ...], recontact_days: int, name: str | None) -> None:
    """Create a site and print its public key and widget secret (the secret is shown only this once)."""
    from bot.sites import check_site_key, site_origins
    from storage.sites import SiteExists, create_site

    problems: list[str] = []
    allowed: list[str] = []
    try:
        check_site_key(key)
    except ValueError as exc:
        problems.append(f"key: {exc}")
    try:
        allowed = site_origins(list(origins))
    except ValueError as exc:
        problems.append(f"allowed_origins: {exc}")
    if name is not None and not name.strip():
        problems.append("name: may not be empty")
    if problems:
        raise click.ClickException("; ".join(problems))
    try:
        with _session() as session:
            site = create_site(session, key, allowed, recontact_days, name and name.strip())
            public_key, secret = site.public_key, site.secret
    except SiteExists:
        raise click.ClickException(f"a site with key {key} already exists") from None
    click.echo(f"site: {key}")
    click.echo(f"public key: {public_key}")
    click.echo(f"secret: {secret}")
    click.echo("Keep the secret on your server, where it signs user ids (HMAC-SHA256); it is not shown again.")


@sites.command("list")
def sites_list() -> None:
    """Every site with its public key, allowed origins and recontact period."""
    from storage.sites import list_sites

    with _session() as session:
        rows = [(s.key, s.public_key, ", ".join(s.allowed_origins), s.recontact_days) for s in list_sites(session)]
    for key, public_key, origins, days in rows:
        click.echo(f"{key}  {public_key}  recontact {days}d  {origins}")


@main.command()
@click.option("--flow", "flow_key", required=True, help="The flow to send (its key).")
@click.argument("contacts", type=click.File("r", encoding="utf-8-sig"))
@click.option("--campaign", default=None, help="Re-runs of one campaign send nothing twice (default: the file's "
              "name without its extension).")
@click.option("--dry-run", is_flag=True, help="Check every row and say who would be skipped and why; send nothing.")
def send(flow_key: str, contacts: Any, campaign: str | None, dry_run: bool) -> None:
    """Send a flow to a CSV list of contacts (a relationship survey); safe to run again."""
    from bot.bulk import send_flow_to_list
    from bot.errors import ServiceError
    from bot.inputs import read_contact_list

    name = contacts.name
    recipients, problems = read_contact_list(contacts)
    if problems:
        for problem in problems[:20]:
            click.echo(f"{name}:{problem.line}: {problem.field}: {problem.message}", err=True)
        raise click.ClickException(f"{len(problems)} problem(s) in {name}; nothing was sent")
    campaign = campaign or Path(name).stem
    with _runtime() as rt:
        try:
            with click.progressbar(length=len(recipients), label="contacts", file=sys.stderr,
                                   show_pos=True) as bar:
                report = send_flow_to_list(rt, flow_key, recipients, campaign, dry_run, bar.update)
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
    verb = "would schedule" if dry_run else "scheduled"
    click.echo(f"{flow_key} ({campaign}): {verb} {report.scheduled} survey(s) for {len(recipients)} contact(s)")
    if report.already:
        click.echo(f"  {report.already} already in this campaign (nothing new sent)")
    for reason, count in report.skipped.most_common():
        lines = ", ".join(str(line) for line in report.examples[reason])
        click.echo(f"  skipped {count}: {reason} (e.g. line {lines})")


def _export_time(name: str, value: str | None) -> datetime | None:
    from bot.inputs import parse_time

    if value is None:
        return None
    try:
        return parse_time(value, naive_is_utc=True)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (YYYY-MM-DD, or an ISO 8601 time)", param_hint=f"--{name}") from None


def _export(kind: str, flow: str | None, channel: str | None, since: str | None, until: str | None,
            queue: str | None = None) -> None:
    from sqlmodel import select

    from bot.insights import export_cases, export_responses, export_size
    from storage.followups import queue_by_key
    from storage.insights import ExportFilters
    from storage.models import Flow

    filters = ExportFilters(flow, channel, _export_time("since", since), _export_time("until", until), queue)
    export = export_responses if kind == "responses" else export_cases
    with _runtime() as rt:
        with rt.session() as session:
            if flow is not None and session.exec(select(Flow.id).where(Flow.key == flow).limit(1)).first() is None:
                raise click.BadParameter("no such flow", param_hint="--flow")
            if queue is not None and queue_by_key(session, queue) is None:
                raise click.BadParameter("no such queue", param_hint="--queue")
        if not sys.stderr.isatty():
            for chunk in export(rt, filters):
                sys.stdout.write(chunk)
        else:
            # A bar only for a person watching: counting the rows first costs a query a pipe need not pay.
            with click.progressbar(length=export_size(rt, kind, filters), label=kind, file=sys.stderr) as bar:
                for chunk in export(rt, filters, bar.update):
                    sys.stdout.write(chunk)
    sys.stdout.flush()


def _export_options(command: Callable[..., None]) -> Callable[..., None]:
    from channels.registry import CHANNEL_NAMES

    for option in reversed([
        click.option("--flow", default=None, help="Only this flow (its key)."),
        click.option("--channel", default=None, type=click.Choice(CHANNEL_NAMES)),
        click.option("--since", default=None, help="From this day or time (UTC unless an offset is given)."),
        click.option("--until", default=None, help="Up to, not including, this day or time."),
    ]):
        command = option(command)
    return command


@main.group()
def export() -> None:
    """CSV to stdout, for spreadsheets and BI tools: `touchpoint export responses --since 2026-01-01 > out.csv`."""


@export.command("responses")
@_export_options
def export_responses_command(flow: str | None, channel: str | None, since: str | None, until: str | None) -> None:
    """Responses answered in the range, oldest first: score, band, comment, sentiment, themes, event properties."""
    _export("responses", flow, channel, since, until)


@export.command("cases")
@_export_options
@click.option("--queue", default=None, help="Only the cases of this queue (its key).")
def export_cases_command(flow: str | None, channel: str | None, since: str | None, until: str | None,
                         queue: str | None) -> None:
    """Follow-up cases opened in the range, oldest first: queue, status, priority, assignee, times, score."""
    _export("cases", flow, channel, since, until, queue)


@main.group()
def segments() -> None:
    """Contact attributes and event properties tallied for the dashboard, so its segments read fast."""


@segments.command("list")
def segments_list() -> None:
    """The tallied segments, one a line (flow and channel always are)."""
    from bot.dashboard import tallied_segments

    with _runtime() as rt:
        for segment in tallied_segments(rt):
            click.echo(segment)


def _segment_change(segment: str, change: Callable[..., bool]) -> bool:
    from bot.insights import BadInsightQuery

    with _runtime() as rt:
        try:
            return change(rt, segment, "cli")
        except BadInsightQuery as exc:
            raise click.ClickException(f"SEGMENT {segment!r} {exc.message}") from None


@segments.command("pick")
@click.argument("segment")
def segments_pick(segment: str) -> None:
    """Tally SEGMENT (contact.<attribute> or event.<property>) from now on, counting the answers stored first:
    answers wait meanwhile (seconds over a million)."""
    from bot.dashboard import pick_segment

    done = _segment_change(segment, pick_segment)
    click.echo(f"{segment}: tallied" if done else f"{segment}: already tallied")


@segments.command("drop")
@click.argument("segment")
def segments_drop(segment: str) -> None:
    """Stop tallying SEGMENT; the dashboard counts it from the answers again."""
    from bot.dashboard import unpick_segment

    if not _segment_change(segment, unpick_segment):
        raise click.ClickException(f"{segment} is not tallied (touchpoint segments list)")
    click.echo(f"{segment}: no longer tallied")


@main.group()
def webhooks() -> None:
    """Outbound webhooks: URLs that get events, signed the Standard Webhooks way."""


@contextmanager
def _webhook_service() -> Iterator[Runtime]:
    """A service's refusal (no such webhook, a URL refused) is the command's error message."""
    from bot.errors import ServiceError

    with _runtime() as rt:
        try:
            yield rt
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None


@webhooks.command("create")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True,
              type=click.Choice(EVENT_TYPES),
              help="An event to send; repeat for more.")
@click.option("--description", default=None, help="What the receiver is, for people.")
def webhooks_create(url: str, events: tuple[str, ...], description: str | None) -> None:
    """Subscribe URL to events and print the signing secret (shown only this once)."""
    from bot.webhooks import create_subscription

    with _webhook_service() as rt, rt.session() as session:
        webhook = create_subscription(rt, session, url, list(events), description, actor="cli")
        webhook_id, secret = webhook.id, webhook.secret
    click.echo(f"webhook: {webhook_id}")
    click.echo(f"secret: {secret}")
    click.echo("Keep the secret with the receiver, which verifies every message with it; it is not shown again.")


@webhooks.command("list")
def webhooks_list() -> None:
    """Every subscription: id, state, pending messages, URL and events; a disabled one says why."""
    from bot.webhooks import list_subscriptions

    with _webhook_service() as rt, rt.session() as session:
        views = list_subscriptions(session)
    if not views:
        click.echo("no webhooks; add one with touchpoint webhooks create URL --event TYPE")
    for view in views:
        w = view.webhook
        state = "enabled" if w.enabled else "disabled"
        click.echo(f"{w.id:>4}  {state:<8}  pending {view.pending:<5} {w.url}  {', '.join(w.events)}")
        if w.disabled_reason and not w.enabled:
            click.echo(f"      disabled: {w.disabled_reason}")


def _set_enabled(webhook_id: int, enabled: bool) -> None:
    from bot.webhooks import update_subscription

    with _webhook_service() as rt, rt.session() as session:
        update_subscription(rt, session, webhook_id, enabled=enabled, actor="cli")
    click.echo(f"webhook {webhook_id} {'enabled' if enabled else 'disabled'}")


@webhooks.command("disable")
@click.argument("webhook_id", type=int)
def webhooks_disable(webhook_id: int) -> None:
    """Stop sending; new events are not queued for it, those already queued wait."""
    _set_enabled(webhook_id, False)


@webhooks.command("enable")
@click.argument("webhook_id", type=int)
def webhooks_enable(webhook_id: int) -> None:
    """Send again, starting with the events that waited."""
    _set_enabled(webhook_id, True)


@webhooks.command("delete")
@click.argument("webhook_id", type=int)
def webhooks_delete(webhook_id: int) -> None:
    """Delete a subscription with its pending events and its log."""
    from bot.webhooks import remove_subscription

    with _webhook_service() as rt, rt.session() as session:
        remove_subscription(session, webhook_id, actor="cli")
    click.echo(f"webhook {webhook_id} deleted")


@webhooks.command("rotate-secret")
@click.argument("webhook_id", type=int)
def webhooks_rotate(webhook_id: int) -> None:
    """Print a new signing secret; the old one also signs for 24 hours."""
    from bot.webhooks import rotate_secret

    with _webhook_service() as rt, rt.session() as session:
        webhook = rotate_secret(session, webhook_id, actor="cli")
        secret, until = webhook.secret, webhook.previous_until
    click.echo(f"secret: {secret}")
    click.echo(f"The previous secret also signs until {until:%Y-%m-%d %H:%M} UTC.")


@webhooks.command("test")
@click.argument("webhook_id", type=int)
def webhooks_test(webhook_id: int) -> None:
    """Send a webhook.test event now and say what the receiver answered."""
    from bot.webhook_delivery import send_test

    with _webhook_service() as rt:
        sent = send_test(rt, webhook_id)
    if not sent.attempt.ok:
        raise click.ClickException(f"webhook {webhook_id}: {sent.attempt.error} (message {sent.msg_id})")
    click.echo(f"webhook {webhook_id}: delivered, HTTP {sent.attempt.status_code} in {sent.attempt.ms} ms "
               f"(message {sent.msg_id})")


@main.group("root-causes")
def root_causes_group() -> None:
    """The root causes agents pick when resolving a case (required while the list has any)."""


def _list_name(value: str) -> str:
    from bot.case_admin import check_name

    try:
        return check_name(value)
    except ValueError as exc:
        raise click.ClickException(f"name: {exc}") from None


def _refused(error: Exception) -> click.ClickException:
    return click.ClickException(getattr(error, "message", str(error)))


@root_causes_group.command("add")
@click.argument("name")
def root_causes_add(name: str) -> None:
    """Add a root cause to the list."""
    from bot.case_admin import add_root_cause
    from bot.errors import ServiceError

    try:
        with _session() as session:
            added = add_root_cause(session, _list_name(name))
    except ServiceError as error:
        raise _refused(error) from None
    click.echo(f"added root cause: {added}")


@root_causes_group.command("list")
def root_causes_list() -> None:
    """Every root cause on the list, one a line."""
    from bot.case_admin import root_causes

    with _session() as session:
        names = root_causes(session)
    for name in names:
        click.echo(name)


@root_causes_group.command("remove")
@click.argument("name")
def root_causes_remove(name: str) -> None:
    """Take a root cause off the list; cases resolved with it keep it."""
    from bot.case_admin import remove_root_cause
    from bot.errors import ServiceError

    try:
        with _session() as session:
            removed = remove_root_cause(session, name)
    except ServiceError as error:
        raise _refused(error) from None
    click.echo(f"removed root cause: {removed}")


@main.group("saved-replies")
def saved_replies_group() -> None:
    """Saved replies: templates an agent starts a reply from ({{ contact.first_name }}, {{ score }}, {{ comment }})."""


@saved_replies_group.command("add")
@click.argument("name")
@click.option("--text", default=None, help="The reply's template.")
@click.option("--file", "path", default=None, help="Read the template from this file (UTF-8).")
@click.option("--replace", is_flag=True, help="Replace the saved reply of that name if there is one.")
def saved_replies_add(name: str, text: str | None, path: str | None, replace: bool) -> None:
    """Save a reply; its placeholders are checked now (an unknown one is refused with the reason)."""
    from bot.case_admin import check_reply_text, save_reply
    from bot.errors import InvalidValue, ServiceError

    if (text is None) == (path is None):
        raise click.UsageError("give the template with either --text or --file")
    where = "--text"
    if path is not None:
        where = path
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{path}: cannot read: {exc}") from None
    assert text is not None
    try:
        text = check_reply_text(text)
    except ValueError as exc:
        raise click.ClickException(f"{where}: {exc}") from None
    try:
        with _session() as session:
            reply, created = save_reply(session, _list_name(name), text, replace)
            saved = reply.name
    except InvalidValue as error:
        raise click.ClickException(f"{where}: {error.message}") from None
    except ServiceError as error:
        raise _refused(error) from None
    click.echo(f"{'saved' if created else 'replaced'} reply: {saved}")


@saved_replies_group.command("list")
def saved_replies_list() -> None:
    """Every saved reply: its name, then its template indented."""
    from bot.case_admin import saved_replies

    with _session() as session:
        replies = [(reply.name, reply.text) for reply in saved_replies(session)]
    for name, text in replies:
        click.echo(name)
        click.echo("".join(f"    {line}\n" for line in text.splitlines()), nl=False)


@saved_replies_group.command("remove")
@click.argument("name")
def saved_replies_remove(name: str) -> None:
    """Remove a saved reply."""
    from bot.case_admin import remove_saved_reply
    from bot.errors import ServiceError

    try:
        with _session() as session:
            removed = remove_saved_reply(session, name)
    except ServiceError as error:
        raise _refused(error) from None
    click.echo(f"removed reply: {removed}")


@main.group()
def themes() -> None:
    """Theme discovery: themes proposed from comments no theme covers, to accept (with a name), merge or reject."""


def _theme_call(action: Any) -> Any:
    from bot.errors import ServiceError

    with _runtime() as rt:
        try:
            return action(rt)
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None


@themes.command("proposals")
@click.option("--status", type=click.Choice(["proposed", "accepted", "rejected", "merged"]), default="proposed",
              show_default=True)
def themes_proposals(status: str) -> None:
    """Proposals with their typical words and example comments."""
    from bot.discovery import shown

    found = _theme_call(lambda rt: shown(rt, status))
    if not found:
        click.echo(f"no {status} theme proposals" + (" (the worker proposes daily; `touchpoint themes discover` "
                                                    "now)" if status == "proposed" else ""))
    for item in found:
        row = item.row
        named = f" -> {row.name}: {', '.join(row.keywords or [])}" if row.name else ""
        click.echo(f"#{row.id}  {row.size} comments  {', '.join(row.words)}{named}")
        for example in item.examples:
            click.echo(f"    \"{example[:100]}\"")


@themes.command("discover")
def themes_discover() -> None:
    """Propose themes now (undecided proposals are replaced)."""
    from bot.discovery import discover

    click.echo(f"{_theme_call(discover)} theme proposals")


@themes.command("accept")
@click.argument("proposal_id", type=int)
@click.option("--name", required=True, help="The theme's name (an existing one gains the keywords).")
@click.option("--keyword", "keywords", multiple=True, help="A keyword (repeat); default: the typical words.")
def themes_accept(proposal_id: int, name: str, keywords: tuple[str, ...]) -> None:
    """Accept PROPOSAL_ID into the taxonomy as NAME."""
    from bot.discovery import accept

    row = _theme_call(lambda rt: accept(rt, proposal_id, name, list(keywords) or None))
    click.echo(f"#{row.id} accepted as {row.name}: {', '.join(row.keywords or [])}")


@themes.command("reject")
@click.argument("proposal_id", type=int)
def themes_reject(proposal_id: int) -> None:
    """Reject PROPOSAL_ID."""
    from bot.discovery import reject

    row = _theme_call(lambda rt: reject(rt, proposal_id))
    click.echo(f"#{row.id} rejected")


@themes.command("merge")
@click.argument("proposal_ids", type=int, nargs=-1, required=True)
def themes_merge(proposal_ids: tuple[int, ...]) -> None:
    """Merge PROPOSAL_IDS (two or more) into one new proposal."""
    from bot.discovery import merge

    row = _theme_call(lambda rt: merge(rt, list(proposal_ids)))
    click.echo(f"#{row.id} proposed: {row.size} comments  {', '.join(row.words)}")


@main.group()
def model() -> None:
    """The learned sentiment model of this deployment: its versions, training by hand, and rollback."""


@model.command("list")
def model_list() -> None:
    """Every kept version, newest first; the active one is marked with *."""
    from bot.learning import models

    with _runtime() as rt:
        found = models(rt)
    if not found:
        click.echo("no model yet: the lexicon alone tags (the worker trains one once answers have comments)")
    for m in found:
        mark = "*" if m.active else " "
        click.echo(f"{mark} v{m.version}  trained {m.trained_at:%Y-%m-%d %H:%M} UTC  {m.examples} comments "
                   f"({m.corrections} corrected)  {m.size / 1024:.0f} KB")
    if found and not any(m.active for m in found):
        click.echo("none active: the lexicon alone tags; `touchpoint model train` trains and activates a new one")


@model.command("train")
def model_train() -> None:
    """Train a new version now from the newest comments and make it active (also after a rollback)."""
    from bot.learning import retrain

    with _runtime() as rt:
        trained = retrain(rt, by_hand=True)
    if trained.version is None:
        raise click.ClickException(f"no model trained: {trained.reason} ({trained.examples} usable)")
    click.echo(f"v{trained.version} active: {trained.examples} comments ({trained.corrections} corrected)")


@model.command("rollback")
@click.argument("version", required=False, type=int)
def model_rollback(version: int | None) -> None:
    """Make VERSION (default: the one before the active) active; with none before it, the lexicon alone tags.

    The worker then holds automatic retraining until `touchpoint model train` is run."""
    from bot.errors import ServiceError
    from bot.learning import rollback

    with _runtime() as rt:
        try:
            active = rollback(rt, version)
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"v{active} active" if active is not None else "no model active: the lexicon alone tags")
    click.echo("automatic retraining is held until `touchpoint model train`")


@main.group()
def alerts() -> None:
    """Score drops told to Slack and the admins (TOUCHPOINT_ALERTS*), and the insights digest."""


@alerts.command("check")
def alerts_check() -> None:
    """Compare every enabled flow's score with its baseline now, as the worker does every hour."""
    from bot.score_alerts import check_score_drops

    with _runtime() as rt:
        report = check_score_drops(rt)
    click.echo(f"fired {report.fired}, recovered {report.recovered}")


@alerts.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def alerts_list(limit: int) -> None:
    """The latest drops, newest first: open ones are still below their baseline."""
    from bot.score_alerts import figure, recent_alerts

    with _runtime() as rt:
        found = recent_alerts(rt, limit)
    if not found:
        click.echo("no score drop yet")
    for a in found:
        state = "open" if a.recovered_at is None else f"recovered {a.recovered_at:%Y-%m-%d %H:%M}"
        segment = f" {a.segment}" if a.segment else ""
        click.echo(f"#{a.id} {a.flow_key}{segment} {a.metric.upper()} {figure(a.metric, a.window_value)} against "
                   f"{figure(a.metric, a.baseline_value)} ({a.delta:+.1f}), fired {a.fired_at:%Y-%m-%d %H:%M} UTC, "
                   f"{state}, told: {a.notified or 'nobody'}")


@alerts.command("digest")
def alerts_digest() -> None:
    """Send the digest of the period just ended now, unless it went already (TOUCHPOINT_INSIGHTS_DIGEST)."""
    from bot.insights_digest import send_digest

    with _runtime() as rt:
        mailed = send_digest(rt)
    click.echo(f"digest sent to {mailed} admins" if mailed else "no digest due (sent already, off, or no admins)")
