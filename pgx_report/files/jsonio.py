"""Strict JSON reading: the one reader of every JSON input, with one set of error messages.

UTF-8 (a byte-order mark is allowed), not empty, valid JSON, each key at most once in an
object. A problem is ``error(source, message)`` (an :class:`InputError` by default), one line
naming the file: ``not UTF-8 text (byte 0xff at offset 15)``, ``file is empty (expected a
JSON object)``, ``line 1 column 19: invalid JSON: <what the parser says>``, ``duplicate key
'a' (each key may appear only once)``; a missing or unreadable file is reported by
:func:`pgx_report.files.io.read_input_bytes`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pgx_report.errors import InputError, PgxError
from pgx_report.files.io import read_input_bytes


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def parse_json(data: bytes, source: str | Path | None, error: type[PgxError] = InputError) -> Any:
    """The JSON value in ``data`` (strict, see the module); ``source`` names it in errors."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            source, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    if not text.strip():
        raise error(source, "file is empty (expected a JSON object)")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKeyError as exc:
        raise error(source, f"duplicate key {exc.key!r} (each key may appear only once)") from None
    except json.JSONDecodeError as exc:
        raise error(
            source, f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"
        ) from None


def read_json(path: str | Path, error: type[InputError] = InputError) -> tuple[Any, bytes]:
    """(parsed JSON, raw bytes) of the file at ``path``, read as :func:`parse_json` reads."""
    data = read_input_bytes(path, error)
    return parse_json(data, path, error), data
