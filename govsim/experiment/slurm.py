"""Plain SLURM job arrays: ``govsim slurm DIR`` writes an sbatch script that executes a plan in shards.

Each array task runs ``govsim execute DIR --shard $SLURM_ARRAY_TASK_ID/N`` with many runs per task
(``runs_per_task``), through the same Python interpreter that wrote the script, so the cluster job
uses the same environment. ``N`` is written into the script rather than read from
``$SLURM_ARRAY_TASK_COUNT``: resubmitting only some tasks (``sbatch --array=3,7 script``) must keep
each task's shard, and SLURM sets the count to the number of tasks submitted. Tasks skip runs already
done, so resubmitting the whole array resumes an interrupted sweep. After the array:
``govsim merge DIR``.

Defaults come from the experiment's ``slurm:`` section and can be overridden by flags.
"""

from __future__ import annotations

import math
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from govsim.config import ScenarioError
from govsim.experiment.plan import Plan, load_plan
from govsim.experiment.spec import SlurmSpec
from govsim.outputs import atomic_write_text

SCRIPT = "govsim-array.sbatch"
SLURM_DIR = "slurm"


@dataclass
class ArrayScript:
    """A written array script.

    Attributes:
        path: The script.
        tasks: Number of array tasks.
        runs_per_task: Runs per task (the last may have fewer).
        text: The script text.
    """

    path: Path
    tasks: int
    runs_per_task: int
    text: str


def render(
    plan: Plan,
    spec: SlurmSpec,
    *,
    python: str | None = None,
    executor_args: list[str] | None = None,
) -> tuple[str, int]:
    """The sbatch array script text for a plan, and its number of tasks.

    Args:
        plan: The plan.
        spec: SLURM settings (runs per task, partition, time, memory, ...).
        python: Interpreter the tasks run (default: this one).
        executor_args: Extra arguments for ``govsim execute`` (default: a process pool when a task
            has more than one CPU, else serial).
    """
    plan_dir = plan.dir.resolve()
    tasks = max(1, math.ceil(plan.n_runs / spec.runs_per_task))
    logs = plan_dir / SLURM_DIR / "logs"
    array = f"0-{tasks - 1}" + (f"%{spec.max_parallel}" if spec.max_parallel else "")
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name=govsim-{plan.manifest['name']}",
        f"#SBATCH --array={array}",
        f"#SBATCH --output={logs}/%A_%a.out",
        f"#SBATCH --error={logs}/%A_%a.out",
        "#SBATCH --ntasks=1",
        f"#SBATCH --cpus-per-task={spec.cpus_per_task}",
    ]
    for flag, value in (
        ("partition", spec.partition),
        ("account", spec.account),
        ("time", spec.time),
        ("mem", spec.mem),
    ):
        if value:
            lines.append(f"#SBATCH --{flag}={value}")
    for extra in spec.extra_directives:
        lines.append(extra if extra.startswith("#SBATCH") else f"#SBATCH {extra}")
    if executor_args is None:
        executor_args = (
            ["--executor", "processes", "--workers", str(spec.cpus_per_task)]
            if spec.cpus_per_task > 1
            else ["--executor", "serial"]
        )
    interpreter = python or sys.executable
    command = (
        f"{shlex.quote(interpreter)} -m govsim.cli execute {shlex.quote(str(plan_dir))} "
        f'--shard "${{SLURM_ARRAY_TASK_ID}}/{tasks}" '
        + " ".join(shlex.quote(a) for a in executor_args)
    )
    lines += [
        "",
        f"# govsim sweep '{plan.manifest['name']}': {plan.n_runs} runs in {tasks} tasks of up to {spec.runs_per_task}.",
        f"# design {plan.manifest['design_hash'][:12]}, code {plan.manifest['code_version']}",
        f"# submit: sbatch {plan_dir / SLURM_DIR / SCRIPT}; afterwards: govsim merge {plan_dir}",
        "set -euo pipefail",
        *spec.setup,
        f"# same as: govsim execute {plan_dir} --shard $SLURM_ARRAY_TASK_ID/{tasks}",
        command,
        "",
    ]
    return "\n".join(lines), tasks


def write_script(
    directory: str | Path,
    *,
    overrides: dict[str, object] | None = None,
    python: str | None = None,
    output: str | Path | None = None,
) -> ArrayScript:
    """Write the sbatch array script of a plan (default ``DIR/slurm/govsim-array.sbatch``).

    Args:
        directory: The plan directory.
        overrides: Values replacing the experiment's ``slurm:`` settings (None values are ignored).
        python: Interpreter the tasks run (default: this one).
        output: Where to write the script.

    Raises:
        ScenarioError: on a bad setting.
    """
    plan = load_plan(directory)
    settings = dict(plan.manifest.get("slurm") or {})
    settings.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        spec = SlurmSpec.model_validate(settings)
    except ValidationError as exc:
        raise ScenarioError(
            [
                f"slurm.{'.'.join(str(x) for x in e['loc'])}: {e['msg']} (got {e.get('input')!r})"
                for e in exc.errors(include_url=False)
            ]
        ) from None
    text, tasks = render(plan, spec, python=python)
    (plan.dir / SLURM_DIR / "logs").mkdir(parents=True, exist_ok=True)
    path = Path(output) if output else plan.dir / SLURM_DIR / SCRIPT
    atomic_write_text(path, text)
    path.chmod(0o755)
    return ArrayScript(path=path, tasks=tasks, runs_per_task=spec.runs_per_task, text=text)
