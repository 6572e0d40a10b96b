"""The clinical questionnaire: native JSON format or a FHIR R4 QuestionnaireResponse.

Both formats end as one normalised native dictionary (``Questionnaire.data``) that the
assessment reads. Unknown or null answers are dropped: a missing field means "unknown".

Validation reports every problem at once, each as ``$.json.path: what is wrong
(allowed: ...)``; several problems are joined into the one error line with ``; ``.
Unknown keys (and unknown FHIR linkIds) are errors, so a typo cannot pass silently.
"""

from __future__ import annotations

import copy
import difflib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema

from pgx_report.contracts.schema import json_path, load_schema, validator
from pgx_report.contracts.text import text_problem
from pgx_report.errors import QuestionnaireError
from pgx_report.files.io import sha256_bytes
from pgx_report.files.jsonio import read_json
from pgx_report.paths import DATA_DIR, SCHEMA_DIR

log = logging.getLogger(__name__)

SCHEMA_FILE = "questionnaire.schema.json"
SCHEMA_PATH = SCHEMA_DIR / SCHEMA_FILE
QUESTIONNAIRE_VERSION = "1.0"
FORMAT_NATIVE = "native"
FORMAT_FHIR = "fhir"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_MAX_VALUE_SHOWN = 40


def questionnaire_schema() -> dict[str, Any]:
    """The native questionnaire JSON Schema (draft 2020-12) shipped in the package."""
    return load_schema(SCHEMA_FILE)


def _leaf_paths(
    schema: Mapping[str, Any], prefix: str = ""
) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        if sub.get("type") == "object":
            yield from _leaf_paths(sub, f"{path}.")
        else:
            yield path, sub


def link_ids() -> dict[str, dict[str, Any]]:
    """FHIR linkId -> native field schema. A linkId is the native field's dotted path."""
    return dict(_leaf_paths(questionnaire_schema()))


FHIR_DEFINITION_PATH = DATA_DIR / "questionnaire.fhir.json"
FHIR_DEFINITION_URL = "https://pgx-report.invalid/Questionnaire/naltrexone-oprm1"


def _fhir_item(link_id: str, schema: Mapping[str, Any], required: bool) -> dict[str, Any]:
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    item: dict[str, Any] = {"linkId": link_id, "text": schema.get("description", link_id)}
    if "enum" in schema:
        item["type"] = "choice"
        item["answerOption"] = [
            {"valueCoding": {"code": code}} for code in schema["enum"] if code is not None
        ]
    elif "const" in schema:
        item["type"] = "string"
        item["initial"] = [{"valueString": schema["const"]}]
    elif schema.get("format") == "date":
        item["type"] = "date"
    else:
        kind = next((t for t in ("integer", "number", "boolean") if t in types), "string")
        item["type"] = {"number": "decimal"}.get(kind, kind)
    if required:
        item["required"] = True
    return item


def fhir_questionnaire_definition() -> dict[str, Any]:
    """A FHIR R4 ``Questionnaire`` (the form definition) with the linkIds this tool reads.

    Clinics can load it into their form system; the answers come back as a
    QuestionnaireResponse that :func:`load_questionnaire` accepts. Generated from the
    native schema; ``pgx_report/data/questionnaire.fhir.json`` is this, written out.
    """
    schema = questionnaire_schema()
    items: list[dict[str, Any]] = []
    for key, sub in schema["properties"].items():
        # questionnaire_version defaults to "1.0" in a response, so the form need not ask.
        required = key in schema.get("required", []) and key != "questionnaire_version"
        if sub.get("type") == "object":
            children = [
                _fhir_item(f"{key}.{child}", child_schema, child in sub.get("required", []))
                for child, child_schema in sub["properties"].items()
            ]
            items.append(
                {
                    "linkId": key,
                    "text": sub.get("description", key),
                    "type": "group",
                    "item": children,
                    **({"required": True} if required else {}),
                }
            )
        else:
            items.append(_fhir_item(key, sub, required))
    return {
        "resourceType": "Questionnaire",
        "id": "naltrexone-oprm1",
        "url": FHIR_DEFINITION_URL,
        "version": QUESTIONNAIRE_VERSION,
        "name": "PgxReportNaltrexoneOprm1",
        "title": "pgx-report clinical questionnaire: naltrexone and OPRM1",
        "status": "active",
        "subjectType": ["Patient"],
        "item": items,
    }


