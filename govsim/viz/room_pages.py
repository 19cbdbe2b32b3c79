"""The room's pages (``govsim demo --room``): the lecturer's screen and the students' screens.

Served by :func:`govsim.viz.server.serve` like the demo, inside the same Host/Origin guard and
session cap (:mod:`govsim.viz.guard`). One page, two roles by the address:

* ``/?lecturer=KEY``: the lecturer's screen (the link is printed in the terminal; ``KEY`` is the
  server's secret, :data:`govsim.viz.room.ROOM_KEY_ENV`). It opens rooms, shows the room's code
  large for the projector, the whole city (ranking, recorded against real performance, who
  gamed and who holds each unit), plays a round and switches the indicator regime;
* ``/``: a student's screen. With the room's code and a name the student takes a unit; the page
  then moves to ``/?room=CODE&seat=TOKEN`` so that a reload or a dropped connection finds the
  seat again, and shows the rejoin code to write down. The student sees only what a unit sees.

Every value a page sends goes through :mod:`govsim.viz.room`, which checks it; a refusal shows its
message, anything else a fixed line (the traceback goes to the server's log only). Pages poll the
room's version once a second to follow rounds played by others.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qs

import pandas as pd
import solara

from govsim.schema import PRACTICES
from govsim.viz.app import PAGE_CSS, hide_tracebacks
from govsim.viz.room import (
    CITY_FIGURES,
    Room,
    RoomError,
    RoomServer,
    Seat,
    city_scenarios,
    room_server_from_environment,
)

logger = logging.getLogger("govsim.demo")
Lang = Literal["en", "zh"]
POLL_S = 1.0
"""Seconds between a page's looks at its room (rounds played by others)."""
SERVER_FAILED = {
    "en": "Something went wrong on the server; the lecturer can see what in its log.",
    "zh": "服务器出错；讲师可在服务器日志中查看原因。",
}

