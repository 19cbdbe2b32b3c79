"""The scenario schema: every parameter of a govsim scenario, with its unit, range and meaning.

All defaults live here and nowhere else. Each field carries ``unit`` in its JSON-schema extra and a
one-line ``description``; ``govsim show`` and the ODD document are generated views of this file.

The default values describe a small "Beijing-like" city calibrated in scale to docs/FACTS.md:
about 0.003 platform contacts per citizen-day (25 M contacts a year for 22 M residents), of which
about 58% are consultations answered at intake.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

AGE_GROUPS: tuple[str, ...] = ("young", "middle", "old")
"""Age groups: 18-39, 40-59, 60 and over (CNNIC reports the 60+ group separately)."""

URGENCY_CLASSES: tuple[str, ...] = ("urgent", "utility", "general", "complex")
"""Urgency classes of the Beijing service standard (2 h, 24 h, 7 days, 15 days)."""

PRACTICES: tuple[str, ...] = (
    "nominal_closure",
    "satisfaction_pressure",
    "persuade_withdrawal",
    "extra_traces",
)
"""Gaming practices a unit may adopt besides real solving (see govsim.platform.assessment)."""
NOMINAL_CLOSURE, SATISFACTION_PRESSURE, PERSUADE_WITHDRAWAL, EXTRA_TRACES = range(len(PRACTICES))
"""Columns of a units' practices array, in the order of :data:`PRACTICES`."""

INDICATORS: tuple[str, ...] = (
    "response",
    "on_time_closure",
    "closure",
    "satisfaction",
    "verified_resolution",
    "traces",
    "repeat_complaint",
)
"""Assessment indicators a scenario may weight (the baton 指挥棒)."""


def P(default, unit: str, meaning: str, **constraints):
    """A scenario parameter: a pydantic Field with its unit and one-line meaning.

    Args:
        default: The default value (the only place defaults are written).
        unit: The unit, e.g. ``"cases/citizen-day"`` or ``"1"`` for a dimensionless share.
        meaning: One line saying what the parameter is in the domain.
        **constraints: pydantic constraints such as ``ge``, ``le``, ``gt``.

    Returns:
        A pydantic ``FieldInfo``.
    """
    return Field(default, description=meaning, json_schema_extra={"unit": unit}, **constraints)


def _bool_as_number(annotation: Any, value: Any) -> bool:
    """Whether ``value`` holds true/false where ``annotation`` expects a number (int or float).

    Looks through ``Annotated``, optional and union types (a union that admits ``bool`` accepts it),
    and into the values of dicts, lists and tuples.
    """
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _bool_as_number(args[0], value)
    if origin is Union or origin is types.UnionType:
        if bool in args:
            return False
        return any(_bool_as_number(a, value) for a in args if a is not type(None))
    if annotation is int or annotation is float:
        return isinstance(value, bool)
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        return any(_bool_as_number(args[1], v) for v in value.values())
    if origin in (list, tuple) and isinstance(value, list | tuple) and args:
        if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
            return any(_bool_as_number(a, v) for a, v in zip(args, value, strict=False))
        return any(_bool_as_number(args[0], v) for v in value)
    return False


class PlainData(BaseModel):
    """Base of every model govsim reads from a file: one rule for numbers everywhere.

    - unknown keys are errors;
    - every float must be finite (``.nan``, ``.inf`` and overflowing literals such as ``1.0e999``
      are refused), through pydantic's ``allow_inf_nan=False``;
    - booleans are not numbers: ``true`` where an integer or a float is expected is refused
      (pydantic would otherwise read it as 1).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and _bool_as_number(field.annotation, value):
            raise ValueError("expected a number here, not true/false")
        return value


class Section(PlainData):
    """Base of every scenario section: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)


Share = Annotated[float, Field(ge=0.0, le=1.0)]
Years = Annotated[float, Field(ge=0.0, le=25.0)]


class CitySpec(Section):
    """City structure: districts -> streets (街道) -> communities (社区) -> grids (网格)."""

    districts: int = P(2, "districts", "Number of districts (区).", ge=1, le=100)
    streets_per_district: int = P(
        3, "streets", "Streets and towns (街道/乡镇) per district.", ge=1, le=100
    )
    communities_per_street: int = P(
        4, "communities", "Communities (社区) per street.", ge=1, le=200
    )
    grids_per_community: int = P(
        3, "grids", "Grids (网格) per community; one grid worker each.", ge=1, le=50
    )


class LiteracySpec(Section):
    """Digital literacy of one age group: a Beta distribution given by mean and concentration."""

    mean: float = P(0.5, "1", "Mean digital literacy in [0,1].", ge=0.01, le=0.99)
    concentration: float = P(
        4.0, "1", "Beta concentration (a+b); larger is less spread.", gt=0.1, le=1000
    )


def _default_literacy() -> dict[str, LiteracySpec]:
    # CNNIC 2025: ~80% online overall, 52% of the 60+; literacy means chosen so that the share
    # of citizens with literacy above 0.3 (the app threshold below) is near those figures.
    return {
        "young": LiteracySpec(mean=0.78, concentration=6.0),
        "middle": LiteracySpec(mean=0.6, concentration=5.0),
        "old": LiteracySpec(mean=0.35, concentration=3.0),
    }


