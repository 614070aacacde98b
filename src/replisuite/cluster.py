"""A one-node SLURM cluster for checking the SLURM profile for real, and what its jobs used.

`LocalSlurm` writes a minimal ``slurm.conf`` (one node, one partition, no accounting storage),
starts ``munged``, ``slurmctld`` and ``slurmd`` and stops them again. Without accounting there
is no ``sacct``: Snakemake's SLURM executor must query job states with
``--slurm-status-command squeue`` and submit with ``--slurm-no-account`` (see docs/hpc.md).
`memory_report` compares each rule's requested memory with the peak its jobs used, read from
the ``benchmark:`` file every rule writes (the executor's own efficiency report needs sacct).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from replisuite.workflow import ListedJob

DAEMONS = ("munged", "slurmctld", "slurmd")
# Job steps (srun inside a batch job) find the config only at its default place, not via SLURM_CONF.
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARK = "# written by replisuite.cluster.LocalSlurm; removed when it stops"
CLIENTS = ("sbatch", "squeue", "sinfo", "scancel")


class ClusterError(RuntimeError):
    """The local cluster could not be brought up."""


def missing_programs() -> list[str]:
    """SLURM and munge programs this machine lacks (Debian packages slurm-wlm and munge)."""
    return [name for name in (*DAEMONS, *CLIENTS) if shutil.which(name) is None and not Path("/usr/sbin", name).exists()]


def slurm_conf(*, host: str, cpus: int, memory_mb: int, state_dir: Path, partition: str = "main") -> str:
    """A minimal slurm.conf: one node, one default partition, memory as a consumable resource.

    Memory is consumable (``CR_Core_Memory``) so a job's ``--mem`` is enforced as a limit on what
    is scheduled beside it, as on a real site. There is no accounting storage, hence no sacct.
    """
    state_dir = Path(state_dir)
    return "\n".join([
        MARK,
        "ClusterName=replisuite",
        f"SlurmctldHost={host}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        f"StateSaveLocation={state_dir / 'ctld'}",
        f"SlurmdSpoolDir={state_dir / 'd'}",
        f"SlurmctldPidFile={state_dir / 'slurmctld.pid'}",
        f"SlurmdPidFile={state_dir / 'slurmd.pid'}",
        f"SlurmctldLogFile={state_dir / 'slurmctld.log'}",
        f"SlurmdLogFile={state_dir / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SwitchType=switch/none",
        "MpiDefault=none",
        "ReturnToService=2",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "JobAcctGatherType=jobacct_gather/linux",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "MinJobAge=300",
        f"NodeName={host} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
        f"PartitionName={partition} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


class LocalSlurm:
    """A one-node SLURM cluster for the duration of a ``with`` block.

    Parameters
    ----------
    state_dir
        Where state, spool and daemon logs go. The config goes to /etc/slurm/slurm.conf, where job
        steps look for it (refused if a configuration not written by this class is there).
    cpus, memory_mb
        What the node offers (default: this machine's CPUs and 80% of its memory).
    """

    def __init__(self, state_dir: str | os.PathLike[str], *, cpus: int | None = None, memory_mb: int | None = None):
        self.state_dir = Path(state_dir).resolve()
        self.host = socket.gethostname().split(".")[0]
        self.cpus = cpus or os.cpu_count() or 1
        self.memory_mb = memory_mb or int(_total_memory_mb() * 0.8)
        self.conf = SYSTEM_CONF
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._started: list[str] = []

    def __enter__(self) -> LocalSlurm:
        missing = missing_programs()
        if missing:
            raise ClusterError(f"missing {missing}: install the Debian packages slurm-wlm and munge")
        if self.conf.exists() and MARK not in self.conf.read_text():
            raise ClusterError(f"{self.conf} exists and is not ours: this machine has a SLURM configuration, use it")
        for sub in ("ctld", "d"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        self.conf.parent.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(slurm_conf(host=self.host, cpus=self.cpus, memory_mb=self.memory_mb, state_dir=self.state_dir))
        try:
            self._start_munge()
            self._daemon("slurmctld", "-f", str(self.conf))
            self._daemon("slurmd", "-f", str(self.conf))
            self._wait_for_idle_node()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for name in reversed(self._started):
            subprocess.run(["pkill", "-x", name], capture_output=True)
            deadline = time.monotonic() + 15
            while subprocess.run(["pgrep", "-x", name], capture_output=True).returncode == 0 and time.monotonic() < deadline:
                time.sleep(0.2)
        self._started.clear()
        if self.conf.exists() and MARK in self.conf.read_text():
            self.conf.unlink()

    def run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run a SLURM client command against this cluster."""
        return subprocess.run(args, env=self.env, capture_output=True, text=True, **kwargs)

    def _start_munge(self) -> None:
        if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode == 0:
            return
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=True, capture_output=True)
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        self._daemon("munged", "--force")

    def _daemon(self, name: str, *args: str) -> None:
        done = subprocess.run([_program(name), *args], env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ClusterError(f"{name} did not start: {done.stderr.strip() or done.stdout.strip()}")
        self._started.append(name)

    def _wait_for_idle_node(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.run(["sinfo", "--noheader", "--format=%T"]).stdout.strip()
            if state.startswith("idle"):
                return
            time.sleep(1)
        log = (self.state_dir / "slurmd.log").read_text()[-2000:] if (self.state_dir / "slurmd.log").exists() else ""
        raise ClusterError(f"node not idle after {timeout:.0f} s (sinfo: {state!r})\n{log}")


def _program(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _total_memory_mb() -> int:
    text = Path("/proc/meminfo").read_text()
    return int(re.search(r"MemTotal:\s+(\d+) kB", text).group(1)) // 1024


def memory_report(jobs: Iterable[ListedJob], root: str | os.PathLike[str] = ".") -> pl.DataFrame:
    """Per rule: jobs, the memory they requested (``mem_mb``) and the peak resident memory they
    used (``max_rss`` of each job's ``benchmark:`` file under ``root``), and the used share.
    """
    rows = []
    for job in jobs:
        if job.benchmark is None or "mem_mb" not in job.resources or not (Path(root) / job.benchmark).exists():
            continue
        frame = pl.read_csv(Path(root) / job.benchmark, separator="\t", null_values=["-", "NA"])
        rows.append({"rule": job.rule, "requested_mb": int(float(job.resources["mem_mb"])),
                     "used_mb": float(frame["max_rss"].cast(pl.Float64).max() or 0.0), "seconds": float(frame["s"].max())})
    schema = {"rule": pl.String, "jobs": pl.UInt32, "requested_mb": pl.Int64, "used_mb": pl.Float64,
              "used_share": pl.Float64, "max_seconds": pl.Float64}
    if not rows:
        return pl.DataFrame(schema=schema)
    return (
        pl.DataFrame(rows)
        .group_by("rule")
        .agg(pl.len().alias("jobs"), pl.col("requested_mb").max(), pl.col("used_mb").max(),
             pl.col("seconds").max().alias("max_seconds"))
        .with_columns((pl.col("used_mb") / pl.col("requested_mb")).alias("used_share"))
        .select(list(schema))
        .sort("rule")
    )