TEXT: dict[str, dict[Lang, str]] = {
    "title": {"en": "govsim room: the class plays the city", "zh": "govsim 课堂：全班共治一座城市"},
    "lang": {"en": "中文", "zh": "English"},
    "join": {"en": "Join a room", "zh": "加入房间"},
    "code": {"en": "Room code (from the lecturer)", "zh": "房间码（讲师提供）"},
    "name": {"en": "Your name", "zh": "你的名字"},
    "find": {"en": "Find the room", "zh": "查找房间"},
    "unit": {"en": "Your unit", "zh": "你负责的单位"},
    "take": {"en": "Take this unit", "zh": "接管该单位"},
    "held": {"en": "held", "zh": "已有人"},
    "rejoin": {"en": "Rejoin after a dropped connection", "zh": "断线后重新加入"},
    "rejoin_code": {"en": "Your rejoin code", "zh": "你的重新加入码"},
    "rejoin_go": {"en": "Rejoin", "zh": "重新加入"},
    "keep_code": {
        "en": "Write it down: with it (and the room code) you get your unit back if you drop.",
        "zh": "请记下：断线后凭它和房间码可取回你的单位。",
    },
    "community": {"en": "community office 社区", "zh": "社区"},
    "street": {"en": "street office 街道", "zh": "街道"},
    "round": {"en": "Round {r} of {n} (day {d})", "zh": "第 {r} 轮，共 {n} 轮（第 {d} 天）"},
    "finished": {"en": "The year is over.", "zh": "一年已结束。"},
    "assessment": {"en": "Your last assessment (考核)", "zh": "你的上次考核"},
    "no_assessment": {
        "en": "No assessment yet: the first comes at the end of this round.",
        "zh": "尚无考核：本轮结束时进行第一次考核。",
    },
    "score": {"en": "Score", "zh": "得分"},
    "rank": {"en": "Rank among the {n} units of your kind", "zh": "在 {n} 个同类单位中排名"},
    "cutoff": {"en": "Penalty line (cut-off)", "zh": "惩罚线"},
    "penalised": {"en": "Penalised: below the line", "zh": "受罚：低于惩罚线"},
    "safe": {"en": "Above the penalty line", "zh": "高于惩罚线"},
    "caught": {"en": "Nominal closures caught by audits", "zh": "被抽查发现的虚假办结"},
    "assessed": {"en": "Assessed on (weight)", "zh": "考核指标（权重）"},
    "your_day": {
        "en": "Your officials' day (share of hours)",
        "zh": "你的工作人员一天（工时占比）",
    },
    "decide": {"en": "Decide for the next round", "zh": "为下一轮做决定"},
    "decide_help": {
        "en": "How often your unit does each, when a case threatens your rates (0 never, 1 "
        "always). Every hour not spent on data work and pressure goes to solving cases.",
        "zh": "当案件威胁你的指标时，你的单位多常这样做（0 从不，1 总是）。"
        "没有花在留痕和做工作上的时间都用来解决问题。",
    },
    "submit": {"en": "Submit", "zh": "提交"},
    "submitted": {
        "en": "Submitted. Waiting for the others or the lecturer…",
        "zh": "已提交，等待其他同学或讲师……",
    },
    "refused": {"en": "Refused", "zh": "被拒绝"},
    "lecturer": {"en": "Lecturer", "zh": "讲师"},
    "not_lecturer": {
        "en": "This is not the lecturer's link: open the one printed in the terminal.",
        "zh": "这不是讲师链接：请打开终端中打印的链接。",
    },
    "open": {"en": "Open a room", "zh": "开设房间"},
    "scenario": {"en": "City (scenario)", "zh": "城市（情景）"},
    "rooms": {"en": "Rooms", "zh": "房间"},
    "students_join": {
        "en": "Students open this server's address and type the code:",
        "zh": "学生打开本服务器地址并输入房间码：",
    },
    "play": {"en": "Play the round now", "zh": "立即进行本轮"},
    "waiting": {"en": "Waiting for", "zh": "等待"},
    "all_in": {"en": "All students have submitted.", "zh": "所有学生已提交。"},
    "regime": {"en": "Indicator regime (指挥棒)", "zh": "考核指标体系（指挥棒）"},
    "switch": {"en": "Switch from the next round", "zh": "下一轮起切换"},
    "city": {"en": "The city, round by round", "zh": "城市逐轮表现"},
    "ranking": {
        "en": "Units: recorded score against real performance",
        "zh": "各单位：考核得分与真实表现",
    },
    "students": {"en": "students", "zh": "名学生"},
    "close": {"en": "Close this room", "zh": "关闭房间"},
}
PRACTICE_TEXT: dict[str, dict[Lang, str]] = {
    "nominal_closure": {
        "en": "Close cases on paper (nominal closure 名义办结)",
        "zh": "纸面办结（名义办结）",
    },
    "satisfaction_pressure": {
        "en": "Press citizens for good ratings (做工作)",
        "zh": "做群众工作要好评",
    },
    "persuade_withdrawal": {
        "en": "Persuade complainants to withdraw (劝撤)",
        "zh": "劝说诉求人撤单（劝撤）",
    },
    "extra_traces": {
        "en": "Extra data work: check-ins, photos (留痕)",
        "zh": "额外留痕：打卡、拍照",
    },
}
TIME_TEXT: dict[str, dict[Lang, str]] = {
    "data": {"en": "data work", "zh": "数据填报与留痕"},
    "assist": {"en": "assisting citizens", "zh": "帮办代办"},
    "pressure": {"en": "pressing and persuading", "zh": "做工作、劝撤"},
    "deliberation": {"en": "deliberation", "zh": "议事协商"},
    "patrol": {"en": "patrol", "zh": "巡查"},
    "handling": {"en": "solving cases", "zh": "办理案件"},
}
INDICATOR_TEXT: dict[str, dict[Lang, str]] = {
    "response": {"en": "response", "zh": "响应率"},
    "on_time_closure": {"en": "on-time closure", "zh": "按时办结率"},
    "closure": {"en": "closure", "zh": "办结率"},
    "satisfaction": {"en": "satisfaction", "zh": "满意率"},
    "verified_resolution": {"en": "verified resolution", "zh": "核实解决率"},
    "traces": {"en": "traces", "zh": "留痕"},
    "repeat_complaint": {"en": "no repeat complaint", "zh": "无重复投诉"},
}
COLUMN_TEXT: dict[str, dict[Lang, str]] = {
    "unit": {"en": "unit", "zh": "单位"},
    "kind": {"en": "kind", "zh": "类型"},
    "holder": {"en": "held by", "zh": "负责学生"},
    "rank": {"en": "rank", "zh": "排名"},
    "score": {"en": "score", "zh": "得分"},
    "real": {"en": "real performance", "zh": "真实表现"},
    "gap": {"en": "score - real", "zh": "得分 - 真实"},
    "gamed": {"en": "gamed share", "zh": "变通比例"},
    "penalised": {"en": "penalised", "zh": "受罚"},
    "model": {"en": "(model)", "zh": "（模型）"},
}
FIGURE_TEXT: dict[str, dict[Lang, str]] = {
    "closure_rate": {"en": "recorded closure", "zh": "记录办结率"},
    "real_resolution_rate": {"en": "real resolution", "zh": "真实解决率"},
    "closure_gap": {"en": "closure gap", "zh": "办结落差"},
    "satisfaction_reported": {"en": "recorded satisfaction", "zh": "记录满意率"},
    "satisfaction_true": {"en": "true satisfaction", "zh": "真实满意率"},
    "satisfaction_inflation": {"en": "satisfaction inflation", "zh": "满意度虚高"},
    "dsi": {"en": "digital suspension index", "zh": "数字悬浮指数"},
}

