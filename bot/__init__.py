"""The application around the core: Flask app, API and pages, services with I/O, worker and CLI."""
