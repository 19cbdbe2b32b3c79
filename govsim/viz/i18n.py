"""Every text of the classroom demo, in English and Chinese.

One entry per lever, metric, platform state, preset and interface string, each with a short label
and (for levers and metrics) a one-paragraph explanation for a class. The formal definition of a
metric is not repeated here: the page shows it from :data:`govsim.metrics.METRICS`, the one place
metrics are defined. Tests check that every lever, charted metric and state has both languages.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Literal

Lang = Literal["en", "zh"]
LANGUAGES: tuple[Lang, ...] = ("en", "zh")
LANGUAGE_NAMES: dict[Lang, str] = {"en": "English", "zh": "中文"}

UI: dict[str, dict[Lang, str]] = {
    "title": {"en": "govsim classroom: governing a megacity", "zh": "govsim 课堂：超大城市治理"},
    "language": {"en": "Language", "zh": "语言"},
    "run": {"en": "Run", "zh": "运行"},
    "run_help": {
        "en": "STEP advances both cities exactly one day; ▶ plays and ❚❚ pauses (or press the "
        "space bar); while playing, the charts are redrawn every 'days per update' days (less "
        "often if drawing falls behind the model). RESET restarts both at day 0 with the "
        "settings below.",
        "zh": "单步：两座城市各前进一天；▶ 播放，❚❚ 暂停（也可按空格键）；播放时每隔“每次刷新推进的天数”"
        "重画一次图表（画图跟不上模型时间隔更长）。重置：按下面的设置让两座城市从第 0 天重新开始。",
    },
    "reset": {"en": "Reset", "zh": "重置"},
    "step": {"en": "Step", "zh": "单步"},
    "play_title": {"en": "Play / pause (space bar)", "zh": "播放 / 暂停（空格键）"},
    "run_over": {
        "en": "The run is over: day {day} of {days}. Press RESET to run it again, or choose a "
        "lesson or preset.",
        "zh": "本次运行已结束：第 {day} 天（共 {days} 天）。按“重置”再运行一次，或选择一课或预设情景。",
    },
    "run_failed": {
        "en": "The run stopped on an error (details in the server's log). Press RESET.",
        "zh": "运行因错误停止（详见服务器日志）。请按“重置”。",
    },
    "projector": {"en": "Projector", "zh": "投影模式"},
    "tab_lesson": {"en": "Lesson", "zh": "课程"},
    "lesson": {"en": "Lesson", "zh": "课程"},
    "lesson_none": {"en": "(none: a preset and your levers)", "zh": "（无：预设情景加你的杠杆）"},
    "lesson_help": {
        "en": "A lesson sets city A and city B to two whole scenarios and restarts both.",
        "zh": "选择一课会把城市 A 和城市 B 设为两个完整情景，并让两座城市重新开始。",
    },
    "preset_b": {"en": "City B's scenario", "zh": "城市 B 的情景"},
    "same_preset": {"en": "(the same as city A)", "zh": "（与城市 A 相同）"},
    "what_this_is": {"en": "What this is", "zh": "这是什么"},
    "things_to_notice": {"en": "Things to notice", "zh": "值得注意"},
    "things_to_try": {"en": "Things to try", "zh": "试一试"},
    "real_cases": {"en": "The real cases", "zh": "真实案例"},
    "seed_paper": {"en": "Follows", "zh": "依据"},
    "bands_help": {
        "en": "Lines are each city's 30-day mean of the daily values; the shaded band is ± one "
        "standard deviation of those 30 days. Where the B − A band still covers 0, the "
        "difference may be the noise of this one run.",
        "zh": "曲线是每座城市逐日数值的 30 天均值；阴影带为这 30 天的 ± 一个标准差。"
        "如果 B − A 的阴影带仍覆盖 0，这个差别可能只是本次运行的随机波动。",
    },
    "b_minus_a": {"en": "B − A (with band)", "zh": "B − A（含波动带）"},
    "download_png": {"en": "Download charts (PNG)", "zh": "下载图表（PNG）"},
    "download_csv": {"en": "Download data (CSV)", "zh": "下载数据（CSV）"},
    "no_lesson": {
        "en": "Choose a lesson in the sidebar (Lesson) to see its story and charts here.",
        "zh": "在侧栏“课程”中选择一课，这里会显示它的说明和图表。",
    },
    "city_b_runs": {"en": "City B runs another scenario:", "zh": "城市 B 运行另一个情景："},
    "day": {"en": "Day", "zh": "天"},
    "day_of": {"en": "Day {day} of {days}", "zh": "第 {day} 天（共 {days} 天）"},
    "speed": {"en": "Pause between updates (ms)", "zh": "每次刷新的间隔（毫秒）"},
    "days_per_update": {"en": "Days per update", "zh": "每次刷新推进的天数"},
    "setup": {"en": "Preset and class size", "zh": "预设情景与规模"},
    "preset": {"en": "Preset (city A)", "zh": "预设情景（城市 A）"},
    "citizens": {"en": "Citizens per city", "zh": "每座城市的居民数"},
    "seed": {"en": "Seed (same for both cities)", "zh": "随机种子（两座城市相同）"},
    "levers": {"en": "Levers of city B", "zh": "城市 B 的政策杠杆"},
    "levers_help": {
        "en": "City A keeps the preset; city B is the preset (or city B's own scenario, or the "
        "lesson's) with these levers. Change one lever at a time, then press RESET: both cities "
        "restart from day 0 with the same seed, so every difference you see comes from your "
        "change.",
        "zh": "城市 A 保持预设情景；城市 B 是预设情景（或城市 B 自己的情景、课程的情景）加上这些杠杆。"
        "一次只改一个杠杆，然后按“重置”：两座城市用同一个随机种子从第 0 天重新开始，"
        "所以你看到的差别都来自你的改动。",
    },
    "pending": {
        "en": "Changes not applied yet: press RESET to restart both cities with them.",
        "zh": "改动尚未生效：按“重置”让两座城市带着改动重新开始。",
    },
    "same_as_a": {
        "en": "City B is identical to city A (no lever changed).",
        "zh": "城市 B 与城市 A 完全相同（没有改动杠杆）。",
    },
    "b_differs": {"en": "City B differs from A in:", "zh": "城市 B 与 A 的不同之处："},
    "back_to_preset": {"en": "Back to the preset", "zh": "恢复预设值"},
    "city_a": {"en": "City A: preset", "zh": "城市 A：预设"},
    "city_b": {"en": "City B: your changes", "zh": "城市 B：你的改动"},
    "tab_compare": {"en": "Compare", "zh": "对比"},
    "tab_city": {"en": "City and case flow", "zh": "城市与案件流转"},
    "tab_explain": {"en": "Explanations", "zh": "说明"},
    "headline": {"en": "Today", "zh": "今日指标"},
    "metric": {"en": "Metric", "zh": "指标"},
    "difference": {"en": "B − A", "zh": "B − A"},
    "definition": {"en": "Definition", "zh": "定义（英文）"},
    "explain_chart": {"en": "What do these lines mean?", "zh": "这些曲线是什么意思？"},
    "colour_by": {"en": "Colour communities by", "zh": "社区着色依据"},
    "city_help": {
        "en": "Each tile is a community (社区), grouped in columns by street (街道) and district (区). "
        "Both maps share one colour scale.",
        "zh": "每个方块是一个社区，按街道和区分列排列。两张图使用同一色标。",
    },
    "case_flow": {
        "en": "Case flow: cases in each platform state",
        "zh": "案件流转：各平台状态中的案件数",
    },
    "in_pipeline": {"en": "Still in the pipeline", "zh": "仍在流程中"},
    "finished": {"en": "Finished (as the platform records it)", "zh": "已办结（按平台记录）"},
    "states_help": {
        "en": "Every case is in exactly one recorded state: accepted (受理), dispatched (派单), "
        "returned as 'not ours' (退单), in progress (办理中), closed (办结), reopened after an audit or "
        "complaint (重办), verified by an audit (核实) or withdrawn (撤单). 'Closed' is what the "
        "platform records, not whether the problem was really solved: compare the closure gap.",
        "zh": "每个案件在任一时刻只处于一个平台记录状态：受理、派单、退单（“不归我管”）、办理中、办结、"
        "重办（抽查或再投诉后）、核实（抽查确认）、撤单。“办结”是平台的记录，不等于问题真的解决了："
        "请对照“办结缺口”。",
    },
    "levers_title": {"en": "Levers", "zh": "政策杠杆"},
    "metrics_title": {"en": "Metrics", "zh": "指标"},
    "about": {
        "en": "govsim simulates citizens, grid workers, street and community officials, departments "
        "and party organisations of a megacity slice, linked by a digital governance platform "
        "(hotline 12345, apps, dispatch, supervision, assessment). One step is one day. The "
        "two cities share everything, including the random seed, except the levers you change.",
        "zh": "govsim 模拟一个超大城市片区里的居民、网格员、街道和社区干部、职能部门与党组织，"
        "他们通过数字治理平台（12345 热线、App、派单、督办、考核）相互作用。每一步是一天。"
        "两座城市除了你改动的杠杆之外完全相同，连随机种子也相同。",
    },
    "unchanged": {"en": "as preset", "zh": "同预设"},
    "yes": {"en": "on", "zh": "开"},
    "no": {"en": "off", "zh": "关"},
    "error": {"en": "Could not build the cities", "zh": "无法创建城市"},
}
"""Interface strings."""

GROUPS: dict[str, dict[Lang, str]] = {
    "dispatch": {"en": "Dispatch across departments (条块)", "zh": "条块派单"},
    "assessment": {"en": "Assessment indicators (the baton)", "zh": "考核指标（指挥棒）"},
    "inclusion": {"en": "Channels and the digital divide", "zh": "渠道与数字鸿沟"},
    "officials": {"en": "Officials' workload", "zh": "基层负担"},
    "responsiveness": {
        "en": "Responsiveness: recorded closure vs real resolution",
        "zh": "回应性：平台办结率与真实解决率",
    },
    "suspension": {
        "en": "Digital suspension (数字悬浮) and its components",
        "zh": "数字悬浮指数及其构成",
    },
    "equity": {
        "en": "Equity gaps: top minus bottom literacy quartile",
        "zh": "公平差距：数字素养最高四分位减最低四分位",
    },
    "trust": {"en": "Trust and political efficacy", "zh": "信任与政治效能感"},
}
"""Lever panel groups and chart titles."""

CHOICES: dict[str, dict[Lang, str]] = {
    "fragmented": {"en": "fragmented (territory first)", "zh": "条块分割（属地优先）"},
    "unified": {"en": "unified (one command centre)", "zh": "一网统管（统一指挥中心）"},
}
"""Labels of select values."""

LEVERS_TEXT: dict[str, dict[Lang, tuple[str, str]]] = {
    "dispatch_mode": {
        "en": (
            "Dispatch mode",
            "Fragmented: a case first lands on the street of the citizen's territory (属地管理) and "
            "travels hand to hand until it reaches the department that owns it; every hand-off "
            "costs time and may go to the wrong department. Unified: a command centre (一网统管, "
            "民意速办) sends it straight to its owner and dispatches multi-department cases jointly.",
        ),
        "zh": (
            "派单模式",
            "条块分割：案件先落到居民所在街道（属地管理），再一手一手转到真正负责的部门；每次转办都要花时间，"
            "还可能转错部门。一网统管：指挥中心（一网统管、民意速办）直接派给责任部门，涉及多个部门的案件联合派单。",
        ),
    },
    "data_sharing": {
        "en": (
            "Data sharing across departments",
            "How much departments share data and responsibility lists (0 none, 1 full). Sharing "
            "lowers the chance a case is sent to the wrong department and shortens hand-offs and the "
            "time it takes to convene the other owners of a multi-department case.",
        ),
        "zh": (
            "跨部门数据共享",
            "部门之间共享数据和责任清单的程度（0 不共享，1 完全共享）。共享越多，案件被派错部门的概率越低，"
            "转办越快，召集多部门案件其他责任方所需的时间也越短。",
        ),
    },
    "summoning": {
        "en": (
            "Summoning (吹哨报到)",
            "The street's party working committee 'blows the whistle' on stalled or "
            "multi-department cases: the owning departments must report within 30 minutes and the "
            "case jumps their queues. Streets also assess the departments they summon (reverse "
            "assessment). Capacity is limited to a few summons per street per day.",
        ),
        "zh": (
            "吹哨报到",
            "街道党工委对久拖未决或涉及多部门的案件“吹哨”：责任部门须在 30 分钟内报到，案件在其队列中优先办理。"
            "街道还对被召集的部门进行反向考核。每个街道每天能吹哨的次数有限。",
        ),
    },
    "first_receiver": {
        "en": (
            "First-receiver responsibility (首接负责)",
            "Whoever receives a case first leads it: it may not return the case as 'not ours' "
            "(退单) and must convene the other owners itself. This ends the ping-pong of returns, "
            "at the cost of some coordination delay.",
        ),
        "zh": (
            "首接负责制",
            "谁先接到案件谁牵头：不得以“不归我管”退单，须自行召集其他责任方。这终结了来回退单的“踢皮球”，"
            "代价是一定的协调时间。",
        ),
    },
    "weight_response": {
        "en": (
            "Weight: response rate",
            "How much the unit score counts the share of cases acted on within the response time. "
            "Easy to meet by acknowledging a case quickly, whether or not it is then solved.",
        ),
        "zh": (
            "权重：响应率",
            "单位考核得分中“在规定时间内响应的案件比例”所占的分量。只要快速受理就能达标，与问题最终是否解决无关。",
        ),
    },
    "weight_on_time_closure": {
        "en": (
            "Weight: on-time closure",
            "Weight of the share of cases closed by their deadline (2 hours to 15 days by urgency). "
            "Rewards speed; under pressure units may close cases nominally to beat the clock.",
        ),
        "zh": (
            "权重：按时办结率",
            "按期限（依紧急程度 2 小时到 15 天）办结的案件比例所占的分量。它奖励速度；压力之下，单位可能为了赶时限而“形式办结”。",
        ),
    },
    "weight_closure": {
        "en": (
            "Weight: closure rate",
            "Weight of the share of cases recorded closed. The platform only sees the record, so "
            "closing without solving (nominal closure) and persuading citizens to withdraw both "
            "raise it.",
        ),
        "zh": (
            "权重：办结率",
            "平台记录为办结的案件比例所占的分量。平台只看记录，所以“没解决也办结”（形式办结）和劝说居民撤单都能抬高它。",
        ),
    },
    "weight_satisfaction": {
        "en": (
            "Weight: reported satisfaction",
            "Weight of the share of citizens who say they are satisfied at the callback. Units "
            "that lean on it may press citizens for good ratings, inflating reported satisfaction "
            "above true satisfaction and costing trust.",
        ),
        "zh": (
            "权重：回访满意率",
            "回访时表示满意的居民比例所占的分量。过分看重它的单位可能向居民“要好评”，"
            "使报告满意度高于真实满意度，并损耗信任。",
        ),
    },
    "weight_verified_resolution": {
        "en": (
            "Weight: verified resolution",
            "Weight of the share of audited cases found really solved. It is the only indicator "
            "that looks behind the record, so it pushes back against nominal closure, as long as "
            "enough cases are audited.",
        ),
        "zh": (
            "权重：核实解决率",
            "抽查核实中确认真正解决的案件比例所占的分量。这是唯一透过记录看实情的指标，"
            "只要抽查的案件足够多，就能抑制形式办结。",
        ),
    },
    "weight_traces": {
        "en": (
            "Weight: activity traces (留痕)",
            "Weight of uploaded activity traces: check-ins, photos, forms. Counting traces makes "
            "officials spend time producing them (formalism at the fingertips, 指尖上的形式主义) "
            "instead of solving problems.",
        ),
        "zh": (
            "权重：工作留痕",
            "上传的打卡、照片、表格等工作痕迹所占的分量。把留痕纳入考核，会让干部把时间花在制造痕迹上"
            "（指尖上的形式主义），而不是解决问题。",
        ),
    },
    "weight_repeat_complaint": {
        "en": (
            "Weight: few repeat complaints",
            "Weight of one minus the share of repeat complaints. A citizen whose problem was closed "
            "but not solved often complains again, so this indicator notices unsolved problems "
            "without an audit.",
        ),
        "zh": (
            "权重：重复投诉少",
            "“1 − 重复投诉比例”所占的分量。问题被办结却没解决的居民往往会再次投诉，所以这个指标不靠抽查也能发现未解决的问题。",
        ),
    },
    "audit_rate": {
        "en": (
            "Audit rate",
            "Share of closed cases independently verified (site checks, surveys). An audit "
            "reopens an unsolved case and catches nominal closures, which cost the unit score. "
            "More audits make gaming less worth it.",
        ),
        "zh": (
            "抽查核实比例",
            "被独立核实（实地检查、回访调查）的已办结案件比例。抽查会让未解决的案件重办，并查出形式办结，"
            "使单位扣分。抽查越多，“钻指标空子”越不划算。",
        ),
    },
    "penalty": {
        "en": (
            "Ranking penalty",
            "Score a unit at the bottom of the monthly ranking feels it loses (the pressure-type "
            "system). The harder the baton falls, the more a unit's learning follows the score "
            "instead of the problems.",
        ),
        "zh": (
            "排名末位扣分",
            "每月排名末位的单位感受到的扣分（压力型体制）。指挥棒越重，单位的学习越追随分数而不是问题本身。",
        ),
    },
    "motivation": {
        "en": (
            "Public-service motivation",
            "How much a unit's officials mind gaming: the score they would give up rather than "
            "close a case without solving it, press a citizen or persuade one to withdraw. Units "
            "differ around this mean. Strong motivation restrains what the indicators reward.",
        ),
        "zh": (
            "公共服务动机",
            "干部有多在意“钻空子”：为了不虚假办结、不施压、不劝撤，他们愿意放弃多少分数。各单位围绕这个平均值各不相同。"
            "动机越强，越能抑制指标诱导的行为。",
        ),
    },
    "selection": {
        "en": (
            "Units learn what pays",
            "On: units learn their practices from their own payoffs and imitate better-off "
            "peers. Off: the same learning, blind to what the practices earn (payoffs shuffled) - "
            "the control that shows what the indicators select.",
        ),
        "zh": (
            "单位学习“什么划算”",
            "开：单位根据自己的得失学习做法，并模仿得分更好的同类单位。关：同样的学习，但看不到做法带来什么（得失被打乱），"
            "这是显示指标究竟“选择”了什么的对照。",
        ),
    },
    "offline_channels": {
        "en": (
            "Offline channels",
            "Citizens can report in person at the community service centre or to their grid "
            "worker. This keeps a door open for those who cannot use apps, at the cost of the "
            "grid workers' time.",
        ),
        "zh": (
            "线下渠道",
            "居民可以到社区服务中心或找网格员当面反映问题。这为不会用 App 的人留了一扇门，代价是占用网格员的时间。",
        ),
    },
    "assisted_reporting": {
        "en": (
            "Assisted reporting (帮办代办)",
            "Grid workers and party-member volunteers file cases on behalf of citizens who would "
            "otherwise stay silent, mostly older residents with low digital literacy.",
        ),
        "zh": (
            "帮办代办",
            "网格员和党员志愿者替本来会保持沉默的居民提交诉求，主要是数字素养较低的老年人。",
        ),
    },
    "force_online": {
        "en": (
            "Everything handled online",
            "All matters must be handled and documented on the platform, including those better "
            "solved face to face (neighbour disputes, elderly care). This adds data entry and "
            "lowers the chance such problems are really solved.",
        ),
        "zh": (
            "一律线上办理",
            "所有事项都必须在平台上办理和留痕，包括更适合面对面解决的事（邻里纠纷、养老照护）。"
            "这会增加录入工作量，并降低这类问题真正解决的可能。",
        ),
    },
    "old_literacy": {
        "en": (
            "Digital literacy of the old",
            "Mean digital literacy (0 to 1) of citizens aged 60 and over. Apps need a minimum "
            "literacy; below it older citizens must queue at the hotline, go offline, be helped, "
            "or stay silent.",
        ),
        "zh": (
            "老年人数字素养",
            "60 岁及以上居民的平均数字素养（0 到 1）。使用 App 需要一定的素养；达不到的老人只能排队打热线、"
            "跑线下、请人帮办，或者干脆沉默。",
        ),
    },
    "apps": {
        "en": (
            "Apps officials report to",
            "How many separate apps grassroots officials must enter the same work into. Each extra "
            "app repeats the data entry (duplicate reporting), taking time away from cases and "
            "patrols.",
        ),
        "zh": (
            "基层需填报的 App 数",
            "基层干部需要把同一项工作录入多少个不同的 App。每多一个 App 就多一遍录入（多头填报），"
            "挤占办案和巡查的时间。",
        ),
    },
}
"""Label and one-paragraph explanation of every lever."""

METRICS_TEXT: dict[str, dict[Lang, tuple[str, str]]] = {
    "closure_rate": {
        "en": (
            "Closure rate",
            "The share of cases the platform records as closed. This is what most dashboards "
            "report and what units are usually ranked on.",
        ),
        "zh": (
            "办结率",
            "平台记录为办结的案件比例。大多数看板展示的、单位排名通常依据的就是它。",
        ),
    },
    "real_resolution_rate": {
        "en": (
            "Real resolution rate",
            "The share of cases whose problem was really solved. The platform cannot see it "
            "directly; the model can. The distance between this line and the closure rate is "
            "the heart of digital suspension.",
        ),
        "zh": (
            "真实解决率",
            "问题真正得到解决的案件比例。平台无法直接看到它，模型可以。它与办结率之间的距离正是数字悬浮的核心。",
        ),
    },
    "closure_gap": {
        "en": (
            "Closure gap",
            "Of the cases recorded closed, the share not really solved: closed on paper only.",
        ),
        "zh": ("办结缺口", "在记录为办结的案件中，问题并未真正解决的比例：只在纸面上办结。"),
    },
    "satisfaction_inflation": {
        "en": (
            "Satisfaction inflation",
            "Reported satisfaction minus true satisfaction: how much the callback ratings "
            "overstate how citizens really feel, for example because units pressed them for good "
            "ratings.",
        ),
        "zh": (
            "满意度虚高",
            "报告满意度减去真实满意度：回访评分在多大程度上夸大了居民的真实感受，例如因为单位“要好评”。",
        ),
    },
    "formalism_burden": {
        "en": (
            "Formalism burden",
            "The share of grassroots officials' working hours spent on data work: forms, photos, "
            "check-ins and entering the same work into several apps.",
        ),
        "zh": (
            "形式主义负担",
            "基层干部工作时间中花在数据工作上的比例：填表、拍照、打卡、把同一件事录入多个 App。",
        ),
    },
    "voice_gap": {
        "en": (
            "Voice gap",
            "The share of citizens' problems that never reach the platform, because people stay "
            "silent, hang up in the hotline queue, or have no channel they can use.",
        ),
        "zh": (
            "沉默缺口",
            "居民的问题中从未到达平台的比例：因为人们选择沉默、在热线排队时挂断，或者没有能用的渠道。",
        ),
    },
    "dsi": {
        "en": (
            "Digital suspension index",
            "One number for a platform that floats above the problems it is meant to solve "
            "(数字悬浮): a weighted mean of the closure gap, satisfaction inflation, formalism "
            "burden and voice gap. Higher is worse.",
        ),
        "zh": (
            "数字悬浮指数",
            "用一个数刻画“悬浮”在它本应解决的问题之上的平台：办结缺口、满意度虚高、形式主义负担和沉默缺口的加权平均。越高越糟。",
        ),
    },
    "equity_gap_voice": {
        "en": (
            "Voice gap between literacy groups",
            "How much more often the most digitally literate quarter of citizens voices a "
            "problem than the least literate quarter. Zero means equal voice.",
        ),
        "zh": (
            "发声差距",
            "数字素养最高的四分之一居民比最低的四分之一更常反映问题的程度。为零表示发声机会均等。",
        ),
    },
    "equity_gap_resolution": {
        "en": (
            "Resolution gap between literacy groups",
            "Real resolution of the most literate quarter's problems minus that of the least "
            "literate quarter. Problems never voiced count as unsolved, so silence widens it.",
        ),
        "zh": (
            "解决差距",
            "数字素养最高四分之一居民问题的真实解决率减去最低四分之一的。没有反映的问题算作未解决，所以沉默会拉大这个差距。",
        ),
    },
    "equity_gap_satisfaction": {
        "en": (
            "Satisfaction gap between literacy groups",
            "True satisfaction of the most literate quarter minus that of the least literate "
            "quarter, among closed cases.",
        ),
        "zh": (
            "满意差距",
            "在已办结案件中，数字素养最高四分之一居民的真实满意度减去最低四分之一的。",
        ),
    },
    "trust_mean": {
        "en": (
            "Trust in government",
            "Mean trust of citizens (0 to 1). It moves with what people experience: problems "
            "really solved raise it; unsolved closures, pressure for ratings and stories from "
            "neighbours lower it.",
        ),
        "zh": (
            "政府信任",
            "居民的平均信任度（0 到 1）。它随亲身经历变化：问题真正解决会提升信任；未解决就办结、被“要好评”以及邻里间的口碑会降低信任。",
        ),
    },
    "efficacy_mean": {
        "en": (
            "Political efficacy",
            "Mean belief of citizens that speaking up makes a difference (0 to 1). Low efficacy "
            "means more silence next time.",
        ),
        "zh": (
            "政治效能感",
            "居民相信“说了有用”的平均程度（0 到 1）。效能感低，下次就更可能沉默。",
        ),
    },
    "backlog": {
        "en": (
            "Backlog",
            "Cases open on the platform at the end of the day (not closed, verified or withdrawn).",
        ),
        "zh": ("积压案件", "当天结束时平台上仍未办结（未办结、未核实、未撤单）的案件数。"),
    },
    "days_to_resolution_median": {
        "en": (
            "Days to resolution (median)",
            "Median days from a case's creation to its problem being really solved, over the solved cases created in the last 30 days (recent cases have had less time, so the latest days read short).",
        ),
        "zh": (
            "办结天数（中位数）",
            "从立案到问题真正解决的天数中位数，统计过去30天内立案且已解决的案件（最近的案件时间尚短，所以最新几天偏短）。",
        ),
    },
    "handoffs_per_case": {
        "en": (
            "Hand-offs per case",
            "How many times a case passed from one unit to another on its way to the units that solve it (misroutes and returns included).",
        ),
        "zh": ("每件转办次数", "案件在到达解决它的单位之前在单位之间转交的次数（含错派和退单）。"),
    },
    "on_time_closure_rate": {
        "en": (
            "On-time closure",
            "The share of cases closed within their deadline (2 hours to 15 days by kind).",
        ),
        "zh": ("按时办结率", "在时限内办结的案件比例（按类型从2小时到15天不等）。"),
    },
    "hidden_dissatisfaction": {
        "en": (
            "Hidden dissatisfaction",
            "Among citizens truly dissatisfied with how their case went, the share whom the callback ratings report satisfied.",
        ),
        "zh": ("隐性不满", "在对办理结果真正不满意的居民中，被回访评价记为满意的比例。"),
    },
    "nominal_closure_rate": {
        "en": (
            "Nominal closure",
            "The share of closed cases with a part closed on paper only (nominally handled).",
        ),
        "zh": ("名义办结", "办结案件中有部分只是纸面办结（名义处理）的比例。"),
    },
    "indicator_validity": {
        "en": (
            "Indicator validity",
            "How well units' assessment scores track their true performance (correlation over units, last assessment period; 1 = perfectly).",
        ),
        "zh": (
            "指标效度",
            "单位考核得分与其真实表现的吻合程度（各单位之间的相关系数，最近一个考核周期；1为完全吻合）。",
        ),
    },
    "voice_rate_q1": {
        "en": (
            "Voice rate, least literate quarter (q1)",
            "Problems of the least digitally literate quarter that reached the platform, as a share of their problems.",
        ),
        "zh": (
            "表达率（数字素养最低四分之一，q1）",
            "数字素养最低的四分之一居民的问题中，到达平台的比例。",
        ),
    },
    "voice_rate_q4": {
        "en": (
            "Voice rate, most literate quarter (q4)",
            "The same for the most digitally literate quarter.",
        ),
        "zh": ("表达率（数字素养最高四分之一，q4）", "数字素养最高的四分之一居民的同一比例。"),
    },
    "pb_turnout_q1": {
        "en": (
            "PB turnout, least literate quarter (q1)",
            "Residents of the least digitally literate quarter who voted in the last participatory-budgeting vote (0 before the first).",
        ),
        "zh": (
            "参与式预算投票率（q1）",
            "数字素养最低的四分之一居民在最近一次参与式预算投票中的投票比例（第一次投票前为0）。",
        ),
    },
    "pb_turnout_q4": {
        "en": (
            "PB turnout, most literate quarter (q4)",
            "The same for the most digitally literate quarter.",
        ),
        "zh": ("参与式预算投票率（q4）", "数字素养最高的四分之一居民的同一比例。"),
    },
    "pb_turnout_gap": {
        "en": (
            "PB turnout gap (q4 − q1)",
            "Turnout of the most literate quarter minus that of the least literate: who decides how the budget is spent.",
        ),
        "zh": (
            "参与式预算投票率差距（q4 − q1）",
            "数字素养最高与最低四分之一居民投票率之差：谁在决定预算怎么花。",
        ),
    },
    "pb_need_match": {
        "en": (
            "PB need-match",
            "How much of the best achievable benefit the funded projects deliver, per community, within its budget (1 = the best set).",
        ),
        "zh": (
            "参与式预算需求匹配度",
            "各社区入选项目带来的真实收益占预算内最佳组合收益的比例（1为最佳组合）。",
        ),
    },
}
"""Label and one-paragraph explanation of every metric the page shows."""

STATES_TEXT: dict[str, dict[Lang, str]] = {
    "accepted": {"en": "accepted", "zh": "受理"},
    "dispatched": {"en": "dispatched", "zh": "派单"},
    "returned": {"en": "returned", "zh": "退单"},
    "in_progress": {"en": "in progress", "zh": "办理中"},
    "closed": {"en": "closed", "zh": "办结"},
    "reopened": {"en": "reopened", "zh": "重办"},
    "verified": {"en": "verified", "zh": "核实"},
    "withdrawn": {"en": "withdrawn", "zh": "撤单"},
}
"""Names of the recorded platform states (govsim.cases.STATE_NAMES)."""

COLOURINGS_TEXT: dict[str, dict[Lang, str]] = {
    "open_cases": {"en": "open cases", "zh": "未办结案件数"},
    "trust": {"en": "mean trust of residents", "zh": "居民平均信任"},
    "literacy": {"en": "mean digital literacy of residents", "zh": "居民平均数字素养"},
}
"""Labels of the city view's colourings."""

