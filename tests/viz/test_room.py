"""The classroom room (:mod:`govsim.viz.room`): codes, joining and rejoining, ownership, the
server's checks of every value, rounds with held and free units, and determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from govsim.model import GovernanceModel
from govsim.schema import PRACTICES
from govsim.viz.room import (
    CODE_ALPHABET,
    CODE_BITS,
    CODE_LENGTH,
    Room,
    RoomError,
    RoomLimits,
    RoomServer,
    checked_practices,
    new_code,
    normalise_code,
)

CITIZENS = 2000
KEY = "lecturer-key"
HONEST = dict.fromkeys(PRACTICES, 0.0)
GAMING = {
    "nominal_closure": 1.0,
    "satisfaction_pressure": 1.0,
    "persuade_withdrawal": 1.0,
    "extra_traces": 0.0,
}


class Clock:
    """A hand-moved clock (no timed assertions)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _server(**limits) -> tuple[RoomServer, Clock]:
    clock = Clock()
    return RoomServer(RoomLimits(**limits), KEY, CITIZENS, clock), clock


def _room(seed: int = 5) -> Room:
    return Room("TESTROOM", "baseline", CITIZENS, seed=seed)


# ------------------------------------------------------------------ codes and joining
def test_codes_are_random_from_the_alphabet_with_the_stated_entropy() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert pytest.approx(8 * math.log2(31)) == CODE_BITS and CODE_BITS > 39.5
    assert not set("01OIL") & set(CODE_ALPHABET)
    assert normalise_code(" ab2c-de3f ") == "AB2CDE3F"
    for bad in ("AB2CDE3", "AB2CDE3F9", "AB2CDE0F", 12345678, None, "x" * 1000):
        with pytest.raises(RoomError):
            normalise_code(bad)


def test_only_the_lecturer_opens_rooms_and_rooms_are_bounded() -> None:
    server, clock = _server(max_rooms=2, idle_hours=1.0)
    for key in ("wrong", "", None, KEY + "x"):
        with pytest.raises(RoomError, match="lecturer"):
            server.open(key, "baseline")
    with pytest.raises(RoomError, match="scenario"):
        server.open(KEY, "../../etc/passwd")
    with pytest.raises(RoomError, match="scenario"):
        server.open(KEY, "queue_mmc")  # no city to play
    a = server.open(KEY, "baseline")
    server.open(KEY, "speed_kpi")
    with pytest.raises(RoomError, match="2 rooms are open"):
        server.open(KEY, "baseline")
    clock.now += 2 * 3600  # both idle past the limit: closed when another is opened
    c = server.open(KEY, "baseline")
    assert set(server.rooms) == {c.code} and a.code not in server.rooms


def test_join_rejoin_and_a_taken_unit() -> None:
    server, _ = _server()
    room = server.open(KEY, "baseline")
    unit = int(room.units[0])
    _, seat = server.join(room.code.lower(), "Ann", unit)
    assert room.free_units() == [int(u) for u in room.units[1:]]
    with pytest.raises(RoomError, match="held by another student"):
        server.join(room.code, "Bo", unit)
    # the student who dropped rejoins with their token, and only with it
    again_room, again = server.rejoin(room.code, seat.token)
    assert again_room is room and again is seat
    with pytest.raises(RoomError, match="rejoin code"):
        server.rejoin(room.code, seat.token[:-1] + ("A" if seat.token[-1] != "A" else "B"))
    assert len(seat.token) >= 22  # 16 random bytes, url-safe
    for bad_unit in (-1, 10**9, room.model.city.n_units - 1, "0", 1.0, True, None):
        with pytest.raises(RoomError, match="unit"):
            room.join("Cy", bad_unit)  # departments, backstops and non-integers refused
    for bad_name in ("", "   ", "x" * 41, "a\x00b", 7):
        with pytest.raises(RoomError, match="name"):
            room.join(bad_name, int(room.units[1]))


def test_seats_are_bounded() -> None:
    server, _ = _server(max_students=2)
    room = server.open(KEY, "baseline")
    room.join("A", int(room.units[0]))
    room.join("B", int(room.units[1]))
    with pytest.raises(RoomError, match="full"):
        room.join("C", int(room.units[2]))