@dataclass(frozen=True)
class Questionnaire:
    """A validated, normalised questionnaire (native layout; unknown answers dropped)."""

    data: Mapping[str, Any]
    source: str
    format: str = FORMAT_NATIVE
    sha256: str | None = None

    def get(self, dotted: str) -> Any:
        """The answer at a dotted path (``"safety.current_opioid_use"``), or None if unknown."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def field_name(self, dotted: str) -> str:
        """Where the answer at ``dotted`` is in the file, for messages: ``$.sample_id`` in
        the native layout, the item's linkId in a FHIR QuestionnaireResponse (whose JSON
        has no ``$.sample_id``)."""
        if self.format == FORMAT_FHIR:
            return f"$.item (linkId {dotted!r})"
        return f"$.{dotted}"

    @property
    def sample_id(self) -> str:
        return str(self.data["sample_id"])

    @property
    def patient_id(self) -> str:
        return str(self.data["patient"]["id"])

    @property
    def language(self) -> str | None:
        value = self.get("language")
        return str(value) if value is not None else None

    @property
    def birth_date(self) -> date | None:
        value = self.get("patient.birth_date")
        return date.fromisoformat(value) if value else None

    @property
    def completed_on(self) -> date | None:
        value = self.get("completed_on")
        return date.fromisoformat(value) if value else None

    def age_years(self) -> int | None:
        """Age in whole years on ``completed_on`` (never today's date); None if unknown."""
        born, on = self.birth_date, self.completed_on
        if born is None or on is None:
            return None
        return age_on(born, on)

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.data))


def age_on(born: date, on: date) -> int:
    """Completed years between two dates (a 29 February birthday turns over on 1 March)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# --------------------------------------------------------------------------------------
# Error messages


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE_SHOWN else text[: _MAX_VALUE_SHOWN - 3] + "..."


def allowed_text(schema: Mapping[str, Any]) -> str:
    """Describe what a field accepts, from its schema."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    nullable = "null" in types
    if "const" in schema:
        desc = _shown(schema["const"])
    elif "enum" in schema:
        desc = ", ".join(_shown(v) for v in schema["enum"] if v is not None)
    elif "integer" in types or "number" in types:
        kind = "integer" if "integer" in types else "number"
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            desc = f"{kind} {low}-{high}"
        elif low is not None:
            desc = f"{kind} >= {low}"
        else:
            desc = kind
    elif "boolean" in types:
        desc = "true or false"
    elif schema.get("format") == "date":
        desc = "ISO date YYYY-MM-DD"
    elif "object" in types:
        desc = "an object"
    else:
        desc = "non-empty text"
    return f"{desc}, or null for unknown" if nullable else desc


_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "an object",
    type(None): "null",
}