PRESETS_TEXT: dict[str, dict[Lang, str]] = {
    "baseline": {"en": "Baseline", "zh": "基准情景"},
    "fragmented": {"en": "Fragmented 条块", "zh": "条块分割"},
    "one_network": {"en": "One network (一网统管)", "zh": "一网统管"},
    "whistle": {"en": "Whistle (吹哨报到)", "zh": "吹哨报到"},
    "speed_kpi": {"en": "Speed KPIs", "zh": "速度型考核"},
    "balanced_kpi": {"en": "Balanced KPIs with audits", "zh": "均衡考核加抽查"},
    "trace_kpi": {"en": "Traces counted (留痕)", "zh": "考核留痕"},
    "online_only": {"en": "Online only", "zh": "只留线上"},
    "inclusive": {"en": "Inclusive channels", "zh": "包容性渠道"},
    "participatory_budgeting": {"en": "Participatory budgeting", "zh": "参与式预算"},
    "beijing_reform": {"en": "Beijing reform 2017-2022", "zh": "北京改革 2017-2022"},
    "beijing": {"en": "Beijing 2024 (calibrated)", "zh": "北京 2024（校准）"},
}
"""Short names of the packaged presets (a preset without one shows its file name)."""


PRESET_DESCRIPTIONS_ZH: dict[str, str] = {
    "baseline": "超大城市的一个片区：条块分割派单，按“三率”考核（主要工作）",
    "fragmented": "条块分割派单：属地优先、层层转办、数据共享少、允许退单",
    "one_network": "指挥中心统一派单，高度数据共享，多部门联合派单（一网统管）",
    "whistle": "条块分割派单加吹哨报到：街道党工委召集部门，30 分钟内报到",
    "speed_kpi": "考核看重速度和办结，抽查少，排名处罚严厉",
    "balanced_kpi": "考核看重核实解决和满意度，定期抽查",
    "trace_kpi": "工作留痕纳入考核，基层要向三个 App 填报",
    "online_only": "只留线上：App 和热线，没有线下和帮办渠道，适合线下办理的事项也必须线上办",
    "inclusive": "保留线下渠道，网格员和党员志愿者帮办代办，开展数字素养培训",
    "participatory_budgeting": "成都式参与式预算：线上线下结合，三个年度周期",
    "beijing_reform": "北京 2017-2022：改革前条块分割，2018 年吹哨报到，2019 年接诉即办并按三率月度排名，2021 年服务标准",
    "beijing": "2024 年接诉即办改革后的北京：统一派单、首接负责、兜底、吹哨报到，按三率月度排名；部分参数经校准",
}
"""Chinese versions of the packaged presets' descriptions (English: the scenario files)."""


def ui(key: str, lang: Lang) -> str:
    """An interface string."""
    return UI[key][lang]


def lever_label(name: str, lang: Lang) -> str:
    """The short label of a lever."""
    return LEVERS_TEXT[name][lang][0]


def lever_explanation(name: str, lang: Lang) -> str:
    """The one-paragraph explanation of a lever."""
    return LEVERS_TEXT[name][lang][1]


def metric_label(name: str, lang: Lang) -> str:
    """The short label of a metric."""
    return METRICS_TEXT[name][lang][0]


def metric_explanation(name: str, lang: Lang) -> str:
    """The one-paragraph explanation of a metric."""
    return METRICS_TEXT[name][lang][1]


def preset_label(name: str, lang: Lang) -> str:
    """The short name of a preset (a scenario file's name where it has none)."""
    text = PRESETS_TEXT.get(name)
    return text[lang] if text else PurePath(name).name


def choice_label(value: str, lang: Lang) -> str:
    """The label of a select value."""
    text = CHOICES.get(value)
    return text[lang] if text else value
