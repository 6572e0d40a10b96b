"""What changed between two assessments, in words: the "what changed" of an amended report.

:func:`describe_changes` compares the previous version's assessment with the new one and
returns one sentence per field that differs, in the report language, in this order: the
genotype, the overall category and its confidence, the safety findings (each
contraindication or caution found, gone, or changed in severity; each safety question
newly unanswered or answered), each predictor (its value, finding and evidence level),
each questionnaire answer, then the knowledge-base and pgx-report versions and the
genotype input file. Nothing that differs is left out; equal assessments give ``[]``.

The sentences are in ``templates/changes_i18n.yaml``; questionnaire field and option
labels come from ``templates/form_i18n.yaml`` (the form's wording), finding, evidence and
confidence words from ``templates/i18n.yaml``. Pure: it reads only those files.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from pgx_report.clinical.knowledge import safe_load_yaml
from pgx_report.contracts.assessment import Assessment, ContraindicationResult, input_digest
from pgx_report.contracts.languages import LANGUAGES
from pgx_report.outputs.report.pdf import TemplateError, find_templates, load_labels
from pgx_report.outputs.report.view import format_date, format_number

CHANGES_FILE = "changes_i18n.yaml"
FORM_LABELS_FILE = "form_i18n.yaml"
ARROW = "\u2192"
# Questionnaire fields that are not answers about the patient.
SKIPPED_ANSWERS = frozenset({"questionnaire_version"})
DATE_ANSWERS = frozenset({"patient.birth_date", "completed_on"})


def describe_changes(
    old: Assessment, new: Assessment, lang: str, templates: str | Path | None = None
) -> list[str]:
    """One sentence per field of the assessment that differs from ``old`` to ``new``, in
    ``lang`` (``en`` or ``nb``); ``templates`` is the report templates folder (default:
    the installed one; a file it lacks is taken from the installed one)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown report language {lang!r}")
    words = _Words(lang, find_templates(templates))
    return [
        *_genotype(old, new, words),
        *_overall(old, new, words),
        *_safety(old, new, words),
        *_factors(old, new, words),
        *_answers(old.questionnaire, new.questionnaire, words),
        *_provenance(old.provenance, new.provenance, words),
    ]


def no_changes_text(lang: str, templates: str | Path | None = None) -> str:
    """The sentence a report prints when :func:`describe_changes` finds nothing."""
    return _Words(lang, find_templates(templates)).change("no_changes")


class _Words:
    """The phrases of one language: the change sentences, report labels, form labels."""

    def __init__(self, lang: str, templates: Path) -> None:
        self.lang = lang
        self.changes = _phrases(_file(templates, CHANGES_FILE))[lang]
        self.labels = load_labels(templates)[lang]
        form = _form_labels(_file(templates, FORM_LABELS_FILE))
        self.fields: Mapping[str, Any] = form.get("fields") or {}
        self.options: Mapping[str, Any] = form.get("options") or {}

    def change(self, key: str, **values: str) -> str:
        return self.changes[key].format(**values)

    def changed(self, what: str, old: str, new: str) -> str:
        return self.change("changed", what=what, old=old, new=new)

    def field(self, path: str) -> str:
        texts = self.fields.get(path)
        return str(texts[self.lang]) if isinstance(texts, Mapping) else path

    def answer(self, path: str, value: Any) -> str:
        if value is None:
            return self.labels["not_answered"]
        if isinstance(value, bool):
            return self.labels["word_yes" if value else "word_no"]
        if isinstance(value, int | float):
            return format_number(value, self.lang)
        options = self.options.get(path)
        if isinstance(options, Mapping) and isinstance(options.get(value), Mapping):
            return str(options[value][self.lang])
        if path in DATE_ANSWERS and isinstance(value, str):
            try:
                return format_date(value, self.lang) or value
            except ValueError:
                return value
        return str(value)


def _file(templates: Path, name: str) -> Path:
    path = templates / name
    return path if path.is_file() else find_templates() / name


@functools.lru_cache(maxsize=8)
def _load_yaml(path: Path, stamp: tuple[int, int]) -> Any:
    del stamp  # part of the cache key: an edited file is read again
    try:
        return safe_load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(path, f"cannot read the phrases: {exc}") from None


def _read(path: Path) -> Any:
    try:
        info = path.stat()
        stamp = (info.st_ino, info.st_mtime_ns)
    except OSError:
        stamp = (-1, -1)
    return _load_yaml(path, stamp)


def _phrases(path: Path) -> dict[str, dict[str, str]]:
    raw = _read(path)
    if not isinstance(raw, Mapping):
        raise TemplateError(path, "expected a mapping of phrase keys")
    out: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for key, texts in raw.items():
        for lang in LANGUAGES:
            if not isinstance(texts, Mapping) or not isinstance(texts.get(lang), str):
                raise TemplateError(path, f"{key}: needs a text for each of {', '.join(LANGUAGES)}")
            out[lang][str(key)] = texts[lang]
    return out


def _form_labels(path: Path) -> Mapping[str, Any]:
    raw = _read(path)
    if not isinstance(raw, Mapping):
        raise TemplateError(path, "expected a mapping")
    return raw


# --------------------------------------------------------------------------- the parts


