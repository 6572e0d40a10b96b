"""Fuzzing the questionnaire readers: mutated native JSON and FHIR QuestionnaireResponses.

Property (issue 13): ``pgx-report assess`` either refuses the file (exit 2, exactly one
stderr line naming it) or succeeds with an assessment in which every safety answer in the
file is reflected: an independent, naive reading walks the whole JSON for the safety
fields (native keys under ``safety`` and FHIR linkIds ``safety.*`` at any depth); if any
absolute contraindication among them is true, the category must be ``contraindicated``.
Never another exit code, a traceback or a lost answer. The CLI runs in-process (bounded
examples, no deadline); examples the fuzzer found are kept as fixed cases below.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgx_report.cli import main
from tests.conftest import REPO_ROOT

CALL = REPO_ROOT / "tests" / "data" / "assess" / "call_AG.json"
NATIVE = REPO_ROOT / "demo" / "questionnaires" / "demo-carrier.json"
FHIR = REPO_ROOT / "tests" / "data" / "questionnaire_response.fhir.json"
# The absolute contraindications (knowledge_base.yaml: contraindications, severity absolute)
# as field -> values that trigger it; an independent list on purpose.
ABSOLUTE = {
    "hypersensitivity_to_naltrexone": {True},
    "acute_hepatitis": {True},
    "current_opioid_use": {True},
    "opioid_agonist_treatment": {True},
    "positive_opioid_screen": {True},
    "acute_opioid_withdrawal": {True},
    "hepatic_impairment": {"severe"},
    "renal_impairment": {"severe"},
}
DEEP = "__deep__"  # replaced by deeply nested lists in the text (json.dumps cannot nest 2000)
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    st.sampled_from(["\u202e", "\u200b", "\x00", "\t", "\ud800", "x" * 300, "severe"]),
    st.just([]),
    st.just({}),
)


def _naive_triggers(value: Any) -> bool:
    """True if any absolute-contraindication safety answer anywhere in the JSON is true."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            link = node.get("linkId")
            if isinstance(link, str) and link.startswith("safety."):
                field = link.removeprefix("safety.")
                for answer in node.get("answer") or []:
                    if isinstance(answer, dict):
                        for key, got in answer.items():
                            if key.startswith("value"):
                                got = got.get("code") if isinstance(got, dict) else got
                                if got in ABSOLUTE.get(field, ()) and type(got) in (bool, str):
                                    return True
            safety = node.get("safety")
            if isinstance(safety, dict):
                for field, got in safety.items():
                    if type(got) in (bool, str) and got in ABSOLUTE.get(field, ()):
                        return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _run(tmp: Path, text: str) -> tuple[int, str, dict[str, Any] | None]:
    questionnaire, out = tmp / "q.json", tmp / "a.json"
    questionnaire.write_bytes(text.encode("utf-8", "surrogatepass"))
    out.unlink(missing_ok=True)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(
                [
                    "assess", "--call", str(CALL), "--questionnaire", str(questionnaire),
                    "-o", str(out), "--allow-sample-mismatch",
                ]
            )  # fmt: skip
        except SystemExit as exc:  # argparse only
            code = int(exc.code or 0)
    assessment = json.loads(out.read_text("utf-8")) if out.exists() else None
    return code, err.getvalue(), assessment


def _check(tmp: Path, text: str) -> None:
    code, err, assessment = _run(tmp, text)
    lines = [line for line in err.splitlines() if line.strip() and "WARNING" not in line]
    if code == 2:
        assert len(lines) == 1, err
        assert lines[0].startswith("pgx-report: error: ") and "q.json" in lines[0], err
        assert assessment is None
        return
    assert code == 0, err
    assert assessment is not None
    if _naive_triggers(json.loads(text.replace("[" * 2000 + "]" * 2000, "[]"))):
        assert assessment["overall"]["category"] == "contraindicated", text[:500]


# ---- mutations ----------------------------------------------------------------------------


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*at, index))
    return found


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@st.composite
def mutated(draw: st.DrawFn, base: Path) -> str:
    data = json.loads(base.read_text("utf-8"))
    deep = 0
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        target = _get(data, path)
        kind = draw(st.sampled_from(["replace", "drop", "duplicate", "nest", "deep", "safety"]))
        if kind == "replace" and path:
            _get(data, path[:-1])[path[-1]] = draw(ODD)
        elif kind == "drop" and path:
            parent = _get(data, path[:-1])
            del parent[path[-1]]
        elif kind == "duplicate" and isinstance(target, list) and target:
            target.append(copy.deepcopy(draw(st.sampled_from(target))))
        elif kind == "nest" and isinstance(target, list) and len(target) >= 2:
            moved = target.pop()
            host = target[0]
            if isinstance(host, dict):
                where = draw(st.sampled_from(["item", "answer"]))
                if where == "answer" and isinstance(host.get("answer"), list) and host["answer"]:
                    answer = host["answer"][0]
                    if isinstance(answer, dict):
                        answer.setdefault("item", []).append(moved)
                else:
                    items = host.setdefault("item", [])
                    if isinstance(items, list):
                        items.append(moved)
        elif kind == "deep" and path:
            deep = draw(st.sampled_from([3, 70, 2000]))
            _get(data, path[:-1])[path[-1]] = DEEP
        elif kind == "safety":
            field = draw(st.sampled_from(sorted(ABSOLUTE)))
            # an earlier mutation may have replaced the container with an odd value
            if "resourceType" in data:
                if not isinstance(data.get("item"), list):
                    data["item"] = []
                data["item"].append(
                    {"linkId": f"safety.{field}", "answer": [{"valueBoolean": True}]}
                )
            else:
                if not isinstance(data.get("safety"), dict):
                    data["safety"] = {}
                data["safety"][field] = True
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    if deep:
        text = text.replace(json.dumps(DEEP), "[" * deep + "]" * deep)
    return text


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=mutated(NATIVE))
def test_fuzz_native(tmp_path: Path, text: str) -> None:
    _check(tmp_path, text)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=mutated(FHIR))
def test_fuzz_fhir(tmp_path: Path, text: str) -> None:
    _check(tmp_path, text)
