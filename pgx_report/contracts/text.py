"""Free text that is printed (names, identifiers, paths): the one rule for its characters.

Refused: Unicode control and format characters and the other characters that print as
nothing, or as something else than they are (general categories ``Cc`` control incl. NUL,
tab and newline; ``Cf`` format, e.g. the right-to-left override U+202E and the zero-width
space, joiners and word joiner U+200B..U+200D, U+2060; ``Zl`` / ``Zp`` line and paragraph
separators; ``Cs`` surrogates; ``Co`` private use). A right-to-left override can make an id
print as another id; a zero-width character or NUL vanishes from print, so two different
ids would look the same.

:func:`text_problem` is the check (used by the questionnaire and the sample sheet);
:func:`unprintable_in` applies it to every key and string of a parsed YAML/JSON document
(the YAML files read at run time: the site definition, populations, assay files, the
workflow config);
:data:`PRINTABLE_PATTERN` says the same as a JSON Schema ``pattern`` (for the published
schema and the browser form), generated from the same table by :func:`printable_pattern`.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Mapping
from functools import cache
from typing import Any

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co"})


def _shown(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"


def text_problem(text: str) -> str | None:
    """What is wrong with the characters of ``text`` (the first refused one), or None."""
    if text.isprintable():  # no Other (Cc Cf Cs Co Cn) or Separator but space: none refused
        return None
    for position, char in enumerate(text, start=1):
        category = unicodedata.category(char)
        if category in REFUSED_CATEGORIES:
            return (
                f"character {position} is {_shown(char)}, a control or format "
                "character (allowed: printable text on one line, no tabs or line breaks)"
            )
    return None


def unprintable_in(data: Any) -> tuple[str, str] | None:
    """The first key or string anywhere in ``data`` (parsed YAML/JSON: mappings, lists,
    scalars) that :func:`text_problem` refuses, as ``($.json.path, problem)``; else None.
    A key is named as the path to it (``$.assays``: key 'x\u202e': ...)."""
    stack: list[tuple[str, Any]] = [("$", data)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                return where, problem
        elif isinstance(node, Mapping):
            items = list(node.items())
            for key, _value in items:
                problem = text_problem(key) if isinstance(key, str) else None
                if problem:
                    return where, f"key {key[:40]!r}: {problem}"
            stack.extend((f"{where}.{key}", value) for key, value in reversed(items))
        elif isinstance(node, list | tuple):
            stack.extend((f"{where}[{i}]", value) for i, value in reversed(list(enumerate(node))))
    return None


@cache
def refused_ranges() -> tuple[tuple[int, int], ...]:
    """The code point ranges of the refused categories (this Python's Unicode tables),
    computed once: the pattern and the form's names both walk them."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) in REFUSED_CATEGORIES:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return tuple(ranges)


def _char(code: int) -> str:
    # BMP as a regex escape (Python re and JavaScript read \\uXXXX alike); astral code points
    # literally, which both read as one character (JavaScript with the "u" flag).
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


@cache
def printable_pattern() -> str:
    """A regex (Python ``re`` and JavaScript ``u``) matching text with no refused character.

    ``(?![\\s\\S])`` is the true end of the text: ``$`` would also match before a final
    newline in Python.
    """
    parts = "".join(
        _char(low) if low == high else f"{_char(low)}-{_char(high)}"
        for low, high in refused_ranges()
    )
    return f"^[^{parts}]*(?![\\s\\S])"


def trimmed_printable_pattern() -> str:
    """:func:`printable_pattern`, and no space at either end (identifiers and names)."""
    return "^(?=\\S)(?![\\s\\S]*\\s(?![\\s\\S]))" + printable_pattern().removeprefix("^")


@cache
def refused_names() -> dict[str, str]:
    """Hex code point -> Unicode name of every refused character that has a name (for the
    browser form, so its messages say what :func:`text_problem` says)."""
    return {
        f"{code:04X}": name
        for low, high in refused_ranges()
        for code in range(low, high + 1)
        if (name := unicodedata.name(chr(code), ""))
    }
