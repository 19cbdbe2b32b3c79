#!/usr/bin/env bash
# Mutation testing (mutmut 3) of the model's pure rule modules, each against its own fast tests.
#
#   bash scripts/mutation.sh                                # the four rule modules, one by one
#   bash scripts/mutation.sh govsim/platform/intake.py      # one module
#   JOBS=4 bash scripts/mutation.sh govsim/agents/citizen.py
#
# For each module, the working tree (tracked files and new ones git does not ignore) is copied to
# a scratch folder (MUTATION_DIR, default .mutation/<module>; mutmut writes its mutants/ there,
# never in the checkout), and mutmut's settings are appended to the copy's pyproject.toml: mutate
# only that module, run only its test selection (below). mutmut first runs the selection once to learn which tests reach which
# function, then runs, for each mutant, only the tests that reach it. The script prints the counts
# and the score (killed + timeouts) / all mutants; `cd <scratch> && mutmut results` lists the
# survivors and `mutmut show NAME` shows one. Results: docs/testing.md.
#
# Needs the dev extra (mutmut) in VENV (default .venv, as scripts/install.sh dev makes it); JOBS
# (default 2) mutants are run at once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
VENV="${VENV:-.venv}"
case "$VENV" in /*) PYTHON="$VENV/bin/python" ;; *) PYTHON="$ROOT/$VENV/bin/python" ;; esac
JOBS="${JOBS:-2}"

# module -> fast test selection (pure-function tests of that module; the model-level mechanism
# tests are left out: a mutant of a function the model calls every day would rerun all of them)
tests_for() {
    case "$1" in
        govsim/agents/citizen.py)
            echo "tests/agents/test_citizen.py tests/agents/test_citizen_rules.py" \
                "tests/agents/test_word_of_mouth_threads.py" ;;
        govsim/agents/official.py)
            echo "tests/agents/test_official.py tests/agents/test_suspension_mechanisms.py" ;;
        govsim/platform/assessment.py)
            echo "tests/platform/test_assessment.py tests/platform/test_assessment_rules.py" ;;
        govsim/platform/intake.py) echo "tests/platform/test_intake.py" ;;
        *)
            echo "scripts/mutation.sh: $1: no test selection for this module (expected one of" \
                "govsim/agents/citizen.py, govsim/agents/official.py," \
                "govsim/platform/assessment.py, govsim/platform/intake.py)" >&2
            return 2
            ;;
    esac
}

if [ "$#" -eq 0 ]; then
    set -- govsim/agents/citizen.py govsim/agents/official.py govsim/platform/assessment.py \
        govsim/platform/intake.py
fi
for module in "$@"; do
    tests_for "$module" >/dev/null || exit 2
done

"$PYTHON" -c "import mutmut" 2>/dev/null || {
    echo "scripts/mutation.sh: mutmut is not installed in $PYTHON (install the dev extra)" >&2
    exit 2
}

for module in "$@"; do
    selection=$(tests_for "$module")
    # shellcheck disable=SC2086  # the selection is a space-separated list of test files
    listed=$(printf '"%s", ' $selection)
    name=$(basename "$module" .py)
    scratch="${MUTATION_DIR:-$ROOT/.mutation}/$name"
    rm -rf "$scratch"
    mkdir -p "$scratch"
    git ls-files -z --cached --others --exclude-standard |
        (cd "$ROOT" && xargs -0 cp --parents -t "$scratch")
    cat >>"$scratch/pyproject.toml" <<EOF

[tool.mutmut]
source_paths = ["govsim"]
only_mutate = ["$module"]
pytest_add_cli_args = ["-p", "no:randomly", "-p", "no:cacheprovider", "-q"]
pytest_add_cli_args_test_selection = [${listed%, }]
EOF
    echo "== $module  (tests: $selection; scratch: $scratch)"
    started=$(date +%s)
    (cd "$scratch" && PYTHONPATH="$scratch" "$PYTHON" -m mutmut run --max-children "$JOBS" \
        >"$scratch/mutmut.log" 2>&1) || {
        echo "mutmut failed; see $scratch/mutmut.log" >&2
        tail -20 "$scratch/mutmut.log" >&2
        exit 1
    }
    (cd "$scratch" && PYTHONPATH="$scratch" "$PYTHON" -m mutmut export-cicd-stats >/dev/null)
    "$PYTHON" - "$scratch/mutants/mutmut-cicd-stats.json" "$(($(date +%s) - started))" <<'EOF'
import json
import sys

s = json.load(open(sys.argv[1]))
caught = s["killed"] + s["timeout"]
total = s["total"]
print(
    f"   {total} mutants: {s['killed']} killed, {s['timeout']} timed out, {s['survived']} survived,"
    f" {s['no_tests']} reached by no test, {s['suspicious']} suspicious, {s['skipped']} skipped"
)
print(f"   score {caught}/{total} = {caught / max(total, 1):.0%}  ({sys.argv[2]} s)")
EOF
done
