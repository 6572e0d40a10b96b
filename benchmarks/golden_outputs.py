"""Byte-identity check: the SHA-256 of every output pgx-report makes from a fixed set of inputs.

A restructure that must not change behaviour records the digests before it starts and checks
them after every step:

    python benchmarks/golden_outputs.py record benchmarks/golden.sha256   # before
    python benchmarks/golden_outputs.py check  benchmarks/golden.sha256   # after

What is covered (each output file, plus the exit code, stdout and stderr of every command):
- ``call`` on every case of ``test_vcfs/cases.yaml`` (and its error cases) in every form the
  generator writes (VCF, BGZF, +tbi, +csi, plain gzip, BCF), and on every BAM/CRAM case of
  ``test_vcfs/alignments/spec.yaml``;
- ``assess``, ``render`` (en and nb, PDF + HTML) and ``fhir`` (with ``--pdf``) on the plain-VCF
  call of every case, and ``run`` in both languages;
- ``call``/``assess``/``render``/``fhir``/``run`` on the six demo patients, both languages;
- the demo workflow (Snakemake, every file under results/ and the per-sample logs);
- the first 20 patients of the 1,000-patient workflow benchmark (benchmarks/bench_workflow.py),
  through the workflow.

Every input is generated or copied into one fixed folder (``--work``, default
/tmp/pgx-report-golden) and every command runs there with relative paths, so the digests do
not depend on where the checkout is. The commands run in this process through
``pgx_report.cli.main`` (the same code the console script runs); the workflow runs the
``pgx-report`` found on PATH, so run this with the checkout's environment first on PATH.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORK = Path("/tmp/pgx-report-golden")
LANGS = ("en", "nb")
QUESTIONNAIRE = "demo/questionnaires/demo-carrier.json"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


class Recorder:
    """Runs commands in ``work`` and collects ``name -> sha256`` of what they produce."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.digests: dict[str, str] = {}

    def command(self, key: str, argv: Sequence[str]) -> int:
        from pgx_report import cli

        out, err = io.StringIO(), io.StringIO()
        with _cwd(self.work), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(argv))
            except SystemExit as exit_:
                code = int(exit_.code or 0)
        self.digests[f"{key}.exit"] = str(code)
        self.digests[f"{key}.stdout"] = _digest(out.getvalue().encode())
        self.digests[f"{key}.stderr"] = _digest(err.getvalue().encode())
        return code

    def files(self, folder: str, skip: tuple[str, ...] = ()) -> None:
        root = self.work / folder
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(self.work).as_posix()
            if path.is_file() and not any(part in skip for part in path.parts):
                # CRAM headers carry the reference's absolute path (@SQ UR), which the call
                # keeps: name the work folder the same way wherever it is.
                data = path.read_bytes().replace(str(self.work).encode(), b"<WORK>")
                self.digests[rel] = _digest(data)


