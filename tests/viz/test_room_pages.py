"""The room's pages rendered headless (no browser): every string in both languages, a student's
screen shows only their unit, the lecturer's screen opens a room and shows the city."""

from __future__ import annotations

import ipyvuetify as v
import pytest
import solara

from govsim.schema import PRACTICES
from govsim.viz import room_pages
from govsim.viz.room import Room, RoomServer

KEY = "lecturer-key"


def texts(rc) -> str:
    """Every text the rendered page shows, joined."""
    out = [str(c) for w in rc.find(v.Html).widgets for c in w.children if isinstance(c, str)]
    out += [str(w.label) for w in rc.find(v.Slider).widgets]
    return "\n".join(out)


def test_every_string_has_both_languages() -> None:
    tables = (
        room_pages.TEXT,
        room_pages.PRACTICE_TEXT,
        room_pages.TIME_TEXT,
        room_pages.FIGURE_TEXT,
        room_pages.INDICATOR_TEXT,
        room_pages.COLUMN_TEXT,
    )
    for table in tables:
        for key, by_lang in table.items():
            assert set(by_lang) == {"en", "zh"} and all(by_lang.values()), key
    assert set(room_pages.PRACTICE_TEXT) == set(PRACTICES)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_students_screen_shows_only_their_unit_and_submits(renderer: str, lang: str) -> None:
    room = Room("TESTROOM", "baseline", 1000, seed=2)
    ann = room.join("Ann", int(room.units[0]))
    room.join("Bo", int(room.units[1]))
    room.advance()
    _, rc = solara.render(room_pages.SeatView(room, ann, lang), handle_error=False)
    try:
        shown = texts(rc)
        assert room.unit_name(ann.unit) in shown
        assert "Bo" not in shown and room.unit_name(int(room.units[1])) not in shown
        assert room_pages.t("rank", lang, n=24) in shown
        for k in PRACTICES:
            assert room_pages.PRACTICE_TEXT[k][lang] in shown
        rc.find(v.Btn, class_="govsim-room-submit").widget.click()
        assert ann.submitted_round == room.round == 1
        assert room.waiting_for() == ["Bo"]
    finally:
        rc.close()


def test_the_lecturers_screen_opens_a_room_and_plays_a_round(renderer: str, monkeypatch) -> None:
    server = RoomServer(lecturer_key=KEY, citizens=1000)
    monkeypatch.setattr(room_pages, "_server", server)
    _, rc = solara.render(room_pages.LecturerPage(KEY, "en"), handle_error=False)
    try:
        rc.find(v.Btn, class_="govsim-room-open").widget.click()
        (code,) = server.codes()
        rc.find(v.Html, class_="govsim-room-code").assert_single()
        assert rc.find(v.Html, class_="govsim-room-code").widget.children == [code]
        room = server.room(code)
        room.join("Ann", int(room.units[0]))
        rc.find(v.Btn, class_="govsim-room-play").widget.click()  # forced: Ann did not submit
        assert room.round == 1 and len(room.history) == 1
    finally:
        rc.close()
