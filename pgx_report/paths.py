"""Where the package's own files are: data tables, JSON Schemas and report templates.

One place, so that moving a module never moves what it reads."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
SCHEMA_DIR = PACKAGE_DIR / "contracts" / "schemas"
# An installed wheel carries the top-level ``templates/`` as ``pgx_report/templates``; an
# editable install (or a checkout) has it beside the package.
TEMPLATE_DIRS = (PACKAGE_DIR / "templates", PACKAGE_DIR.parent / "templates")