def _load(path: Path, name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _prepare(work: Path) -> dict[str, Any]:
    shutil.rmtree(work, ignore_errors=True)
    (work / "out").mkdir(parents=True)
    for name in ("demo", "config"):
        shutil.copytree(REPO / name, work / name)
    generator = _load(REPO / "test_vcfs" / "generate.py", "vcf_generate")
    return {"built": generator.build_all(work / "cases"), "cases": generator.load_cases()}


def _case_call_args(name: str, case: dict[str, Any], path: Path, work: Path) -> list[str]:
    rel = path.relative_to(work).as_posix()
    argv = ["call", rel]
    options = case.get("options", {})
    if "build" in options:
        argv += ["--build", str(options["build"])]
    if options.get("min_depth") is not None:
        argv += ["--min-depth", str(options["min_depth"])]
    if options.get("min_gq") is not None:
        argv += ["--min-gq", str(options["min_gq"])]
    samples = case.get("samples", ["S1"])
    if len(samples) > 1:
        argv += ["--sample", samples[0]]
    return argv


def _downstream(rec: Recorder, key: str, call_json: str, call_argv: list[str]) -> None:
    """assess + render (en, nb) + fhir from one call JSON; run in both languages."""
    out = f"out/{key}"
    assessment = f"{out}/assessment.json"
    code = rec.command(
        f"{key}.assess",
        [
            "assess",
            "--call",
            call_json,
            "--questionnaire",
            QUESTIONNAIRE,
            "-o",
            assessment,
            "--allow-sample-mismatch",
        ],
    )
    if code == 0:
        for lang in LANGS:
            pdf = f"{out}/report.{lang}.pdf"
            rec.command(
                f"{key}.render.{lang}",
                [
                    "render",
                    assessment,
                    "-o",
                    pdf,
                    "--html",
                    f"{out}/report.{lang}.html",
                    "--lang",
                    lang,
                ],
            )
            rec.command(
                f"{key}.fhir.{lang}",
                ["fhir", assessment, "-o", f"{out}/report.{lang}.fhir.json", "--pdf", pdf],
            )
    run_rest = call_argv[2:]
    for lang in LANGS:
        rec.command(
            f"{key}.run.{lang}",
            ["run", call_argv[1], QUESTIONNAIRE, "-o", f"{out}/run.{lang}", "--lang", lang]
            + [a for a in run_rest if a != "--all-samples"]
            + ["--allow-sample-mismatch"],
        )


def _vcf_cases(rec: Recorder, prepared: dict[str, Any]) -> None:
    data = prepared["cases"]
    cases = {**data["cases"], **data["errors"]}
    for name, forms in sorted(prepared["built"].items()):
        case = cases[name]
        for form, path in sorted(forms.items()):
            key = f"case.{name}.{form}"
            argv = _case_call_args(name, case, path, rec.work)
            call_json = f"out/{key}.call.json"
            code = rec.command(f"{key}.call", [*argv, "-o", call_json])
            if form == "vcf" and code == 0:
                _downstream(rec, key, call_json, argv)
        if len(case.get("samples", ["S1"])) > 1:
            path = forms["vcf"]
            rel = path.relative_to(rec.work).as_posix()
            rec.command(
                f"case.{name}.all",
                ["call", rel, "--all-samples", "-o", f"out/case.{name}.all"],
            )


def _alignments(rec: Recorder) -> None:
    generator = _load(REPO / "test_vcfs" / "alignments" / "generate.py", "aln_generate")
    with _cwd(rec.work):  # relative paths: the CRAM headers' UR must not name the work folder
        made = generator.build_all(Path("alignments"))
    for name, case in sorted(made.cases.items()):
        args = [str(a) for a in case.spec.get("args", [])]
        for form, path in sorted(case.files.items()):
            argv = ["call", Path(path).as_posix(), *args]
            if form == "cram" and "--reference" not in args:
                fasta = made.fastas[f"{case.spec.get('build', 'GRCh38')}-chr6"]
                argv += ["--reference", Path(fasta).as_posix()]
            rec.command(f"aln.{name}.{form}.call", [*argv, "-o", f"out/aln.{name}.{form}.json"])


def _demo_patients(rec: Recorder) -> None:
    import csv

    with (rec.work / "config" / "samples.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    for row in rows:
        key = f"demo.{row['sample']}"
        vcf = Path("config", row["input"]).as_posix().replace("config/../", "")
        questionnaire = Path("config", row["questionnaire"]).as_posix().replace("config/../", "")
        call_json = f"out/{key}.call.json"
        rec.command(f"{key}.call", ["call", vcf, "--sample", row["vcf_sample"], "-o", call_json])
        out = f"out/{key}"
        assessment = f"{out}/assessment.json"
        rec.command(
            f"{key}.assess",
            ["assess", "--call", call_json, "--questionnaire", questionnaire, "-o", assessment],
        )
        for lang in LANGS:
            pdf = f"{out}/report.{lang}.pdf"
            rec.command(
                f"{key}.render.{lang}",
                [
                    "render",
                    assessment,
                    "-o",
                    pdf,
                    "--html",
                    f"{out}/report.{lang}.html",
                    "--lang",
                    lang,
                ],
            )
            rec.command(
                f"{key}.fhir.{lang}",
                ["fhir", assessment, "-o", f"{out}/report.{lang}.fhir.json", "--pdf", pdf],
            )
            rec.command(
                f"{key}.run.{lang}",
                [
                    "run",
                    vcf,
                    questionnaire,
                    "-o",
                    f"{out}/run.{lang}",
                    "--lang",
                    lang,
                    "--sample",
                    row["vcf_sample"],
                ],
            )


def _workflow(rec: Recorder, folder: str, sheet: str) -> None:
    cmd = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(rec.work / folder),
        "--cores", "2",
        "--config", f"samples={sheet}",
        "--quiet", "all",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    rec.digests[f"{folder}.workflow.exit"] = str(done.returncode)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    rec.files(f"{folder}/results")
    rec.files(f"{folder}/logs")


def _demo_workflow(rec: Recorder) -> None:
    target = rec.work / "wf-demo"
    target.mkdir()
    shutil.copytree(rec.work / "demo", target / "demo")
    shutil.copytree(rec.work / "config", target / "config")
    _workflow(rec, "wf-demo", "config/samples.tsv")


def _bench_workflow(rec: Recorder) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_workflow

    # The generator draws patients in order: its first 20 are the 1,000-patient run's first 20.
    bench_workflow.generate(rec.work / "wf-bench", 20)
    _workflow(rec, "wf-bench", "samples.tsv")


def collect(work: Path) -> dict[str, str]:
    prepared = _prepare(work)
    rec = Recorder(work)
    _vcf_cases(rec, prepared)
    _alignments(rec)
    _demo_patients(rec)
    rec.files("out")
    _demo_workflow(rec)
    _bench_workflow(rec)
    return rec.digests


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("record", "check"))
    parser.add_argument("digests", type=Path, help="the digest file (name<TAB>sha256 lines)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    args = parser.parse_args(argv)
    os.environ.setdefault("TZ", "UTC")
    digests = collect(args.work)
    text = "".join(f"{key}\t{value}\n" for key, value in sorted(digests.items()))
    if args.mode == "record":
        args.digests.write_text(text, "utf-8")
        print(f"recorded {len(digests)} digests in {args.digests}")
        return 0
    expected = dict(
        line.split("\t", 1) for line in args.digests.read_text("utf-8").splitlines() if line
    )
    missing = sorted(set(expected) - set(digests))
    extra = sorted(set(digests) - set(expected))
    changed = sorted(k for k in set(expected) & set(digests) if expected[k] != digests[k])
    for label, keys in (("missing", missing), ("new", extra), ("changed", changed)):
        for key in keys:
            print(f"{label}: {key}")
    same = len(set(expected) & set(digests)) - len(changed)
    print(
        f"{same} of {len(expected)} identical; {len(changed)} changed, "
        f"{len(missing)} missing, {len(extra)} new"
    )
    print(json.dumps({"identical": same, "changed": len(changed)}), file=sys.stderr)
    return 0 if not (missing or extra or changed) else 1


if __name__ == "__main__":
    sys.exit(main())
