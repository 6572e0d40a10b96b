"""Extract from the Genomics Reporting IG package what tests/test_fhir_ig.py checks against.

Usage (once, by a developer; the test itself runs offline on the extract):

    npm pack hl7.fhir.uv.genomics-reporting@3.0.0
    python scripts/extract_fhir_ig.py hl7.fhir.uv.genomics-reporting-3.0.0.tgz \
        tests/data/fhir-ig/genomics-reporting-3.0.0.json

What is kept (everything else in the 7 MB package is left out):

* ``code_systems``: every CodeSystem of the IG, url -> {version, codes: {code: display}};
* ``value_sets``: every ValueSet of the IG, url -> its ``compose.include`` entries;
* ``structure_definitions``: every StructureDefinition, url -> its type, base, and from
  the snapshot each element with a ``fixed[x]`` / ``pattern[x]`` value, each extension
  slice's profile, each required or extensible binding, and (for an extension) the
  ``url`` values of its sub-extensions;
* ``example_codings``: the codings of external code systems (LOINC, HGNC, ...) that the
  IG's own examples use, system -> {code: [displays]}: the IG's word on a LOINC answer
  code such as LA9633-4 "Present", which no CodeSystem of the package defines.

The output is canonical JSON (sorted keys, two-space indent), so a re-run gives the same
bytes.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Json = dict[str, Any]

IG_CANONICAL = "http://hl7.org/fhir/uv/genomics-reporting"


def _members(tgz: Path) -> Iterator[tuple[str, Json]]:
    with tarfile.open(tgz, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            data = json.loads(handle.read().decode("utf-8"))
            if isinstance(data, dict) and "resourceType" in data:
                yield member.name, data


def _concepts(concepts: list[Json], out: dict[str, str]) -> None:
    for concept in concepts:
        out[str(concept["code"])] = str(concept.get("display", ""))
        _concepts(concept.get("concept", []), out)


def _code_system(data: Json) -> Json:
    codes: dict[str, str] = {}
    _concepts(data.get("concept", []), codes)
    return {"version": data.get("version"), "title": data.get("title"), "codes": codes}


def _value_set(data: Json) -> Json:
    return {
        "version": data.get("version"),
        "include": data.get("compose", {}).get("include", []),
        "exclude": data.get("compose", {}).get("exclude", []),
    }


def _fixed_values(element: Json) -> Json:
    return {k: v for k, v in element.items() if k.startswith(("fixed", "pattern"))}


def _structure_definition(data: Json) -> Json:
    elements = data.get("snapshot", data.get("differential", {})).get("element", [])
    constraints = []
    extension_slices = {}
    bindings = []
    for element in elements:
        eid = str(element["id"])
        values = _fixed_values(element)
        if values:
            constraints.append({"id": eid, **values})
        if element.get("sliceName") and element["path"].endswith("extension"):
            profiles = [p for t in element.get("type", []) for p in t.get("profile", [])]
            if profiles:
                extension_slices[eid] = profiles
        binding = element.get("binding")
        if binding and binding.get("strength") in ("required", "extensible"):
            bindings.append(
                {"id": eid, "strength": binding["strength"], "valueSet": binding.get("valueSet")}
            )
    out: Json = {
        "id": data["id"],
        "type": data.get("type"),
        "kind": data.get("kind"),
        "baseDefinition": data.get("baseDefinition"),
        "constraints": constraints,
        "extension_slices": extension_slices,
        "bindings": bindings,
    }
    if data.get("type") == "Extension":
        out["sub_extension_urls"] = sorted(
            str(e["fixedUri"])
            for e in elements
            if e["path"] == "Extension.extension.url" and "fixedUri" in e
        )
    return out


def _walk_codings(node: Any) -> Iterator[Json]:
    if isinstance(node, dict):
        if isinstance(node.get("system"), str) and "code" in node:
            yield node
        for value in node.values():
            yield from _walk_codings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_codings(value)


def extract(tgz: Path) -> Json:
    out: Json = {
        "package": {},
        "code_systems": {},
        "value_sets": {},
        "structure_definitions": {},
        "example_codings": {},
    }
    examples: dict[str, dict[str, set[str]]] = {}
    for name, data in _members(tgz):
        kind = data["resourceType"]
        url = data.get("url")
        if name.startswith("package/example/"):
            for coding in _walk_codings(data):
                system = str(coding["system"])
                if system.startswith(IG_CANONICAL):
                    continue
                displays = examples.setdefault(system, {}).setdefault(str(coding["code"]), set())
                if "display" in coding:
                    displays.add(str(coding["display"]))
        elif kind == "CodeSystem":
            out["code_systems"][url] = _code_system(data)
        elif kind == "ValueSet":
            out["value_sets"][url] = _value_set(data)
        elif kind == "StructureDefinition":
            out["structure_definitions"][url] = _structure_definition(data)
        elif kind == "ImplementationGuide":
            out["package"] = {
                "packageId": data.get("packageId"),
                "version": data.get("version"),
                "url": url,
                "fhirVersion": data.get("fhirVersion"),
                "license": data.get("license"),
            }
    out["example_codings"] = {
        system: {code: sorted(displays) for code, displays in codes.items()}
        for system, codes in examples.items()
    }
    out["package"]["tarball_sha256"] = hashlib.sha256(tgz.read_bytes()).hexdigest()
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: extract_fhir_ig.py PACKAGE.tgz OUT.json", file=sys.stderr)
        return 2
    tgz, target = Path(argv[0]), Path(argv[1])
    text = json.dumps(extract(tgz), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