def _describe(error: jsonschema.ValidationError) -> list[tuple[str, str]]:
    """(json path, message) pairs for one schema error, in plain words."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    instance = error.instance
    kind = error.validator
    if kind == "additionalProperties" and isinstance(instance, Mapping):
        allowed = list(schema.get("properties", {}))
        out = []
        for key in sorted(set(instance) - set(allowed)):
            hint = difflib.get_close_matches(key, allowed, n=1)
            tip = f"did you mean {hint[0]!r}? " if hint else ""
            out.append(
                (json_path([*path, key]), f"unknown key ({tip}allowed: {', '.join(allowed)})")
            )
        return out
    if kind == "required":
        # jsonschema yields one error per missing key: "'id' is a required property"
        match = re.match(r"^'(.+)' is a required property$", error.message)
        missing = match.group(1) if match else str(error.validator_value)
        sub = schema.get("properties", {}).get(missing, {})
        return [
            (json_path([*path, missing]), f"required but missing (allowed: {allowed_text(sub)})")
        ]
    if kind == "type":
        got = _TYPE_NAMES.get(type(instance), type(instance).__name__)
        shown = "" if instance is None else f"{_shown(instance)} is "
        return [(json_path(path), f"{shown}{got}, wrong type (allowed: {allowed_text(schema)})")]
    if kind in ("minimum", "maximum"):
        word = "below the minimum" if kind == "minimum" else "above the maximum"
        return [
            (json_path(path), f"{_shown(instance)} is {word} (allowed: {allowed_text(schema)})")
        ]
    if kind in ("enum", "const"):
        return [
            (
                json_path(path),
                f"{_shown(instance)} is not allowed (allowed: {allowed_text(schema)})",
            )
        ]
    if kind in ("format", "pattern") and schema.get("format") == "date":
        return [(json_path(path), f"{_shown(instance)} is not a valid date (allowed: YYYY-MM-DD)")]
    if kind == "maxLength" and isinstance(instance, str):
        return [
            (
                json_path(path),
                f"{len(instance)} characters is too long (allowed: at most "
                f"{schema.get('maxLength')} characters)",
            )
        ]
    if kind in ("minLength", "pattern"):
        return [
            (
                json_path(path),
                f"{_shown(instance)} is not allowed (allowed: non-empty text without "
                "leading or trailing spaces)",
            )
        ]
    return [(json_path(path), error.message)]


def _raise_problems(source: str | Path, problems: list[tuple[str, str]]) -> None:
    if not problems:
        return
    unique = sorted(set(problems), key=lambda item: (item[0], item[1]))
    lines = [f"{where}: {what}" for where, what in unique]
    head = "" if len(lines) == 1 else f"{len(lines)} problems: "
    raise QuestionnaireError(source, head + "; ".join(lines))


# --------------------------------------------------------------------------------------
# Native format


def _semantic_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Cross-field checks the schema cannot express."""
    problems: list[tuple[str, str]] = []
    patient = data.get("patient") or {}
    born, on = patient.get("birth_date"), data.get("completed_on")
    if born and on and born > on:
        problems.append(
            (
                "$.patient.birth_date",
                f"{born} is after completed_on {on} (allowed: a date on or before completed_on)",
            )
        )
    smoking = data.get("smoking") or {}
    if smoking.get("status") == "never" and (smoking.get("cigarettes_per_day") or 0) > 0:
        problems.append(
            (
                "$.smoking.cigarettes_per_day",
                f'{smoking["cigarettes_per_day"]} contradicts status "never" (allowed: 0 or '
                'null when status is "never")',
            )
        )
    return problems


def _drop_unknown(value: Any, schema: Mapping[str, Any]) -> Any:
    """Remove nulls and empty sections; store whole-number answers to integer fields as int."""
    if isinstance(value, Mapping):
        props = schema.get("properties", {})
        out = {}
        for key, item in value.items():
            cleaned = _drop_unknown(item, props.get(key, {}))
            if cleaned is None or cleaned == {}:
                continue
            out[key] = cleaned
        return out
    types = schema.get("type", [])
    if isinstance(value, float) and "integer" in types and value.is_integer():
        return int(value)
    return value


def _text_problems(value: Any, parts: list[Any]) -> list[tuple[str, str]]:
    """A control or format character in any text (see :mod:`pgx_report.contracts.text`)."""
    if isinstance(value, str):
        problem = text_problem(value)
        return [(json_path(parts), problem)] if problem else []
    if isinstance(value, Mapping):
        return [p for key, item in value.items() for p in _text_problems(item, [*parts, key])]
    if isinstance(value, list):
        return [
            p for index, item in enumerate(value) for p in _text_problems(item, [*parts, index])
        ]
    return []


def check_native(obj: Any) -> list[tuple[str, str]]:
    """Every problem of a native questionnaire object, as (json path, message) pairs."""
    if not isinstance(obj, Mapping):
        got = _TYPE_NAMES.get(type(obj), type(obj).__name__)
        return [("$", f"{got}, expected a JSON object (a questionnaire)")]
    problems = _text_problems(obj, [])
    unprintable = {where for where, _ in problems}
    for error in validator(SCHEMA_FILE).iter_errors(obj):
        if error.validator == "pattern" and json_path(error.absolute_path) in unprintable:
            continue  # said better by the character check
        problems.extend(_describe(error))
    if not problems:
        problems.extend(_semantic_problems(obj))
    return problems