class PopulationSpec(Section):
    """Citizens: their number, ages, digital literacy and starting attitudes."""

    citizens: int = P(
        10_000, "citizens", "Number of citizens (residents) simulated.", ge=1, le=20_000_000
    )
    age_shares: dict[Literal["young", "middle", "old"], Share] = P(
        {"young": 0.38, "middle": 0.36, "old": 0.26},
        "1",
        "Population shares of the age groups young (18-39), middle (40-59), old (60+); sum to 1.",
    )
    literacy: dict[Literal["young", "middle", "old"], LiteracySpec] = P(
        _default_literacy(), "1", "Digital-literacy distribution per age group."
    )
    literacy_training_rate: float = P(
        0.0,
        "1/year",
        "Yearly gain in literacy from training programmes, applied as a daily drift.",
        ge=0,
        le=1,
    )
    trust_mean: float = P(0.55, "1", "Mean initial trust in government, in [0,1].", ge=0, le=1)
    efficacy_mean: float = P(0.5, "1", "Mean initial political efficacy, in [0,1].", ge=0, le=1)
    attitude_spread: float = P(
        0.15, "1", "Standard deviation of initial trust and efficacy.", ge=0, le=0.5
    )
    network_degree: int = P(
        6, "ties", "Neighbour ties per citizen in the word-of-mouth network.", ge=0, le=50
    )
    long_tie_share: float = P(
        0.05, "1", "Share of ties rewired to random citizens citywide (long ties).", ge=0, le=1
    )
    ses_sorting: float = P(
        0.2,
        "1",
        "Share of the variance of latent socioeconomic status (SES) that lies between communities: "
        "0 places citizens at random, 1 makes every community uniform inside. Assumption.",
        ge=0,
        le=1,
    )
    education_years: dict[Literal["young", "middle", "old"], Years] = P(
        {"young": 13.5, "middle": 10.5, "old": 8.0},
        "years",
        "Mean years of schooling per age group. Assumption after China's 2020 census (9.9 years "
        "for those 15+, more in Beijing and in younger cohorts; not among the figures F).",
    )
    education_years_sd: float = P(
        3.0, "years", "Spread of years of schooling within an age group. Assumption.", ge=0, le=10
    )
    ses_education_loading: float = P(
        0.7,
        "1",
        "Correlation of schooling with latent SES (0: schooling unrelated to the community). "
        "Assumption.",
        ge=0,
        le=1,
    )
    ses_income_loading: float = P(
        0.7,
        "1",
        "Correlation of log income with latent SES (0: income unrelated to the community). "
        "Assumption.",
        ge=0,
        le=1,
    )
    literacy_ses_correlation: float = P(
        0.4,
        "1",
        "Rank correlation of digital literacy with latent SES within an age group (0: literacy "
        "independent of SES). CNNIC: internet users are the more educated; strength an assumption.",
        ge=0,
        le=1,
    )
    efficacy_education_shift: float = P(
        0.05,
        "1/SD",
        "Initial political efficacy added per standard deviation of schooling (Verba, Schlozman "
        "and Brady 1995: civic skills grow with education); size an assumption.",
        ge=-0.5,
        le=0.5,
    )
    trust_education_shift: float = P(
        0.0,
        "1/SD",
        "Initial trust in government added per standard deviation of schooling. Assumption: 0, "
        "the sign in China is disputed in the literature.",
        ge=-0.5,
        le=0.5,
    )
    app_nonadopter_share: float = P(
        0.5,
        "1",
        "Share of citizens who at the start do not use the app even when literate enough to "
        "(the online who default to the hotline); 0: every literate citizen uses the app. "
        "Assumption (F: phone 90.7% of Beijing's contacts in 2020 while ~70% were online).",
        ge=0,
        le=1,
    )

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> PopulationSpec:
        total = sum(self.age_shares.get(g, 0.0) for g in AGE_GROUPS)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"age_shares must sum to 1 (got {total:g})")
        missing = [g for g in AGE_GROUPS if g not in self.literacy]
        if missing:
            raise ValueError(f"literacy needs every age group; missing {missing}")
        missing = [g for g in AGE_GROUPS if g not in self.education_years]
        if missing:
            raise ValueError(f"education_years needs every age group; missing {missing}")
        return self


class CitizenBehaviourSpec(Section):
    """Citizens' rules: voice or silence, channel choice, learning from experience, word of mouth."""

    voice_base: float = P(-0.9, "logit", "Intercept of the voice (report) decision.", ge=-10, le=10)
    voice_efficacy_weight: float = P(
        2.0, "logit/unit", "Weight of political efficacy on voice.", ge=0, le=20
    )
    voice_trust_weight: float = P(
        1.0, "logit/unit", "Weight of trust in government on voice.", ge=0, le=20
    )
    voice_severity_weight: float = P(
        2.0, "logit/unit", "Weight of problem severity on voice.", ge=0, le=20
    )
    voice_cost_weight: float = P(
        2.5, "logit/unit", "Weight of the cheapest channel's cost against voice.", ge=0, le=20
    )
    app_literacy_threshold: float = P(
        0.3, "1", "Literacy below which a citizen cannot use the app at all.", ge=0, le=1
    )
    channel_choice_sharpness: float = P(
        4.0, "1/cost", "Logit sharpness of channel choice.", ge=0, le=50
    )
    hotline_base_cost: float = P(
        0.35, "cost", "Cost of calling the hotline with no waiting.", ge=0, le=5
    )
    hotline_wait_cost_per_minute: float = P(
        0.05, "cost/min", "Extra cost per minute of expected wait.", ge=0, le=5
    )
    hotline_abandon_cost: float = P(
        1.0, "cost", "Cost of a call given up unanswered, weighted by its probability.", ge=0, le=10
    )
    offline_cost: float = P(
        0.55, "cost", "Cost of going to the community centre or grid worker.", ge=0, le=5
    )
    assisted_cost: float = P(
        0.3, "cost", "Cost of being helped to file by a worker or volunteer.", ge=0, le=5
    )
    trust_learning_rate: float = P(0.15, "1", "Weight of a new experience in trust.", ge=0, le=1)
    efficacy_learning_rate: float = P(
        0.1, "1", "Weight of a new experience in efficacy.", ge=0, le=1
    )
    word_of_mouth: float = P(
        0.02, "1/day", "Daily pull of trust and efficacy toward neighbours' mean.", ge=0, le=1
    )
    refile_propensity: float = P(
        0.6,
        "1",
        "Probability scale of re-filing an unsolved 'closed' case (times efficacy).",
        ge=0,
        le=1,
    )
    late_solved_value: float = P(
        0.6,
        "1",
        "Experience value of a problem solved after its deadline (1 = on time).",
        ge=0,
        le=1,
    )
    satisfied_if_solved: float = P(
        0.95, "1", "Chance a citizen is truly satisfied with a case solved on time.", ge=0, le=1
    )
    satisfied_if_late: float = P(
        0.7, "1", "Chance a citizen is truly satisfied with a case solved late.", ge=0, le=1
    )
    satisfied_if_unsolved: float = P(
        0.1, "1", "Chance a citizen is truly satisfied with a case closed unsolved.", ge=0, le=1
    )
    pressure_trust_cost: float = P(
        0.05,
        "1",
        "Trust lost when a citizen is pressed for a good rating or to withdraw.",
        ge=0,
        le=1,
    )
    voice_education_weight: float = P(
        0.2,
        "logit/SD",
        "Weight of schooling (standardised) on voice. Kontokosta and Hong 2021 (F: reporting "
        "rises with education); size an assumption.",
        ge=-5,
        le=5,
    )
    voice_income_weight: float = P(
        0.2,
        "logit/SD",
        "Weight of log income (standardised) on voice. Kontokosta and Hong 2021 (F: reporting "
        "rises with income); size an assumption.",
        ge=-5,
        le=5,
    )
    channel_habit_weight: float = P(
        0.15,
        "cost",
        "Cost saved by using again the channel of one's last case when it satisfied (habit; "
        "Pieterson 2009, Ebbers, Pieterson and Noordman 2008); size an assumption.",
        ge=0,
        le=5,
    )
    channel_switch_weight: float = P(
        0.15,
        "cost",
        "Extra cost of the channel of one's last case when it left one dissatisfied (win-stay, "
        "lose-shift); size an assumption.",
        ge=0,
        le=5,
    )
    channel_word_of_mouth_weight: float = P(
        0.2,
        "cost",
        "Cost saved on a channel per share of network neighbours whose last case by it satisfied "
        "them (word of mouth about channels; Pieterson 2009); size an assumption.",
        ge=0,
        le=5,
    )
    app_adoption_innovation: float = P(
        0.03,
        "1/year",
        "Bass innovation coefficient p of app adoption among literate non-users (Sultan, Farley "
        "and Lehmann 1990 meta-analysis mean).",
        ge=0,
        le=5,
    )
    app_adoption_imitation: float = P(
        0.38,
        "1/year",
        "Bass imitation coefficient q, times the share of one's network neighbours who use the "
        "app (Sultan, Farley and Lehmann 1990 meta-analysis mean).",
        ge=0,
        le=5,
    )
    repeat_satisfaction_penalty: float = P(
        0.5,
        "logit/round",
        "Fall in the log-odds of true satisfaction per earlier failed round of the same problem "
        "(expectation disconfirmation: Oliver 1980, Van Ryzin 2004); size an assumption.",
        ge=0,
        le=10,
    )
    repeat_wait_penalty: float = P(
        0.1,
        "logit/week",
        "Fall in the log-odds of true satisfaction per week between the problem's first filing "
        "and this repeat complaint (Van Ryzin 2004); size an assumption.",
        ge=0,
        le=10,
    )
    repeat_trust_discount: float = P(
        0.2,
        "1/round",
        "Share of a repeat case's outcome value lost per earlier failed round, in trust and "
        "efficacy learning (a late fix after failures counts less). Assumption.",
        ge=0,
        le=1,
    )


