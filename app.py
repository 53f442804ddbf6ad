"""Chalice's entry point: only wires the app from ``api/``."""

from api import create_app

app = create_app()