def _genotype(old: Assessment, new: Assessment, words: _Words) -> Iterator[str]:
    before = [old.call.status.value, old.call.genotype, old.call.reason_codes]
    after = [new.call.status.value, new.call.genotype, new.call.reason_codes]
    old_text, new_text = old.genotype_summary.get(words.lang), new.genotype_summary.get(words.lang)
    if before == after and old_text == new_text:
        return
    if old_text == new_text:  # the same words for a different call: show the call itself
        old_text = f"{old_text} ({before[0]}, {before[1] or '-'})"
        new_text = f"{new_text} ({after[0]}, {after[1] or '-'})"
    yield words.changed(words.change("genotype"), old_text, new_text)


def _overall(old: Assessment, new: Assessment, words: _Words) -> Iterator[str]:
    lang = words.lang
    if old.overall.category != new.overall.category:
        yield words.changed(
            words.change("overall"), old.overall.label.get(lang), new.overall.label.get(lang)
        )
    if old.overall.confidence != new.overall.confidence:
        yield words.changed(
            words.change("confidence"),
            _word(words, "confidence", old.overall.confidence),
            _word(words, "confidence", new.overall.confidence),
        )


def _word(words: _Words, kind: str, value: str) -> str:
    return words.labels.get(f"{kind}_{value}", value)


def _severity_key(item: ContraindicationResult, change: str) -> str:
    return ("contraindication" if item.severity == "absolute" else "caution") + f"_{change}"


def _safety(old: Assessment, new: Assessment, words: _Words) -> Iterator[str]:
    lang = words.lang
    before = {item.id: item for item in old.contraindications}
    after = {item.id: item for item in new.contraindications}
    for item in new.contraindications:  # new and changed, in the new report's order
        previous = before.get(item.id)
        if previous is None:
            yield words.change(_severity_key(item, "added"), label=item.label.get(lang))
        elif previous.severity != item.severity:
            yield words.changed(
                item.label.get(lang),
                words.change(f"severity_{previous.severity}"),
                words.change(f"severity_{item.severity}"),
            )
    for item in old.contraindications:
        if item.id not in after:
            yield words.change(_severity_key(item, "removed"), label=item.label.get(lang))
    asked_before = {item.id for item in old.overall.unanswered}
    asked_after = {item.id for item in new.overall.unanswered}
    for unanswered in new.overall.unanswered:
        if unanswered.id not in asked_before:
            yield words.change("unanswered_added", label=unanswered.label.get(lang))
    for unanswered in old.overall.unanswered:
        if unanswered.id not in asked_after:
            yield words.change("unanswered_removed", label=unanswered.label.get(lang))


def _factors(old: Assessment, new: Assessment, words: _Words) -> Iterator[str]:
    lang = words.lang
    before = {item.id: item for item in old.factors}
    for item in new.factors:
        previous = before.get(item.id)
        if previous is None:
            continue  # the six predictors are fixed (knowledge base); nothing to compare
        label = item.label.get(lang)
        if previous.value_text.get(lang) != item.value_text.get(lang) or dict(
            previous.value
        ) != dict(item.value):
            yield words.changed(label, previous.value_text.get(lang), item.value_text.get(lang))
        if previous.finding != item.finding:
            yield words.changed(
                words.change("factor_finding", factor=label),
                _word(words, "finding", previous.finding),
                _word(words, "finding", item.finding),
            )
        if previous.evidence_level != item.evidence_level:
            yield words.changed(
                words.change("factor_evidence", factor=label),
                _word(words, "evidence", previous.evidence_level),
                _word(words, "evidence", item.evidence_level),
            )


def _leaves(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"safety.current_opioid_use": True, ...}``: every answer by its dotted path."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_leaves(value, path + "."))
        else:
            out[path] = value
    return out


def _answers(old: Mapping[str, Any], new: Mapping[str, Any], words: _Words) -> Iterator[str]:
    before, after = _leaves(old), _leaves(new)
    form_order = {path: index for index, path in enumerate(words.fields)}
    paths = list(after) + [path for path in before if path not in after]
    for path in sorted(paths, key=lambda item: form_order.get(item, len(form_order))):
        if path in SKIPPED_ANSWERS:
            continue
        old_value, new_value = before.get(path), after.get(path)
        if old_value == new_value and type(old_value) is type(new_value):
            continue
        yield words.changed(
            words.change("answer", field=words.field(path)),
            words.answer(path, old_value),
            words.answer(path, new_value),
        )


def _genotype_input(provenance: Mapping[str, Any]) -> tuple[str, str] | None:
    for item in provenance.get("inputs") or ():
        if isinstance(item, Mapping) and item.get("role") == "genotype_input":
            return str(item.get("path")), input_digest(item)[1]
    return None


def _provenance(old: Mapping[str, Any], new: Mapping[str, Any], words: _Words) -> Iterator[str]:
    for key, phrase in (
        ("knowledge_base_version", "knowledge_base"),
        ("tool_version", "tool_version"),
    ):
        if old.get(key) != new.get(key):
            yield words.changed(words.change(phrase), str(old.get(key)), str(new.get(key)))
    before, after = _genotype_input(old), _genotype_input(new)
    if before != after:
        yield words.changed(
            words.change("genotype_input"),
            f"{before[0]} (SHA-256 {before[1][:12]})" if before else "-",
            f"{after[0]} (SHA-256 {after[1][:12]})" if after else "-",
        )