class ChannelsSpec(Section):
    """Intake channels (渠道) and their capacities."""

    app: bool = P(True, "switch", "App / mini-program intake is open.")
    hotline: bool = P(True, "switch", "Hotline 12345 intake is open.")
    offline: bool = P(
        True, "switch", "Offline intake (community service centre, grid worker) is open."
    )
    assisted: bool = P(
        True, "switch", "Assisted reporting (帮办代办) by grid workers and volunteers is open."
    )
    app_usability: float = P(
        0.6, "1", "Usability of the app; lowers its cost for everyone.", ge=0, le=1
    )
    hotline_operators: int = P(
        1,
        "operators",
        "Hotline operators on duty over a day (Beijing: ~1,700 for 22 M residents).",
        ge=0,
        le=100_000,
    )
    hotline_calls_per_operator: float = P(
        90.0,
        "calls/operator-day",
        "Calls one operator can answer in a day (80-100 in Beijing).",
        gt=0,
        le=10_000,
    )
    hotline_answer_standard_s: float = P(
        15.0, "s", "Answer-time standard (15 s in Beijing).", gt=0, le=3600
    )
    hotline_patience_minutes: float = P(
        3.0, "min", "Mean patience of a waiting caller before abandoning.", gt=0, le=600
    )
    volunteers_per_community: float = P(
        2.0,
        "volunteers",
        "Party-member volunteers per community available for assisted reporting.",
        ge=0,
        le=1000,
    )
    assisted_reach: float = P(
        0.5,
        "1",
        "Chance a citizen who would need help is within reach of a helper on a given day.",
        ge=0,
        le=1,
    )


class CategorySpec(Section):
    """A case category: how often it arises, who owns it, how hard it is."""

    rate: float = P(
        0.0003, "problems/citizen-day", "Arrival rate of this problem per citizen-day.", ge=0, le=1
    )
    old_rate_multiplier: float = P(1.0, "1", "Rate multiplier for citizens aged 60+.", ge=0, le=20)
    consultation: bool = P(False, "switch", "A consultation: answered at intake, never dispatched.")
    owners: list[str] = P(
        [], "departments", "Owning units: department names, 'community' or 'street'."
    )
    effort_hours: float = P(
        3.0, "staff-hours", "Mean effort per owner (exponential).", gt=0, le=1000
    )
    urgency: Literal["urgent", "utility", "general", "complex"] = P(
        "general", "class", "Urgency class; sets the deadline (closed_loop.deadline_hours)."
    )
    severity: float = P(
        0.5, "1", "How much the problem matters to the citizen, in [0,1].", ge=0, le=1
    )
    offline_suited: bool = P(
        False, "switch", "Better handled face to face (disputes, elderly care)."
    )
    unsolvable_share: float = P(0.05, "1", "Share of cases no effort can truly solve.", ge=0, le=1)
    worsening_per_day: float = P(
        0.0,
        "1/day",
        "How fast a waiting problem worsens: the chance that work on it really solves it falls "
        "by this factor per day between filing and completion (exp(-rate x days)); 0: it does not "
        "worsen. Assumption (a leak spreads, a pothole grows, a hazard turns into an accident).",
        ge=0,
        le=10,
    )
    incidents_per_year: float = P(
        0.0,
        "incidents/year",
        "City-wide incidents (a rainstorm, a burst main, the start of the heating season) that "
        "raise the category's problem rate for a while; 0: the rate is constant. Assumption.",
        ge=0,
        le=365,
    )
    incident_size: float = P(
        1.0,
        "1",
        "Extra problem rate an incident adds at its start, as a multiple of the category's rate "
        "(1: doubles it). Assumption.",
        ge=0,
        le=100,
    )
    incident_days: float = P(
        5.0,
        "days",
        "Time constant of an incident's exponential fading. Assumption.",
        gt=0,
        le=365,
    )


def _default_categories() -> dict[str, CategorySpec]:
    C = CategorySpec
    # Rates: total ~0.0045 problems/citizen-day; with a voice rate near 0.65 that is ~0.003
    # contacts/citizen-day, the Beijing 2025 scale; consultations are ~55% of them.
    return {
        "consultation": C(
            rate=0.0025, consultation=True, owners=[], effort_hours=0.1, severity=0.3
        ),
        "sanitation": C(
            rate=0.0004,
            owners=["urban_management"],
            effort_hours=2.0,
            severity=0.4,
            worsening_per_day=0.005,
            incidents_per_year=4.0,
            incident_size=0.8,
        ),
        "municipal_facilities": C(
            rate=0.0003,
            owners=["housing"],
            effort_hours=4.0,
            severity=0.5,
            worsening_per_day=0.005,
            incidents_per_year=4.0,
            incident_days=7.0,
        ),
        "noise": C(
            rate=0.00025,
            owners=["environment"],
            effort_hours=2.5,
            severity=0.5,
            unsolvable_share=0.15,
        ),
        "property_management": C(rate=0.0003, owners=["community"], effort_hours=3.0, severity=0.5),
        "neighbour_dispute": C(
            rate=0.0002,
            owners=["community"],
            effort_hours=4.0,
            severity=0.6,
            offline_suited=True,
            unsolvable_share=0.2,
        ),
        "elderly_services": C(
            rate=0.00008,
            old_rate_multiplier=4.0,
            owners=["civil_affairs"],
            effort_hours=3.0,
            severity=0.7,
            offline_suited=True,
        ),
        "utilities": C(
            rate=0.00012,
            owners=["water"],
            effort_hours=2.0,
            urgency="utility",
            severity=0.8,
            worsening_per_day=0.02,
            incidents_per_year=6.0,
            incident_size=1.5,
            incident_days=4.0,
        ),
        "illegal_construction": C(
            rate=0.00005,
            owners=["urban_management", "housing", "market_regulation"],
            effort_hours=6.0,
            urgency="complex",
            severity=0.6,
            unsolvable_share=0.15,
        ),
        "safety_hazard": C(
            rate=0.00003,
            owners=["street"],
            effort_hours=2.0,
            urgency="urgent",
            severity=0.95,
            worsening_per_day=0.03,
        ),
    }


