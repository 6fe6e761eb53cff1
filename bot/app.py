"""The Flask app factory."""

from __future__ import annotations

import gc

from flask import Flask, Response, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.api import api_blueprint
from bot.api.errors import register_error_handlers
from bot.inbox import AppInbox
from bot.logs import RequestIds
from bot.pages import web
from bot.pages.account import account_blueprint
from bot.pages.admin_api_keys import admin_api_keys_blueprint
from bot.pages.admin_audit import admin_audit_blueprint
from bot.pages.admin_lists import admin_lists_blueprint
from bot.pages.admin_settings import admin_settings_blueprint
from bot.pages.admin_themes import admin_themes_blueprint
from bot.pages.admin_users import admin_users_blueprint
from bot.pages.admin_webhooks import admin_webhooks_blueprint
from bot.pages.auth import auth_blueprint
from bot.pages.cases import cases_blueprint
from bot.pages.contacts import contacts_blueprint
from bot.pages.flows import flows_blueprint
from bot.pages.home import home_blueprint
from bot.pages.insights import insights_blueprint
from bot.pages.queues import queues_blueprint
from bot.pages.sandbox import sandbox_blueprint, sandbox_pages_allowed
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.telemetry import instrument, metrics_view
from storage.migrate import schema_problem


def freeze_startup_heap() -> None:
    """For a server process, once its app is built: what start-up made (modules, schemas, compiled templates)
    lives as long as the process, so the garbage collector stops scanning it, and the full collections that
    pause every request thread get shorter."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key_value, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    if settings.proxy_hops:  # the client's address and scheme as the proxies in front saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)  # type: ignore[method-assign]
    rt = build_runtime(settings)
    app.extensions["touchpoint"] = rt
    app.wsgi_app = RequestIds(app.wsgi_app)  # type: ignore[method-assign]

    register_error_handlers(app)
    app.register_blueprint(api_blueprint())

    inbox = AppInbox(rt)
    channel_of_blueprint: dict[str, str] = {}
    for channel in rt.channels.values():
        blueprint = channel.blueprint(inbox)
        if blueprint is not None:
            app.register_blueprint(blueprint)
            channel_of_blueprint[blueprint.name] = channel.name
    instrument(app, channel_of_blueprint)
    app.add_url_rule("/metrics", "metrics", metrics_view(rt), methods=["GET"])
    if sandbox_pages_allowed(rt):
        app.register_blueprint(sandbox_blueprint())

    web.install(app, settings)
    for blueprint in (auth_blueprint(), home_blueprint(), cases_blueprint(), queues_blueprint(), insights_blueprint(),
                      flows_blueprint(), contacts_blueprint(), account_blueprint(), admin_users_blueprint(),
                      admin_lists_blueprint(), admin_audit_blueprint(), admin_api_keys_blueprint(),
                      admin_webhooks_blueprint(), admin_settings_blueprint(), admin_themes_blueprint()):
        app.register_blueprint(blueprint)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        try:
            with rt.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            database = "ok"
        except Exception:
            database = "unreachable"
        body = {
            "status": "ok" if database == "ok" else "degraded",
            "database": {"backend": rt.engine.dialect.name, "state": database},
            "channels": {name: ch.transport.name for name, ch in rt.channels.items()},
        }
        return jsonify(body), 200 if database == "ok" else 503

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        """Ready to serve: the database answers and its schema is this release's (or a newer one's)."""
        try:
            problem = schema_problem(rt.engine)
        except Exception:  # the driver's text may name the host; the logs and /healthz tell the rest
            problem = "the database is unreachable"
        if problem is not None:
            return jsonify({"status": "unavailable", "reason": problem}), 503
        return jsonify({"status": "ready"}), 200

    return app