_server: RoomServer | None = None
_server_lock = threading.Lock()


def room_server() -> RoomServer:
    """The process's rooms (one server for every browser session)."""
    global _server
    with _server_lock:
        if _server is None:
            _server = room_server_from_environment()
        return _server


def t(key: str, lang: Lang, **fmt: Any) -> str:
    """A UI string in ``lang``."""
    text = TEXT[key][lang]
    return text.format(**fmt) if fmt else text


def attempt(action: Callable[[], Any], note: Callable[[str | None], None], lang: Lang) -> Any:
    """Run a client's request: a refusal becomes the note, any other failure a fixed line."""
    try:
        result = action()
    except RoomError as exc:
        logger.info("room: refused a request: %s", exc)
        note(f"{t('refused', lang)}: {exc}")
        return None
    except Exception:  # the page gets a fixed line, the log the traceback
        logger.exception("room: a request failed")
        note(SERVER_FAILED[lang])
        return None
    note(None)
    return result


def use_room_version(room: Room | None) -> int:
    """The room's version, polled once a second (a hook): a change redraws the page."""
    version, set_version = solara.use_state(room.version if room else 0)

    def poll(cancel: threading.Event) -> None:
        if room is None:
            return
        seen = room.version
        set_version(seen)
        while not cancel.wait(POLL_S):
            if room.version != seen:
                seen = room.version
                set_version(seen)

    solara.use_thread(poll, dependencies=[room], intrusive_cancel=False)
    return version


def fmt(x: float) -> str:
    """A share or score for the screen (a dash where undefined)."""
    return "–" if x is None or not math.isfinite(x) else f"{x:.2f}"


@solara.component
def Note(note: solara.Reactive[str | None]) -> None:
    """The last refusal, if any."""
    if note.value:
        solara.Warning(note.value, classes=["govsim-room-refused"])


@solara.component
def Pairs(rows: list[tuple[str, str]]) -> None:
    """Labelled values, one a line."""
    for label, value in rows:
        with solara.Row(gap="1em"):
            solara.Text(label, style={"min-width": "18em"})
            solara.Text(value, style={"font-weight": "bold"})