class DepartmentSpec(Section):
    """A functional department (条)."""

    staff: int = P(
        3,
        "staff",
        "Case-handling staff (servers) at each copy of the department.",
        ge=1,
        le=100_000,
    )
    level: Literal["city", "district"] = P(
        "district", "level", "One copy for the city, or one per district."
    )
    vertical: bool = P(
        False, "switch", "Vertically managed (垂直管理): feels local assessment less."
    )


def _default_departments() -> dict[str, DepartmentSpec]:
    D = DepartmentSpec
    return {
        "urban_management": D(staff=5),
        "housing": D(staff=6),
        "environment": D(staff=3),
        "market_regulation": D(staff=2, vertical=True),
        "transport": D(staff=1, level="city"),
        "water": D(staff=3, level="city", vertical=True),
        "civil_affairs": D(staff=3),
    }


class OfficialsSpec(Section):
    """Grassroots officials (网格员, 社区工作者, 街道干部): time budgets, data work, burnout.

    Capacity is calibrated, not observed: with the defaults the baseline's grassroots offices run
    at about 68% and its departments at about 65% of their platform hours (the busy departments
    70-80%; market regulation and transport own few categories) (``govsim run baseline``:
    ``official_utilisation_mean``, ``department_utilisation_mean``). The target, 70-95%, is an
    assumption: a busy but stable service system (in queueing practice waits explode above about
    90% utilisation, Erlang C) in a street-level bureaucracy whose demand meets or exceeds its
    supply (Lipsky 1980), overloaded by upward tasks (seed paper 001). Departments are held below
    it: a department near 85% tips, by chance, into overload, burnout and a collapsing queue (the
    burnout feedback of ``burnout_capacity_loss``), which would make the baseline's results
    depend on which district tips first.
    """

    community_workers: int = P(
        1, "officials", "Case-handling workers per community (besides grid workers).", ge=1, le=1000
    )
    street_officials: int = P(1, "officials", "Case-handling officials per street.", ge=1, le=1000)
    hours_per_day: float = P(8.0, "h/day", "Working hours of an official per day.", gt=0, le=24)
    routine_share: float = P(
        0.85,
        "1",
        "Share of a grassroots official's working day taken by duties outside the platform's "
        "cases (meetings, inspections, tasks from above). Assumption, calibrated (see above).",
        ge=0,
        le=0.95,
    )
    department_routine_share: float = P(
        0.81,
        "1",
        "Share of department staff's working day taken by duties outside the platform's cases. "
        "Assumption, calibrated (see above).",
        ge=0,
        le=0.95,
    )
    patrol_share: float = P(
        0.5,
        "1",
        "Target share of a grid worker's platform hours spent on patrol (主动发现). Assumption.",
        ge=0,
        le=1,
    )
    patrol_discovery_per_hour: float = P(
        0.05,
        "problems/h",
        "Problems discovered per patrol hour per grid (before silence).",
        ge=0,
        le=100,
    )
    patrol_follow_hotline: float = P(
        1.0,
        "1",
        "How strongly grid patrols follow recent hotline activity: patrol hours of a community "
        "rise by this times its street's hotline surge (recent over usual less 1, within "
        "+-patrol_surge_max), and "
        "patrols look for a category in proportion to 1 + this times its share of the recent "
        "hotline cases; 0: patrols ignore the hotline. Assumption (docs/FACTS.md: grid cases follow "
        "hotline activity by 3-5 days in some categories).",
        ge=0,
        le=10,
    )
    hotline_memory_days: float = P(
        3.0,
        "days",
        "Time constant of the community's exponentially smoothed memory of its recent hotline "
        "cases (per category). Assumption.",
        gt=0,
        le=365,
    )
    hotline_usual_days: float = P(
        60.0,
        "days",
        "Time constant of the slower memory that says what hotline activity is usual for the "
        "community (the surge is recent / usual - 1). Assumption.",
        gt=0,
        le=3650,
    )
    hotline_report_delay_days: int = P(
        1,
        "days",
        "Days before the platform's report of a day's hotline cases reaches the community and "
        "tasks its grid workers (the daily digest 日报). Assumption.",
        ge=0,
        le=60,
    )
    patrol_surge_max: float = P(
        0.5,
        "1",
        "Largest hotline surge (or lull) patrols respond to (hours move at most by "
        "patrol_follow_hotline times this). Assumption.",
        ge=0,
        le=100,
    )
    entry_minutes_per_transition: float = P(
        5.0, "min", "Platform data entry per recorded case transition, per app.", ge=0, le=600
    )
    reporting_minutes_per_indicator: float = P(
        5.0, "min/day", "Daily reporting per assessed indicator per official.", ge=0, le=600
    )
    trace_minutes: float = P(
        30.0,
        "min/day",
        "Check-ins and photos per official per day when traces are assessed.",
        ge=0,
        le=600,
    )
    apps: int = P(
        2,
        "apps",
        "Number of apps officials must report the same work to (duplicate reporting).",
        ge=1,
        le=20,
    )
    burnout_rate: float = P(
        0.05, "1/day", "Burnout growth per day per unit of overload.", ge=0, le=1
    )
    recovery_rate: float = P(
        0.02, "1/day", "Burnout recovery per day when not overloaded.", ge=0, le=1
    )
    burnout_capacity_loss: float = P(
        0.5, "1", "Share of capacity lost at full burnout.", ge=0, le=1
    )
    backlog_horizon_days: float = P(
        7.0,
        "days",
        "Days over which officials count their waiting case work as today's demand (workload = "
        "fixed demands + backlog / horizon, over the pool). Assumption: the general 7-day "
        "feedback deadline of Beijing's service standard (docs/FACTS.md).",
        gt=0,
        le=365,
    )


class DispatchSpec(Section):
    """Dispatch across departments and streets (条块): fragmented or unified, and its switches."""

    mode: Literal["fragmented", "unified"] = P(
        "fragmented",
        "mode",
        "fragmented: territory first (属地管理), hand to hand; unified: a command centre (一网统管).",
    )
    data_sharing: float = P(
        0.3, "1", "Data sharing across departments; lowers misrouting and delays.", ge=0, le=1
    )
    classification_accuracy: float = P(
        0.85, "1", "Probability intake classifies a case correctly.", ge=0, le=1
    )
    handoff_days: float = P(
        1.0, "days", "Mean delay of one hand-off between units at zero data sharing.", ge=0, le=60
    )
    misroute_probability: float = P(
        0.25,
        "1",
        "Probability a hand-off goes to a wrong department at zero data sharing.",
        ge=0,
        le=1,
    )
    return_probability: float = P(
        0.7,
        "1",
        "Probability a wrongly routed department returns the case (退单) rather than sitting on it.",
        ge=0,
        le=1,
    )
    coordination_days: float = P(
        3.0,
        "days",
        "Delay to convene the next owner of a multi-department case at zero data sharing.",
        ge=0,
        le=60,
    )
    first_receiver_responsibility: bool = P(
        False,
        "switch",
        "首接负责: the first receiver leads, may not return the case, convenes the other owners.",
    )
    district_backstop: bool = P(
        True, "switch", "兜底: cases with no clear owner go to the district government."
    )
    summoning: bool = P(
        False, "switch", "吹哨报到: the street party committee summons owners of stalled cases."
    )
    summon_after_days: float = P(
        3.0, "days", "A case open this long (or multi-department) may be summoned.", ge=0, le=60
    )
    summon_response_hours: float = P(
        0.5, "h", "Summoned departments must respond within this time (30 min).", ge=0, le=240
    )
    summons_per_street_day: float = P(
        2.0, "cases/day", "Summoning capacity of a street party committee.", ge=0, le=1000
    )


