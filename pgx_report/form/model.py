"""From the questionnaire JSON Schema and the form labels to a typed form model.

Pure: no files are read here. Every leaf of the schema becomes a :class:`Field` whose
``name`` is its dotted JSON path (``drinking.audit_score``), so a field added to the
schema appears in the form without any edit here; it is placed in the section of its
top-level key (or in a section of its own) and labelled by the form labels, or by the
schema's description until someone writes a label for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pgx_report.clinical.questionnaire import allowed_text
from pgx_report.contracts.text import printable_pattern

LANGUAGES = ("en", "nb")
Kind = Literal["text", "date", "integer", "number", "choice", "boolean", "const"]

# Sections in the order a clinician works; each lists the schema's top-level keys it holds.
# A top-level key that is in no section gets a section of its own at the end.
SECTION_ORDER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("identity", ("sample_id", "completed_on", "language", "patient", "clinician")),
    ("safety", ("safety",)),
    ("drinking", ("drinking",)),
    ("family_history", ("family_history",)),
    ("drinking_motive", ("drinking_motive",)),
    ("sweet_liking", ("sweet_liking",)),
    ("smoking", ("smoking",)),
)


@dataclass(frozen=True)
class Option:
    """One answer of a choice (``value`` is the JSON value; booleans for yes/no)."""

    value: str | bool
    label: str


@dataclass(frozen=True)
class Helper:
    """Optional item-by-item summing of a score (only the total is ever saved)."""

    name: str
    points: tuple[tuple[int, ...], ...]  # the points each item allows


@dataclass(frozen=True)
class Field:
    """One answer of the questionnaire, with the validator's rules for it."""

    path: str  # dotted JSON path, also the input's name
    kind: Kind
    label: str
    hint: str
    required: bool
    nullable: bool
    allowed: str  # the validator's "(allowed: ...)" text for this field
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    options: tuple[Option, ...] = ()
    const: str | None = None
    helper: Helper | None = None

    @property
    def html_id(self) -> str:
        return "q-" + self.path.replace(".", "-")

    def rules(self) -> dict[str, Any]:
        """What the page's script needs to check this field (JSON-ready)."""
        return {
            "path": self.path,
            "kind": self.kind,
            "id": self.html_id,
            "required": self.required,
            "nullable": self.nullable,
            "allowed": self.allowed,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "pattern": self.pattern,
            "minLength": self.min_length,
            "maxLength": self.max_length,
            "printable": printable_pattern() if self.kind == "text" else None,
            "options": [option.value for option in self.options],
            "const": self.const,
        }


@dataclass(frozen=True)
class Group:
    """A top-level schema key: an object's fields (with a legend) or one scalar field."""

    key: str
    legend: str | None  # None: a scalar, shown without a fieldset of its own
    required: bool
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Section:
    key: str
    legend: str
    groups: tuple[Group, ...]

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(field for group in self.groups for field in group.fields)


@dataclass(frozen=True)
class Form:
    lang: str
    sections: tuple[Section, ...]
    fields_in_schema_order: tuple[Field, ...]  # the key order of the saved JSON
    required_objects: tuple[str, ...]  # top-level objects written even when empty
    ui: Mapping[str, str]

    def field(self, path: str) -> Field:
        for field in self.fields_in_schema_order:
            if field.path == path:
                return field
        raise KeyError(path)


def _types(schema: Mapping[str, Any]) -> list[str]:
    types = schema.get("type", [])
    return [types] if isinstance(types, str) else list(types)


def _kind(schema: Mapping[str, Any]) -> Kind:
    types = _types(schema)
    if "const" in schema:
        return "const"
    if "enum" in schema:
        return "choice"
    if "boolean" in types:
        return "boolean"
    if "integer" in types:
        return "integer"
    if "number" in types:
        return "number"
    if schema.get("format") == "date":
        return "date"
    return "text"