def parse_questionnaire(
    obj: Any, source: str | Path, *, sha256: str | None = None
) -> Questionnaire:
    """Validate an already-parsed JSON object (native or FHIR) into a Questionnaire."""
    if isinstance(obj, Mapping) and "resourceType" in obj:
        native, where, problems = from_fhir(obj, source)
        broken = {at for at, _ in problems}
        for path, what in check_native(native):
            dotted = path.removeprefix("$").removeprefix(".")
            if where.get(dotted) in broken:  # already reported: the answer could not be read
                continue
            problems.append((_fhir_where(path, where), what))
        _raise_problems(source, [(at, what) for at, what in problems if what])
        fmt = FORMAT_FHIR
    else:
        native = obj
        _raise_problems(source, check_native(native))
        fmt = FORMAT_NATIVE
    data = _drop_unknown(native, questionnaire_schema())
    return Questionnaire(data=data, source=str(source), format=fmt, sha256=sha256)


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Read and validate a questionnaire file (native JSON or FHIR QuestionnaireResponse)."""
    obj, raw = read_json(path, QuestionnaireError)
    questionnaire = parse_questionnaire(obj, path, sha256=sha256_bytes(raw))
    log.info(
        "questionnaire %s: %s format, sample %s",
        path,
        questionnaire.format,
        questionnaire.sample_id,
    )
    return questionnaire


# --------------------------------------------------------------------------------------
# FHIR R4 QuestionnaireResponse


# FHIR R4 QuestionnaireResponse.status (required binding); entered-in-error is refused
_FHIR_STATUSES = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})
_FHIR_VALUE_KEYS = (
    "valueBoolean",
    "valueInteger",
    "valueDecimal",
    "valueString",
    "valueDate",
    "valueDateTime",
    "valueCoding",
    "valueQuantity",
)


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    node = target
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _fhir_where(native_path: str, where: Mapping[str, str]) -> str:
    """Point a native-path problem at the FHIR item it came from."""
    dotted = native_path.removeprefix("$").removeprefix(".")
    if dotted in where:
        return f"{where[dotted]} (linkId {dotted!r})"
    if native_path == "$.completed_on" and "authored" in where:
        return where["authored"]
    missing = dotted or "$"
    return f"$.item (linkId {missing!r})" if dotted else "$"


def _answer_value(answer: Any, at: str, problems: list[tuple[str, str]]) -> tuple[bool, Any]:
    if not isinstance(answer, Mapping):
        problems.append((at, "an answer must be an object"))
        return False, None
    keys = [key for key in answer if key.startswith("value")]
    if len(keys) != 1:
        problems.append(
            (at, f"needs exactly one value[x] (allowed: {', '.join(_FHIR_VALUE_KEYS)})")
        )
        return False, None
    key = keys[0]
    value = answer[key]
    if key not in _FHIR_VALUE_KEYS:
        problems.append(
            (f"{at}.{key}", f"value type not supported (allowed: {', '.join(_FHIR_VALUE_KEYS)})")
        )
        return False, None
    if key == "valueCoding":
        if not isinstance(value, Mapping) or not isinstance(value.get("code"), str):
            problems.append((f"{at}.valueCoding", "needs a 'code' string"))
            return False, None
        return True, value["code"]
    if key == "valueQuantity":
        if not isinstance(value, Mapping) or "value" not in value:
            problems.append((f"{at}.valueQuantity", "needs a 'value' number"))
            return False, None
        return True, value["value"]
    if key == "valueDateTime":
        if not isinstance(value, str) or not _DATE_RE.match(value):
            problems.append((f"{at}.valueDateTime", f"{_shown(value)} is not a FHIR dateTime"))
            return False, None
        return True, value[:10]
    return True, value


# FHIR R4 QuestionnaireResponse.item and .item.answer: the elements read or ignored on
# purpose (id, text, definition, extension carry no answer); anything else is refused, so
# an answer under a misspelt or misplaced key can never be dropped. modifierExtension and
# implicitRules are refused too: FHIR says a reader that does not understand them must not
# read the element they modify.
_ITEM_KEYS = frozenset({"id", "extension", "linkId", "definition", "text", "answer", "item"})
_ANSWER_KEYS = frozenset({"id", "extension", "item"})
_RESOURCE_KEYS = frozenset(
    {
        "resourceType", "id", "meta", "language", "text", "contained", "extension",
        "identifier", "basedOn", "partOf", "questionnaire", "status", "subject",
        "encounter", "authored", "author", "source", "item",
    }
)  # fmt: skip
_MODIFIERS = ("modifierExtension", "implicitRules")


def _unknown_keys(
    obj: Mapping[str, Any], allowed: frozenset[str], at: str, problems: list[tuple[str, str]]
) -> None:
    """Refuse keys FHIR R4 does not define here (``_x`` primitive extensions of known x
    are allowed), and the modifier elements this reader does not understand."""
    for key in obj:
        base = key.removeprefix("_")
        if base in allowed or (allowed is _ANSWER_KEYS and base.startswith("value")):
            continue
        if key in _MODIFIERS:
            problems.append(
                (f"{at}.{key}", f"{key} is not read (it may change the meaning; remove it)")
            )
            continue
        problems.append(
            (f"{at}.{key}", f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
        )


@dataclass
class _FhirWalk:
    """What walking a response's items collects (see :func:`from_fhir`)."""

    known: Mapping[str, Any]
    native: dict[str, Any]
    where: dict[str, str]
    problems: list[tuple[str, str]]


