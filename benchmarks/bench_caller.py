"""Caller speed against bcftools, in the same run (``make bench``).

For each generated input (see ``benchmarks/inputs.py``; cached in ``$PGX_BENCH_CACHE``,
default ``~/.cache/pgx-report/bench``):

- ``pgx-report call`` as a whole process (best of N wall-clock runs, peak RSS of the
  child from ``wait4``) and the in-process API (``pgx_report.genotype.vcf.rules.call_file`` /
  ``call_all_samples``, best of N after one warm-up run);
- the peers: ``bcftools view -H -r`` (indexed), ``bcftools view -H -t`` and
  ``zcat | grep`` (unindexed), ``bcftools query -r ... -f '[%SAMPLE\\t%GT\\n]'`` (cohorts).

Prints a table of ratios against the targets of issue 6 and writes it as JSON to
``benchmarks/results/bench_caller.json``. Timings are informative: nothing here fails
on a missed target (the table says by how much).

Usage: python benchmarks/bench_caller.py [--repeat N] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import inputs  # noqa: E402

REGION = f"{inputs.SITE[0]}:{inputs.SITE[1]}"
PGX = [sys.executable, "-m", "pgx_report"]


@dataclass(frozen=True)
class Timing:
    seconds: float
    peak_mb: float | None = None


def run_process(cmd: Sequence[str], repeat: int, ok: Sequence[int] = (0,)) -> Timing:
    """Best wall time of ``repeat`` runs and the largest peak RSS among them."""
    best = float("inf")
    peak = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            raise RuntimeError(f"{' '.join(cmd)} exited {code}: {stderr.strip()}")
        best = min(best, elapsed)
        peak = max(peak, usage.ru_maxrss / 1024)
    return Timing(best, peak)


def run_inprocess(fn: Callable[[], Any], repeat: int) -> Timing:
    fn()  # warm-up: imports, page cache
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return Timing(best)


@dataclass(frozen=True)
class Row:
    input: str
    measure: str
    ours: float
    peer_name: str
    peer: float | None
    ratio: float | None  # ours / peer (or the value itself when no peer)
    target: str
    ok: bool | None
    peak_mb: float | None = None


def _check(value: float, limit: float, below: bool = True) -> bool:
    return value <= limit if below else value >= limit


def bench_single(item: inputs.Input, repeat: int, slow_repeat: int) -> list[Row]:
    from pgx_report.genotype.vcf.locate import locate
    from pgx_report.genotype.vcf.rules import call_file

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "call.json"
        idx_cli = run_process([*PGX, "call", str(item.indexed), "-o", str(out)], repeat)
        idx_api = run_inprocess(lambda: call_file(item.indexed), repeat)
        r_peer = run_process(["bcftools", "view", "-H", "-r", REGION, str(item.indexed)], repeat)
        status = json.loads(out.read_text())["status"]
        rows.append(
            Row(item.name + " indexed", f"in-process call ({status})", idx_api.seconds,
                "bcftools view -r", r_peer.seconds, idx_api.seconds / r_peer.seconds,
                "<= 1.0x", _check(idx_api.seconds / r_peer.seconds, 1.0))
        )  # fmt: skip
        rows.append(
            Row(item.name + " indexed", "pgx-report call (process)", idx_cli.seconds,
                "bcftools view -r", r_peer.seconds, idx_cli.seconds / r_peer.seconds,
                "<= 0.5 s", _check(idx_cli.seconds, 0.5), idx_cli.peak_mb)
        )  # fmt: skip

        noi_cli = run_process([*PGX, "call", str(item.noindex), "-o", str(out)], repeat)
        noi_api = run_inprocess(lambda: call_file(item.noindex), repeat)
        loc = run_inprocess(lambda: locate(item.noindex, [inputs.SITE[0]], inputs.SITE[1]), repeat)
        method = locate(item.noindex, [inputs.SITE[0]], inputs.SITE[1]).method
        t_peer = run_process(
            ["bcftools", "view", "-H", "-t", REGION, str(item.noindex)], slow_repeat
        )
        grep = run_process(
            ["bash", "-c", f"zcat {item.noindex} | grep -P '^chr6\\t{inputs.SITE[1]}\\t'"],
            slow_repeat,
            ok=(0, 1),
        )
        status = json.loads(out.read_text())["status"]
        rows.append(
            Row(item.name + " no index", f"in-process call ({status}) / indexed call",
                noi_api.seconds, "our indexed call", idx_api.seconds,
                noi_api.seconds / idx_api.seconds, "<= 2x",
                _check(noi_api.seconds / idx_api.seconds, 2.0))
        )  # fmt: skip
        rows.append(
            Row(item.name + " no index", "bcftools view -t / in-process call", noi_api.seconds,
                "bcftools view -t", t_peer.seconds, t_peer.seconds / noi_api.seconds,
                ">= 10x faster", _check(t_peer.seconds / noi_api.seconds, 10.0, below=False))
        )  # fmt: skip
        rows.append(
            Row(item.name + " no index", "zcat|grep / in-process call", noi_api.seconds,
                "zcat | grep", grep.seconds, grep.seconds / noi_api.seconds, "(info)", None)
        )  # fmt: skip
        rows.append(
            Row(item.name + " no index", "pgx-report call (process), peak memory",
                noi_cli.seconds, "bcftools view -t", t_peer.seconds,
                noi_cli.seconds / t_peer.seconds, "< 200 MB", (noi_cli.peak_mb or 0) < 200,
                noi_cli.peak_mb)
        )  # fmt: skip
        rows.append(
            Row(item.name + " no index", f"locate() alone ({method})", loc.seconds,
                "bcftools view -r (indexed)", r_peer.seconds, loc.seconds / r_peer.seconds,
                "(info)", None)
        )  # fmt: skip
    return rows


def bench_cohort(item: inputs.Input, repeat: int) -> list[Row]:
    from pgx_report.genotype.vcf.rules import call_all_samples

    rows: list[Row] = []
    query = [
        "bcftools", "query", "-r", REGION, "-f", "[%SAMPLE\\t%GT\\n]", str(item.indexed),
    ]  # fmt: skip
    peer = run_process(query, repeat)
    for label, path in (("indexed", item.indexed), ("no index", item.noindex)):
        api = run_inprocess(lambda p=path: call_all_samples(p), repeat)  # type: ignore[misc]
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "calls"
            cli = run_process([*PGX, "call", str(path), "--all-samples", "-o", str(out)], 1)
            written = len(list(out.glob("*.json")))
            shutil.rmtree(out)
        rows.append(
            Row(f"{item.name} {label}", f"in-process call of {item.samples:,} samples",
                api.seconds, "bcftools query -r", peer.seconds, api.seconds / peer.seconds,
                "<= 3x", _check(api.seconds / peer.seconds, 3.0))
        )  # fmt: skip
        rows.append(
            Row(f"{item.name} {label}", f"--all-samples (process, {written:,} JSON + tsv)",
                cli.seconds, "bcftools query -r", peer.seconds, cli.seconds / peer.seconds,
                "<= 10 s", _check(cli.seconds, 10.0), cli.peak_mb)
        )  # fmt: skip
    return rows


def print_table(rows: Sequence[Row]) -> None:
    head = ("input", "measure", "ours s", "peer", "peer s", "ratio", "target", "ok", "peak MB")
    body = [
        (
            r.input,
            r.measure,
            f"{r.ours:.4f}",
            r.peer_name,
            "" if r.peer is None else f"{r.peer:.4f}",
            "" if r.ratio is None else f"{r.ratio:.2f}",
            r.target,
            "" if r.ok is None else ("yes" if r.ok else "MISS"),
            "" if r.peak_mb is None else f"{r.peak_mb:.0f}",
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    for line in (head, *body):
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per fast measurement")
    parser.add_argument("--slow-repeat", type=int, default=2, help="runs per streaming peer")
    parser.add_argument("--only", nargs="*", help="input names (wgs gvcf cohort2504 cohort100k)")
    args = parser.parse_args(argv)
    for tool in ("bcftools", "bgzip", "tabix"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (make system)", file=sys.stderr)
            return 2
    version = subprocess.run(["bcftools", "--version"], capture_output=True, text=True, check=True)
    print(f"peer: {version.stdout.splitlines()[0]}; cores: {os.cpu_count()}")
    makers: dict[str, Callable[[], inputs.Input]] = {
        "wgs": inputs.wgs,
        "gvcf": inputs.gvcf,
        "cohort2504": lambda: inputs.cohort(2_504),
        "cohort100k": lambda: inputs.cohort(100_000),
    }
    rows: list[Row] = []
    for name, make in makers.items():
        if args.only and name not in args.only:
            continue
        item = make()
        size = item.indexed.stat().st_size / 1e6
        print(f"== {name}: {item.indexed.name}, {size:.1f} MB, {item.samples:,} sample(s)")
        if item.samples == 1:
            rows += bench_single(item, args.repeat, args.slow_repeat)
        else:
            rows += bench_cohort(item, max(1, args.repeat // 2))
    print()
    print_table(rows)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "bench_caller.json").write_text(
        json.dumps([asdict(r) for r in rows], indent=2) + "\n", "utf-8"
    )
    missed = [r for r in rows if r.ok is False]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} rows on target" if rows else "no rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