# ---------------------------------------------------------------------------- students
@solara.component
def JoinForm(lang: Lang, on_seat: Callable[[Room, Seat], None]) -> None:
    """Room code and name, then a unit; or the code and a rejoin code."""
    code = solara.use_reactive("")
    name = solara.use_reactive("")
    room, set_room = solara.use_state(None)
    unit = solara.use_reactive(None)
    rejoin_code = solara.use_reactive("")
    note = solara.use_reactive(None)
    use_room_version(room)
    server = room_server()

    def find() -> None:
        found = attempt(lambda: server.find(code.value), note.set, lang)
        if found is not None:
            set_room(found)
            free = found.free_units()
            unit.set(free[0] if free else None)

    def take() -> None:
        joined = attempt(lambda: server.join(code.value, name.value, unit.value), note.set, lang)
        if joined is not None:
            on_seat(*joined)

    def rejoin() -> None:
        seat = attempt(lambda: server.rejoin(code.value, rejoin_code.value.strip()), note.set, lang)
        if seat is not None:
            on_seat(*seat)

    with solara.Card(t("join", lang)):
        solara.InputText(
            t("code", lang), value=code, continuous_update=True, classes=["govsim-room-code-input"]
        )
        solara.InputText(
            t("name", lang), value=name, continuous_update=True, classes=["govsim-room-name"]
        )
        if room is None:
            solara.Button(t("find", lang), on_click=find, classes=["govsim-room-find"])
        else:
            free = set(room.free_units())
            labels = {
                int(u): f"{room.unit_name(int(u))} ({t(room.unit_kind(int(u)), lang)})"
                + ("" if int(u) in free else f" – {t('held', lang)}")
                for u in room.units
            }
            solara.Select(
                t("unit", lang),
                values=list(labels.values()),
                value=labels.get(unit.value),
                on_value=lambda label: unit.set(
                    next((u for u, x in labels.items() if x == label), None)
                ),
                classes=["govsim-room-unit"],
            )
            solara.Button(t("take", lang), on_click=take, classes=["govsim-room-take"])
    with solara.Card(t("rejoin", lang)):
        solara.InputText(
            t("rejoin_code", lang),
            value=rejoin_code,
            continuous_update=True,
            classes=["govsim-room-token"],
        )
        solara.Button(t("rejoin_go", lang), on_click=rejoin, classes=["govsim-room-rejoin"])
    Note(note)


