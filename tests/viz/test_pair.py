"""Tests of CityPair: same seed, levers only in city B, the aggregates the views draw."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from govsim.cases import STATE_NAMES
from govsim.config import scenario_to_dict
from govsim.model import GovernanceModel
from govsim.viz.levers import classroom_presets, load_preset
from govsim.viz.pair import CITY_COLOURINGS, RECORDED, CityPair

from .conftest import SMALL

DAYS = 20


def history_equal(x, y) -> bool:
    return np.array_equal(np.asarray(x, float), np.asarray(y, float), equal_nan=True)


def test_without_changes_both_cities_are_the_same_city() -> None:
    pair = CityPair(citizens=SMALL)
    for _ in range(DAYS):
        pair.step()
    assert pair.changes == {}
    assert pair.day == pair.a.day == pair.b.day == DAYS
    for m in RECORDED:
        assert history_equal(pair.values("A", m), pair.values("B", m)), m
    assert np.array_equal(pair.a.citizens.trust, pair.b.citizens.trust)


def test_city_b_is_the_preset_with_the_levers_and_city_a_is_the_preset() -> None:
    """B must be exactly the model one gets from the preset plus the dotted overrides."""
    pair = CityPair(preset="whistle", citizens=SMALL, seed=7, dispatch_mode="unified", apps=4)
    assert pair.changes == {"dispatch.mode": "unified", "officials.apps": 4}
    a, b = scenario_to_dict(pair.a.config), scenario_to_dict(pair.b.config)
    assert a["dispatch"]["mode"] == "fragmented" and b["dispatch"]["mode"] == "unified"
    assert a["officials"]["apps"] == 2 and b["officials"]["apps"] == 4
    b["dispatch"]["mode"], b["officials"]["apps"] = "fragmented", 2
    assert a == b  # nothing else differs
    reference = GovernanceModel(
        scenario="whistle",
        rng=7,
        overrides={"population.citizens": SMALL, **pair.changes},
    )
    for _ in range(DAYS):
        pair.step()
        reference.step()
    series = reference.timeseries()
    for m in RECORDED:
        if m in series:
            assert history_equal(pair.values("B", m), series[m]), m
        else:  # a metric of a mechanism this city lacks (participatory budgeting): no values
            assert np.isnan(pair.values("B", m)).all(), m
    assert any(not history_equal(pair.values("A", m), pair.values("B", m)) for m in RECORDED)


def test_params_rebuild_the_same_pair() -> None:
    pair = CityPair(preset="one_network", citizens=SMALL, audit_rate=0.1)
    again = CityPair(**pair.params)
    assert again.params == pair.params and again.changes == pair.changes == {
        "closed_loop.audit_rate": 0.1
    }
    assert pair.params["seed"] == load_preset("one_network").seed


def test_columns_are_thinned_json_safe_and_end_today() -> None:
    pair = CityPair(citizens=SMALL)
    for _ in range(50):
        pair.step()
    assert len(pair.values("A", "dsi")) == 50
    pair.values("A", "dsi")[10] = float("nan")  # a view: as if day 11 had no data
    full = pair.columns("A", ("dsi", "trust_mean"))
    assert full["day"] == list(range(1, 51))
    assert full["dsi"][10] is None and full["dsi"][11] == pair.values("A", "dsi")[11]
    assert full["trust_mean"] == pair.values("A", "trust_mean").tolist()
    thin = pair.columns("A", ("dsi",), max_points=12)
    assert len(thin["day"]) <= 13 and thin["day"][-1] == 50 and thin["dsi"][-1] == full["dsi"][-1]
    assert thin["day"] == sorted(set(thin["day"])) and len(thin["dsi"]) == len(thin["day"])
    assert pair.latest("A", "trust_mean") == pair.values("A", "trust_mean")[-1]
    assert CityPair(citizens=SMALL).latest("A", "trust_mean") is None


def test_state_counts_and_community_values() -> None:
    pair = CityPair(citizens=SMALL)
    for _ in range(DAYS):
        pair.step()
    counts = pair.state_counts("B")
    assert list(counts) == list(STATE_NAMES)
    assert sum(counts.values()) == pair.b.cases.n
    n = pair.a.city.n_communities
    for colouring in CITY_COLOURINGS:
        values = pair.community_values("A", colouring)
        assert values.shape == (n,)
        if colouring == "open_cases":
            assert np.array_equal(values, pair.a.community_open_cases())
        else:
            assert np.all((values >= 0) & (values <= 1))
    trust = pair.community_values("A", "trust")
    c = pair.a.citizens
    assert trust[0] == pytest.approx(c.trust[c.community == 0].mean())
    with pytest.raises(ValueError, match="expected one of open_cases, trust, literacy"):
        pair.community_values("A", "income")


def step_midway(pair: CityPair, reader: str) -> threading.Thread:
    """After the first call of ``pair.reader``, step the pair in another thread, as the play
    loop does while a page draws, and give that step time to finish before the reading goes on."""
    original = getattr(pair, reader)
    stepper = threading.Thread(target=pair.step)

    def read(*args, **kwargs):
        result = original(*args, **kwargs)
        if stepper.ident is None:
            stepper.start()
            stepper.join(timeout=2.0)  # without the lock the day is stepped here
        return result

    setattr(pair, reader, read)
    return stepper


@pytest.mark.parametrize("reader", ["band", "line_option"])
def test_a_day_stepped_in_another_thread_waits_for_a_reading_in_progress(reader: str) -> None:
    """The play loop's thread steps while the page draws: a reading sees one day, never two.

    Reading the spread of B - A reads city B, then city A; a day stepped in between would give
    arrays of different lengths (the demo's page failed on this in CI). Holding the pair's lock
    while reading makes the step wait until the reading is done.
    """
    from govsim.viz.charts import line_option

    pair = CityPair(citizens=SMALL)
    for _ in range(5):
        pair.step()
    if reader == "band":
        stepper = step_midway(pair, "values")
        days, mean, sd = pair.band("B-A", "closure_rate")
        assert days[-1] == 5 and len(mean) == len(sd) == len(days)
    else:
        stepper = step_midway(pair, "columns")
        option = line_option(pair, "responsiveness", "en")
        a, b = (d["source"]["day"] for d in option["dataset"])
        assert a == b == list(range(1, 6))
    stepper.join(timeout=60)
    assert not stepper.is_alive() and pair.day == 6  # the step went ahead once the reading ended


def test_running_ends_at_the_horizon(tmp_path: Path) -> None:
    short = tmp_path / "short.yaml"
    short.write_text("extends: baseline\nname: short\ndays: 3\n", encoding="utf-8")
    pair = CityPair(preset=str(short), citizens=SMALL)
    for _ in range(3):
        assert pair.running
        pair.step()
    assert not pair.running and pair.day == 3


def test_the_queue_scenario_is_refused() -> None:
    with pytest.raises(ValueError, match="M/M/c validation queue, which has no city"):
        CityPair(preset="queue_mmc")


def test_small_cities_survive_days_with_only_repeat_complaints() -> None:
    """At small sizes some days bring no new problem; a repeat complaint due on such a day
    used to crash the model (KeyError in filing). Several seeds, so that some run has one (at 100
    citizens seeds 0, 6, 8 and 9 have one; at 200 none of seeds 0-9 had one after issue 17's
    mechanisms changed the random streams)."""
    runs_with_such_a_day = 0
    for seed in range(10):
        model = GovernanceModel(rng=seed, overrides={"population.citizens": 100, "days": 60})
        for _ in range(60):
            model.step()
        st, ledger = model.cases, model.ledger
        quiet = set(np.flatnonzero(ledger.problems[:60] == 0))
        refiled = set(np.floor(st.t_created[: st.n][st.repeat_of[: st.n] >= 0]).astype(int))
        runs_with_such_a_day += bool(quiet & refiled)
    assert runs_with_such_a_day > 0, "no run had such a day: use more seeds or fewer citizens"


@pytest.mark.parametrize("preset", classroom_presets())
def test_every_preset_builds_and_steps_at_classroom_scale(preset: str) -> None:
    pair = CityPair(preset=preset, citizens=SMALL)
    for _ in range(3):
        pair.step()
    assert pair.a.config.name == preset and pair.changes == {}
    assert pair.horizon == load_preset(preset).days
    assert all(v is not None for v in (pair.latest("A", "trust_mean"), pair.latest("B", "backlog")))
