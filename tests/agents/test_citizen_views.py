"""Citizen views created in bulk are the same Mesa agents the plain constructor makes."""

from __future__ import annotations

import mesa
from mesa.experimental.mesa_signals import ModelSignals

from govsim.agents.citizen import Citizen
from govsim.model import GovernanceModel


def _agents(model: mesa.Model) -> list[tuple]:
    return [(type(a), a.unique_id, a.index, a.pos, sorted(vars(a))) for a in model.agents]


def test_bulk_views_equal_the_plain_loop() -> None:
    bulk, plain = mesa.Model(rng=1), mesa.Model(rng=1)
    Citizen.create_views(bulk, 257)
    for i in range(257):
        Citizen(plain, i)
    assert _agents(bulk) == _agents(plain)
    assert bulk.agent_id_counter == plain.agent_id_counter
    assert len(bulk.agents_by_type[Citizen]) == 257
    # a later agent continues the id sequence
    assert Citizen(bulk, 257).unique_id == Citizen(plain, 257).unique_id


def test_listeners_of_agent_signals_still_hear_every_citizen() -> None:
    model = mesa.Model(rng=1)
    heard: list[object] = []

    def listener(signal: object) -> None:  # Mesa keeps only a weak reference to it
        heard.append(signal)

    model.observe("agents", ModelSignals.AGENT_ADDED, listener)
    Citizen.create_views(model, 40)
    assert len(heard) == 40
    assert [a.index for a in model.agents_by_type[Citizen]] == list(range(40))


def test_every_citizen_of_the_model_is_a_registered_view() -> None:
    model = GovernanceModel(scenario="baseline", overrides={"population.citizens": 500})
    views = list(model.agents_by_type[Citizen])
    assert [v.index for v in views] == list(range(model.citizens.n))
    v = views[123]
    assert v.model is model
    assert v.trust == float(model.citizens.trust[123])
    assert v in model.agents
