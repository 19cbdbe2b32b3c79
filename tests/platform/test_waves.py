"""The compiled waves (govsim.platform.waves) handle a day's events as the engine's handlers do.

Bit for bit: whole runs under dispatch rules chosen to reach every branch of every handler
(fragmented and unified dispatch, first-receiver responsibility, returns and escalations, cases
without an owner and without a backstop, summoning, forced online handling, persuaded withdrawals,
nominal closures, audits that reopen), compared on every case's record and every daily metric with
the engine's NumPy waves; the same with output buffers too small for one wave, so that the kernel
stops, has them enlarged and goes on. (tests/test_compiled.py runs the packaged scenarios both ways.)
"""

from __future__ import annotations

import numpy as np
import pytest

from govsim import compiled
from govsim.cases import WITHDRAWN
from govsim.config import resolve_scenario
from govsim.model import GovernanceModel
from govsim.platform import engine as E
from govsim.platform import waves as W

RULES = {
    "fragmented, returns, no backstop, forced online": {
        "dispatch.classification_accuracy": 0.6,
        "dispatch.district_backstop": False,
        "dispatch.return_probability": 0.6,
        "closed_loop.escalation": False,
        "closed_loop.audit_rate": 0.4,
        "boundary.force_online": True,
        "gaming.withdrawal_success": 0.9,
    },
    "first receiver responsible, summoning": {
        "dispatch.first_receiver_responsibility": True,
        "dispatch.classification_accuracy": 0.7,
        "dispatch.summoning": True,
        "closed_loop.audit_rate": 0.4,
    },
    "unified, no data sharing": {
        "dispatch.mode": "unified",
        "dispatch.data_sharing": 0.0,
        "dispatch.classification_accuracy": 0.5,
        "dispatch.return_probability": 0.9,
        "closed_loop.audit_rate": 0.4,
    },
}


def _run(overrides: dict, use_kernels: bool, days: int = 90, buffers: int | None = None):
    compiled.FORCE = use_kernels
    try:
        scenario = resolve_scenario("speed_kpi", {"population.citizens": 2000, **overrides})
        model = GovernanceModel(scenario=scenario, rng=11)
        assert model.engine.compiled is use_kernels
        if buffers is not None:
            model.engine._wave_buffers = W.new_buffers(buffers)
        for _ in range(days):
            model.step()
    finally:
        compiled.FORCE = None
    return model


def _same(a: GovernanceModel, b: GovernanceModel) -> None:
    sa, sb = a.cases, b.cases
    assert sa.n == sb.n
    for name in ("state", "t_dispatched", "t_owner", "t_started", "t_closed", "t_solved",
                 "t_audit", "handoffs", "returns", "reopens", "solved", "nominal", "caught",
                 "unit", "parts_left", "summoned"):  # fmt: skip
        assert np.array_equal(
            getattr(sa, name)[: sa.n], getattr(sb, name)[: sb.n], equal_nan=True
        ), name
    assert np.array_equal(sa.state_counts, sb.state_counts)
    assert sa.path == sb.path
    da = a.datacollector.get_model_vars_dataframe()
    db = b.datacollector.get_model_vars_dataframe()
    assert da.equals(db)


@pytest.mark.parametrize("rules", list(RULES))
def test_compiled_waves_equal_the_engines_waves_bit_for_bit(rules: str) -> None:
    kernel, numpy = (_run(RULES[rules], use_kernels) for use_kernels in (True, False))
    _same(kernel, numpy)
    st = numpy.cases
    n = st.n
    # the comparison reached the branches it is meant to check
    assert (st.reopens[:n] > 0).any(), "no audit reopened a case"
    assert (st.handoffs[:n] > 1).any()
    assert np.isfinite(st.t_audit[:n]).any()
    if "returns" in rules or "unified" in rules:
        assert (st.returns[:n] > 0).any()
    if "withdraw" in str(RULES[rules]):
        assert (st.state[:n] == WITHDRAWN).any(), "no persuaded withdrawal"


def test_buffers_too_small_for_a_wave_are_enlarged_without_changing_anything() -> None:
    rules = RULES["fragmented, returns, no backstop, forced online"]
    small = _run(rules, True, days=40, buffers=1)
    assert len(small.engine._wave_buffers.new_t) > W.ROOM_PER_EVENT[W.N_NEW]  # it grew
    _same(small, _run(rules, False, days=40))


def test_the_kernels_constants_are_the_engines() -> None:
    assert (W.DISPATCH, W.ARRIVE, W.COMPLETE, W.AUDIT, W.ESCALATE, W.WITHDRAW) == (
        E.DISPATCH, E.ARRIVE, E.COMPLETE, E.AUDIT, E.ESCALATE, E.WITHDRAW,
    )  # fmt: skip
    assert (W.MAX_PARTS, W.SUMMON_KEY, W.WITHDRAW_DELAY, W.AUDIT_DELAY_MEAN) == (
        E.MAX_PARTS, E.SUMMON_KEY, E.WITHDRAW_DELAY, E.AUDIT_DELAY_MEAN,
    )  # fmt: skip
    for name in ("_VERSIONED", "_WAITING_STATES", "_REDISPATCH_STATES"):
        assert np.array_equal(getattr(W, name), getattr(E, name)), name
