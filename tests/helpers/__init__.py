"""Helpers the tests import by name (``from tests.helpers.synthetic import write_run``); fixtures built
from them live in ``tests/conftest.py``."""

from __future__ import annotations

from pathlib import Path

#: the checkout's top folder
ROOT = Path(__file__).resolve().parents[2]
