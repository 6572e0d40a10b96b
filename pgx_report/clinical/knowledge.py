"""The knowledge base: predictors, evidence, contraindications, guidance and citations.

The clinical content lives in ``pgx_report/data/knowledge_base.yaml``; this module only
loads it into frozen dataclasses and checks that it is internally consistent (every
text in both languages, every citation a known reference, the six predictors in report
order). The knowledge-base version shown in every output is the file's ``kb_version``
plus the start of the SHA-256 of its bytes, e.g. ``1.0+sha256:0123456789ab``, so any
edit to the file changes the version.

A process that assesses many patients (``pgx-report batch``) parses each knowledge-base
file once: :func:`load_knowledge_base` reads the file's bytes every time and reuses the
parsed :class:`KnowledgeBase` only for the same path with the same SHA-256 of its bytes,
so an edited file is parsed again and never served stale. The raw mappings a
knowledge base keeps (rules, texts) are read-only (``MappingProxyType``, tuples), so
one shared object cannot be changed by one patient's assessment for the next.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from pgx_report.contracts.languages import LANGUAGES, LocalText
from pgx_report.errors import InputError
from pgx_report.files.io import read_input_bytes, sha256_bytes
from pgx_report.paths import DATA_DIR

log = logging.getLogger(__name__)

DEFAULT_PATH = DATA_DIR / "knowledge_base.yaml"
SCHEMA_NAME = "pgx-report.knowledge-base"

FACTOR_IDS: tuple[str, ...] = (
    "severity",
    "family_history",
    "drinking_motive",
    "sweet_liking",
    "smoking",
    "oprm1_genotype",
)
EVIDENCE_LEVELS: tuple[str, ...] = ("low", "moderate", "mixed", "high")
FINDINGS: tuple[str, ...] = ("favourable", "neutral", "unfavourable", "unknown")
SEVERITIES: tuple[str, ...] = ("absolute", "relative")
CATEGORIES: tuple[str, ...] = (
    "contraindicated",
    "safety_screen_incomplete",
    "indication_not_established",
    "several_favourable_features",
    "few_favourable_features",
    "insufficient_information",
)
GUIDANCE_KEYS: tuple[str, ...] = (
    "dose",
    "side_effects",
    "monitoring",
    "off_label_note",
    "opioid_warning",
)
COMPUTED_CONDITIONS: tuple[str, ...] = ("age_under_18",)
CACHE_SIZE = 8  # parsed knowledge bases kept per process, by (path, SHA-256 of the bytes)


@dataclass(frozen=True)
class Reference:
    number: int
    text: str
    note: LocalText | None = None  # what kind of study, or what the report cites it for

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"number": self.number, "text": self.text}
        if self.note is not None:
            out["note"] = self.note.to_dict()
        return out


@dataclass(frozen=True)
class FactorDefinition:
    id: str
    label: LocalText
    inputs: tuple[str, ...]
    direction: LocalText
    evidence_level: str
    evidence_summary: LocalText
    citations: tuple[int, ...]
    rule: Mapping[str, Any]
    explanations: Mapping[str, LocalText]

    def explanation(self, key: str, **values: object) -> LocalText:
        return self.explanations[key].format(**values)


@dataclass(frozen=True)
class ContraindicationRule:
    """One contraindication or caution and the questionnaire answer that triggers it."""

    id: str
    severity: str
    label: LocalText
    text: LocalText
    citations: tuple[int, ...]
    field: str | None = None
    equals: Any = None
    one_of: tuple[Any, ...] | None = None
    computed: str | None = None
    min_age_years: int | None = None
    clarify: LocalText | None = None  # what to ask or record when the question is unanswered
    instead: LocalText | None = None  # what to do instead, when it applies (absolute only)
    instead_citations: tuple[int, ...] = ()

    def matches(self, value: Any) -> bool:
        """Does this questionnaire value trigger the rule? ``None`` (unknown) never does."""
        if value is None:
            return False
        if self.one_of is not None:
            return value in self.one_of
        return bool(value == self.equals and type(value) is type(self.equals))


@dataclass(frozen=True)
class Guidance:
    id: str
    text: LocalText
    citations: tuple[int, ...]


@dataclass(frozen=True)
class Limitation:
    id: str
    text: LocalText
    citations: tuple[int, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    kb_version: str
    sha256: str
    path: str
    evidence_levels: Mapping[str, LocalText]
    references: tuple[Reference, ...]
    factors: tuple[FactorDefinition, ...]
    genotype_status: Mapping[str, Any]
    contraindications: tuple[ContraindicationRule, ...]
    guidance: Mapping[str, Guidance]
    overall: Mapping[str, Any]
    limitations: tuple[Limitation, ...]
    _texts: Mapping[str, LocalText] = field(default_factory=dict, repr=False)

    @property
    def version(self) -> str:
        """``kb_version`` + content hash, e.g. ``1.0+sha256:0123456789ab``."""
        return f"{self.kb_version}+sha256:{self.sha256[:12]}"

    def factor(self, factor_id: str) -> FactorDefinition:
        for item in self.factors:
            if item.id == factor_id:
                return item
        raise KeyError(factor_id)

    def reference(self, number: int) -> Reference:
        for item in self.references:
            if item.number == number:
                return item
        raise KeyError(number)

    def text(self, key: str, **values: object) -> LocalText:
        """A text of the ``overall.texts`` section, with placeholders filled."""
        return self._texts[key].format(**values)

    def category_label(self, category: str) -> LocalText:
        return _local(self.overall["categories"][category], "overall.categories")


# --------------------------------------------------------------------------------------
# Loading and checking


class _Checker:
    """Collects every inconsistency in the knowledge-base file, then fails once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if self.problems:
            count = len(self.problems)
            head = "" if count == 1 else f"{count} problems: "
            raise InputError(self.path, "knowledge base: " + head + "; ".join(self.problems))