def test_wrong_codes_are_rate_limited_server_wide() -> None:
    server, clock = _server(failed_joins_per_minute=5)
    room = server.open(KEY, "baseline")
    wrong = "22222222" if room.code != "22222222" else "33333333"
    for _ in range(3):
        with pytest.raises(RoomError, match="no room"):
            server.join(wrong, "X", int(room.units[0]))
    with pytest.raises(RoomError):
        server.join("bad", "X", int(room.units[0]))
    with pytest.raises(RoomError, match="rejoin code"):
        server.rejoin(room.code, "guessed-token")
    # five failures in the minute: even the right code waits
    with pytest.raises(RoomError, match="too many"):
        server.join(room.code, "X", int(room.units[0]))
    clock.now += 61
    _, seat = server.join(room.code, "X", int(room.units[0]))
    assert seat.unit == int(room.units[0])


# ------------------------------------------------------------------ acting and validation
def test_a_student_acts_only_for_their_own_unit_with_valid_values_in_the_open_round() -> None:
    room = _room()
    ann = room.join("Ann", int(room.units[0]))
    bo = room.join("Bo", int(room.units[1]))
    with pytest.raises(RoomError, match="own unit"):
        room.submit(ann.token, bo.unit, GAMING, 0)
    with pytest.raises(RoomError, match="rejoin code"):
        room.submit("not-a-token", bo.unit, GAMING, 0)
    with pytest.raises(RoomError, match="round 3 is not open"):
        room.submit(ann.token, ann.unit, GAMING, 3)
    for bad in (
        {**HONEST, "nominal_closure": 1.5},
        {**HONEST, "nominal_closure": -0.1},
        {**HONEST, "nominal_closure": float("nan")},
        {**HONEST, "nominal_closure": "0.5"},
        {**HONEST, "nominal_closure": True},
        {k: v for k, v in HONEST.items() if k != "extra_traces"},
        {**HONEST, "solve_everything": 1.0},
        [0.0, 0.0, 0.0, 0.0],
    ):
        with pytest.raises(RoomError, match="practices"):
            room.submit(ann.token, ann.unit, bad, 0)
    assert np.array_equal(ann.decided, room.model.officials.practices[ann.unit])  # unchanged
    assert room.round == 0 and bo.submitted_round == -1
    assert np.array_equal(checked_practices(GAMING), [1.0, 1.0, 1.0, 0.0])


def test_round_plays_when_all_submitted_or_forced() -> None:
    room = _room()
    ann = room.join("Ann", int(room.units[0]))
    bo = room.join("Bo", int(room.units[-1]))
    assert room.submit(ann.token, ann.unit, GAMING, 0) is False
    assert room.round == 0 and room.waiting_for() == ["Bo"]
    assert room.submit(bo.token, bo.unit, HONEST, 0) is True
    assert room.round == 1 and room.model.day == room.period_days
    with pytest.raises(RoomError, match="round 0 is not open"):
        room.submit(bo.token, bo.unit, HONEST, 0)  # a stale page
    # the lecturer forces round 2 though only Ann submitted: Bo keeps his last decision
    room.submit(ann.token, ann.unit, HONEST, 1)
    room.advance()
    assert room.round == 2 and room.model.day == 2 * room.period_days
    assert np.array_equal(bo.decided, np.zeros(len(PRACTICES)))


def test_held_units_act_on_their_decisions_and_free_units_learn() -> None:
    """Every street and community held: gaming decided for all shows in the city's closure gap
    and in each unit's gamed share; honest decisions leave no case gamed. Free units' practices
    move with learning."""
    gaps, gamed = {}, {}
    for label, practices in (("honest", HONEST), ("gaming", GAMING)):
        room = _room()
        seats = [room.join(f"s{u}", int(u)) for u in room.units]
        for s in seats:
            room.submit(s.token, s.unit, practices, 0)
        record = room.history[0]
        gaps[label] = record.city["closure_gap"]
        gamed[label] = record.gamed_share[room.units]
    assert np.all(gamed["honest"] == 0.0)
    assert gamed["gaming"].max() > 0.5
    assert gaps["gaming"] > gaps["honest"] + 0.05

    room = _room()
    start = room.model.officials.practices.copy()
    room.advance()
    free = room.units
    assert not np.allclose(room.model.officials.practices[free], start[free])


def test_a_room_without_students_is_the_plain_model_run() -> None:
    rounds = 3
    room = _room(seed=11)
    for _ in range(rounds):
        room.advance()
    plain = GovernanceModel(
        scenario="baseline", rng=11, overrides={"population.citizens": CITIZENS}
    )
    for _ in range(rounds * plain.config.assessment.period_days):
        plain.step()
    assert np.array_equal(room.model.officials.practices, plain.officials.practices)
    # the same numbers, nan where a metric has no data in either (nan != nan for ==)
    assert room.model.metrics.keys() == plain.metrics.keys()
    np.testing.assert_array_equal(
        np.array(list(room.model.metrics.values()), dtype=float),
        np.array([plain.metrics[k] for k in room.model.metrics], dtype=float),
    )
    assert np.array_equal(room.history[-1].score, plain.officials.last_assessment.score)


