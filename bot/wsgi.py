"""WSGI entry point for gunicorn: `gunicorn bot.wsgi:app`."""

from bot.app import create_app, freeze_startup_heap

app = create_app()
freeze_startup_heap()
