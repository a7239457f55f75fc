"""Shared fixtures: run every test from the repository root so relative model paths resolve."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _repo_root_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def write_model(tmp_path: Path, text: str, name: str = "model.toml") -> Path:
    """Write TOML text to a file in ``tmp_path`` and return its path."""
    path = tmp_path / name
    path.write_text(text)
    return path


os.environ.setdefault("IL6SIM_TESTING", "1")
# compiled SBML programs (il6sim.sbml_native) go to a fresh directory, not the user's cache
os.environ.setdefault("IL6SIM_CACHE_DIR", tempfile.mkdtemp(prefix="il6sim-test-cache-"))

from hypothesis import settings  # noqa: E402

# Deterministic examples: the same draws on every machine, so CI is reproducible. Set
# HYPOTHESIS_PROFILE=explore for fresh random draws.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
