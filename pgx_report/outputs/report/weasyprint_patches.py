"""Speed-ups around WeasyPrint, tinyhtml5, pydyf and ctypes, kept apart from the report.

Each one changes how long a PDF takes, never a byte of it:

- :func:`import_weasyprint`: import WeasyPrint without cffi's shared-library search;
- :func:`repair_html_parser_cache`: make tinyhtml5's regular-expression cache hit;
- :func:`cyclic_gc_paused`: no cyclic garbage collection while a document is laid out;
- :func:`compress_streams_once`: each PDF stream is compressed once, not twice.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import re
import sys
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def _no_library_search() -> Iterator[None]:
    """While WeasyPrint is imported on Linux, answer cffi's library searches with "not found".

    WeasyPrint 70 tries each shared library (GLib, Pango, HarfBuzz, fontconfig) under
    several names and loads the Linux soname (``libpango-1.0.so.0``) directly; for each
    name that fails first, cffi calls ``ctypes.util.find_library``, which runs ``ldconfig``,
    ``gcc`` and ``ld`` in subprocesses: about 50 subprocesses and 0.2-0.6 s per process
    start, only to find nothing. The libraries loaded are the same."""
    import ctypes.util

    original = ctypes.util.find_library

    def not_found(name: str) -> None:
        return None

    ctypes.util.find_library = not_found
    try:
        yield
    finally:
        ctypes.util.find_library = original


def import_weasyprint() -> None:
    """Import WeasyPrint once per process, without the library search when it is not
    needed (see :func:`_no_library_search`); if that fails, import it the ordinary way."""
    if "weasyprint" in sys.modules or not sys.platform.startswith("linux"):
        return
    try:
        with _no_library_search(), contextlib.redirect_stdout(io.StringIO()):
            import weasyprint
    except OSError:  # a library only the search finds: forget the partial import, retry
        for name in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
            del sys.modules[name]
        import weasyprint  # noqa: F401


class CharactersUntilRegex(dict[tuple[Any, bool], "re.Pattern[str]"]):
    """tinyhtml5's cache of the regular expressions its tokenizer scans text with.

    tinyhtml5 2.x fills its cache with ``characters = cache[(characters, opposite)] =
    regex``, which assigns ``characters`` first, so the entry is stored under the
    compiled pattern and every later lookup misses: the expression is built and looked up
    in ``re``'s cache again for every run of text (about a third of the HTML parse).
    This mapping builds the same expression, with the same code, on the first lookup of
    a key and keeps it under that key, so the tokenizer finds it the next time."""

    def __missing__(self, key: tuple[Any, bool]) -> re.Pattern[str]:
        characters, opposite = key
        regex = "".join([f"\\x{ord(character):02x}" for character in characters])
        if not opposite:
            regex = f"^{regex}"
        pattern = self[key] = re.compile(f"[{regex}]+")
        return pattern


@functools.cache
def repair_html_parser_cache() -> None:
    """Install :class:`CharactersUntilRegex` in tinyhtml5 (WeasyPrint's HTML parser),
    once per process; a tinyhtml5 without that cache is left alone."""
    try:
        from tinyhtml5 import inputstream  # type: ignore[import-untyped]
    except ImportError:
        return
    if type(getattr(inputstream, "characters_until_regex", None)) is dict:
        inputstream.characters_until_regex = CharactersUntilRegex()


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while WeasyPrint lays out a document.

    A render allocates hundreds of thousands of short-lived objects; the collector's
    repeated passes over them cost about a tenth of the render time. Nothing is leaked:
    reference counting frees most objects at once, and the collector, turned back on
    afterwards, reclaims the cycles on its next pass."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_ONCE_CLASSES: dict[Any, type] = {}


def _once_stream_class(cls: Any) -> type:
    """A subclass of the PDF stream class ``cls`` whose ``data`` (the compressed bytes)
    is computed once and then reused."""
    once = _ONCE_CLASSES.get(cls)
    if once is None:
        compute = cls.data.fget

        def data(self: Any) -> bytes:
            cached: bytes | None = self.__dict__.get("_pgx_data")
            if cached is None:
                cached = self.__dict__["_pgx_data"] = compute(self)
            return cached

        once = type(f"Once{cls.__name__}", (cls,), {"data": property(data), "__module__": __name__})
        _ONCE_CLASSES[cls] = once
    return once


def compress_streams_once(document: Any, pdf: Any) -> None:
    """WeasyPrint finisher, called when the PDF is complete, just before it is written.

    pydyf compresses a stream (zlib level 9) each time its ``data`` is asked for, and a
    PDF with a file identifier (PDF/A) asks twice: once to write the object and once
    for the MD5 of all objects that becomes the identifier. Nothing changes a stream
    between the two, so its first result is kept: the same bytes, half the compression
    time (about 10 ms of a report)."""
    import pydyf  # type: ignore[import-untyped]

    if not isinstance(getattr(pydyf.Stream, "data", None), property):
        return  # another pydyf: leave its streams alone
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Stream) and hasattr(obj, "__dict__"):
            obj.__class__ = _once_stream_class(type(obj))
