"""The JSON Schemas of the contracts: one loader, one validator builder, one version rule.

Every contract (``call.json``, the questionnaire, ``assessment.json``) is described by a
JSON Schema (draft 2020-12) in ``contracts/schemas/``. :func:`load_schema` reads one,
:func:`validator` builds its validator (formats checked; the other schemas resolvable by
file name or ``$id``, so the assessment can ``$ref`` the questionnaire), and
:func:`check_version` is the one rule for a contract's ``schema`` / ``schema_version``
fields: the name must be the contract's, the version one this pgx-report reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgx_report.errors import InputError
from pgx_report.paths import SCHEMA_DIR

if TYPE_CHECKING:
    import jsonschema

SCHEMA_SUFFIX = ".schema.json"


@dataclass(frozen=True)
class Contract:
    """A versioned file contract: its ``schema`` name and the versions read."""

    name: str
    versions: tuple[str, ...]

    @property
    def version(self) -> str:
        """The version this pgx-report writes (the newest it reads)."""
        return self.versions[-1]


CALL = Contract("pgx-report.call", ("1.0", "1.1"))  # 1.1: region digest (docs/calling.md)
ASSESSMENT = Contract("pgx-report.assessment", ("1.0", "1.1"))  # 1.1: region_sha256 inputs


@cache
def load_schema(file_name: str) -> dict[str, Any]:
    """The schema ``contracts/schemas/<file_name>`` (e.g. ``call.schema.json``), parsed once."""
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / file_name).read_text(encoding="utf-8"))
    return schema


def _registry() -> Any:
    import referencing

    registry: referencing.Registry[Any] = referencing.Registry()
    for path in sorted(SCHEMA_DIR.glob("*" + SCHEMA_SUFFIX)):
        schema = load_schema(path.name)
        resource = referencing.Resource.from_contents(
            schema, default_specification=referencing.jsonschema.DRAFT202012
        )
        registry = registry.with_resource(path.name, resource)
        if "$id" in schema:
            registry = registry.with_resource(schema["$id"], resource)
    return registry


@cache
def validator(file_name: str) -> jsonschema.protocols.Validator:
    """The draft 2020-12 validator of one schema (formats checked).

    The bundled schemas are not checked against the metaschema here, on every run:
    tests/test_schema_files.py does that once for every file in ``contracts/schemas/``."""
    import jsonschema

    schema = load_schema(file_name)
    cls = jsonschema.Draft202012Validator
    built: jsonschema.protocols.Validator = cls(
        schema, registry=_registry(), format_checker=cls.FORMAT_CHECKER
    )
    return built


def schema_errors(data: Any, file_name: str) -> list[jsonschema.ValidationError]:
    """Every schema error of ``data``: first those of a field on its own, then those a
    condition on another field implies (``if``/``then``/``else``, ``dependent*``), each
    group ordered by where it is in the document. So the first error names the field a
    user got wrong: a ``status`` of "weird" is an error in ``status``, not the
    ``carrier: None was expected`` the rule for a non-called status adds."""
    errors = [_precise(err) for err in validator(file_name).iter_errors(data)]
    return sorted(
        errors,
        key=lambda err: (
            _conditional(err),
            [_sort_key(part) for part in err.absolute_path],
        ),
    )


def _precise(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For "not valid under any of the given schemas" (``oneOf``/``anyOf``), the error
    inside the alternative the value was meant to be (jsonschema's ``best_match``), which
    names the field itself: ``overall.completeness.nb: 12345 is not of type 'string'``."""
    if err.validator in ("oneOf", "anyOf") and err.context:
        from jsonschema.exceptions import best_match

        found: jsonschema.ValidationError | None = best_match([err])
        if found is not None:
            return found
    return err


_CONDITIONS = frozenset({"if", "then", "else", "dependentSchemas", "dependentRequired"})


def _conditional(err: jsonschema.ValidationError) -> bool:
    return any(part in _CONDITIONS for part in err.absolute_schema_path)


def error_message(err: jsonschema.ValidationError, limit: int = 60) -> str:
    """``err.message`` with a long offending value shortened (a 10 000-character name
    would otherwise be the whole error line)."""
    shown = repr(err.instance)
    if len(shown) <= limit:
        return err.message
    end = shown[0] if shown[0] in "'\"" else ""  # a string's closing quote
    return err.message.replace(shown, f"{shown[: limit - 4]}...{end} ({len(shown)} characters)")


def _sort_key(part: Any) -> tuple[int, Any]:
    return (0, part) if isinstance(part, int) else (1, str(part))


def json_path(parts: Iterable[Any]) -> str:
    """``$.a.b[0]`` for the path parts ``("a", "b", 0)``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def check_version(data: Mapping[str, Any], contract: Contract, source: str | Path | None) -> None:
    """The one version rule: ``schema`` names the contract, ``schema_version`` is read here."""
    name = data.get("schema")
    if name != contract.name:
        raise InputError(source, f"$.schema: {name!r} is not {contract.name!r}")
    version = data.get("schema_version")
    if version not in contract.versions:
        raise InputError(
            source,
            f"$.schema_version: {version!r} is not supported "
            f"(this pgx-report reads {', '.join(contract.versions)})",
        )
