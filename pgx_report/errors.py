"""Exception hierarchy.

Every error a user can cause is a :class:`PgxError`. Its message is one line that
names the file and, where known, the field or line, and says what is wrong.
Only :func:`pgx_report.cli.main` turns these into an exit code (2) and a message.
Library code never calls ``sys.exit``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _restore(cls: type[PgxError], state: dict[str, Any]) -> PgxError:
    """Unpickle a PgxError (see ``PgxError.__reduce__``)."""
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, str(error))
    return error


class PgxError(Exception):
    """Base class for every user-facing error. ``str(err)`` is the one-line message."""

    exit_code = 2
    label = "error"  # the message starts "pgx-report: LABEL: "

    def __init__(self, source: str | Path | None, message: str) -> None:
        self.source = str(source) if source is not None else None
        self.message = " ".join(message.split())  # always one line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled whole, type and fields (a genotype reader's error crosses from its
        # forked child: pgx_report.genotype.isolated)
        return (_restore, (type(self), dict(self.__dict__)))


class InputError(PgxError):
    """An input file is missing, unreadable or malformed."""


class VcfError(InputError):
    """A VCF/BCF/gVCF (or its index) cannot be read or is malformed."""


class UnknownSampleError(InputError, KeyError):
    """The requested sample is not in the input file."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return PgxError.__str__(self)


class BuildError(InputError):
    """The reference build cannot be determined or contradicts the options."""


class QuestionnaireError(InputError):
    """The clinical questionnaire is invalid."""


class SampleMismatchError(InputError):
    """The questionnaire's sample_id does not match the genotype call's sample."""


class UsageError(PgxError):
    """The command line is inconsistent (beyond what argparse can check)."""


class OutputError(PgxError):
    """An output cannot be written (or would overwrite an input)."""


class ReaderCrashed(PgxError):
    """The native library reading a genotype file (htslib, through cyvcf2 or pysam) died
    in the child process that ran it (pgx_report.genotype.isolated): not input we
    recognised as bad, so an internal error (exit 1) naming the file, to be reported."""

    exit_code = 1
    label = "internal error"


PROG = "pgx-report"


def exit_code_of(exc: BaseException) -> int:
    """The exit code of an exception that ended a command, its ONE line printed on
    stderr (used by the CLI and by each step of ``pgx-report batch``, so a sample's log
    says exactly what the command would have said). Call it inside the ``except``."""
    import os
    import sys

    if isinstance(exc, PgxError):
        print(f"{PROG}: {exc.label}: {exc}", file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    if isinstance(exc, BrokenPipeError):
        return 1
    if not isinstance(exc, Exception) or os.environ.get("PGX_REPORT_DEBUG"):
        raise exc
    print(
        f"{PROG}: internal error: {type(exc).__name__}: {exc} "
        "(set PGX_REPORT_DEBUG=1 for a traceback; please report this)",
        file=sys.stderr,
    )
    return 1
