"""Apps with protections switched on, inside the rolled-back test session.

Flask-Limiter's ``limiter`` is one object for every app in the process, and ``init_app``
writes app settings onto it (enabled, storage, swallow-errors, fallback, default and
application limits; some only the first time). ``limiter_isolated`` gives each test a
limiter that reads the test app's settings afresh, and puts everything back afterwards,
so a limited app never leaks its limits (or its dead storage) into other tests.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager

import pytest

from leadrouter import create_app
from leadrouter.extensions import limiter
from tests.conftest import base_config

# Attributes init_app fills in only when they are still unset: clear them so the next
# app's settings are read, not the first app's.
_SET_ONCE = {
    "_swallow_errors": None,
    "_in_memory_fallback_enabled": False,
    "_in_memory_fallback": [],
    "_fallback_storage": None,
    "_fallback_limiter": None,
    "_storage_dead": False,
}


@contextmanager
def isolated_limiter():
    """The shared limiter reads the next app's settings afresh; everything is put back after."""
    saved = copy.copy(vars(limiter))
    saved_manager = copy.copy(vars(limiter.limit_manager))
    for name, value in _SET_ONCE.items():
        setattr(limiter, name, copy.copy(value))
    limiter.limit_manager._default_limits = []
    limiter.limit_manager._application_limits = []
    try:
        yield limiter
    finally:
        vars(limiter).clear()
        vars(limiter).update(saved)
        vars(limiter.limit_manager).clear()
        vars(limiter.limit_manager).update(saved_manager)


@pytest.fixture
def limiter_isolated():
    with isolated_limiter() as isolated:
        yield isolated


@pytest.fixture
def make_app(backend, database_urls, tmp_path, session, limiter_isolated):
    """Build an app on the test database with extra settings; its writes roll back with the test."""

    def build(**overrides):
        return create_app(base_config(database_urls[backend], str(tmp_path / "instance"), **overrides))

    return build
