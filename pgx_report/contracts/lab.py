"""The laboratory profile (``--lab LAB.yaml``): who performs the test, and how.

One YAML file per laboratory, validated by the published JSON Schema
``contracts/schemas/lab.schema.json``: the laboratory's name, address, contact (phone,
e-mail), accreditation statement, head of laboratory, the test (name and code), the
method (how the genotype was produced upstream), an analytical performance statement and
local limitations; every free text in English and Norwegian bokmål. The report prints it
(:mod:`pgx_report.outputs.report.view`); ``release``, ``amend`` and ``release-batch``
refuse to run without one.

:func:`load_lab` reads it: YAML through libyaml's safe loader (duplicate keys refused),
every text through the printable-text rule (:mod:`pgx_report.contracts.text`; a YAML
block's final line break is dropped first), then the schema. Every problem is one
:class:`InputError` naming the file and the field, as a JSON path and in words
(``lab.yaml: $.method.en (method, English text): ...``). The profile's SHA-256 (of the
file's bytes) and name go into the report's provenance (``report.json``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pgx_report.contracts.languages import LocalText
from pgx_report.contracts.report import LabRecord
from pgx_report.contracts.schema import Contract, check_version, json_path, schema_errors
from pgx_report.contracts.text import text_problem
from pgx_report.errors import InputError
from pgx_report.files.io import read_input_bytes, sha256_bytes

LAB = Contract("pgx-report.lab", ("1.0",))
SCHEMA_FILE = "lab.schema.json"

# What each field is called in an error message (the JSON path alone is not for users).
FIELD_WORDS: Mapping[str, str] = {
    "schema": "profile format name",
    "schema_version": "profile format version",
    "name": "laboratory name",
    "address": "address",
    "contact": "contact",
    "contact.phone": "phone number",
    "contact.email": "e-mail address",
    "accreditation": "accreditation statement",
    "director": "head of laboratory",
    "director.name": "name of the head of laboratory",
    "director.role": "role of the head of laboratory",
    "test": "test",
    "test.name": "test name",
    "test.code": "test code",
    "method": "method",
    "performance": "analytical performance statement",
    "limitations": "local limitations",
}
_LANGUAGE_WORDS = {"en": "English text", "nb": "Norwegian text"}
_PATTERN_WORDS = {
    "contact.email": "is not an e-mail address (name@example.org)",
    "contact.phone": "is not a phone number (digits, spaces, + ( ) . / -)",
}


@dataclass(frozen=True)
class Director:
    name: str
    role: LocalText


@dataclass(frozen=True)
class LabProfile:
    """A validated laboratory profile; ``sha256`` is the digest of the file's bytes."""

    path: Path
    sha256: str
    name: str
    address: tuple[str, ...]
    phone: str
    email: str
    accreditation: LocalText
    director: Director
    test_name: LocalText
    test_code: str
    method: LocalText
    performance: LocalText
    limitations: tuple[LocalText, ...]

    def record(self) -> LabRecord:
        """What the report embeds about its laboratory (``report.json``'s ``lab``)."""
        return LabRecord(self.name, self.sha256, self.address, self.phone, self.email)


def field_words(parts: Sequence[Any]) -> str:
    """``("method", "en")`` -> ``method, English text``; ``("limitations", 1, "nb")`` ->
    ``local limitations, item 2, Norwegian text``."""
    words: list[str] = []
    keys: list[str] = []
    for part in parts:
        if isinstance(part, int):
            words.append(f"item {part + 1}")
            continue
        keys.append(str(part))
        dotted = ".".join(keys)
        if dotted in FIELD_WORDS:
            parent = FIELD_WORDS.get(".".join(keys[:-1]))
            if parent in words:  # "phone number", not "contact, phone number"
                words.remove(parent)
            words.append(FIELD_WORDS[dotted])
        elif part in _LANGUAGE_WORDS:
            words.append(_LANGUAGE_WORDS[str(part)])
        else:
            words.append(repr(str(part)))
    return ", ".join(words)


