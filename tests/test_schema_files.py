"""Every bundled JSON Schema is a valid draft 2020-12 schema (metaschema check).

Done here once, not by pgx-report on every run (contracts/schema.py ``validator``)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from pgx_report.contracts.schema import SCHEMA_SUFFIX, validator
from pgx_report.paths import SCHEMA_DIR

SCHEMAS = sorted(path.name for path in SCHEMA_DIR.glob("*" + SCHEMA_SUFFIX))


def test_schemas_found() -> None:
    assert "call.schema.json" in SCHEMAS


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    assert schema.get("$schema") in (None, "https://json-schema.org/draft/2020-12/schema")
    jsonschema.Draft202012Validator.check_schema(schema)
    validator(name)  # builds, with the other schemas resolvable
