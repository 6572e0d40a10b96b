"""The demo workflow on a real single-node SLURM cluster (Debian slurmctld/slurmd/munge),
through snakemake-executor-plugin-slurm. The fixture starts the daemons in a folder of its
own and stops them by PID in all cases.

Needs root (munged runs as the munge user; slurmd as root). Marker: ``slurm``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_workflow import (
    DEMO_EXPECTED,
    check_demo_outputs,
    demo_workdir,
)

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

REPO = Path(__file__).resolve().parent.parent
# The jobstep plugin strips SLURM_CONF from the job's environment before its inner srun,
# so the configuration must sit where every SLURM command looks by default.
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
OUR_MARK = "# pgx-report SLURM integration test (removed when the test ends)"
DAEMONS = ("/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged")
CLIENTS = ("sbatch", "squeue", "scontrol", "sinfo", "munge", "unmunge")


@dataclass
class Cluster:
    root: Path
    conf: Path
    hostname: str
    env: dict[str, str]
    ctld_log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(check: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"SLURM test cluster: timed out waiting for {what}")


def _run(*cmd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=30)


def _munge_works() -> bool:
    munge = _run("munge", "-n")
    if munge.returncode != 0:
        return False
    return (
        subprocess.run(
            ["unmunge"], input=munge.stdout, capture_output=True, text=True, check=False
        ).returncode
        == 0
    )


def _stop_by_pidfile(pidfile: Path) -> None:
    """Stop one daemon we started, by the PID in its pid file (never by name)."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _slurm_conf(root: Path, host: str) -> str:
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    real_mb = total_mb - max(total_mb // 10, 512)
    cpus = os.cpu_count() or 1
    return f"""\
{OUR_MARK}
ClusterName=pgxtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
AuthType=auth/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MinJobAge=1800
ReturnToService=2
MailProg=/bin/true
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={real_mb} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if os.geteuid() != 0:
        pytest.skip("the SLURM test needs root (munged runs as 'munge', slurmd as root)")
    missing = [d for d in DAEMONS if not Path(d).is_file()]
    missing += [c for c in CLIENTS if shutil.which(c) is None]
    if missing:
        pytest.fail(
            f"SLURM packages missing ({', '.join(missing)}): run scripts/install-system-deps.sh"
        )

    if SYSTEM_CONF.exists() and OUR_MARK not in SYSTEM_CONF.read_text(errors="replace"):
        pytest.skip(f"{SYSTEM_CONF} exists (a real SLURM set-up?): not replacing it")
    root = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool"):
        (root / sub).mkdir()
    host = socket.gethostname().split(".")[0]
    conf = SYSTEM_CONF
    env = {key: value for key, value in os.environ.items() if key != "SLURM_CONF"}
    started: list[Path] = []  # pid files of the daemons THIS fixture started, stop order

    try:
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(_slurm_conf(root, host), encoding="utf-8")
        if not _munge_works():
            run_munge = Path("/run/munge")
            run_munge.mkdir(exist_ok=True)
            shutil.chown(run_munge, "munge", "munge")
            result = _run("runuser", "-u", "munge", "--", "/usr/sbin/munged")
            assert result.returncode == 0, result.stderr
            started.insert(0, run_munge / "munged.pid")
            _wait(_munge_works, "munged")
        for daemon, pidfile, args in (
            ("slurmctld", root / "slurmctld.pid", ("-i",)),
            ("slurmd", root / "slurmd.pid", ()),
        ):
            result = _run(f"/usr/sbin/{daemon}", "-f", str(conf), *args, env=env)
            assert result.returncode == 0, f"{daemon} did not start: {result.stderr}"
            started.insert(0, pidfile)
            _wait(pidfile.exists, f"{daemon} pid file")
        _wait(lambda: "UP" in _run("scontrol", "ping", env=env).stdout, "slurmctld UP")
        _wait(
            lambda: "idle" in _run("sinfo", "-h", "-o", "%t", env=env).stdout,
            "the node to be idle",
            timeout=60,
        )
        yield Cluster(root, conf, host, env, root / "slurmctld.log")
    finally:
        for pidfile in started:
            _stop_by_pidfile(pidfile)
        if conf.exists() and OUR_MARK in conf.read_text(errors="replace"):
            conf.unlink()


def test_demo_runs_through_slurm(slurm_cluster: Cluster, tmp_path: Path) -> None:
    workdir = demo_workdir(tmp_path)
    cmd = [
        "timeout", "-s", "INT", "-k", "15", "300",
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        "--config", "samples=sheets/samples.tsv",
        "--profile", str(REPO / "profiles" / "slurm"),
        # a test cluster without accounting (no sacct): poll with squeue
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "2",
        "--default-resources", "slurm_partition=debug", "mem_mb=100", "runtime=5",
        "--jobs", "4",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=slurm_cluster.env, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    check_demo_outputs(workdir, DEMO_EXPECTED)

    # SLURM really ran the jobs: snakemake submitted them with sbatch and logged their SLURM
    # job ids; slurmctld allocated each of those on the node and saw it exit 0.
    submitted = dict(re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", log))
    ids = list(submitted)
    # The cohort VCF is called by one job; the six demo samples are one chunk (config
    # samples_per_job: 50), so one SLURM job calls, assesses and renders them all.
    assert len(ids) == 2, (submitted, log[-4000:])
    paths = sorted(submitted.values())
    assert "/slurm_logs/rule_call_cohort/" in paths[0], paths
    assert "/slurm_logs/rule_reports_0001/" in paths[1], paths
    ctld = slurm_cluster.ctld_log.read_text(encoding="utf-8", errors="replace")
    for job_id in ids:
        assert re.search(
            rf"sched: Allocate JobId={job_id} NodeList={slurm_cluster.hostname} ", ctld
        )
        assert f"_job_complete: JobId={job_id} WEXITSTATUS 0" in ctld, job_id
    assert "localrule batch_summary:" in log
    squeue = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", "%i %T"],
        capture_output=True, text=True, env=slurm_cluster.env, check=False,
    )  # fmt: skip
    states = dict(line.split() for line in squeue.stdout.splitlines())
    assert all(states.get(job_id) == "COMPLETED" for job_id in ids), squeue.stdout
