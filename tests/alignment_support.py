"""Shared by the alignment/reference tests: the test-file generator in test_vcfs/alignments/."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from conftest import REPO_ROOT

GENERATOR = REPO_ROOT / "test_vcfs" / "alignments" / "generate.py"


def load_generator() -> ModuleType:
    """test_vcfs/alignments/generate.py (not a package: loaded by path, once)."""
    name = "alignment_generator"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses in the module look themselves up here
    spec.loader.exec_module(module)
    return module
