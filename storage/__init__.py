"""Touchpoint's tables, engine and the queries that need care."""
