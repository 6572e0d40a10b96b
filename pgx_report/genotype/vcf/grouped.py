"""Many samples at once: bulk calls for 100,000-sample cohorts.

:func:`pgx_report.genotype.vcf.rules.call_records` derives every sample's status, genotype and
reason codes from the genotype / depth / quality arrays in one pass (numpy). What
remains per sample is *presentation*: a ``Call`` object, its JSON, its TSV row. Most
samples of a cohort share everything but their name (same record, same genotype,
same reasons, same depth and GQ), so :class:`CallBatch` groups the samples by the
exact values a call is made from (:func:`group_rows`) and builds one call per group;
a sample's call is its group's call with its own name. JSON is rendered once per
group and the sample name is spliced in, which gives byte-for-byte the same text as
rendering each call on its own (checked in ``tests/test_cohort.py``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar, overload

import numpy as np
import numpy.typing as npt

from pgx_report.files.io import canonical_json

# A name no real sample has: it marks where the sample name goes in a group's JSON.
_PLACEHOLDER = "\x00pgx-report-sample\x00"


class _CallLike(Protocol):
    @property
    def sample(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


C = TypeVar("C", bound=_CallLike)


def group_rows(
    columns: Sequence[npt.ArrayLike], n: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Group ``n`` samples whose values are bit-for-bit equal in every column.

    Each column is an array with ``n`` rows (1-D or 2-D). Returns ``(first, inverse)``:
    the index of one sample of each group, and each sample's group number. Values
    are compared as raw bytes, so two samples share a group only if every value is
    identical (a NaN with another bit pattern only makes an extra group)."""
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    parts = [np.asarray(c, dtype=np.float64).reshape(n, -1) for c in columns]
    matrix = np.ascontiguousarray(np.concatenate(parts, axis=1))
    # Fast path: group by a 64-bit hash of each row's bytes, then verify that every
    # row equals its group's first row byte for byte; on any collision, group by the
    # raw bytes themselves (exact, slower).
    words = matrix.view(np.uint64)
    keys = np.random.default_rng(0x9E3779B97F4A7C15).integers(
        1, 2**63, size=(2, words.shape[1]), dtype=np.uint64
    )
    with np.errstate(over="ignore"):
        mixed = words ^ keys[0]  # splitmix64 finaliser per value, then a weighted sum
        mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        mixed ^= mixed >> np.uint64(31)
        hashes = (mixed * (keys[1] | np.uint64(1))).sum(axis=1, dtype=np.uint64)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if not np.array_equal(words, words[first[inverse]]):
        rows = matrix.view(np.dtype((np.void, matrix.dtype.itemsize * matrix.shape[1]))).ravel()
        _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    return first.astype(np.intp), inverse.astype(np.intp)


def _canonical(call: _CallLike) -> str:
    return canonical_json(call.to_dict())


class CallBatch(Sequence[C], Generic[C]):
    """The calls of many samples, made in bulk; behaves as a read-only list of calls.

    ``make(i, name)`` builds the call of sample ``i`` under ``name``; it is invoked
    once per group (with a placeholder name) and the result renamed per sample.
    """

    def __init__(
        self,
        names: Sequence[str],
        make: Callable[[int, str], C],
        first: npt.NDArray[np.intp],
        inverse: npt.NDArray[np.intp],
    ) -> None:
        self.names = list(names)
        self._make = make
        self.first = first
        self.inverse = inverse
        self._groups: dict[int, C] = {}

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, index: int) -> C: ...
    @overload
    def __getitem__(self, index: slice) -> list[C]: ...
    def __getitem__(self, index: int | slice) -> C | list[C]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = range(len(self))[index]
        return dataclasses.replace(self.group(int(self.inverse[i])), sample=self.names[i])  # type: ignore[type-var]

    def __iter__(self) -> Iterator[C]:
        for i in range(len(self)):
            yield self[i]

    @property
    def n_groups(self) -> int:
        return len(self.first)

    def group(self, g: int) -> C:
        """The call shared by group ``g`` (its sample name is a placeholder)."""
        call = self._groups.get(g)
        if call is None:
            call = self._groups[g] = self._make(int(self.first[g]), _PLACEHOLDER)
        return call

    def json_texts(self, render: Callable[[C], str] | None = None) -> Iterator[tuple[str, str]]:
        """(sample, canonical JSON text) per sample, in sample order; the same bytes as
        ``canonical_json(call.to_dict())`` for each call (or as ``render(call)``: a
        faster renderer producing the same text)."""
        if render is None:
            render = _canonical
        marker = json.dumps(_PLACEHOLDER, ensure_ascii=False)
        core = marker[1:-1]
        templates: dict[int, list[str] | None] = {}
        for i, (name, g) in enumerate(zip(self.names, self.inverse.tolist(), strict=True)):
            if g not in templates:
                split = render(self.group(g)).split(marker)
                # the name must only ever appear as a whole JSON string
                templates[g] = None if any(core in p for p in split) else split
            pieces = templates[g]
            if pieces is None:
                yield name, render(self[i])
            else:
                yield name, json.dumps(name, ensure_ascii=False).join(pieces)

    def rows(self, render: Callable[[C], list[str]]) -> Iterator[list[str]]:
        """``render`` applied per sample, computed once per group; the sample name
        placeholder in the result is replaced by the sample's name."""
        cache: dict[int, list[str]] = {}
        for name, g in zip(self.names, self.inverse.tolist(), strict=True):
            row = cache.get(g)
            if row is None:
                row = cache[g] = render(self.group(g))
            yield [name if value == _PLACEHOLDER else value for value in row]