def _local(raw: Any, where: str, checker: _Checker | None = None) -> LocalText:
    if not isinstance(raw, Mapping) or not all(
        isinstance(raw.get(lang), str) and raw.get(lang, "").strip() for lang in LANGUAGES
    ):
        if checker is None:
            raise InputError(DEFAULT_PATH, f"knowledge base: {where}: needs 'en' and 'nb' text")
        checker.fail(where, "needs non-empty 'en' and 'nb' text")
        return LocalText("", "")
    return LocalText(str(raw["en"]), str(raw["nb"]))


def _citations(raw: Any, where: str, numbers: set[int], checker: _Checker) -> tuple[int, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        checker.fail(where, "citations must be a list of reference numbers")
        return ()
    out: list[int] = []
    for number in raw:
        if not isinstance(number, int) or number not in numbers:
            checker.fail(where, f"citation {number!r} is not a reference number")
        else:
            out.append(number)
    return tuple(out)


def _section(data: Mapping[str, Any], key: str, kind: type, checker: _Checker) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        checker.fail(key, f"missing or not a {kind.__name__}")
        return kind()
    return value


def _frozen(value: Any) -> Any:
    """A read-only copy of parsed YAML: mappings become ``MappingProxyType``, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value


def safe_load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's parser when PyYAML has it (same data, about ten
    times faster: the knowledge base is read in every ``assess`` process)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def parse_knowledge_base(text: bytes, path: Path, sha256: str | None = None) -> KnowledgeBase:
    """Build a :class:`KnowledgeBase` from the YAML bytes; every problem is reported.

    ``sha256`` is the digest of ``text`` when the caller has it already."""
    try:
        data = safe_load_yaml(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise InputError(path, f"invalid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, Mapping):
        raise InputError(path, "knowledge base must be a YAML mapping")
    checker = _Checker(path)
    if data.get("schema") != SCHEMA_NAME:
        checker.fail("schema", f"must be {SCHEMA_NAME!r}")
    kb_version = data.get("kb_version")
    if not isinstance(kb_version, str) or not kb_version:
        checker.fail("kb_version", "missing or not a string")
        kb_version = ""

    references: list[Reference] = []
    for index, raw in enumerate(_section(data, "references", list, checker)):
        number, ref_text = (raw.get("number"), raw.get("text")) if isinstance(raw, dict) else (0, 0)
        if not isinstance(number, int) or not isinstance(ref_text, str) or not ref_text:
            checker.fail(f"references[{index}]", "needs an integer 'number' and a 'text'")
            continue
        note = raw.get("note")
        references.append(
            Reference(
                number,
                ref_text,
                _local(note, f"references[{index}].note", checker) if note is not None else None,
            )
        )
    numbers = [ref.number for ref in references]
    if numbers != list(range(1, len(numbers) + 1)):
        checker.fail("references", "must be numbered 1, 2, 3 ... in order")
    known = set(numbers)

    levels = {
        key: _local(value, f"evidence_levels.{key}", checker)
        for key, value in _section(data, "evidence_levels", dict, checker).items()
    }
    if sorted(levels) != sorted(EVIDENCE_LEVELS):
        checker.fail("evidence_levels", f"must define exactly {', '.join(EVIDENCE_LEVELS)}")

    factors = _parse_factors(_section(data, "factors", list, checker), known, checker)
    rules = _parse_contraindications(
        _section(data, "contraindications", list, checker), known, checker
    )

    guidance: dict[str, Guidance] = {}
    raw_guidance = _section(data, "guidance", dict, checker)
    for key in GUIDANCE_KEYS:
        raw = raw_guidance.get(key, {})
        guidance[key] = Guidance(
            key,
            _local(raw, f"guidance.{key}", checker),
            _citations(raw.get("citations", []), f"guidance.{key}", known, checker),
        )

    limitations = tuple(
        Limitation(
            str(raw.get("id", index)),
            _local(raw, f"limitations[{index}]", checker),
            _citations(raw.get("citations", []), f"limitations[{index}]", known, checker),
        )
        for index, raw in enumerate(_section(data, "limitations", list, checker))
    )
    if not {"not_validated", "cpic_no_recommendation"} <= {lim.id for lim in limitations}:
        checker.fail("limitations", "must include 'not_validated' and 'cpic_no_recommendation'")

    overall = _section(data, "overall", dict, checker)
    texts = {
        key: _local(value, f"overall.texts.{key}", checker)
        for key, value in (overall.get("texts") or {}).items()
    }
    for category in CATEGORIES:
        _local((overall.get("categories") or {}).get(category), f"overall.{category}", checker)
    genotype_status = _section(data, "genotype_status", dict, checker)
    checker.raise_if_any()
    return KnowledgeBase(
        kb_version=kb_version,
        sha256=sha256 or sha256_bytes(text),
        path=str(path),
        evidence_levels=levels,
        references=tuple(references),
        factors=factors,
        genotype_status=_frozen(genotype_status),
        contraindications=rules,
        guidance=guidance,
        overall=_frozen(overall),
        limitations=limitations,
        _texts=texts,
    )


def _parse_factors(
    raw_factors: list[Any], known: set[int], checker: _Checker
) -> tuple[FactorDefinition, ...]:
    factors: list[FactorDefinition] = []
    for index, raw in enumerate(raw_factors):
        where = f"factors[{index}]"
        if not isinstance(raw, dict):
            checker.fail(where, "must be a mapping")
            continue
        level = raw.get("evidence_level")
        if level not in EVIDENCE_LEVELS:
            checker.fail(where, f"evidence_level {level!r} (allowed: {', '.join(EVIDENCE_LEVELS)})")
        explanations = {
            key: _local(value, f"{where}.explanations.{key}", checker)
            for key, value in (raw.get("explanations") or {}).items()
        }
        for needed in ("unknown",):
            if needed not in explanations:
                checker.fail(where, f"explanations need '{needed}'")
        factors.append(
            FactorDefinition(
                id=str(raw.get("id")),
                label=_local(raw.get("label"), f"{where}.label", checker),
                inputs=tuple(raw.get("inputs") or ()),
                direction=_local(raw.get("direction"), f"{where}.direction", checker),
                evidence_level=str(level),
                evidence_summary=_local(
                    raw.get("evidence_summary"), f"{where}.evidence_summary", checker
                ),
                citations=_citations(raw.get("citations"), where, known, checker),
                rule=_frozen(raw.get("rule") or {}),
                explanations=explanations,
            )
        )
    ids = tuple(item.id for item in factors)
    if ids != FACTOR_IDS:
        checker.fail("factors", f"must be exactly {', '.join(FACTOR_IDS)} in this order")
    return tuple(factors)


def _optional_local(
    raw: Mapping[str, Any], key: str, where: str, checker: _Checker
) -> LocalText | None:
    value = raw.get(key)
    return None if value is None else _local(value, f"{where}.{key}", checker)


def _parse_contraindications(
    raw_rules: list[Any], known: set[int], checker: _Checker
) -> tuple[ContraindicationRule, ...]:
    rules: list[ContraindicationRule] = []
    for index, raw in enumerate(raw_rules):
        where = f"contraindications[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("when"), dict):
            checker.fail(where, "needs 'id', 'severity' and a 'when' mapping")
            continue
        when = raw["when"]
        severity = raw.get("severity")
        if severity not in SEVERITIES:
            checker.fail(where, f"severity {severity!r} (allowed: absolute, relative)")
        computed = when.get("computed")
        if computed is not None and computed not in COMPUTED_CONDITIONS:
            checker.fail(where, f"unknown computed condition {computed!r}")
        if computed is None and not (
            isinstance(when.get("field"), str) and ("equals" in when or "in" in when)
        ):
            checker.fail(where, "'when' needs 'field' with 'equals' or 'in', or 'computed'")
        if computed == "age_under_18" and not isinstance(raw.get("min_age_years"), int):
            checker.fail(where, "age rule needs an integer 'min_age_years'")
        rules.append(
            ContraindicationRule(
                id=str(raw.get("id")),
                severity=str(severity),
                label=_local(raw.get("label"), f"{where}.label", checker),
                text=_local(raw.get("text"), f"{where}.text", checker),
                citations=_citations(raw.get("citations", []), where, known, checker),
                field=when.get("field"),
                equals=when.get("equals"),
                one_of=tuple(when["in"]) if "in" in when else None,
                computed=computed,
                min_age_years=raw.get("min_age_years"),
                clarify=_optional_local(raw, "clarify", where, checker),
                instead=_optional_local(raw, "instead", where, checker),
                instead_citations=_citations(
                    raw.get("instead_citations", []), f"{where}.instead", known, checker
                ),
            )
        )
    ids = [rule.id for rule in rules]
    if len(set(ids)) != len(ids):
        checker.fail("contraindications", "ids must be unique")
    return tuple(rules)


_parsed: dict[tuple[str, str], KnowledgeBase] = {}  # (path, SHA-256 of its bytes) -> parsed


def load_knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """Load the bundled knowledge base (or another file, for tests and local review).

    The file is read every time; it is parsed again unless this process has already
    parsed the same bytes (SHA-256) from the same path (see the module docstring)."""
    kb_path = Path(path) if path is not None else DEFAULT_PATH
    data = read_input_bytes(kb_path)
    key = (str(kb_path), sha256_bytes(data))
    kb = _parsed.get(key)
    if kb is None:
        kb = parse_knowledge_base(data, kb_path, key[1])
        while len(_parsed) >= CACHE_SIZE:
            del _parsed[next(iter(_parsed))]  # the oldest
        _parsed[key] = kb
        log.debug("knowledge base %s loaded from %s", kb.version, kb_path)
    return kb
