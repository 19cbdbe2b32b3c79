"""Fuzzing ``govsim validate`` with random YAML documents and random ``--set`` lines (issue 21).

Whatever it is given, ``govsim validate`` must exit 0 (valid) or 2 (invalid, with ``error:``
lines), never print a traceback and never write a file. The documents mix random nesting under the
schema's real keys (so that many reach validation) with raw text made of YAML's punctuation (so that
the parser is exercised too); values include NaN, infinities, huge integers, booleans, dates and
text. Hypothesis's per-example deadline bounds the time of each call; the example database is off
so that the test itself writes nothing either.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govsim.cli import main
from govsim.config import scenario_to_dict
from govsim.schema import Scenario


def _paths(data: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(data, dict):
        out = [path] if path else []
        return out + [p for k, v in data.items() for p in _paths(v, (*path, str(k)))]
    return [path]


SCHEMA_PATHS = _paths(scenario_to_dict(Scenario()))
"""Every key path of the default scenario (sections and values)."""

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)
SCALARS = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.integers(min_value=-5, max_value=100_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=1),
    st.booleans(),
    st.none(),
    TEXT,
    st.sampled_from(["2024-01-01", "baseline", "unified", "community", "urgent", "-", "~", ""]),
)
KEYS = st.one_of(
    st.sampled_from(sorted({p[-1] for p in SCHEMA_PATHS})),
    st.sampled_from(["extends", "<<", "name", "x-extra"]),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def schema_documents(draw: st.DrawFn) -> str:
    """A mapping that sets a few real key paths (sections or values) to random values."""
    doc: dict[str, object] = {}
    for path in draw(st.lists(st.sampled_from(SCHEMA_PATHS), max_size=5)):
        cur = doc
        for part in path[:-1]:
            nxt = cur.get(part)
            if not isinstance(nxt, dict):
                nxt = cur[part] = {}
            cur = nxt
        cur[path[-1]] = draw(VALUES)
    if draw(st.booleans()):
        doc["extends"] = draw(st.sampled_from(["baseline", "queue_mmc", "no_such_scenario", 3]))
    return yaml.safe_dump(doc, allow_unicode=draw(st.booleans()))


YAML_PUNCTUATION = [*"[]{}:,-?&*!|>'\"%@`#<=. \n\t", "<<: ", "!!", "*a", "&a ", ".nan", "0x"]
RAW_TEXT = st.lists(
    st.one_of(
        st.sampled_from(YAML_PUNCTUATION),
        st.sampled_from([p[-1] for p in SCHEMA_PATHS]),
        st.integers(min_value=-(10**6), max_value=10**6).map(str),
        st.sampled_from(["9" * 5000, "1.0e999", "2024-01-01"]),
        TEXT,
    ),
    max_size=40,
).map("".join)
DOCUMENTS = st.one_of(
    schema_documents(),
    st.dictionaries(KEYS, VALUES, max_size=5).map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    RAW_TEXT,
)

SET_KEYS = st.one_of(st.sampled_from([".".join(p) for p in SCHEMA_PATHS]), TEXT)
NASTY_VALUES = st.sampled_from(
    [".nan", ".inf", "-.inf", "true", "null", "[1, 2]", "{a: 1}", "9" * 5000, "1.0e999", "<<: *x"]
)
SET_VALUES = st.one_of(
    NASTY_VALUES,
    NASTY_VALUES,  # twice: drawn about half the time
    SCALARS.map(lambda v: yaml.safe_dump(v).removesuffix("\n...\n").strip()),
    RAW_TEXT,
)
SET_LINES = st.lists(
    st.one_of(
        st.builds(lambda k, v: f"{k}={v}", SET_KEYS, SET_VALUES),
        st.builds(lambda k, v: f"{k}={v}", SET_KEYS, SET_VALUES),
        TEXT,
    ),
    max_size=3,
)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(
    max_examples=150,
    deadline=timedelta(seconds=20),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(document=DOCUMENTS, set_lines=SET_LINES)
def test_validate_exits_0_or_2_without_traceback_or_files(
    document: str, set_lines: list[str], fuzz_dir: Path
) -> None:
    scenario = fuzz_dir / "fuzz.yaml"
    scenario.write_text(document, encoding="utf-8")
    argv = ["validate", str(scenario), *(f"--set={line}" for line in set_lines)]
    out, err = io.StringIO(), io.StringIO()
    cwd = Path.cwd()
    os.chdir(fuzz_dir)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
    finally:
        os.chdir(cwd)
    text = out.getvalue() + err.getvalue()
    assert rc in (0, 2), text
    assert "Traceback" not in text
    assert sorted(p.name for p in fuzz_dir.iterdir()) == ["fuzz.yaml"]
    if rc == 0:
        assert out.getvalue() == f"{scenario}: ok\n"
    else:
        assert "error: " in err.getvalue()


NASTY = {
    "nan.yaml": "assessment: {weights: {closure: .nan}}\n",
    "huge_int.yaml": "days: " + "1" * 5000 + "\n",
    "deep.yaml": "a: " + "[" * 3000 + "]" * 3000 + "\n",
    "bomb.yaml": "\n".join(
        ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
        + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    ),
    "garbage.yaml": "\x01\x02 {[: : ]}",
    "timestamp.yaml": "description: !!timestamp 2024-01-01\n",
    "bool.yaml": "population: {citizens: true}\n",
    "big.yaml": "x: [" + ",".join(["1"] * 1_100_000) + "]\n",
}


def test_nasty_documents_in_a_real_process(tmp_path: Path) -> None:
    for name, text in NASTY.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = subprocess.run(
        [sys.executable, "-m", "govsim.cli", "validate", *NASTY, "--set", "seed=" + "7" * 5000],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{len(NASTY)} of {len(NASTY)} scenarios invalid" in proc.stderr
    for name in NASTY:
        assert f"error: {name}" in proc.stderr or "error: --set seed" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
