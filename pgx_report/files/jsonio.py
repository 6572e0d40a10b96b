"""Strict JSON reading: the one reader of every JSON input, with one set of error messages.

UTF-8 (a UTF-8 byte-order mark is allowed), not empty, valid JSON, each key at most once in
an object, and only values every JSON reader understands the same way. A problem is
``error(source, message)`` (an :class:`InputError` by default), one line naming the file:

- ``not UTF-8 text (byte 0xff at offset 15)``; ``not UTF-8 text (a UTF-16 byte-order
  mark; save the file as UTF-8)``
- ``file is empty (expected a JSON object)``
- ``line 1 column 19: invalid JSON: <what the parser says>``
- ``duplicate key 'a' (each key may appear only once)``
- ``$.drinking.audit_score: NaN is not a number (allowed: finite JSON numbers)``: the
  non-standard constants ``NaN``, ``Infinity``, ``-Infinity`` that Python's parser accepts,
  and numbers too large for a float (``1e400``), are refused
- ``$.drinking.audit_score: an integer with 5000 digits (allowed: at most 20 digits)``
- ``$.patient.name: text holds a lone UTF-16 surrogate \\ud800 (not Unicode text)``
- ``nested deeper than 64 levels (at $.x[0][0]...)``

``-0`` and ``-0.0`` are read as ``0`` and ``0.0``: the same number in JSON, and a report
never prints a negative zero. A missing or unreadable file is reported by
:func:`pgx_report.files.io.read_input_bytes`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pgx_report.errors import InputError, PgxError
from pgx_report.files.io import read_input_bytes

MAX_DEPTH = 64
MAX_INT_DIGITS = 20


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _Refused:
    """A value the parser met but may not pass on; found by :func:`_first_problem`."""

    def __init__(self, message: str) -> None:
        self.message = message


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a number (allowed: finite JSON numbers)")


def _float(text: str) -> float | _Refused:
    value = float(text)
    if not math.isfinite(value):
        shown = text if len(text) <= 20 else text[:17] + "..."
        return _Refused(f"{shown} is too large for a number (allowed: finite JSON numbers)")
    return value + 0.0  # -0.0 + 0.0 == 0.0: no negative zero


def _int(text: str) -> int | _Refused:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return _Refused(
            f"an integer with {digits} digits (allowed: at most {MAX_INT_DIGITS} digits)"
        )
    return int(text)


def _path(parts: list[str | int]) -> str:
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)


def _text_problem(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"text holds a lone UTF-16 surrogate \\u{ord(text[exc.start]):04x} (not Unicode text)"
        )
    return None


def _first_problem(value: Any) -> str | None:
    """The first refused value, lone surrogate or too-deep nesting, walked without recursion."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        node, parts = stack.pop()
        if len(parts) > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels (at {_path(parts)[:80]})"
        if isinstance(node, _Refused):
            return f"{_path(parts)}: {node.message}"
        if isinstance(node, str):
            problem = _text_problem(node)
            if problem:
                return f"{_path(parts)}: {problem}"
        elif isinstance(node, dict):
            for key, item in reversed(node.items()):
                problem = _text_problem(key)
                if problem:
                    return f"{_path(parts)}: a key {problem.removeprefix('text ')}"
                stack.append((item, [*parts, key]))
        elif isinstance(node, list):
            stack.extend((item, [*parts, index]) for index, item in reversed(list(enumerate(node))))
    return None


def _decode(data: bytes, source: str | Path | None, error: type[PgxError]) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise error(source, "not UTF-8 text (a UTF-16 byte-order mark; save the file as UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            source, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def parse_json(data: bytes, source: str | Path | None, error: type[PgxError] = InputError) -> Any:
    """The JSON value in ``data`` (strict, see the module); ``source`` names it in errors."""
    text = _decode(data, source, error)
    if not text.strip():
        raise error(source, "file is empty (expected a JSON object)")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
        )
    except _DuplicateKeyError as exc:
        raise error(source, f"duplicate key {exc.key!r} (each key may appear only once)") from None
    except json.JSONDecodeError as exc:
        raise error(
            source, f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    except RecursionError:
        raise error(source, f"nested deeper than {MAX_DEPTH} levels") from None
    problem = _first_problem(value)
    if problem:
        raise error(source, problem)
    return value


def read_json(path: str | Path, error: type[InputError] = InputError) -> tuple[Any, bytes]:
    """(parsed JSON, raw bytes) of the file at ``path``, read as :func:`parse_json` reads."""
    data = read_input_bytes(path, error)
    return parse_json(data, path, error), data