class ClosedLoopSpec(Section):
    """The closed loop 接-派-办-督-评: deadlines, escalation, callbacks, audits."""

    deadline_hours: dict[Literal["urgent", "utility", "general", "complex"], float] = P(
        {"urgent": 2.0, "utility": 24.0, "general": 168.0, "complex": 360.0},
        "h",
        "Feedback deadline per urgency class (Beijing: 2 h, 24 h, 7 d, 15 d).",
    )
    escalation: bool = P(
        True,
        "switch",
        "A part sitting with a wrong unit is pulled back at its deadline (else it sits twice as long).",
    )
    callback: bool = P(
        True, "switch", "The platform calls the citizen back after closure to rate it."
    )
    response_hours: float = P(
        24.0,
        "h",
        "A unit has responded if it acted on a case within this time of receiving it.",
        gt=0,
        le=720,
    )
    audit_rate: float = P(
        0.02, "1", "Share of closed cases independently verified (audits, surveys).", ge=0, le=1
    )

    @model_validator(mode="after")
    def _deadlines_positive(self) -> ClosedLoopSpec:
        for k in URGENCY_CLASSES:
            v = self.deadline_hours.get(k)
            if v is None or v <= 0:
                raise ValueError(f"deadline_hours.{k} must be a positive number of hours (got {v})")
        return self


class LearningSpec(Section):
    """How units learn their practices (govsim.platform.assessment): reinforcement from their own
    payoffs, imitation of better-off peers, exploration; public-service motivation in the payoff.

    The rule follows Braganza (2022, "Proxyeconomics": effort split between the goal and the
    proxy, practices spread by imitating the successful, intrinsic motivation restrains it). Its
    rates are assumptions; ``selection: false`` is the built-in control (neutral drift).
    """

    selection: bool = P(
        True,
        "switch",
        "Learning sees what practices earn. Off (the no-selection control): the same learning on "
        "utilities shuffled among the units of each kind, with the same random draws, so "
        "practices drift with the same spread and nothing is selected.",
    )
    imitation_strength: float = P(
        8.0, "1/utility", "Fermi sharpness of imitating a better-off peer.", ge=0, le=1000
    )
    imitation_step: float = P(
        0.5, "1", "How far an imitating unit moves one practice toward the peer's.", ge=0, le=1
    )
    reinforcement_rate: float = P(
        0.2,
        "1/utility",
        "Reinforcement: step of a practice per unit of utility above aspiration, along last "
        "period's exploration (in units of the exploration's spread).",
        ge=0,
        le=100,
    )
    aspiration_rate: float = P(
        0.3,
        "1/period",
        "How fast a unit's aspiration (its expected utility) follows its utility.",
        gt=0,
        le=1,
    )
    exploration: float = P(
        0.03, "1", "Standard deviation of random practice changes per period.", ge=0, le=1
    )
    motivation_mean: float = P(
        0.2,
        "utility",
        "Public-service motivation: mean utility a unit loses per unit share of its cases gamed "
        "(closed nominally, pressed, or persuaded to withdraw). Assumption.",
        ge=0,
        le=100,
    )
    motivation_sd: float = P(
        0.1,
        "utility",
        "Spread of public-service motivation between units (normal, clipped at 0). Assumption.",
        ge=0,
        le=100,
    )
    initial_gaming: float = P(
        0.05, "1", "Initial mean propensity of each gaming practice.", ge=0, le=1
    )


class RatchetSpec(Section):
    """The ratchet (Hood 2006): targets raised after good periods."""

    enabled: bool = P(False, "switch", "Raise each unit's score target after good periods.")
    every_periods: int | None = P(
        None, "periods", "Assessment periods between target revisions (needed when on).", ge=1
    )
    step: float = P(
        0.5,
        "1",
        "Share of the gap between the unit's recent mean score and its target by which the target "
        "rises.",
        ge=0,
        le=1,
    )
    penalty: float = P(
        0.1, "score", "Score felt lost by a unit whose score falls below its target.", ge=0, le=10
    )

    @model_validator(mode="after")
    def _period_when_on(self) -> RatchetSpec:
        if self.enabled and self.every_periods is None:
            raise ValueError(
                "every_periods: a ratchet needs its period (assessment periods between target "
                "revisions), e.g. every_periods: 12"
            )
        return self


class AssessmentSpec(Section):
    """Assessment of units (the baton 指挥棒): weighted indicators, rankings, penalties, learning."""

    weights: dict[
        Literal[
            "response",
            "on_time_closure",
            "closure",
            "satisfaction",
            "verified_resolution",
            "traces",
            "repeat_complaint",
        ],
        float,
    ] = P(
        {
            "response": 1.0,
            "on_time_closure": 0.0,
            "closure": 1.0,
            "satisfaction": 1.0,
            "verified_resolution": 0.0,
            "traces": 0.0,
            "repeat_complaint": 0.0,
        },
        "1",
        "Indicator weights of the unit score (the three rates by default); 0: not assessed.",
    )
    period_days: int = P(
        30, "days", "Ranking period (Beijing ranks streets monthly).", ge=1, le=3650
    )
    penalty_share: float = P(
        0.2, "1", "Share of units at the bottom of the ranking that are penalised.", ge=0, le=1
    )
    penalty: float = P(
        0.3, "score", "Score penalty felt by a penalised unit (pressure 压力型体制).", ge=0, le=10
    )
    reward_share: float = P(
        0.0, "1", "Share of units at the top of the ranking that are rewarded.", ge=0, le=1
    )
    reward: float = P(0.0, "score", "Score reward felt by a rewarded unit.", ge=0, le=10)
    ratchet: RatchetSpec = Field(
        default_factory=RatchetSpec, description="Targets raised after good periods (Hood)."
    )
    audit_penalty: float = P(
        0.5, "score", "Score lost per unit share of caught nominal closures.", ge=0, le=100
    )
    vertical_exposure: float = P(
        0.3, "1", "How strongly vertically managed departments feel local assessment.", ge=0, le=1
    )
    reverse_assessment_weight: float = P(
        0.5,
        "1",
        "Weight of the street's reverse assessment of departments when summoning is on.",
        ge=0,
        le=10,
    )
    learning: LearningSpec = Field(
        default_factory=LearningSpec, description="Adaptation of practices."
    )

    @field_validator("weights")
    @classmethod
    def _every_indicator(cls, weights: dict[str, float]) -> dict[str, float]:
        """Write every indicator out, in :data:`INDICATORS` order, a missing one as 0."""
        return {k: weights.get(k, 0.0) for k in INDICATORS}

    @model_validator(mode="after")
    def _weights_nonnegative(self) -> AssessmentSpec:
        for k, v in self.weights.items():
            if v < 0:
                raise ValueError(f"weights.{k} must be >= 0 (got {v})")
        if sum(self.weights.values()) <= 0:
            raise ValueError(
                "weights: at least one indicator needs a positive weight (all are 0: units would "
                "be scored on nothing)"
            )
        return self