def _walk_items(items: Any, at: str, walk: _FhirWalk) -> None:
    """Every item at every nesting FHIR R4 allows: ``item.item`` (groups in groups, and
    questions under questions) and ``item.answer.item`` (questions under an answer)."""
    if not isinstance(items, list):
        walk.problems.append((at, "must be a list of items"))
        return
    for index, item in enumerate(items):
        _walk_item(item, f"{at}[{index}]", walk)


def _nested(item: Mapping[str, Any], here: str, walk: _FhirWalk) -> bool:
    """Walk the items nested in ``item`` and under its answers; True if there are any."""
    found = "item" in item
    if found:
        _walk_items(item["item"], f"{here}.item", walk)
    answers = item.get("answer")
    if isinstance(answers, list):
        for number, answer in enumerate(answers):
            if isinstance(answer, Mapping) and "item" in answer:
                found = True
                _walk_items(answer["item"], f"{here}.answer[{number}].item", walk)
    return found


def _has_value(answer: Any) -> bool:
    return not isinstance(answer, Mapping) or any(key.startswith("value") for key in answer)


def _tag_since(problems: list[tuple[str, str]], start: int, link_id: str) -> None:
    """Name the item's linkId in the problems found since ``start`` (a path such as
    ``$.item[5].item[1].answer[0]`` alone does not tell a user which question it is)."""
    for index in range(start, len(problems)):
        at, what = problems[index]
        if what:  # an empty message is a marker (see _walk_item), matched by its path
            problems[index] = (f"{at} (linkId {link_id!r})", what)


