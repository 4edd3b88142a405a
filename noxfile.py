"""Developer sessions: ``nox -s tests``, ``lint``, ``typecheck``, ``demo`` and ``bench``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = None  # the interpreter nox itself runs on; CI machines have exactly one


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite against the embedded fake WeCom server (loopback only)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests and the benchmarks."""
    session.install("-e", ".[dev]", "nox")
    session.run("mypy", "--strict")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: the demo on the embedded fake server."""
    session.install("-e", ".[callbacks]")
    session.run("wecom-async", "demo", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks B1–B11 (loopback only, about ten minutes); rewrites benchmarks/RESULTS.md.

    ``nox -s bench -- --only B1 B4`` runs some of them (RESULTS.md then lists only those).
    """
    # dev brings every extra the benchmarks touch (redis, arrow, ical) and their test-only peers.
    session.install("-e", ".[dev,bench]")
    session.run("python", "-m", "benchmarks", "--command", "nox -s bench", *session.posargs)
