"""A throwaway single-node SLURM (Debian's slurm-wlm and munge) for tests, started and stopped here.

:func:`single_node_slurm` installs the packages with apt-get when they are missing (the CI machine
runs as root), writes a private ``slurm.conf`` for this host under a temporary directory (own ports,
own munge socket and key, no cgroups, no accounting), starts ``munged``, ``slurmctld`` and ``slurmd``
in the foreground as child processes, waits for the node to be idle, and on exit shuts them down by
their process ids. Commands talk to it through ``SLURM_CONF`` in the returned environment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

PACKAGES = ("slurm-wlm", "munge")
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol")


class SlurmSetupError(RuntimeError):
    """SLURM could not be installed or started (the message says what and shows the logs)."""


def _which(name: str) -> str | None:
    return shutil.which(name) or next(
        (
            str(Path(d) / name)
            for d in ("/usr/sbin", "/usr/bin", "/sbin")
            if (Path(d) / name).exists()
        ),
        None,
    )


def ensure_installed() -> dict[str, str]:
    """Paths of the SLURM and munge binaries, installing the Debian packages if any is missing."""
    found = {b: _which(b) for b in BINARIES}
    if all(found.values()):
        return found  # type: ignore[return-value]
    if os.geteuid() != 0:
        raise SlurmSetupError(
            f"{', '.join(PACKAGES)} are not installed and installing them needs root"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES],
    ):
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900
        )
        if proc.returncode != 0:
            raise SlurmSetupError(
                f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
            )
    found = {b: _which(b) for b in BINARIES}
    missing = [b for b, p in found.items() if not p]
    if missing:
        raise SlurmSetupError(f"still missing after installing {PACKAGES}: {missing}")
    return found  # type: ignore[return-value]


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _memory_mb() -> int:
    """Memory to declare for the node: 90% of physical memory (jobs ask for --mem)."""
    return max(1, int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.9) // 2**20)


def _conf(base: Path, host: str, ports: list[int], cpus: int) -> str:
    return f"""\
ClusterName=govsimtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={base}/munge-run/munge.socket
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/slurmctld.pid
SlurmdPidFile={base}/slurmd.pid
SlurmctldLogFile={base}/log/slurmctld.log
SlurmdLogFile={base}/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={_memory_mb()} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _logs(base: Path) -> str:
    out = []
    for f in sorted((base / "log").glob("*")):
        text = f.read_text(errors="replace")
        out.append(f"--- {f.name}\n{text[-3000:]}")
    return "\n".join(out)


def _wait(predicate, timeout: float, what: str, base: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise SlurmSetupError(f"timed out waiting for {what}\n{_logs(base)}")


@contextlib.contextmanager
def single_node_slurm(base: Path) -> Iterator[dict[str, str]]:
    """Run a private single-node SLURM under ``base`` for the duration of the block.

    Yields:
        The environment (``os.environ`` plus ``SLURM_CONF``) for sbatch, squeue and friends.
    """
    bins = ensure_installed()
    host = socket.gethostname().split(".")[0]
    for sub in ("munge-key", "munge-run", "state", "spool", "log"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / "munge-key").chmod(0o700)
    (base / "munge-run").chmod(0o755)
    key = base / "munge-key" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    conf = base / "slurm.conf"
    conf.write_text(_conf(base, host, _free_ports(2), os.cpu_count() or 1))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    procs: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], log: str) -> None:
        fh = open(base / "log" / log, "wb")  # noqa: SIM115 - closed with the process below
        procs.append(
            subprocess.Popen(
                args, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        )
        fh.close()

    try:
        start(
            [
                bins["munged"],
                "-F",
                "--force",
                f"--socket={base}/munge-run/munge.socket",
                f"--key-file={key}",
                f"--pid-file={base}/munge-run/munged.pid",
                f"--seed-file={base}/munge-run/munged.seed",
                f"--log-file={base}/log/munged.log",
            ],
            "munged.out",
        )
        _wait(lambda: (base / "munge-run" / "munge.socket").exists(), 30, "munged's socket", base)
        start([bins["slurmctld"], "-D", "-i", "-f", str(conf)], "slurmctld.out")
        start([bins["slurmd"], "-D", "-f", str(conf), "-N", host], "slurmd.out")

        def node_idle() -> bool:
            for p in procs:
                if p.poll() is not None:
                    raise SlurmSetupError(f"{p.args[0]} exited with {p.returncode}\n{_logs(base)}")
            r = subprocess.run(
                [bins["sinfo"], "-h", "-o", "%T"], env=env, capture_output=True, text=True
            )
            return r.returncode == 0 and r.stdout.strip() == "idle"

        _wait(node_idle, 90, "the SLURM node to become idle", base)
        yield env
    finally:
        if len(procs) > 1:
            subprocess.run([bins["scontrol"], "shutdown"], env=env, capture_output=True, timeout=30)
        for i, p in enumerate(reversed(procs)):
            if i < len(procs) - 1:  # slurmd, slurmctld: stopping after scontrol shutdown
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=15)
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
