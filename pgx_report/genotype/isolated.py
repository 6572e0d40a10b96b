"""Run a genotype reader in a forked child process, so that a crash of the native code
under it (htslib, through cyvcf2 or pysam) fails that one input and not the process.

The precheck (:mod:`pgx_report.genotype.vcf.precheck`) refuses the records known to
crash htslib, but that is no proof that none is left. :func:`isolated` therefore runs
the read in a *reader process*, a child made by ``os.fork()`` (a copy of this process:
nothing is imported or configured again), and hands the arguments and the result back
and forth pickled through two pipes.

- An error the reader raises (bad input: exit 2 and its one line) is raised again here
  as it was; what the reader wrote on stderr (warnings, log lines) is written to this
  process's ``sys.stderr`` when the call returns (``batch``: the sample's own log).
- A reader process that dies (a signal, or any exit) becomes :class:`ReaderCrashed`
  (exit 1): ``the genotype reader crashed (signal 11) on FILE; please report it``. The
  next call starts a new reader process.
- Outside :func:`reader_session` each call has its own reader process (``call``, ``run``:
  one call per process). Inside it (``pgx-report batch``, one chunk of samples) one reader
  process serves every call, warm after the first (no per-sample fork, imports or
  first-call costs: forking per sample cost ~15-30 ms per sample on the demo sheet, one
  reader for the chunk well under 1 ms); if it dies, that sample fails alone and the
  next sample gets a new reader.

Where ``os.fork`` does not exist (not Linux/macOS) the read runs in the process itself.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, ParamSpec, TypeVar

from pgx_report.errors import ReaderCrashed

P = ParamSpec("P")
T = TypeVar("T")

# Tests only: the reader process reading this file (its name as given, or its whole path)
# kills itself with SIGSEGV, as a crash inside htslib would (tests/test_batch_command.py).
CRASH_ENV = "PGX_REPORT_TEST_SEGV_READING"
_LENGTH = struct.Struct(">Q")


def _send(stream: IO[bytes], data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> bytes | None:
    """One message, or None at the end of the pipe (the other side is gone)."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    return data if len(data) == size else None


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


@contextlib.contextmanager
def stderr_to(stream: IO[str]) -> Iterator[None]:
    """``sys.stderr`` and the root logger's handlers on it, sent to ``stream``."""
    original = sys.stderr
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and handler.stream is original
    ]
    for handler in handlers:
        handler.setStream(stream)
    try:
        with contextlib.redirect_stderr(stream):
            yield
    finally:
        for handler in handlers:
            handler.setStream(original)


def _test_crash(source: str) -> None:
    target = os.environ.get(CRASH_ENV)
    if target and target in (Path(source).name, source):
        signal.signal(signal.SIGSEGV, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGSEGV)


def _answer(request: bytes) -> bytes:
    """Run one pickled ``(function, args, kwargs, source)``; the pickled
    ``(ok, result or exception, what it wrote on stderr)``."""
    function, args, kwargs, source = pickle.loads(request)
    _test_crash(source)
    captured = io.StringIO()
    with stderr_to(captured):
        try:
            ok, value = True, function(*args, **kwargs)
        except BaseException as exc:  # every error crosses back to the caller
            if os.environ.get("PGX_REPORT_DEBUG"):
                import traceback

                traceback.print_exc()
            ok, value = False, exc
    try:
        return pickle.dumps((ok, value, captured.getvalue()), pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that does not pickle: its type and message
        error = RuntimeError(f"{type(value).__name__}: {value}")
        return pickle.dumps((False, error, captured.getvalue()), pickle.HIGHEST_PROTOCOL)


def _serve(requests_fd: int, replies_fd: int) -> None:
    """The reader process's whole life: answer requests until the pipe closes, then
    leave at once (``os._exit``: none of the parent's cleanup or ``atexit`` runs twice)."""
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops us
        with os.fdopen(requests_fd, "rb") as requests, os.fdopen(replies_fd, "wb") as replies:
            while (request := _receive(requests)) is not None:
                _send(replies, _answer(request))
    except BaseException:
        status = 3
    finally:
        _flush()
        os._exit(status)


@dataclass
class _Reader:
    """A running reader process and our ends of its two pipes."""

    pid: int
    requests: IO[bytes]
    replies: IO[bytes]

    @classmethod
    def start(cls) -> _Reader:
        _flush()  # a buffered line must not be written by both processes
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(requests_w)
            os.close(replies_r)
            _serve(requests_r, replies_w)
        os.close(requests_r)
        os.close(replies_w)
        return cls(pid, os.fdopen(requests_w, "wb"), os.fdopen(replies_r, "rb"))

    def stop(self, *, kill: bool = False) -> int:
        """End the process (closing its requests pipe ends it); its wait status."""
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        for stream in (self.requests, self.replies):
            with contextlib.suppress(OSError):
                stream.close()
        return os.waitpid(self.pid, 0)[1]

    def ask(self, request: bytes) -> bytes | None:
        """The reply to ``request``; None if the process died first."""
        try:
            _send(self.requests, request)
        except BrokenPipeError:
            return None
        return _receive(self.replies)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"crashed (signal {os.WTERMSIG(status)})"
    return f"stopped (exit status {os.waitstatus_to_exitcode(status)})"


@dataclass
class _Session:
    reader: _Reader | None = None


_session: _Session | None = None


@contextlib.contextmanager
def reader_session() -> Iterator[None]:
    """Inside: one reader process serves every :func:`isolated` call (a new one after a
    crash); it is ended on the way out."""
    global _session
    outer, _session = _session, _Session()
    try:
        yield
    finally:
        if _session.reader is not None:
            _session.reader.stop()
        _session = outer


def isolated(source: str | Path, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` run in a reader process (see the module's docstring);
    ``source`` is the file it reads, named if the process dies. The function, its
    arguments and its result must pickle (a module-level function; dataclasses)."""
    if not hasattr(os, "fork"):
        return function(*args, **kwargs)
    request = pickle.dumps((function, args, kwargs, str(source)), pickle.HIGHEST_PROTOCOL)
    session = _session
    reader = session.reader if session is not None else None
    reader = reader or _Reader.start()
    if session is not None:
        session.reader = reader
    try:
        reply = reader.ask(request)
    except BaseException:  # interrupted: the reader goes too
        if session is not None:
            session.reader = None
        reader.stop(kill=True)
        raise
    if reply is None:  # died: report how (a dead process's status is kept until waited)
        if session is not None:
            session.reader = None
        status = reader.stop(kill=True)
        raise ReaderCrashed(
            None, f"the genotype reader {_describe(status)} on {source}; please report it"
        )
    if session is None:
        reader.stop()
    ok, value, stderr = pickle.loads(reply)
    if stderr:
        sys.stderr.write(stderr)
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]