def _where(parts: Sequence[Any]) -> str:
    path = json_path(parts)
    words = field_words(parts)
    return f"{path} ({words})" if words and "'" not in words else path


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader (when PyYAML has it) that refuses a key given twice."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (each key may appear only once)",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path, data: bytes) -> Any:
    try:
        return yaml.load(data.decode("utf-8"), Loader=_Loader)  # a safe loader (libyaml)
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        text = str(exc).replace(' in "<unicode string>",', "")
        raise InputError(path, f"not valid YAML: {text}") from None


def _texts(value: Any, parts: tuple[Any, ...], path: Path) -> Any:
    """``value`` with every string checked by the printable-text rule (a final line
    break, as YAML's ``>`` and ``|`` blocks end, dropped first)."""
    if isinstance(value, str):
        text = value.removesuffix("\n")
        problem = text_problem(text)
        if problem:
            raise InputError(path, f"{_where(parts)}: {problem}")
        return text
    if isinstance(value, Mapping):
        return {key: _texts(item, (*parts, key), path) for key, item in value.items()}
    if isinstance(value, list):
        return [_texts(item, (*parts, index), path) for index, item in enumerate(value)]
    return value


def _schema_problem(err: Any) -> tuple[tuple[Any, ...], str]:
    """Where a schema error is, and what is wrong, in words."""
    parts = tuple(err.absolute_path)
    kind = err.validator
    if kind == "required":
        missing = next(k for k in err.validator_value if k not in err.instance)
        return (*parts, missing), "missing (required)"
    if kind == "additionalProperties" and isinstance(err.instance, Mapping):
        allowed = sorted((err.schema.get("properties") or {}).keys())
        unknown = sorted(k for k in err.instance if k not in allowed)
        return (*parts, unknown[0]), f"unknown key (allowed here: {', '.join(allowed)})"
    dotted = ".".join(str(p) for p in parts if not isinstance(p, int))
    if kind == "pattern":
        return parts, _PATTERN_WORDS.get(dotted, "has a character or form not allowed here")
    if kind == "maxLength":
        return parts, f"{len(err.instance)} characters, more than the {err.validator_value} allowed"
    if kind == "minLength":
        return parts, "empty (give a text)"
    if kind == "format":
        return parts, _PATTERN_WORDS.get(dotted, err.message)
    if kind == "type":
        return parts, f"expected {err.validator_value}, found {type(err.instance).__name__}"
    if kind == "maxItems":
        return parts, f"{len(err.instance)} items, more than the {err.validator_value} allowed"
    return parts, err.message


def parse_lab(data: bytes, path: Path) -> LabProfile:
    """The validated profile in ``data`` (the bytes of ``path``)."""
    raw = _read_yaml(path, data)
    if not isinstance(raw, Mapping):
        raise InputError(path, "a laboratory profile is a YAML mapping (see demo/lab.yaml)")
    raw = _texts(raw, (), path)
    check_version(raw, LAB, path)
    errors = schema_errors(raw, SCHEMA_FILE)
    if errors:
        parts, what = _schema_problem(errors[0])
        raise InputError(path, f"{_where(parts)}: {what}")

    def text(value: Mapping[str, str]) -> LocalText:
        return LocalText(en=value["en"], nb=value["nb"])

    return LabProfile(
        path=path,
        sha256=sha256_bytes(data),
        name=raw["name"],
        address=tuple(raw["address"]),
        phone=raw["contact"]["phone"],
        email=raw["contact"]["email"],
        accreditation=text(raw["accreditation"]),
        director=Director(raw["director"]["name"], text(raw["director"]["role"])),
        test_name=text(raw["test"]["name"]),
        test_code=raw["test"]["code"],
        method=text(raw["method"]),
        performance=text(raw["performance"]),
        limitations=tuple(text(item) for item in raw["limitations"]),
    )


def load_lab(path: str | Path) -> LabProfile:
    """Read and validate the laboratory profile at ``path`` (exit 2 naming the field).

    A path that is not a file (``--lab`` used to take the laboratory's name) says so."""
    path = Path(path)
    if not path.is_file():
        reason = "is not a file" if path.exists() else "no such file"
        raise InputError(
            path,
            f"{reason}: --lab takes the laboratory's profile, a YAML file (see "
            "demo/lab.yaml and docs/report.md), no longer the laboratory's name",
        )
    return parse_lab(read_input_bytes(path), path)
