"""The app's sandbox, for the control plane's routes (inside a request)."""

from __future__ import annotations

from flask import current_app

from simulator.sandbox import EXTENSION, Sandbox


def sandbox() -> Sandbox:
    sb: Sandbox = current_app.extensions[EXTENSION]
    return sb