@solara.component
def SeatView(room: Room, seat: Seat, lang: Lang) -> None:
    """What a student's unit sees, and its decision for the next round."""
    use_room_version(room)
    note = solara.use_reactive(None)
    decided = solara.use_reactive(dict(zip(PRACTICES, seat.decided.tolist(), strict=True)))
    try:
        view = room.student_view(seat.token)
    except RoomError as exc:  # the room was closed
        solara.Warning(str(exc), classes=["govsim-room-refused"])
        return

    def submit() -> None:
        attempt(
            lambda: room.submit(seat.token, view["unit"], dict(decided.value), view["round"]),
            note.set,
            lang,
        )

    kind = t(view["kind"], lang)
    solara.Text(
        f"{view['unit_name']} ({kind})", style={"font-size": "1.6em", "font-weight": "bold"}
    )
    solara.Text(f"{t('name', lang)}: {view['name']}")
    status = (
        t("finished", lang)
        if view["finished"]
        else t("round", lang, r=view["round"] + 1, n=view["rounds_total"], d=view["day"])
    )
    solara.Text(status, classes=["govsim-room-round"])
    with solara.Card(t("assessment", lang), classes=["govsim-room-assessment"]), solara.Column():
        last = view["last"]
        if last is None:
            solara.Text(t("no_assessment", lang))
        else:
            rows = [
                (t("score", lang), fmt(last["score"])),
                (t("rank", lang, n=last["of"]), f"{last['rank']} / {last['of']}"),
                (t("cutoff", lang), fmt(last["cutoff"])),
                (t("caught", lang), fmt(last["caught_share"])),
                *((INDICATOR_TEXT[k][lang], fmt(v)) for k, v in last["indicators"].items()),
            ]
            Pairs(rows)
            solara.Text(
                t("penalised", lang) if last["penalised"] else t("safe", lang),
                classes=["govsim-room-penalised" if last["penalised"] else "govsim-room-safe"],
            )
        weights = ", ".join(
            f"{INDICATOR_TEXT[k][lang]} ({w:g})" for k, w in view["weights"].items()
        )
        solara.Text(f"{t('assessed', lang)}: {weights}")
    with solara.Card(t("your_day", lang)):
        shares = ", ".join(
            f"{TIME_TEXT[k][lang]} {v:.0%}" for k, v in view["time_shares"].items() if v > 0
        )
        solara.Text(shares or "–")
    if view["finished"]:
        return
    with solara.Card(t("decide", lang), classes=["govsim-room-decide"]), solara.Column():
        solara.Text(t("decide_help", lang), style={"font-size": "0.9em"})
        for k in PRACTICES:
            with solara.Column(classes=[f"govsim-room-{k}"]):
                solara.SliderFloat(
                    PRACTICE_TEXT[k][lang],
                    value=decided.value[k],
                    min=0.0,
                    max=1.0,
                    step=0.05,
                    thumb_label="always",
                    on_value=lambda v, k=k: decided.set({**decided.value, k: v}),
                )
        solara.Button(
            t("submit", lang),
            on_click=submit,
            color="primary",
            disabled=view["submitted"],
            classes=["govsim-room-submit"],
        )
        if view["submitted"]:
            solara.Info(t("submitted", lang), classes=["govsim-room-submitted"])
    with solara.Card(t("rejoin_code", lang)), solara.Column():
        solara.Text(f"{room.code} · {seat.token}", classes=["govsim-room-seat-token"])
        solara.Text(t("keep_code", lang), style={"font-size": "0.85em"})
    Note(note)


@solara.component
def StudentPage(query: dict[str, list[str]], lang: Lang) -> None:
    """Join (or find the seat the address names) and show it."""
    router = solara.use_router()
    note = solara.use_reactive(None)

    def from_address() -> tuple[Room, Seat] | None:
        code, token = query.get("room", [None])[0], query.get("seat", [None])[0]
        if code is None or token is None:
            return None
        return attempt(lambda: room_server().rejoin(code, token), note.set, lang)

    held = solara.use_memo(from_address, [str(query)])
    if held is None:
        Note(note)

        def on_seat(room: Room, seat: Seat) -> None:
            router.push(f"/?room={room.code}&seat={seat.token}")

        JoinForm(lang, on_seat)
    else:
        SeatView(*held, lang)