class GamingSpec(Section):
    """What each gaming practice does when a unit adopts it (its effect, not whether it is adopted)."""

    pressure_effect: float = P(
        0.6,
        "1",
        "Share of dissatisfied citizens a pressed callback turns into 'satisfied'.",
        ge=0,
        le=1,
    )
    withdrawal_success: float = P(
        0.5, "1", "Chance a persuaded citizen withdraws the case.", ge=0, le=1
    )
    nominal_effort_share: float = P(
        0.1, "1", "Effort a nominal closure takes, as a share of real handling.", ge=0, le=1
    )
    pressure_minutes: float = P(
        10.0, "min", "Official time per pressed callback or persuasion.", ge=0, le=600
    )
    threshold_band: float = P(
        0.05,
        "score",
        "Threshold effect (Hood 2006): units whose last score lay within this distance of their "
        "kind's penalty cut-off game harder. Assumption.",
        ge=0,
        le=1,
    )
    threshold_boost: float = P(
        1.0,
        "1",
        "How much harder: gaming propensities near the cut-off are multiplied by 1 + boost. "
        "Assumption.",
        ge=0,
        le=100,
    )


class BoundarySpec(Section):
    """The online/offline boundary: which matters must be handled online."""

    force_online: bool = P(False, "switch", "All categories must be handled and documented online.")
    forced_online_resolution_penalty: float = P(
        0.3,
        "1",
        "Loss in real-resolution probability for offline-suited cases forced online.",
        ge=0,
        le=1,
    )
    forced_online_extra_entries: float = P(
        3.0,
        "transitions",
        "Extra data-entry transitions for offline-suited cases forced online.",
        ge=0,
        le=100,
    )


class PartySpec(Section):
    """Party organisations: street working committees and community branches."""

    branch_volunteers_active: bool = P(
        True, "switch", "Community party branches mobilise volunteers."
    )
    deliberation_hours_per_month: float = P(
        4.0,
        "h/month",
        "Hours a community's officials spend facilitating deliberation.",
        ge=0,
        le=200,
    )


class BudgetingSpec(Section):
    """Participatory budgeting (参与式预算, the Chengdu model): a yearly cycle per community."""

    enabled: bool = P(False, "switch", "Run a participatory-budgeting cycle every year.")
    budget_per_community: float = P(
        300_000.0, "CNY/year", "Budget per community per year.", ge=0, le=1e9
    )
    online: bool = P(True, "switch", "Online forum and online voting are available.")
    offline: bool = P(True, "switch", "Offline meetings and offline voting are available.")
    rule: Literal["greedy", "equal_shares"] = P(
        "greedy", "rule", "Aggregation rule: greedy approval or Method of Equal Shares."
    )
    start_day: int = P(30, "day of year", "Day of the year need collection starts.", ge=0, le=364)
    proposal_days: int = P(30, "days", "Length of need collection and proposals.", ge=1, le=200)
    deliberation_days: int = P(30, "days", "Length of deliberation.", ge=1, le=200)
    voting_days: int = P(14, "days", "Length of voting.", ge=1, le=200)
    implementation_days: float = P(
        120.0, "days", "Mean implementation time of a funded project.", gt=0, le=1000
    )
    project_types: int = P(6, "types", "Number of kinds of public-good project.", ge=2, le=50)
    proposals_per_community: int = P(
        8, "proposals", "Maximum proposals tabled per community per year.", ge=1, le=200
    )
    disclosure: bool = P(True, "switch", "Implementation progress is disclosed on the platform.")
    disclosure_trust_gain: float = P(
        0.02, "1", "Trust gained by a voter from disclosure of a project's progress.", ge=0, le=1
    )
    turnout_base: float = P(
        -1.0, "logit", "Intercept of the vote-participation decision.", ge=-20, le=20
    )
    turnout_efficacy_weight: float = P(
        2.0,
        "logit/unit",
        "Weight of political efficacy on taking part (propose, deliberate, vote).",
        ge=0,
        le=20,
    )
    turnout_trust_weight: float = P(
        1.0, "logit/unit", "Weight of trust in government on taking part.", ge=0, le=20
    )
    turnout_stake_weight: float = P(
        1.5,
        "logit/unit",
        "Weight of the resident's stake, 1-exp(-largest perceived benefit), on taking part.",
        ge=0,
        le=20,
    )
    turnout_habit_weight: float = P(
        1.0,
        "logit",
        "Added to the taking-part logit of residents who voted in the previous cycle.",
        ge=0,
        le=20,
    )
    offline_reach: float = P(
        0.35,
        "1",
        "Chance offline meetings and polling points reach a fully available resident in a phase.",
        ge=0,
        le=1,
    )
    offline_age_availability: dict[Literal["young", "middle", "old"], Share] = P(
        {"young": 0.5, "middle": 0.75, "old": 1.0},
        "1",
        "Availability of each age group for daytime offline meetings (multiplies offline_reach).",
    )
    proposal_propensity: float = P(
        0.15,
        "1",
        "Chance a willing resident with channel access raises a need in need collection.",
        ge=0,
        le=1,
    )
    proposal_min_share: float = P(
        0.005,
        "1",
        "Share of residents who must raise a need before it is tabled as a proposal.",
        ge=0,
        le=1,
    )
    perception_noise: float = P(
        0.8,
        "1",
        "SD of residents' initial error about their own benefit, relative to the project's mean benefit.",
        ge=0,
        le=10,
    )
    deliberation_online: float = P(
        0.3,
        "1",
        "Share of the perceived-vs-true benefit gap closed by taking part in the online forum.",
        ge=0,
        le=1,
    )
    deliberation_offline: float = P(
        0.5,
        "1",
        "Share of the gap closed by attending an offline meeting facilitated by the party branch.",
        ge=0,
        le=1,
    )
    approval_threshold: float = P(
        0.5,
        "1",
        "A voter approves every proposal perceived worth at least this share of their best one.",
        ge=0,
        le=1,
    )
    implementation_capacity: int = P(
        2,
        "projects",
        "Projects a community can have under way at once; later ones wait their turn.",
        ge=1,
        le=1000,
    )
    implementation_cv: float = P(
        0.5,
        "1",
        "Coefficient of variation of implementation time (gamma-distributed delays).",
        ge=0,
        le=5,
    )
    evaluation_trust_weight: float = P(
        0.1,
        "1",
        "Weight of the delivered share of a resident's top need in their trust at evaluation.",
        ge=0,
        le=1,
    )
    evaluation_efficacy_weight: float = P(
        0.15,
        "1",
        "Weight of the delivered share of a voter's approved projects in their efficacy.",
        ge=0,
        le=1,
    )


