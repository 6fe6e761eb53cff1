"""One package per channel (its transport, webhooks, pages, parsing and files), on the shared interface in
base.py; registry.py lists them and sandbox.py stands in for a provider without credentials."""