def test_the_year_ends_and_no_round_follows() -> None:
    room = Room("TESTROOM", "baseline", CITIZENS, seed=1)
    room.rounds_total = 1  # a one-round year, to keep the test short
    ann = room.join("Ann", int(room.units[0]))
    room.advance()
    assert room.finished
    with pytest.raises(RoomError, match="over"):
        room.advance()
    with pytest.raises(RoomError, match="over"):
        room.submit(ann.token, ann.unit, HONEST, 1)


def test_regime_switch_between_rounds() -> None:
    room = _room()
    with pytest.raises(RoomError, match="regime"):
        room.switch_regime("nonsense")
    before = room.weights()
    room.switch_regime("balanced_kpi")
    assert room.regime == "balanced_kpi" and room.weights() != before
    assert room.weights()["verified_resolution"] == 3.0
    room.advance()
    assert room.history[0].regime == "balanced_kpi"


# ------------------------------------------------------------------ what each screen shows
def test_a_student_sees_only_their_unit_and_the_lecturer_the_city() -> None:
    room = _room()
    ann = room.join("Ann", int(room.units[0]))
    room.join("Bo", int(room.units[1]))
    room.advance()
    view = room.student_view(ann.token)
    assert view["unit"] == ann.unit and view["round"] == 1
    assert set(view["last"]) == {
        "score",
        "rank",
        "of",
        "penalised",
        "cutoff",
        "caught_share",
        "indicators",
    }
    text = repr(view)
    assert "Bo" not in text and "true_performance" not in text and "gamed" not in text
    assert set(view["last"]["indicators"]) <= set(room.weights())
    lecturer = room.lecturer_view()
    assert len(lecturer["units"]) == len(room.units)
    held = {r["holder"] for r in lecturer["units"] if r["holder"]}
    assert held == {"Ann", "Bo"}
    assert all("gap" in r and "gamed_share" in r for r in lecturer["units"])
    assert lecturer["history"][0]["round"] == 1


# ------------------------------------------------------------------ the command line and the server
def test_room_mode_plays_packaged_scenarios_only(tmp_path, capsys) -> None:
    from govsim.cli import main

    mine = tmp_path / "my_city.yaml"
    mine.write_text("extends: baseline\nname: my_city\n", encoding="utf-8")
    assert main(["demo", "--room", str(mine)]) == 2
    assert "--room plays a packaged scenario" in capsys.readouterr().err


def test_the_room_environment_gives_the_pages_the_key_and_the_size(monkeypatch) -> None:
    from govsim.viz.room import (
        ROOM_CITIZENS,
        ROOM_CITIZENS_ENV,
        ROOM_KEY_ENV,
        configure_room_environment,
        room_server_from_environment,
    )

    # set through monkeypatch first, so that what configure_room_environment sets is undone
    monkeypatch.setenv(ROOM_KEY_ENV, "old")
    monkeypatch.setenv(ROOM_CITIZENS_ENV, "1")
    key = configure_room_environment(4000)
    server = room_server_from_environment()
    assert server.is_lecturer(key) and not server.is_lecturer(key[:-1])
    assert server.citizens == 4000
    assert len(key) >= 22 and key != configure_room_environment()
    monkeypatch.setenv(ROOM_CITIZENS_ENV, "99999999")  # out of bounds: the default
    assert room_server_from_environment().citizens == ROOM_CITIZENS


def test_a_closed_room_refuses_everything() -> None:
    server, _ = _server()
    room = server.open(KEY, "baseline")
    _, seat = server.join(room.code, "Ann", int(room.units[0]))
    with pytest.raises(RoomError, match="lecturer"):
        server.close("not the key", room.code)
    assert server.codes() == [room.code]
    server.close(KEY, room.code)
    assert server.codes() == [] and server.room(room.code) is None and room.closed
    for request in (
        lambda: room.student_view(seat.token),
        lambda: room.submit(seat.token, seat.unit, HONEST, 0),
        lambda: room.join("Bo", int(room.units[1])),
        room.advance,
        lambda: room.switch_regime("speed_kpi"),
    ):
        with pytest.raises(RoomError, match="closed"):
            request()
    with pytest.raises(RoomError, match="no room"):
        server.rejoin(room.code, seat.token)