def _label(labels: Mapping[str, Any], group: str, key: str, lang: str, default: str) -> str:
    texts = labels.get(group, {}).get(key)
    if isinstance(texts, Mapping) and isinstance(texts.get(lang), str):
        return str(texts[lang])
    return default


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _hint(kind: Kind, schema: Mapping[str, Any], required: bool, ui: Mapping[str, str]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if kind in ("integer", "number") and low is not None and high is not None:
        text = ui[f"hint_{kind}"].format(min=_number(low), max=_number(high))
    elif kind == "date":
        text = ui["hint_date"]
    elif kind == "text" and required:
        text = ui["hint_text_required"]
    else:
        text = ""
    return text


def _options(
    path: str, schema: Mapping[str, Any], labels: Mapping[str, Any], lang: str
) -> tuple[Option, ...]:
    kind = _kind(schema)
    ui = labels.get("ui", {})
    if kind == "boolean":
        return (
            Option(True, _label({"ui": ui}, "ui", "yes", lang, "yes")),
            Option(False, _label({"ui": ui}, "ui", "no", lang, "no")),
        )
    if kind != "choice":
        return ()
    names = labels.get("options", {}).get(path, {})
    out = []
    for value in schema["enum"]:
        if value is None:
            continue
        out.append(Option(str(value), _label({"o": names}, "o", str(value), lang, str(value))))
    return tuple(out)


def _field(
    path: str,
    schema: Mapping[str, Any],
    required: bool,
    labels: Mapping[str, Any],
    lang: str,
    ui: Mapping[str, str],
) -> Field:
    kind = _kind(schema)
    low, high = schema.get("minimum"), schema.get("maximum")
    return Field(
        path=path,
        kind=kind,
        label=_label(labels, "fields", path, lang, str(schema.get("description", path))),
        hint=_hint(kind, schema, required, ui),
        required=required,
        nullable="null" in _types(schema),
        allowed=allowed_text(schema),
        minimum=float(low) if low is not None else None,
        maximum=float(high) if high is not None else None,
        pattern=schema.get("pattern"),
        min_length=schema.get("minLength"),
        max_length=schema.get("maxLength"),
        options=_options(path, schema, labels, lang),
        const=str(schema["const"]) if "const" in schema else None,
        helper=_helper(path, labels, lang) if kind == "integer" else None,
    )


def _helper(path: str, labels: Mapping[str, Any], lang: str) -> Helper | None:
    spec = labels.get("helpers", {}).get(path)
    if not isinstance(spec, Mapping):
        return None
    points = tuple(tuple(int(p) for p in item) for item in spec.get("points", ()))
    return Helper(_label({"h": spec}, "h", "name", lang, path), points)


def _groups(
    schema: Mapping[str, Any], labels: Mapping[str, Any], lang: str, ui: Mapping[str, str]
) -> Iterator[Group]:
    required = set(schema.get("required", []))
    for key, sub in schema.get("properties", {}).items():
        if sub.get("type") == "object":
            inner = set(sub.get("required", []))
            fields = tuple(
                _field(f"{key}.{child}", child_schema, child in inner, labels, lang, ui)
                for child, child_schema in sub.get("properties", {}).items()
            )
            legend = _label(labels, "groups", key, lang, str(sub.get("description", key)))
            yield Group(key, legend, key in required, fields)
        else:
            yield Group(
                key, None, key in required, (_field(key, sub, key in required, labels, lang, ui),)
            )


def ui_labels(labels: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The page's fixed texts in ``lang`` (every key of ``labels["ui"]``)."""
    return {
        str(key): _label(labels, "ui", str(key), lang, str(key)) for key in labels.get("ui", {})
    }


def build_form(schema: Mapping[str, Any], labels: Mapping[str, Any], lang: str) -> Form:
    """The form for ``lang`` from the questionnaire JSON Schema and the form labels."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown form language {lang!r} (allowed: {', '.join(LANGUAGES)})")
    ui = ui_labels(labels, lang)
    groups = {group.key: group for group in _groups(schema, labels, lang, ui)}
    placed = {key for _, keys in SECTION_ORDER for key in keys}
    order = list(SECTION_ORDER) + [(key, (key,)) for key in groups if key not in placed]
    sections = []
    for section_key, keys in order:
        members = tuple(groups[key] for key in keys if key in groups)
        shown = tuple(
            group for group in members if group.fields[0].kind != "const" or len(group.fields) > 1
        )
        if not shown:
            continue
        default = shown[0].legend or shown[0].fields[0].label
        legend = _label(labels, "sections", section_key, lang, default)
        if len(shown) == 1 and shown[0].key == section_key:  # the section is the group
            shown = (Group(section_key, None, shown[0].required, shown[0].fields),)
        sections.append(Section(section_key, legend, shown))
    return Form(
        lang=lang,
        sections=tuple(sections),
        fields_in_schema_order=tuple(field for group in groups.values() for field in group.fields),
        required_objects=tuple(
            group.key for group in groups.values() if group.legend is not None and group.required
        ),
        ui=ui,
    )
