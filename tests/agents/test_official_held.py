"""The two hooks of :class:`OfficialUnits` that the classroom room uses: units held by players
act on decided practices (:meth:`take_decisions`), and the indicator regime switches between
periods (:meth:`switch_assessment`)."""

from __future__ import annotations

import numpy as np

from govsim.config import load_scenario
from govsim.model import GovernanceModel
from govsim.schema import PRACTICES

CITIZENS = 2000


def _model(**overrides) -> GovernanceModel:
    return GovernanceModel(
        scenario="baseline", rng=3, overrides={"population.citizens": CITIZENS, **overrides}
    )


def test_decided_practices_replace_the_held_units_and_leave_the_others() -> None:
    m = _model()
    before_p, before_a = m.officials.practices.copy(), m.officials.acting.copy()
    m.officials.take_decisions({})
    assert np.array_equal(m.officials.practices, before_p)
    row = np.array([1.0, 0.25, 0.0, 0.5])
    m.officials.take_decisions({2: row, 5: np.full(len(PRACTICES), 1.5)})
    assert np.array_equal(m.officials.practices[2], row)
    assert np.array_equal(m.officials.acting[2], row)  # acted on as decided, no boost
    assert np.array_equal(m.officials.practices[5], np.ones(len(PRACTICES)))  # clipped
    others = np.setdiff1d(np.arange(len(before_p)), [2, 5])
    assert np.array_equal(m.officials.practices[others], before_p[others])
    assert np.array_equal(m.officials.acting[others], before_a[others])
    # the case engine reads the same array: the decision reaches the cases
    assert m.engine.practices is m.officials.acting or np.shares_memory(
        m.engine.practices, m.officials.acting
    )


def test_switched_regime_assesses_as_a_run_built_with_it() -> None:
    """Switching to speed_kpi's regime on day 0 is the run whose scenario had it from the start."""
    regime = load_scenario("speed_kpi").assessment
    fields = ("weights", "penalty_share", "penalty", "reward_share", "reward", "audit_penalty")
    switched = _model()
    current = switched.officials.config.assessment
    switched.officials.switch_assessment(
        current.model_copy(update={k: getattr(regime, k) for k in fields})
    )
    built = _model(**{f"assessment.{k}": getattr(regime, k) for k in fields})
    plain = _model()
    for m in (switched, built, plain):
        for _ in range(60):
            m.step()
    assert np.array_equal(
        switched.officials.last_assessment.score, built.officials.last_assessment.score
    )
    assert np.array_equal(switched.officials.practices, built.officials.practices)
    assert not np.array_equal(
        switched.officials.last_assessment.score, plain.officials.last_assessment.score
    )


def test_switching_to_scored_traces_adds_the_trace_work() -> None:
    """trace_kpi scores traces: officials then spend time on check-ins and photos."""
    regime = load_scenario("trace_kpi").assessment
    switched, plain = _model(), _model()
    switched.officials.switch_assessment(
        switched.officials.config.assessment.model_copy(update={"weights": regime.weights})
    )
    for m in (switched, plain):
        m.step()
    g = plain.officials.grassroots
    assert switched.officials.budget.data[g].sum() > plain.officials.budget.data[g].sum()
