"""Shared fixtures for the caller's tests: the test VCFs of test_vcfs/cases.yaml, built once
per session (every format) into a temporary folder."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "generate", REPO_ROOT / "test_vcfs" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATE = _generator()
CASES: dict[str, Any] = GENERATE.load_cases()


def require_tools() -> None:
    missing = [tool for tool in ("bgzip", "tabix", "bcftools") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run scripts/install-system-deps.sh (make system)")


_BUILT: dict[str, dict[str, Path]] = {}


def build_test_vcfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Build every case once per session (test modules share it through their fixture)."""
    if not _BUILT:
        require_tools()
        _BUILT.update(GENERATE.build_all(tmp_path_factory.mktemp("test_vcfs")))
    return _BUILT


def case_formats(name: str) -> tuple[str, ...]:
    return tuple(CASES["cases"][name].get("formats", GENERATE.FORMATS))
