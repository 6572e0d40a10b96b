"""In-process coverage-guided fuzzing of pgx-report's input readers with atheris (libFuzzer).

``make fuzz`` runs every target for ``FUZZ_SECONDS`` seconds (default 60) each:

    python fuzz/fuzz.py [--seconds N] [--out DIR] [TARGET ...]

Targets (each one process; see docs/calling.md, "Fuzzing"):

- ``vcf``: the bytes are a plain-text VCF; ``vcf_bgzip``: the same text, written BGZF
  compressed (with its end-of-file block) by the harness; ``bgzf_bytes``: the bytes
  are the compressed file itself (BGZF / gzip container damage). Each is called
  through the precheck and caller (``call_all_samples``, and ``call_sample`` for the
  first sample) in this process, not in a reader process: a segfault in htslib is a
  crash libFuzzer records. Property: a :class:`PgxError` (exit 2 in the CLI) or calls
  whose genotype a naive reading of the same lines supports.
- ``json``: the strict JSON reader (``files/jsonio.parse_json``): a PgxError or a
  value that serialises back as strict JSON.
- ``questionnaire``: native questionnaires and ``fhir``: FHIR QuestionnaireResponses,
  through the parser and the assessment: a PgxError, or an assessment whose category
  is ``contraindicated`` whenever a naive reading of the JSON finds an absolute
  contraindication answered true, and that serialises as strict JSON.

The JSON targets mutate the parsed document (a value replaced, removed, duplicated or
nested) as well as its bytes. Corpora are seeded from ``test_vcfs/cases.yaml`` (via
``test_vcfs/generate.py``), ``demo/questionnaires`` and ``tests/data``, and kept in
``OUT/corpus/TARGET`` between runs; an input that fails (exception, crash, hang over
``-timeout``, memory) is saved in ``OUT/crashes/TARGET/`` and the run exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGETS = ("vcf", "vcf_bgzip", "bgzf_bytes", "json", "questionnaire", "fhir")
MAX_LEN = {"vcf": 32768, "vcf_bgzip": 32768, "bgzf_bytes": 32768}
JSON_TARGETS = ("json", "questionnaire", "fhir")


# ---- seeds --------------------------------------------------------------------------------


def _seed_files(target: str, scratch: Path) -> list[Path]:
    if target in ("vcf", "vcf_bgzip", "bgzf_bytes"):
        generated = scratch / "test_vcfs"
        if not generated.is_dir():
            subprocess.run(
                [sys.executable, str(REPO / "test_vcfs" / "generate.py"), str(generated)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        pattern = "*.vcf" if target != "bgzf_bytes" else "*.vcf.gz"
        found = sorted(generated.glob(pattern))
        if target == "bgzf_bytes":
            found += [REPO / "demo" / "vcfs" / "DEMO-ND.vcf.gz"]
        return found
    questionnaires = sorted((REPO / "demo" / "questionnaires").glob("*.json"))
    fhir = [REPO / "tests" / "data" / "questionnaire_response.fhir.json"]
    if target == "questionnaire":
        return questionnaires
    if target == "fhir":
        return fhir
    data = sorted(p for p in (REPO / "tests" / "data").rglob("*.json") if p.stat().st_size < 65536)
    return questionnaires + fhir + data


def _prepare_corpus(target: str, corpus: Path, scratch: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    for number, path in enumerate(_seed_files(target, scratch)):
        shutil.copyfile(path, corpus / f"seed-{number:04d}-{path.name}")


# ---- helpers used inside the targets --------------------------------------------------------


def bgzf(data: bytes) -> bytes:
    """``data`` as a BGZF file (blocks of at most 64 KiB, then the end-of-file block)."""
    out = bytearray()
    for start in range(0, max(len(data), 1), 0xFF00):
        block = data[start : start + 0xFF00]
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = packer.compress(block) + packer.flush()
        size = 18 + len(body) + 8 - 1
        header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
        out += header + struct.pack("<H", size) + body
        out += struct.pack("<II", zlib.crc32(block), len(block))
    out += bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    return bytes(out)


SITES = {"GRCh38": 154039662, "GRCh37": 154360797}


def naive_genotypes(text: str, chrom: str, pos: int, column: int) -> set[str]:
    """The genotypes a naive reading supports at ``chrom:pos`` for the sample in ``column``:
    a record there with REF A (its GT's alleles, diploid A/G only), or a reference block
    (``END=``) covering it with GT 0/0 (A/A)."""
    found: set[str] = set()
    for line in text.split("\n"):
        fields = line.rstrip("\r").split("\t")
        if line.startswith("#") or len(fields) <= column or fields[0] != chrom:
            continue
        if not fields[1].isdigit():
            continue
        start = int(fields[1])
        gt = fields[column].split(":")[0].replace("|", "/").split("/")
        if not all(g.isdigit() for g in gt) or len(gt) != 2:
            continue
        end = next(
            (int(v[4:]) for v in fields[7].split(";") if v.startswith("END=") and v[4:].isdigit()),
            None,
        )
        ref, offset = fields[3].upper(), pos - start
        if 0 <= offset < len(ref) and ref[offset] == "A":
            # the base at the site in each allele (a longer, unnormalised allele too)
            alleles = [
                a[offset] if len(a) > offset else "-" for a in [ref, *fields[4].upper().split(",")]
            ]
            if all(int(g) < len(alleles) for g in gt):
                bases = sorted(alleles[int(g)] for g in gt)
                if set(bases) <= {"A", "G"}:
                    found.add("/".join(bases))
        if end is not None and start <= pos <= end and gt == ["0", "0"]:
            found.add("A/A")
    return found


def _sample_columns(text: str) -> dict[str, int]:
    for line in text.split("\n"):
        if line.startswith("#CHROM"):
            return {name: 9 + i for i, name in enumerate(line.rstrip("\r").split("\t")[9:])}
    return {}


def _check_calls(calls: Any, text: str | None) -> None:
    for call in calls:
        data = call.to_dict()
        json.dumps(data, allow_nan=False)
        if text is None or data["status"] != "called":
            continue
        column = _sample_columns(text).get(data["sample"])
        variant = data["variant"]
        supported = (
            naive_genotypes(text, variant["chrom"], variant["pos"], column)
            if column is not None
            else set()
        )
        if data["genotype"] not in supported:
            raise AssertionError(
                f"genotype {data['genotype']} for {data['sample']} at {variant['chrom']}:"
                f"{variant['pos']} is not supported by the records (naive: {sorted(supported)})"
            )


# ---- JSON-aware mutation ------------------------------------------------------------------


ODD: list[Any] = [
    None, True, False, 0, -1, 1, 41, 10**25, -0.0, 1e308, 0.5, "", "x" * 300, "severe",
    "true", "\u202e", "\u200b", "\x00", "\ud800", [], {}, [[]], {"valueBoolean": True},
    {"linkId": "safety.opioid_agonist_treatment", "answer": [{"valueBoolean": True}]},
]  # fmt: skip


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*at, index))
    return found


def _mutate_document(data: Any, rng: random.Random) -> Any:
    paths = _paths(data)
    path = rng.choice(paths)
    if not path:
        return data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    op = rng.randrange(6)
    if op == 0:
        parent[key] = rng.choice(ODD)
    elif op == 1:
        del parent[key]
    elif op == 2:
        parent[key] = [parent[key]] if rng.random() < 0.5 else {"item": [parent[key]]}
    elif op == 3:
        other = rng.choice(paths)
        node = data
        for part in other:
            node = node[part]
        parent[key] = json.loads(json.dumps(node))
    elif op == 4 and isinstance(parent, dict):
        parent[rng.choice(["answer", "item", "value", "safety", "linkId", key + "x"])] = parent[key]
    elif isinstance(parent[key], str) and parent[key]:
        text = parent[key]
        cut = rng.randrange(len(text) + 1)
        parent[key] = text[:cut] + rng.choice(["\u202e", "0", "\t", ".", "-", "é"]) + text[cut:]
    return data


def json_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    import atheris

    rng = random.Random(seed)
    if rng.random() < 0.3:
        return bytes(atheris.Mutate(data, max_size))
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return bytes(atheris.Mutate(data, max_size))
    try:
        for _ in range(rng.randint(1, 3)):
            document = _mutate_document({"_": document}, rng).get("_")
    except RecursionError:  # nested too deep to walk: bytes only
        return bytes(atheris.Mutate(data, max_size))
    try:
        text = json.dumps(document, ensure_ascii=rng.random() < 0.5)
    except (ValueError, RecursionError):
        return data
    return text.encode("utf-8", "surrogatepass")[:max_size]


# ---- the targets --------------------------------------------------------------------------


class _Targets:
    """The fuzzed functions, imported under atheris' instrumentation."""

    def __init__(self, target: str, *, instrument: bool = True) -> None:
        import contextlib

        context: Any = contextlib.nullcontext()
        if instrument:
            import atheris

            context = atheris.instrument_imports(include=["pgx_report"])
        with context:
            import pgx_report.clinical.assessment
            import pgx_report.clinical.knowledge
            import pgx_report.clinical.questionnaire
            import pgx_report.contracts.call
            import pgx_report.files.jsonio
            import pgx_report.files.sniff
            import pgx_report.genotype.dispatch
            import pgx_report.genotype.vcf.grouped
            import pgx_report.genotype.vcf.locate
            import pgx_report.genotype.vcf.precheck
            import pgx_report.genotype.vcf.reader
            import pgx_report.genotype.vcf.rules
        import logging

        from pgx_report.errors import PgxError

        logging.disable(logging.WARNING)  # e.g. "sample mismatch allowed", once per input
        self.error = PgxError
        self.target = target
        self.folder = Path(tempfile.mkdtemp(prefix=f"pgx-fuzz-{target}-"))
        self.dispatch = pgx_report.genotype.dispatch
        self.jsonio = pgx_report.files.jsonio
        self.questionnaire = pgx_report.clinical.questionnaire
        self.assessment = pgx_report.clinical.assessment
        self.kb = pgx_report.clinical.knowledge.load_knowledge_base()
        call_path = REPO / "tests" / "data" / "assess" / "call_AG.json"
        self.call_data = json.loads(call_path.read_text("utf-8"))
        self.call = pgx_report.contracts.call.Call.from_dict(self.call_data, call_path)
        sys.path.insert(0, str(REPO))  # the tests' independent reading of safety answers
        from tests.test_fuzz_questionnaire import _naive_triggers

        self.naive_triggers = _naive_triggers

    def run(self, data: bytes) -> None:
        """One input; a failing one is also saved here, in case libFuzzer cannot."""
        try:
            self._run(data)
        except BaseException:
            saved = os.environ.get("PGX_FUZZ_FAILURES")
            if saved:
                import hashlib

                name = f"failure-{hashlib.sha1(data).hexdigest()}"
                (Path(saved) / name).write_bytes(data)
            raise

    def _run(self, data: bytes) -> None:
        if self.target in ("vcf", "vcf_bgzip", "bgzf_bytes"):
            self._vcf(data)
        elif self.target == "json":
            self._refused_or(self._json, data)
        else:
            self._refused_or(self._questionnaire, data)

    def _refused_or(self, function: Any, *args: Any) -> None:
        """``function(*args)``; a PgxError (bad input) is fine if it is one line."""
        try:
            function(*args)
        except self.error as exc:
            message = str(exc)
            if "\n" in message or not message:
                raise AssertionError(f"not one line: {message!r}") from exc

    def _vcf(self, data: bytes) -> None:
        for old in self.folder.iterdir():
            old.unlink()
        text: str | None = data.decode("utf-8", "replace")
        if self.target == "vcf":
            path = self.folder / "in.vcf"
            path.write_bytes(data)
        elif self.target == "vcf_bgzip":
            path = self.folder / "in.vcf.gz"
            path.write_bytes(bgzf(data))
        else:
            path, text = self.folder / "in.vcf.gz", None
            path.write_bytes(data)
        self._refused_or(lambda: _check_calls(self.dispatch.call_all_samples(path), text))
        names = list(_sample_columns(text)) if text else []
        if names:
            self._refused_or(
                lambda: _check_calls([self.dispatch.call_sample(path, sample=names[0])], text)
            )

    def _json(self, data: bytes) -> None:
        value = self.jsonio.parse_json(data, "fuzz.json")
        json.dumps(value, allow_nan=False)

    def _questionnaire(self, data: bytes) -> None:
        obj = self.jsonio.parse_json(data, "q.json")
        questionnaire = self.questionnaire.parse_questionnaire(obj, "q.json")
        inputs = self.assessment.default_inputs(
            self.call, questionnaire, call_path="call.json", call_sha256="0" * 64
        )
        result = self.assessment.assess(
            self.call, questionnaire, self.kb, inputs=inputs, allow_sample_mismatch=True
        )
        json.dumps(result.to_dict(), allow_nan=False)
        if self.naive_triggers(obj) and result.overall.category != "contraindicated":
            raise AssertionError(f"a true absolute contraindication was lost: {obj!r}"[:2000])


def _fuzz_one(target: str, libfuzzer_args: list[str]) -> None:
    """Inside the fuzzing process: set atheris up for ``target`` and run it."""
    import atheris

    targets = _Targets(target)
    extra = {"custom_mutator": json_mutator} if target in JSON_TARGETS else {}
    atheris.Setup([sys.argv[0], *libfuzzer_args], targets.run, **extra)
    atheris.Fuzz()


def _replay(target: str, files: list[Path]) -> int:
    """Run saved inputs through ``target`` (no instrumentation); 1 if any fails."""
    import traceback

    targets = _Targets(target, instrument=False)
    failed = 0
    for path in files:
        try:
            targets.run(path.read_bytes())
        except Exception:
            failed += 1
            print(f"FAIL {path}: {traceback.format_exc(limit=1).strip().splitlines()[-1]}")
    print(f"{len(files) - failed} of {len(files)} inputs pass")
    return 1 if failed else 0


# ---- the driver ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--run"]:  # inside the fuzzing process: TARGET, then libFuzzer's args
        _fuzz_one(argv[1], argv[2:])
        return 0
    if argv[:1] == ["--replay"]:  # TARGET FILE...: run saved inputs, no fuzzing
        return _replay(argv[1], [Path(name) for name in argv[2:]])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", help=f"some of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", 60)))
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("FUZZ_DIR", "fuzz-out")))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target {unknown[0]!r} (targets: {', '.join(TARGETS)})")
    out: Path = args.out.resolve()
    failed: list[str] = []
    for target in args.targets or TARGETS:
        corpus, crashes = out / "corpus" / target, out / "crashes" / target
        crashes.mkdir(parents=True, exist_ok=True)
        _prepare_corpus(target, corpus, out / "seeds")
        before = set(crashes.iterdir())
        command = [
            sys.executable, __file__, "--run", target, str(corpus),
            f"-max_total_time={args.seconds}", "-timeout=20", "-rss_limit_mb=3072",
            f"-max_len={MAX_LEN.get(target, 16384)}", f"-artifact_prefix={crashes}/",
            "-print_final_stats=1",
        ]  # fmt: skip
        print(f"== fuzz {target}: {args.seconds} s, corpus {corpus}", flush=True)
        log = out / f"{target}.log"
        env = {**os.environ, "PGX_FUZZ_FAILURES": str(crashes)}
        with log.open("w") as handle:
            code = subprocess.run(
                command, stdout=handle, stderr=subprocess.STDOUT, env=env
            ).returncode
        found = sorted(set(crashes.iterdir()) - before)
        stats = [ln for ln in log.read_text(errors="replace").splitlines() if "stat::" in ln]
        runs = next((ln.split(":")[-1].strip() for ln in stats if "number_of_executed" in ln), "?")
        print(f"   {runs} inputs, exit {code}; new failing inputs: {len(found)} (log: {log})")
        for path in found:
            print(f"   {path}")
        if found or code != 0:
            failed.append(target)
    if failed:
        print(f"fuzz: failures in {', '.join(failed)} (inputs under {out / 'crashes'})")
        return 1
    print(f"fuzz: no failing input ({args.seconds} s per target; corpora in {out / 'corpus'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
