"""The classroom lessons: one per seed case, each a pair of whole scenarios and what to look at.

A :class:`Lesson` sets city A and city B to packaged scenarios (with a few dotted-path overrides
where the contrast needs one that no packaged scenario holds), names the metrics that carry its
point (drawn on the lesson tab, A and B with bands, and B - A), and says in English and Chinese
what it is, what to notice and what to try, with the real cases behind it (figures from
``docs/FACTS.md``) and the seed paper (listed in ``docs/sources.md``).

What a lesson says to notice comes from the project's experiments (``experiments/*/``), which ran
the same scenarios over replicate seeds; the demo runs one seed, so the text says "look for",
and the bands show how much a line wanders by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from govsim.viz.i18n import Lang


@dataclass(frozen=True)
class CitySpec:
    """One city of a lesson: a packaged scenario and overrides (dotted path -> value)."""

    preset: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lesson:
    """A lesson: two cities, the metrics that show its point and its text in both languages.

    Attributes:
        name: Identifier (used on the page and in tests).
        a: City A (the reference).
        b: City B (the change).
        metrics: Metrics drawn on the lesson tab (names in :data:`govsim.metrics.METRICS`).
        title: Title per language.
        what: "What this is", per language.
        notice: "Things to notice", per language (one item a line).
        try_: "Things to try", per language (one item a line).
        cases: The real cases, with figures from ``docs/FACTS.md``, per language.
        seed: The seed paper the lesson follows (``docs/sources.md``).
    """

    name: str
    a: CitySpec
    b: CitySpec
    metrics: tuple[str, ...]
    title: dict[Lang, str]
    what: dict[Lang, str]
    notice: dict[Lang, tuple[str, ...]]
    try_: dict[Lang, tuple[str, ...]]
    cases: dict[Lang, tuple[str, ...]]
    seed: str


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        name="dispatch",
        a=CitySpec("fragmented"),
        b=CitySpec("one_network"),
        metrics=("days_to_resolution_median", "handoffs_per_case", "on_time_closure_rate"),
        title={
            "en": "Unified dispatch (一网统管 / 民意速办)",
            "zh": "统一派单（一网统管 / 民意速办）",
        },
        what={
            "en": "City A dispatches the old way: the street receives a case and hands each part "
            "from office to office (条块分割), sharing little data. City B has one command "
            "centre that sends every part straight to its owner, with departments sharing data.",
            "zh": "城市A沿用传统派单：街道接件后把案件的各部分在部门之间层层转交（条块分割），"
            "数据共享很少。城市B设有统一的指挥中心，把每一部分直接派给责任单位，部门之间共享数据。",
        },
        notice={
            "en": (
                "Hand-offs per case fall from about 3 to almost none in B.",
                "Days to resolution fall: in the project's runs the median case took about "
                "6 days in A and 3 in B, and cases that need several departments far longer in A.",
                "On-time closure rises in B; real resolution changes less than the speed does.",
            ),
            "zh": (
                "城市B的每件转办次数从约3次降到几乎为零。",
                "办结天数下降：在本项目的多次运行中，A的中位案件约需6天，B约需3天；"
                "需要多个部门的案件在A中要久得多。",
                "B的按时办结率上升；真实解决率的变化小于速度的变化。",
            ),
        },
        try_={
            "en": (
                "Set B's data sharing low (0.1): is the gain the command centre or the data?",
                "Switch B's dispatch back to fragmented and RESET: the lines should meet.",
            ),
            "zh": (
                "把B的数据共享调低到0.1：收益来自指挥中心还是数据共享？",
                "把B的派单方式改回分散派单并重置：两条线应当重合。",
            ),
        },
        cases={
            "en": (
                "Shanghai 一网统管 (one network manages the city): one platform across the city's "
                "departments; in 2016 Shanghai's 12345 closed 99.5% on time while departments "
                "recognised 82% as resolved.",
                "Shenzhen 民意速办: 537 intake channels merged into 23; more than 37 M cases in 2023.",
            ),
            "zh": (
                "上海“一网统管”：全市各部门共用一个平台；2016年上海12345按时办结率99.5%，"
                "而部门认定的解决率为82%。",
                "深圳“民意速办”：537个受理渠道整合为23个；2023年受理超过3700万件。",
            ),
        },
        seed="seed papers 001 (Shanghai Z street, 一网统管) and 003 (Shenzhen 民意速办)",
    ),
    Lesson(
        name="summoning",
        a=CitySpec("fragmented"),
        b=CitySpec("whistle"),
        metrics=("handoffs_per_case", "on_time_closure_rate", "days_to_resolution_median"),
        title={"en": "Summoning departments (吹哨报到)", "zh": "街乡吹哨、部门报到"},
        what={
            "en": "Both cities dispatch the fragmented way. In city B the street's party committee "
            "may 'blow the whistle': a case stuck for three days summons the departments it needs, "
            "who must come within 30 minutes.",
            "zh": "两座城市都采用分散派单。在城市B，街道党工委可以“吹哨”：卡住三天的案件会召集"
            "所需的部门，部门须在30分钟内报到。",
        },
        notice={
            "en": (
                "Fewer hand-offs and more cases closed on time in B.",
                "The biggest gain is in cases that need several departments: about 37 days to "
                "resolution at the median in A and 14 in B in the project's year-long runs. It "
                "shows in a run's summary, not on these daily charts: each day's value covers "
                "the cases of the last 30 days, and most of A's such cases are not solved yet.",
                "Single-owner cases are hardly affected: summoning is not a general speed-up.",
            ),
            "zh": (
                "B的转办次数更少，按时办结的案件更多。",
                "最大的收益在需要多个部门的案件上：本项目全年运行中，A的中位办结天数约37天，"
                "B约14天。这体现在运行的汇总结果中，而不在这些逐日图表上：每天的数值只涵盖"
                "过去30天的案件，而A的这类案件大多尚未解决。",
                "只有一个责任单位的案件几乎不受影响：吹哨报到并不是全面提速。",
            ),
        },
        try_={
            "en": (
                "Compare with the unified-dispatch lesson: which helps multi-department cases more?",
                "Turn summoning off in B and RESET: the cities should become the same.",
            ),
            "zh": (
                "与“统一派单”一课比较：哪一种对多部门案件帮助更大？",
                "在B中关闭吹哨报到并重置：两座城市应当变得一样。",
            ),
        },
        cases={
            "en": (
                "Beijing, Pinggu 2017: the street party committee could summon, evaluate and veto "
                "departments, who had to arrive within 30 minutes; since 2019 the 12345 hotline's "
                "接诉即办 ranks all 343 streets and towns monthly.",
                "Beijing 12345: resolution 53% and satisfaction 65% at the start of the reform "
                "(2019), 97.3% and 97.7% in 2025, about 25 M contacts a year.",
            ),
            "zh": (
                "北京平谷（2017年）：街道党工委对部门拥有召集、考核和否决权，部门须在30分钟内报到；"
                "2019年起12345热线“接诉即办”每月对全市343个街乡镇排名。",
                "北京12345：改革之初（2019年）解决率53%、满意率65%，2025年分别为97.3%和97.7%，"
                "全年约2500万件。",
            ),
        },
        seed="seed paper 002 (party-led integrated technical governance)",
    ),
    Lesson(
        name="indicators",
        a=CitySpec("speed_kpi"),
        b=CitySpec("balanced_kpi"),
        metrics=(
            "dsi",
            "hidden_dissatisfaction",
            "nominal_closure_rate",
            "formalism_burden",
            "indicator_validity",
        ),
        title={"en": "Indicators and digital suspension", "zh": "考核指标与数字悬浮"},
        what={
            "en": "City A ranks its streets on speed and closure with few audits and a harsh "
            "penalty line; city B weights verified resolution and satisfaction and audits "
            "regularly. Units learn from those ranked above them, so the indicators shape what "
            "they do: solving, or closing on paper, pressing for good ratings and data work.",
            "zh": "城市A按速度和办结率给街道排名，很少核查、末位惩罚严厉；城市B看重经核实的解决"
            "和满意度，并定期核查。基层单位向排名靠前者学习，因此指标决定了他们做什么："
            "真正解决问题，还是纸面办结、催要好评和做台账。",
        },
        notice={
            "en": (
                "The digital suspension index (DSI) and its parts: hidden dissatisfaction, "
                "nominal closure and formalism burden. Look for the gap between the bands, not "
                "one day's value.",
                "Indicator validity: how well a unit's score tracks its true performance.",
                "Checking costs work: in the project's runs (experiments/assessment) B's "
                "verification raised data work, so formalism burden was higher in B, not lower.",
                "Practices spread slowly (units learn once an assessment period): give it months.",
            ),
            "zh": (
                "数字悬浮指数（DSI）及其组成：隐性不满、名义办结和形式主义负担。"
                "看两条带子之间的差距，而不是某一天的数值。",
                "指标效度：单位得分与其真实表现的吻合程度。",
                "核查也要花工夫：在本项目的多次运行中（experiments/assessment），B的核查增加了台账工作，"
                "所以B的形式主义负担更高而不是更低。",
                "做法的扩散很慢（每个考核周期学习一次）：要看几个月。",
            ),
        },
        try_={
            "en": (
                "Raise B's audit rate, or lower A's penalty: which closes the gap?",
                "Give B an activity-traces weight (the 'trace_kpi' preset): formalism burden rises.",
            ),
            "zh": (
                "提高B的核查比例，或降低末位惩罚：哪一个能缩小差距？",
                "给B加上“留痕”权重（预设“trace_kpi”）：形式主义负担上升。",
            ),
        },
        cases={
            "en": (
                "Shanghai 12345, 2016: 99.5% closed on time, 82% recognised as resolved — a "
                "measured gap between closing and solving.",
                "Central notices of 2019, 2023 and 2024 against 指尖上的形式主义 (forced "
                "check-ins, the same visit uploaded to several apps, ranking by app activity).",
            ),
            "zh": (
                "上海12345（2016年）：按时办结率99.5%，部门认定解决率82%——办结与解决之间的落差。",
                "2019、2023、2024年中央多次发文整治“指尖上的形式主义”（强制打卡、"
                "同一次走访上传多个App、按App活跃度排名）。",
            ),
        },
        seed="seed paper 004 (public value in urban digital governance); Campbell 1976, Hood 2006",
    ),
    Lesson(
        name="digital_divide",
        a=CitySpec("online_only"),
        b=CitySpec("inclusive"),
        metrics=("equity_gap_voice", "voice_rate_q1", "voice_rate_q4", "equity_gap_resolution"),
        title={"en": "The digital divide", "zh": "数字鸿沟"},
        what={
            "en": "City A takes complaints only by app and hotline. City B keeps offline windows, "
            "lets grid workers and volunteers file for residents, and trains older residents. "
            "Quartiles are by digital literacy (q1 lowest).",
            "zh": "城市A只通过App和热线受理诉求。城市B保留线下窗口，由网格员和志愿者代为反映，"
            "并为老年人开展数字培训。四分位按数字素养划分（q1最低）。",
        },
        notice={
            "en": (
                "The least literate quarter (q1) is heard less in A; the voice gap between q4 "
                "and q1 narrows in B (about 0.23 in A in the project's runs).",
                "Who is heard shapes who gets helped: the resolution gap follows the voice gap.",
            ),
            "zh": (
                "数字素养最低的四分之一（q1）在A中更少被听见；B中q4与q1之间的表达差距缩小"
                "（本项目的多次运行中A约为0.23）。",
                "谁被听见决定了谁得到帮助：解决差距随表达差距变化。",
            ),
        },
        try_={
            "en": (
                "Switch off assisted reporting in B: how much of the gain was it?",
                "Raise older residents' literacy in A (a lever of B): training versus channels.",
            ),
            "zh": (
                "在B中关闭代为反映：收益中有多少来自它？",
                "提高老年人的数字素养：培训与渠道，哪个更有效？",
            ),
        },
        cases={
            "en": (
                "Beijing 12345, 2020: 90.7% of contacts by phone, 9.3% online, while about 70% "
                "of Chinese people were online.",
                "CNNIC: internet use at 60+ was 43.2% in Dec 2021 and 52.0% in Jun 2025 (all "
                "ages 73.0% and 79.7%).",
            ),
            "zh": (
                "北京12345（2020年）：90.7%的诉求来自电话，9.3%来自网络，而当时约70%的中国人是网民。",
                "CNNIC：60岁及以上人群互联网普及率2021年12月为43.2%，2025年6月为52.0%"
                "（全体为73.0%和79.7%）。",
            ),
        },
        seed="seed paper 004 (public value: inclusion); Kontokosta and Hong 2021 (NYC 311)",
    ),
    Lesson(
        name="budgeting",
        a=CitySpec("participatory_budgeting", {"budgeting.offline": False}),
        b=CitySpec("participatory_budgeting"),
        metrics=(
            "pb_turnout_q1",
            "pb_turnout_q4",
            "pb_turnout_gap",
            "pb_need_match",
        ),
        title={"en": "Participatory budgeting (参与式预算)", "zh": "参与式预算"},
        what={
            "en": "Both cities give every community a yearly budget that residents allocate: "
            "proposals, deliberation, a vote, then the projects. City A runs it online only; "
            "city B blends the online platform with offline meetings and polling. The vote "
            "closes on day 105 of each year.",
            "zh": "两座城市都给每个社区一笔年度预算，由居民决定用途：提出项目、协商、投票、实施。"
            "城市A只在网上进行；城市B把线上平台与线下议事会和投票结合起来。"
            "每年的投票在第105天结束。",
        },
        notice={
            "en": (
                "Turnout by literacy quartile after the first vote: online only, the least "
                "literate (q1) vote far less than q4 — the turnout gap is wide in A.",
                "Need-match: how close the funded projects come to the best set the community "
                "could have chosen; in the project's runs it differed little between the two.",
            ),
            "zh": (
                "第一次投票之后按数字素养四分位看投票率：只在网上进行时，素养最低的q1远低于q4"
                "——A的投票率差距很大。",
                "需求匹配度：入选项目与社区本可选择的最佳组合有多接近；在本项目的多次运行中两者相差不大。",
            ),
        },
        try_={
            "en": (
                "Play past day 105 to see the first vote, then on through the second year.",
                "Set days per update to 30 to reach the votes quickly.",
            ),
            "zh": (
                "播放到第105天之后看第一次投票，再继续到第二年。",
                "把“每次更新天数”设为30，可以很快看到投票结果。",
            ),
        },
        cases={
            "en": (
                "Chengdu: by 2018 more than 4,300 communities and about 15 M residents took part, "
                "more than US$232 M a year; an earlier rural phase (2009-2012) covered 2,700 "
                "villages.",
            ),
            "zh": (
                "成都：到2018年，超过4300个社区、约1500万居民参与，每年资金超过2.32亿美元；"
                "此前的农村阶段（2009-2012年）覆盖2700个村。",
            ),
        },
        seed="seed paper 000 (Zhang, Wang and Zhuang 2024, participatory budgeting in City C)",
    ),
)
"""Every lesson, in the order a course meets them."""

LESSONS_BY_NAME: dict[str, Lesson] = {lesson.name: lesson for lesson in LESSONS}

LESSON_METRICS: tuple[str, ...] = tuple(dict.fromkeys(m for ls in LESSONS for m in ls.metrics))
"""Every metric some lesson draws (recorded daily by the pair)."""


def checked_lesson(name: Any) -> Lesson:
    """The lesson a client named.

    Raises:
        ValueError: for anything but a lesson's name.
    """
    if not isinstance(name, str) or name not in LESSONS_BY_NAME:
        raise ValueError(f"lesson: got {name!r:.60}, expected one of {', '.join(LESSONS_BY_NAME)}")
    return LESSONS_BY_NAME[name]