# ---------------------------------------------------------------------------- lecturer
@solara.component
def LecturerPage(key: str, lang: Lang) -> None:
    """Open rooms; for the chosen room its code, the whole city, rounds and the regime."""
    server = room_server()
    note = solara.use_reactive(None)
    choices = city_scenarios()
    scenario = solara.use_reactive(
        server.start_scenario if server.start_scenario in choices else choices[0]
    )
    code, set_code = solara.use_state(None)
    room = server.room(code)
    use_room_version(room)
    regime = solara.use_reactive(room.regime if room else scenario.value)

    def open_room() -> None:
        opened = attempt(lambda: server.open(key, scenario.value), note.set, lang)
        if opened is not None:
            set_code(opened.code)
            regime.set(opened.regime)

    with solara.Card(t("open", lang)):
        solara.Select(t("scenario", lang), values=choices, value=scenario)
        solara.Button(t("open", lang), on_click=open_room, classes=["govsim-room-open"])
        codes = server.codes()
        if codes:
            solara.Text(t("rooms", lang))
            with solara.Row():
                for c in codes:
                    solara.Button(c, on_click=lambda c=c: set_code(c), text=True)
    Note(note)
    if room is None:
        return
    view = room.lecturer_view()
    with solara.Card(classes=["govsim-room-header"]), solara.Column():
        solara.Text(t("students_join", lang))
        solara.Text(
            view["code"],
            style={"font-size": "4em", "font-weight": "bold", "letter-spacing": "0.12em"},
            classes=["govsim-room-code"],
        )
        solara.Text(
            f"{view['scenario']} · {view['students']} {t('students', lang)} · "
            + (
                t("finished", lang)
                if view["finished"]
                else t("round", lang, r=view["round"] + 1, n=view["rounds_total"], d=view["day"])
            ),
            classes=["govsim-room-round"],
        )
        if not view["finished"]:
            waiting = view["waiting_for"]
            solara.Text(
                f"{t('waiting', lang)}: {', '.join(waiting)}" if waiting else t("all_in", lang),
                classes=["govsim-room-waiting"],
            )
            solara.Button(
                t("play", lang),
                on_click=lambda: attempt(room.advance, note.set, lang),
                color="primary",
                classes=["govsim-room-play"],
            )
    with solara.Card(t("regime", lang)), solara.Column():
        weights = ", ".join(f"{INDICATOR_TEXT[k][lang]} {w:g}" for k, w in view["weights"].items())
        solara.Text(f"{view['regime']}: {weights}", classes=["govsim-room-regime"])
        solara.Select(t("regime", lang), values=room.regimes(), value=regime)
        solara.Button(
            t("switch", lang),
            on_click=lambda: attempt(lambda: room.switch_regime(regime.value), note.set, lang),
            classes=["govsim-room-switch"],
        )
    if view["history"]:
        with solara.Card(t("city", lang), classes=["govsim-room-city"]):
            df = pd.DataFrame(view["history"]).rename(
                columns={k: FIGURE_TEXT[k][lang] for k in CITY_FIGURES}
            )
            solara.DataFrame(df.round(3), items_per_page=20)
    with solara.Card(t("ranking", lang), classes=["govsim-room-ranking"]):
        rows = []
        for r in view["units"]:
            rows.append(
                {
                    "unit": r["unit_name"],
                    "kind": t(r["kind"], lang),
                    "holder": r["holder"] or COLUMN_TEXT["model"][lang],
                    "rank": r.get("rank"),
                    "score": r.get("score"),
                    "real": r.get("true_performance"),
                    "gap": r.get("gap"),
                    "gamed": r.get("gamed_share"),
                    "penalised": r.get("penalised"),
                    **{k: round(v, 2) for k, v in r["practices"].items()},
                }
            )
        table = pd.DataFrame(rows).round(3)
        table = table.rename(columns={k: v[lang] for k, v in COLUMN_TEXT.items()})
        solara.DataFrame(table, items_per_page=60)
    solara.Button(
        t("close", lang),
        on_click=lambda: (
            attempt(lambda: server.close(key, room.code), note.set, lang),
            set_code(None),
        ),
        text=True,
        classes=["govsim-room-close"],
    )


# ---------------------------------------------------------------------------- the page
@solara.component
def Page() -> None:
    """The lecturer's screen with the lecturer's key in the address, else a student's."""
    router = solara.use_router()
    try:
        query = parse_qs((router.search or "")[:1000], max_num_fields=4)
    except ValueError:  # a hostile address with many fields: treated as none
        query = {}
    lang = solara.use_reactive(room_server().start_lang)
    L: Lang = lang.value
    solara.Title(t("title", L))
    solara.Style(PAGE_CSS)  # the bundled CJK font, as on the demo's pages
    with solara.AppBar():
        solara.Button(
            t("lang", L),
            on_click=lambda: lang.set("zh" if L == "en" else "en"),
            text=True,
            classes=["govsim-room-lang"],
        )
    solara.AppBarTitle(t("title", L))
    with solara.Column(style={"max-width": "1400px", "margin": "auto"}):
        if "lecturer" in query:
            if room_server().is_lecturer(query["lecturer"][0]):
                LecturerPage(query["lecturer"][0], L)
            else:
                solara.Error(t("not_lecturer", L), classes=["govsim-room-not-lecturer"])
        else:
            StudentPage(query, L)


hide_tracebacks()

__all__ = ["Page"]
