"""Plain SLURM job arrays: ``govsim slurm DIR`` writes an sbatch script that executes a plan in shards.

Each array task runs ``govsim execute DIR --shard $SLURM_ARRAY_TASK_ID/N`` with many runs per task
(``runs_per_task``), through the same Python interpreter that wrote the script, so the cluster job
uses the same environment. ``N`` is written into the script rather than read from
``$SLURM_ARRAY_TASK_COUNT``: resubmitting only some tasks (``sbatch --array=3,7 script``) must keep
each task's shard, and SLURM sets the count to the number of tasks submitted. Tasks skip runs already
done, so resubmitting the whole array resumes an interrupted sweep. After the array:
``govsim merge DIR``.

Defaults come from the experiment's ``slurm:`` section and can be overridden by flags.

Every value written into the script is checked or quoted: a value holding a control character (a
newline would start a line that bash runs) is refused with a message naming the setting; values in
``#SBATCH`` directives are written bare when they are plain words and otherwise double-quoted the
way sbatch reads directives (backslash before ``"`` and ``\\``; a ``#`` inside quotes does not end
the directive); paths and arguments in shell lines are quoted with :func:`shlex.quote`. The
``setup`` lines and ``extra_directives`` are shell code and directives the user writes on purpose;
each must still be one line.
"""

from __future__ import annotations

import math
import re
import shlex
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from govsim.config import ScenarioError
from govsim.experiment.plan import Plan, load_plan
from govsim.experiment.spec import SlurmSpec
from govsim.outputs import atomic_write_text

SCRIPT = "govsim-array.sbatch"
SLURM_DIR = "slurm"
_BARE_DIRECTIVE_VALUE = re.compile(r"^[A-Za-z0-9_.,:/%@+=-]+$")


def control_characters(where: str, value: str) -> list[str]:
    """A located message for each value holding a control character (none when it is one line).

    Args:
        where: What the value is, for the message (``slurm.partition``).
        value: The text written into the script.
    """
    for position, char in enumerate(value):
        if unicodedata.category(char) == "Cc":
            return [
                f"{where}: contains the control character {char!r} at position {position} "
                f"(in {value!r}); every value in the sbatch script must be one line of printable "
                "text"
            ]
    return []


def directive_value(value: str) -> str:
    """A value as sbatch reads it in an ``#SBATCH`` line: bare if a plain word, else double-quoted."""
    if _BARE_DIRECTIVE_VALUE.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


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

    Raises:
        ScenarioError: when a value holds a control character (each one located).
    """
    plan_dir = plan.dir.resolve()
    interpreter = python or sys.executable
    name = str(plan.manifest["name"])
    settings = {
        "partition": spec.partition,
        "account": spec.account,
        "time": spec.time,
        "mem": spec.mem,
    }
    problems = [
        *control_characters("the plan directory's path", str(plan_dir)),
        *control_characters("the plan's name (manifest.json)", name),
        *control_characters(
            "the plan's code version (manifest.json)", str(plan.manifest["code_version"])
        ),
        *control_characters("the Python interpreter's path", interpreter),
        *(m for k, v in settings.items() if v for m in control_characters(f"slurm.{k}", v)),
        *(
            m
            for i, line in enumerate(spec.extra_directives)
            for m in control_characters(f"slurm.extra_directives[{i}]", line)
        ),
        *(
            m
            for i, line in enumerate(spec.setup)
            for m in control_characters(f"slurm.setup[{i}]", line)
        ),
        *(m for a in executor_args or [] for m in control_characters("execute argument", a)),
    ]
    if problems:
        raise ScenarioError(problems)
    tasks = max(1, math.ceil(plan.n_runs / spec.runs_per_task))
    logs = plan_dir / SLURM_DIR / "logs"
    array = f"0-{tasks - 1}" + (f"%{spec.max_parallel}" if spec.max_parallel else "")
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={directive_value(f'govsim-{name}')}",
        f"#SBATCH --array={array}",
        f"#SBATCH --output={directive_value(f'{logs}/%A_%a.out')}",
        f"#SBATCH --error={directive_value(f'{logs}/%A_%a.out')}",
        "#SBATCH --ntasks=1",
        f"#SBATCH --cpus-per-task={int(spec.cpus_per_task)}",
    ]
    for flag, value in settings.items():
        if value:
            lines.append(f"#SBATCH --{flag}={directive_value(value)}")
    for extra in spec.extra_directives:
        lines.append(extra if extra.startswith("#SBATCH") else f"#SBATCH {extra}")
    if executor_args is None:
        executor_args = (
            ["--executor", "processes", "--workers", str(spec.cpus_per_task)]
            if spec.cpus_per_task > 1
            else ["--executor", "serial"]
        )
    command = (
        f"{shlex.quote(interpreter)} -m govsim.cli execute {shlex.quote(str(plan_dir))} "
        f'--shard "${{SLURM_ARRAY_TASK_ID}}/{tasks}" '
        + " ".join(shlex.quote(a) for a in executor_args)
    )
    lines += [
        "",
        f"# govsim sweep {shlex.quote(name)}: {plan.n_runs} runs in {tasks} tasks of up to {spec.runs_per_task}.",
        f"# design {str(plan.manifest['design_hash'])[:12]}, code {shlex.quote(str(plan.manifest['code_version']))}",
        f"# submit: sbatch {shlex.quote(str(plan_dir / SLURM_DIR / SCRIPT))}; "
        f"afterwards: govsim merge {shlex.quote(str(plan_dir))}",
        "set -euo pipefail",
        *spec.setup,
        f"# same as: govsim execute {shlex.quote(str(plan_dir))} --shard $SLURM_ARRAY_TASK_ID/{tasks}",
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
