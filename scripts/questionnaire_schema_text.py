"""Write the questionnaire schema's text rules (maxLength, printable pattern) into the file.

Run after changing pgx_report/contracts/text.py or a limit here:
    python scripts/questionnaire_schema_text.py
tests/test_questionnaire_text.py fails while the shipped schema differs from this.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pgx_report.contracts.text import printable_pattern, trimmed_printable_pattern

SCHEMA = (
    Path(__file__).resolve().parent.parent
    / "pgx_report"
    / "contracts"
    / "schemas"
    / "questionnaire.schema.json"
)
# field -> (maxLength, no spaces at either end); documented in docs/questionnaire.md
TEXT_FIELDS = {
    "sample_id": (100, True),
    "patient.id": (64, True),
    "patient.name": (200, True),
    "clinician.name": (200, False),
    "clinician.organisation": (200, False),
}


def _node(schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    node = schema
    for part in dotted.split("."):
        node = node["properties"][part]
    return node


def with_text_rules(schema: dict[str, Any]) -> dict[str, Any]:
    for dotted, (limit, trimmed) in TEXT_FIELDS.items():
        node = _node(schema, dotted)
        rules = {
            "minLength": 1,
            "maxLength": limit,
            "pattern": trimmed_printable_pattern() if trimmed else printable_pattern(),
        }
        description = node.get("description")
        kept = {k: v for k, v in node.items() if k not in rules and k != "description"}
        node.clear()
        node.update({**kept, **rules, "description": description})
    return schema


def schema_text(schema: dict[str, Any]) -> str:
    """The file text: 2-space JSON, non-ASCII kept, astral characters as JSON escapes."""
    text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"

    def escape(char: str) -> str:
        code = ord(char) - 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

    return "".join(escape(char) if ord(char) > 0xFFFF else char for char in text)


def main() -> None:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    SCHEMA.write_text(schema_text(with_text_rules(schema)), "utf-8")


if __name__ == "__main__":
    main()
