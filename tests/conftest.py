"""Shared fixtures: paths, a copy of the minimal corpus, the golden-file flag, no network."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MINIMAL = FIXTURES / "minimal"
DATA = ROOT / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the golden files from the current outputs instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def minimal_copy(tmp_path: Path) -> Path:
    """A writable copy of the minimal corpus, laid out as <tmp>/data/."""
    target = tmp_path / "data"
    shutil.copytree(MINIMAL, target)
    return target


class NetworkBlocked(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make any attempt to open a network connection fail loudly, and record it."""
    attempts: list[str] = []

    def deny(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args[:2]))
        raise NetworkBlocked(f"network access attempted: {args[:2]!r}")

    monkeypatch.setattr(socket.socket, "connect", deny)
    monkeypatch.setattr(socket.socket, "connect_ex", deny)
    monkeypatch.setattr(socket, "create_connection", deny)
    monkeypatch.setattr(socket, "getaddrinfo", deny)
    yield attempts