class QueueSpec(Section):
    """Validation mode: the whole engine reduced to one M/M/c queue (exact against Erlang C)."""

    enabled: bool = P(False, "switch", "Replace the city by one M/M/c queue (no behaviour at all).")
    arrival_rate: float = P(40.0, "cases/day", "Poisson arrival rate of cases.", gt=0, le=1e7)
    service_rate: float = P(
        10.0, "cases/server-day", "Exponential service rate of one server.", gt=0, le=1e7
    )
    servers: int = P(5, "servers", "Number of servers c.", ge=1, le=100_000)

    @model_validator(mode="after")
    def _stable(self) -> QueueSpec:
        if self.enabled and self.arrival_rate >= self.servers * self.service_rate:
            raise ValueError(
                f"arrival_rate {self.arrival_rate:g} must be below servers*service_rate "
                f"{self.servers * self.service_rate:g} (the queue would grow without bound)"
            )
        return self


class CapabilitySpec(Section):
    """Service capability per unit and category (业务能力): a learning curve with forgetting.

    Experience of a unit in a category grows with the cases of it the unit works on (learning by
    doing, Argote and Epple 1990), depreciates (knowledge depreciation, Argote, Beckman and Epple
    1990), faster under overload, and leaves with staff who go (turnover); units of a kind learn
    from their peers' experience as far as data are shared and work is coordinated (transfer across
    units, Darr, Argote and Epple 1995; 一网统管 and 吹哨报到 as coordination, seed paper 001 and seed paper 002).
    Capability is ``floor + (1 - floor) E / (E + half_experience)`` of the effective experience
    ``E``: the chance that work on a solvable problem really solves it.
    """

    enabled: bool = P(
        True,
        "switch",
        "Capability decides whether work solves a solvable problem; false: every piece of work "
        "solves it (the model before capability).",
    )
    learning: bool = P(
        True,
        "switch",
        "Capability moves with experience (practice, transfer, forgetting, turnover, overload); "
        "false: it stays at its initial value (the control).",
    )
    initial: float = P(
        0.97,
        "1",
        "Capability of every unit in every category on day 0. Assumption, set so that the "
        "packaged scenarios start near the levels they had before capability (docs/ODD.md 5).",
        ge=0,
        le=0.999,
    )
    floor: float = P(
        0.3, "1", "Capability with no experience at all (a novice unit). Assumption.", ge=0, le=1
    )
    half_experience: float = P(
        1.2,
        "cases",
        "Experience at which capability is halfway from floor to 1. Assumption, calibrated so "
        "that the baseline's units stay near their initial capability (docs/ODD.md 7.25).",
        gt=0,
        le=1e6,
    )
    practice: float = P(
        1.0,
        "1",
        "Experience gained per case of the category the unit works on (nominal closures not "
        "counted); 0: no learning by doing. Argote and Epple (1990).",
        ge=0,
        le=100,
    )
    forgetting_per_day: float = P(
        0.005,
        "1/day",
        "Share of experience lost per day (organisational forgetting); Argote, Beckman and Epple "
        "(1990) found much of a plant's knowledge lost within a year. 0: none.",
        ge=0,
        le=1,
    )
    overload_forgetting: float = P(
        0.02,
        "1/day",
        "Extra share of experience lost per day per unit of overload (workload above 1): rushed "
        "work teaches little and skips handovers. Assumption. 0: none.",
        ge=0,
        le=1,
    )
    turnover_per_year: float = P(
        0.15,
        "1/year",
        "Share of a unit's staff replaced per year, taking their share of its experience with "
        "them. Assumption (high turnover of community workers). 0: none.",
        ge=0,
        le=5,
    )
    transfer: float = P(
        0.5,
        "1",
        "Share of peers' mean experience (same department in other districts, other communities, "
        "other streets) a unit can use per unit of dispatch.data_sharing. Darr, Argote and Epple "
        "(1995); the rate is an assumption. 0: none.",
        ge=0,
        le=10,
    )
    coordination_transfer: float = P(
        0.2,
        "1",
        "Further share of peers' experience usable under each coordination mechanism in force "
        "(unified dispatch 一网统管, summoning 吹哨报到). Assumption (seed paper 001, seed paper 002). 0: none.",
        ge=0,
        le=10,
    )


class WaitingSpec(Section):
    """Citizens waiting for their case: those who wait too long give up (放弃)."""

    give_up_per_day: float = P(
        0.015,
        "1/day",
        "Hazard that a citizen whose case is still open past its feedback deadline gives up on it, "
        "per day (mean patience beyond the deadline 1/this, about two months); the citizen learns "
        "the failure then. Assumption. 0: nobody gives up.",
        ge=0,
        le=100,
    )


class MetricsSpec(Section):
    """Weights of the composite digital-suspension index (数字悬浮指数)."""

    dsi_weights: dict[
        Literal["closure_gap", "satisfaction_inflation", "formalism_burden", "voice_gap"], float
    ] = P(
        {
            "closure_gap": 0.25,
            "satisfaction_inflation": 0.25,
            "formalism_burden": 0.25,
            "voice_gap": 0.25,
        },
        "1",
        "Weights of the DSI components; normalised to sum to 1.",
    )

    @model_validator(mode="after")
    def _positive(self) -> MetricsSpec:
        if any(v < 0 for v in self.dsi_weights.values()) or sum(self.dsi_weights.values()) <= 0:
            raise ValueError("dsi_weights must be >= 0 and not all zero")
        return self