def _walk_item(item: Any, here: str, walk: _FhirWalk) -> None:
    if not isinstance(item, Mapping) or not isinstance(item.get("linkId"), str):
        walk.problems.append((here, "an item needs a 'linkId' string"))
        return
    link_id = item["linkId"]
    start = len(walk.problems)
    _unknown_keys(item, _ITEM_KEYS, here, walk.problems)
    _tag_since(walk.problems, start, link_id)
    answers = item.get("answer")
    nested = _nested(item, here, walk)
    start = len(walk.problems)
    if isinstance(answers, list):
        for number, answer in enumerate(answers):
            if isinstance(answer, Mapping):
                _unknown_keys(answer, _ANSWER_KEYS, f"{here}.answer[{number}]", walk.problems)
    _tag_since(walk.problems, start, link_id)
    valued = isinstance(answers, list) and any(_has_value(answer) for answer in answers)
    if link_id not in walk.known:
        if nested and not valued:
            return  # a group (or a question with only nested answers): its linkId is free
        hint = difflib.get_close_matches(link_id, list(walk.known), n=1)
        tip = f"did you mean {hint[0]!r}? " if hint else ""
        walk.problems.append(
            (
                f"{here}.linkId",
                f"unknown linkId {link_id!r} ({tip}allowed: see "
                "docs/questionnaire.md, e.g. drinking.audit_score)",
            )
        )
        return
    if link_id in walk.where:
        walk.problems.append(
            (f"{here}.linkId", f"linkId {link_id!r} appears twice (also at {walk.where[link_id]})")
        )
        return
    if answers is None or answers == [] or (isinstance(answers, list) and not valued):
        walk.where[link_id] = here
        return
    if not isinstance(answers, list) or len(answers) != 1:
        walk.problems.append((f"{here}.answer (linkId {link_id!r})", "exactly one answer allowed"))
        walk.problems.append((f"{here}.answer", ""))  # reported: not also "missing"
        walk.where[link_id] = f"{here}.answer"
        return
    answer_at = f"{here}.answer[0]"
    start = len(walk.problems)
    ok, value = _answer_value(answers[0], answer_at, walk.problems)
    _tag_since(walk.problems, start, link_id)
    walk.where[link_id] = answer_at
    if ok:
        _set_dotted(walk.native, link_id, value)
    else:  # mark the item as reported, so "required but missing" is not added
        walk.problems.append((answer_at, ""))


def _contained_responses(resource: Mapping[str, Any], problems: list[tuple[str, str]]) -> None:
    contained = resource.get("contained", [])
    if not isinstance(contained, list):
        problems.append(("$.contained", "must be a list of resources"))
        return
    for index, inner in enumerate(contained):
        if isinstance(inner, Mapping) and inner.get("resourceType") == "QuestionnaireResponse":
            problems.append(
                (
                    f"$.contained[{index}]",
                    "answers in a contained QuestionnaireResponse are not read "
                    "(send one QuestionnaireResponse per file)",
                )
            )


def from_fhir(
    resource: Mapping[str, Any], source: str | Path
) -> tuple[dict[str, Any], dict[str, str], list[tuple[str, str]]]:
    """Map a FHIR R4 QuestionnaireResponse to the native layout by linkId.

    Returns the native dictionary, for each native dotted path the FHIR location of the
    answer (for error messages), and the mapping problems (unknown linkIds, unsupported
    value types ...), so they can be reported together with the schema problems. A
    resource that is not a usable QuestionnaireResponse is refused at once.
    """
    problems: list[tuple[str, str]] = []
    if resource.get("resourceType") != "QuestionnaireResponse":
        _raise_problems(
            source,
            [
                (
                    "$.resourceType",
                    f"{_shown(resource.get('resourceType'))} is not supported "
                    '(allowed: "QuestionnaireResponse")',
                )
            ],
        )
    status = resource.get("status")
    if status == "entered-in-error":
        _raise_problems(
            source,
            [
                (
                    "$.status",
                    'the response is marked "entered-in-error" '
                    "(allowed: completed, amended, in-progress)",
                )
            ],
        )
    if "status" in resource and not (isinstance(status, str) and status in _FHIR_STATUSES):
        _raise_problems(
            source,
            [
                (
                    "$.status",
                    f"{_shown(status)} is not a QuestionnaireResponse status "
                    "(allowed: completed, amended, in-progress, or stopped)",
                )
            ],
        )
    native: dict[str, Any] = {}
    where: dict[str, str] = {}
    if not isinstance(resource.get("item", []), list):
        _raise_problems(source, [("$.item", "must be a list of items")])
    _unknown_keys(resource, _RESOURCE_KEYS, "$", problems)
    _contained_responses(resource, problems)
    _walk_items(resource.get("item", []), "$.item", _FhirWalk(link_ids(), native, where, problems))
    native.setdefault("questionnaire_version", QUESTIONNAIRE_VERSION)
    authored = resource.get("authored")
    if "completed_on" not in native and isinstance(authored, str) and _DATE_RE.match(authored):
        native["completed_on"] = authored[:10]
        where["authored"] = "$.authored"
    return native, where, problems
