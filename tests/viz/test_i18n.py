"""Tests of the demo's texts: every lever, metric and state in English and Chinese."""

from __future__ import annotations

import re

import pytest

from govsim.cases import STATE_NAMES
from govsim.metrics import METRICS
from govsim.viz import i18n
from govsim.viz.lessons import LESSON_METRICS
from govsim.viz.levers import LEVER_GROUPS, LEVERS, classroom_presets
from govsim.viz.pair import CHART_GROUPS, CITY_COLOURINGS, HEADLINE

CJK = re.compile(r"[\u4e00-\u9fff]")


def check_pair(en: str, zh: str, what: str) -> None:
    assert en.strip() and zh.strip(), what
    assert CJK.search(zh), f"{what}: the Chinese text has no Chinese"


def test_every_lever_has_a_label_and_a_paragraph_in_both_languages() -> None:
    assert set(i18n.LEVERS_TEXT) == {lv.name for lv in LEVERS}
    for name, text in i18n.LEVERS_TEXT.items():
        for k in (0, 1):
            check_pair(text["en"][k], text["zh"][k], name)
        assert len(text["en"][1].split()) >= 20, f"{name}: a paragraph, not a label"


def test_every_shown_metric_is_defined_in_metrics_and_explained() -> None:
    shown = {m for ms in CHART_GROUPS.values() for m in ms} | set(HEADLINE) | set(LESSON_METRICS)
    assert shown <= set(METRICS), shown - set(METRICS)
    assert set(i18n.METRICS_TEXT) == shown
    for name, text in i18n.METRICS_TEXT.items():
        for k in (0, 1):
            check_pair(text["en"][k], text["zh"][k], name)


@pytest.mark.parametrize(
    ("table", "keys"),
    [
        (i18n.STATES_TEXT, STATE_NAMES),
        (i18n.COLOURINGS_TEXT, CITY_COLOURINGS),
        (i18n.GROUPS, (*LEVER_GROUPS, *CHART_GROUPS)),
        (i18n.UI, tuple(i18n.UI)),
    ],
    ids=["states", "colourings", "groups", "ui"],
)
def test_tables_cover_their_keys_in_both_languages(table, keys) -> None:
    assert set(table) == set(keys)
    for key in keys:
        text = table[key]
        assert set(text) == set(i18n.LANGUAGES)
        if key not in ("difference",):
            check_pair(text["en"], text["zh"], key)


def test_presets_and_choices_have_names() -> None:
    for preset in classroom_presets():
        assert preset in i18n.PRESETS_TEXT, preset
        check_pair(i18n.preset_label(preset, "en"), i18n.preset_label(preset, "zh"), preset)
        assert CJK.search(i18n.PRESET_DESCRIPTIONS_ZH[preset]), preset
    assert i18n.preset_label("/tmp/my city.yaml", "zh") == "my city.yaml"
    for lever in LEVERS:
        for choice in lever.choices:
            check_pair(i18n.choice_label(choice, "en"), i18n.choice_label(choice, "zh"), choice)