class DensitySpec(Section):
    """The city stated by density (密度): its sizes follow ``population.citizens``.

    Each figure given here replaces the absolute size it resolves to (a scenario states a size one
    way or the other, never both); a figure left out (null) leaves that size as stated. The sizes
    are resolved when the scenario is validated (:func:`govsim.sizing.resolve_sizes`, ODD §5) for
    ``population.citizens`` clipped to [``min_citizens``, ``max_citizens``]:

    * districts = round(N / citizens per district), at least 1 and at most 100 (the schema's
      limit); past 100 districts the streets per district grow instead (round(streets per district
      x wanted districts / 100), at most 100), and past that the communities per street. The
      district is the unit of growth: a larger megacity is a larger number of similar districts.
    * staff: ceil(per-10k figure x N / 10,000 / number of such units), at least 1 (a unit is never
      understaffed by rounding). Rounding is half up; ceil forgives 1e-9 of float error.
    """

    citizens_per_community: float | None = P(
        None,
        "citizens/community",
        "Citizens per community (社区); with the two below it sets the districts. Assumption: the "
        "baseline slice's 10,000 / 24, units far smaller than Beijing's (343 streets and towns for "
        "~22 M residents, docs/FACTS.md), so that the load per unit stays the calibrated one.",
        ge=1,
        le=1_000_000,
    )
    communities_per_street: int | None = P(
        None, "communities", "Communities (社区) per street, kept as the city grows.", ge=1, le=200
    )
    streets_per_district: int | None = P(
        None,
        "streets",
        "Streets (街道) per district, kept until the 100-district limit, then grown.",
        ge=1,
        le=100,
    )
    community_workers_per_10k: float | None = P(
        None,
        "officials/10k citizens",
        "Case-handling community workers per 10,000 citizens (officials.community_workers per "
        "community). Assumption: the baseline's 1 per community.",
        gt=0,
        le=100_000,
    )
    street_officials_per_10k: float | None = P(
        None,
        "officials/10k citizens",
        "Case-handling street officials per 10,000 citizens (officials.street_officials per "
        "street). Assumption: the baseline's 1 per street.",
        gt=0,
        le=100_000,
    )
    hotline_operators_per_10k: float | None = P(
        None,
        "operators/10k citizens",
        "Hotline operators on duty per 10,000 citizens (channels.hotline_operators). Beijing: "
        "~1,700 for 22 M residents, 0.77 (docs/FACTS.md).",
        gt=0,
        le=100_000,
    )
    department_staff_per_10k: dict[str, Annotated[float, Field(gt=0, le=1_000_000)]] = P(
        {},
        "staff/10k citizens",
        "Case-handling staff per 10,000 citizens by department (departments.<name>.staff, split "
        "over a district-level department's copies). Departments not named keep their staff.",
    )
    min_citizens: int = P(
        1,
        "citizens",
        "The city is built for at least this many citizens: a smaller population lives in that "
        "city, less densely (keeps small test and classroom cities whole).",
        ge=1,
        le=20_000_000,
    )
    max_citizens: int | None = P(
        None,
        "citizens",
        "The city is built for at most this many citizens: a larger population is more load on "
        "the same city (load experiments). None: no limit.",
        ge=1,
        le=20_000_000,
    )

    @model_validator(mode="after")
    def _whole_city_and_range(self) -> DensitySpec:
        trio = (self.citizens_per_community, self.communities_per_street, self.streets_per_district)
        if any(v is None for v in trio) and any(v is not None for v in trio):
            raise ValueError(
                "citizens_per_community, communities_per_street and streets_per_district state "
                "the city together: give all three or none"
            )
        if self.max_citizens is not None and self.max_citizens < self.min_citizens:
            raise ValueError(
                f"max_citizens: {self.max_citizens} is below min_citizens ({self.min_citizens})"
            )
        return self


class TimelineEntry(PlainData):
    """One dated change of a scenario's timeline of reforms (checked and applied by govsim.timeline).

    ``set`` maps dotted key paths to values exactly as ``--set`` does; the change applies at the
    start of day ``day`` (0-based: after ``day`` days have run) and lasts until a later entry
    changes the same key. Only the keys listed in :data:`govsim.timeline.CHANGEABLE` may change.
    """

    day: int = P(
        ...,
        "day",
        "Day at whose start the change applies (0-based), within the run's days.",
    )
    label: str = P("", "text", "Short name of the change shown on figures.", max_length=80)
    set: dict[str, Any] = P(
        ...,
        "key paths",
        "Parameters changed, as dotted key paths and values (like --set).",
        min_length=1,
    )


OWNER_KEYWORDS = ("community", "street")


class Scenario(Section):
    """A complete govsim scenario. Every key is optional in YAML; omitted keys take these defaults."""

    name: str = P(
        "scenario",
        "text",
        "Short name; used in output folder names.",
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9_.-]+$",
    )
    description: str = P("", "text", "One-line description shown by `govsim scenarios`.")
    seed: int = P(42, "integer", "Root seed of every random draw in a run.", ge=0, le=2**63 - 1)
    days: int = P(365, "days", "Simulated days (one step is one day).", ge=1, le=36_500)
    city: CitySpec = Field(default_factory=CitySpec, description="City structure.")
    density: DensitySpec | None = Field(
        None,
        description="The city stated by density: sizes that follow population.citizens "
        "(null: every size as stated).",
    )
    population: PopulationSpec = Field(default_factory=PopulationSpec, description="Citizens.")
    citizens: CitizenBehaviourSpec = Field(
        default_factory=CitizenBehaviourSpec, description="Citizens' rules."
    )
    channels: ChannelsSpec = Field(default_factory=ChannelsSpec, description="Intake channels.")
    categories: dict[str, CategorySpec] = Field(
        default_factory=_default_categories, description="Case categories."
    )
    departments: dict[str, DepartmentSpec] = Field(
        default_factory=_default_departments, description="Departments (条)."
    )
    officials: OfficialsSpec = Field(
        default_factory=OfficialsSpec, description="Grassroots officials."
    )
    dispatch: DispatchSpec = Field(default_factory=DispatchSpec, description="Dispatch (条块).")
    closed_loop: ClosedLoopSpec = Field(default_factory=ClosedLoopSpec, description="Closed loop.")
    assessment: AssessmentSpec = Field(default_factory=AssessmentSpec, description="Assessment.")
    gaming: GamingSpec = Field(
        default_factory=GamingSpec, description="Effects of gaming practices."
    )
    boundary: BoundarySpec = Field(
        default_factory=BoundarySpec, description="Online/offline boundary."
    )
    party: PartySpec = Field(default_factory=PartySpec, description="Party organisations.")
    budgeting: BudgetingSpec = Field(
        default_factory=BudgetingSpec, description="Participatory budgeting."
    )
    queue: QueueSpec = Field(default_factory=QueueSpec, description="M/M/c validation mode.")
    metrics: MetricsSpec = Field(default_factory=MetricsSpec, description="Metric settings.")
    capability: CapabilitySpec = Field(
        default_factory=CapabilitySpec, description="Service capability that learns."
    )
    waiting: WaitingSpec = Field(default_factory=WaitingSpec, description="Giving up.")
    timeline: list[TimelineEntry] = Field(
        default_factory=list,
        description="Dated reforms: entries {day, label, set: {key.path: value}} applied at the "
        "start of their day (ODD 7.24, govsim.timeline).",
        json_schema_extra={"unit": "entries"},
    )

    @model_validator(mode="after")
    def _sizes_from_density(self) -> Scenario:
        from govsim.sizing import resolve_sizes

        resolve_sizes(self)
        return self

    @model_serializer(mode="wrap")
    def _without_resolved_sizes(self, handler: Any) -> Any:
        from govsim.sizing import drop_resolved_sizes

        return drop_resolved_sizes(self, handler(self))

    @model_validator(mode="after")
    def _owners_exist(self) -> Scenario:
        if not self.queue.enabled and not any(
            self.channels.model_dump()[c] for c in ("app", "hotline", "offline", "assisted")
        ):
            raise ValueError(
                "channels: at least one of app, hotline, offline, assisted must be open"
            )
        for cname, cat in self.categories.items():
            if cat.consultation:
                continue
            if not cat.owners:
                raise ValueError(
                    f"categories.{cname}.owners: a non-consultation category needs at least one owner"
                )
            for o in cat.owners:
                if o not in self.departments and o not in OWNER_KEYWORDS:
                    import difflib

                    known = [*self.departments, *OWNER_KEYWORDS]
                    hint = difflib.get_close_matches(o, known, n=1)
                    dym = f"; did you mean '{hint[0]}'?" if hint else ""
                    raise ValueError(
                        f"categories.{cname}.owners: '{o}' is not a department, 'community' or 'street' "
                        f"(departments: {', '.join(self.departments)}){dym}"
                    )
        if self.channels.hotline and self.channels.hotline_operators == 0:
            raise ValueError(
                "channels.hotline_operators: the hotline is open but has zero operators"
            )
        return self
