"""The FHIR code table (``pgx_report/data/fhir_codes.yaml``): every system, code and URL."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from pgx_report.paths import DATA_DIR

CODES_PATH = DATA_DIR / "fhir_codes.yaml"

Json = dict[str, Any]


@dataclass(frozen=True)
class FhirCodes:
    """The parsed ``fhir_codes.yaml``: every system, code and URL the export writes."""

    data: Mapping[str, Any]

    @property
    def local_base(self) -> str:
        return str(self.data["local_base"])

    def system(self, key: str) -> str:
        return str(self.data["systems"][key]["url"])

    def profile(self, key: str) -> str:
        return str(self.data["profiles"][key]["url"])

    def extension(self, key: str) -> str:
        return str(self.data["extensions"][key]["url"])

    def coding(self, key: str) -> Json:
        entry = self.data["codes"][key]
        return {
            "system": self.system(entry["system"]),
            "code": str(entry["code"]),
            "display": str(entry["display"]),
        }

    def concept(self, key: str, text: str | None = None) -> Json:
        out: Json = {"coding": [self.coding(key)]}
        if text:
            out["text"] = text
        return out

    def local_system(self, name: str) -> str:
        if name not in self.data["local_code_systems"]:
            raise KeyError(f"no local code system {name!r} in {CODES_PATH.name}")
        return f"{self.local_base}/CodeSystem/{name}"

    def local_codes(self, system_name: str) -> Mapping[str, Any]:
        """The listed codes of a local code system (empty for the open ones)."""
        return self.data["local_code_systems"][system_name]["concepts"] or {}

    def local_coding(self, system_name: str, code: str, display: str | None = None) -> Json:
        """A coding in one of the project's local code systems.

        Codes listed in the data file take their display from it; the open systems
        (call reasons, contraindications) take the assessment's own English text.
        """
        listed = self.local_codes(system_name)
        if listed and code not in listed:
            raise KeyError(f"{code!r} is not a {system_name} code in {CODES_PATH.name}")
        out: Json = {"system": self.local_system(system_name), "code": code}
        shown = listed.get(code, {}).get("display") if listed else display
        if shown:
            out["display"] = shown
        return out

    def identifier_system(self, key: str) -> str:
        return f"{self.local_base}/NamingSystem/{self.data['identifier_systems'][key]}"


@functools.lru_cache(maxsize=1)
def load_codes() -> FhirCodes:
    with CODES_PATH.open(encoding="utf-8") as handle:
        return FhirCodes(yaml.safe_load(handle))
