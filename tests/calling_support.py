"""Shared fixtures for the caller's tests: the test VCFs of test_vcfs/cases.yaml, built once
per session (every format) into a temporary folder."""

from __future__ import annotations

import importlib.util
import itertools
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


# --------------------------------------------------------------------------- input digests


def independent_region_digest(path: Path, ranges: list[list[int]], index: Path | None) -> str:
    """The region digest (docs/calling.md, "Input digest") written out from the spec,
    without pgx-report's code: SHA-256 over the scheme line, size, index hash, ranges."""
    import hashlib

    size = path.stat().st_size
    index_sha = hashlib.sha256(index.read_bytes()).hexdigest() if index is not None else "-"
    data = path.read_bytes()
    stream = f"pgx-report-region-sha256/1\nsize {size}\nindex {index_sha}\n".encode()
    for start, end in ranges:
        stream += f"range {start} {end}\n".encode() + data[start:end]
    return hashlib.sha256(stream).hexdigest()


def check_input_identity(path: Path, source: dict[str, Any], index: Path | None) -> None:
    """``provenance.input`` identifies ``path``: a whole-file SHA-256 equal to the file's,
    or a region digest that recomputes from its own ranges and starts at byte 0."""
    import hashlib

    assert "sha256" in source or "region_digest" in source, source
    if "sha256" in source:
        assert source["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    region = source.get("region_digest")
    if region is not None:
        ranges = region["ranges"]
        assert region["size"] == path.stat().st_size
        assert ranges and ranges[0][0] == 0, "the header is always covered"
        assert all(a < b <= c for (a, b), (c, _) in itertools.pairwise(ranges))
        assert ranges[-1][1] <= region["size"]
        assert region["sha256"] == independent_region_digest(path, ranges, index)
