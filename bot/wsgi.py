"""WSGI entry point for gunicorn: `gunicorn bot.wsgi:app`."""

import logging

from bot.app import create_app, freeze_startup_heap
from bot.settings import Settings

settings = Settings()
app = create_app(settings)
if "secret_key" not in settings.model_fields_set:
    # Each gunicorn worker imports this module, so each would sign sessions with a key of its own.
    logging.getLogger(__name__).warning("TOUCHPOINT_SECRET_KEY is not set: every web process signs sessions with a "
                                        "random key of its own, so sign-ins do not hold across processes or restarts")
freeze_startup_heap()
