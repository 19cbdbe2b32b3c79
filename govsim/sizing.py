"""The city's sizes: stated by density (密度) and resolved, and whether they can carry the load.

A scenario states its city either in absolute sizes (``city.districts``, ``officials.
community_workers``, ``departments.<name>.staff``...) or by density (``density:``, see
:class:`govsim.schema.DensitySpec`): citizens per community, communities per street, streets per
district, and staff per 10,000 citizens. :func:`resolve_sizes` turns the density into the absolute
sizes the model reads, when the scenario is validated, so that ``--set population.citizens=100000``
grows the city with its population (ODD §5). A resolved size is left out of the scenario's dump
(:func:`drop_resolved_sizes`): the density is what the scenario states, and a dump read back
resolves to the same sizes.

:func:`load_estimate` compares, per kind of unit, the offered load at day 0 (expected cases a day
x handling hours per case) with the platform hours of its staff; :func:`overload_warning` says
when a city is overloaded by construction (a warning, not an error: a load experiment may want it).
"""

from __future__ import annotations

import difflib
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from govsim.schema import Scenario

MAX_DISTRICTS = 100
"""The schema's upper bound on ``city.districts``."""

MAX_STREETS = 100
"""The schema's upper bound on ``city.streets_per_district``."""

MAX_COMMUNITIES = 200
"""The schema's upper bound on ``city.communities_per_street``."""

PER = 10_000
"""Staff figures are per this many citizens."""

EPS = 1e-9
"""Float error forgiven before rounding staff up (10 x 10,000 / 10,000 must stay 10)."""

STATED, DENSITY = "stated", "density"
"""Where a size comes from: written (or the schema's default) or resolved from ``density``."""


class OverloadWarning(UserWarning):
    """A city whose staff cannot carry the offered load at day 0, by construction."""


def round_half_up(x: float) -> int:
    """``x`` rounded to the nearest integer, halves up (Python's ``round`` rounds halves to even)."""
    return math.floor(x + 0.5)


def ceil_staff(x: float) -> int:
    """Staff for a need of ``x`` officials: rounded up (1e-9 forgiven), at least 1."""
    return max(1, math.ceil(x - EPS))


def built_for(s: Scenario) -> int:
    """The population the city is built for: ``population.citizens`` clipped to the density's
    [``min_citizens``, ``max_citizens``] (the population itself without a density)."""
    n = s.population.citizens
    d = s.density
    if d is None:
        return n
    n = max(n, d.min_citizens)
    return n if d.max_citizens is None else min(n, d.max_citizens)


def density_paths(s: Scenario) -> list[str]:
    """The dotted paths of the sizes ``s`` states by density (empty without a density)."""
    d = s.density
    if d is None:
        return []
    out: list[str] = []
    if d.citizens_per_community is not None:
        out += ["city.districts", "city.streets_per_district", "city.communities_per_street"]
    if d.community_workers_per_10k is not None:
        out.append("officials.community_workers")
    if d.street_officials_per_10k is not None:
        out.append("officials.street_officials")
    if d.hotline_operators_per_10k is not None:
        out.append("channels.hotline_operators")
    out += [f"departments.{name}.staff" for name in d.department_staff_per_10k]
    return out


def _stated(s: Scenario, path: str) -> bool:
    """Whether the document ``s`` was validated from wrote ``path`` (not the schema's default)."""
    section, *rest = path.split(".")
    if section not in s.model_fields_set:
        return False
    obj: Any = getattr(s, section)
    if section == "departments":
        name, field = rest
        return field in obj[name].model_fields_set
    return rest[0] in obj.model_fields_set


def resolve_sizes(s: Scenario) -> None:
    """Write the sizes ``s.density`` states into ``s`` (in place; nothing without a density).

    Rules (ODD §5), with ``N`` = :func:`built_for`:

    * wanted districts = max(1, round_half_up(N / (citizens per community x communities per
      street x streets per district))); districts = min(100, wanted); wanted streets per district
      = streets per district x wanted / districts; streets per district = min(100, max(1,
      round_half_up(wanted streets))); communities per street as stated, or, when wanted streets
      pass 100, round_half_up(communities per street x wanted streets / 100);
    * community workers per community, street officials per street, department staff per copy
      (one copy per district, or one for the city) and hotline operators: :func:`ceil_staff` of
      the per-10k figure x N / 10,000 / the number of such units.

    Raises:
        ValueError: naming the key path, when a size is stated both ways, a density names an
            unknown department, or a resolved size passes the schema's limit.
    """
    d = s.density
    if d is None:
        return
    unknown = [n for n in d.department_staff_per_10k if n not in s.departments]
    if unknown:
        hint = difflib.get_close_matches(unknown[0], list(s.departments), n=1)
        dym = f"; did you mean '{hint[0]}'?" if hint else ""
        raise ValueError(
            f"density.department_staff_per_10k: '{unknown[0]}' is not a department "
            f"(departments: {', '.join(s.departments)}){dym}"
        )
    for path in density_paths(s):
        if _stated(s, path):
            raise ValueError(
                f"{path}: stated both as a size and by density (density: resolves it from "
                "population.citizens); state it one way: remove this key, or the density figure "
                "(density: null states every size)"
            )
    n = built_for(s)
    c = s.city
    if d.citizens_per_community is not None:
        assert d.communities_per_street is not None and d.streets_per_district is not None
        per_district = d.citizens_per_community * d.communities_per_street * d.streets_per_district
        wanted = max(1, round_half_up(n / per_district))
        districts = min(MAX_DISTRICTS, wanted)
        wanted_streets = d.streets_per_district * wanted / districts
        streets = min(MAX_STREETS, max(1, round_half_up(wanted_streets)))
        communities = d.communities_per_street
        if wanted_streets > MAX_STREETS:  # both limits reached: the streets grow instead
            communities = round_half_up(communities * wanted_streets / MAX_STREETS)
        if communities > MAX_COMMUNITIES:
            raise ValueError(
                f"density.citizens_per_community: {n:,} citizens at this density need more "
                f"than the city's limit of {MAX_DISTRICTS} districts x {MAX_STREETS} streets x "
                f"{MAX_COMMUNITIES} communities; raise citizens_per_community"
            )
        _put(c, "districts", districts, "density.citizens_per_community")
        _put(c, "streets_per_district", streets, "density.streets_per_district")
        _put(c, "communities_per_street", communities, "density.communities_per_street")
    n_streets = c.districts * c.streets_per_district
    n_communities = n_streets * c.communities_per_street
    k = n / PER
    if d.community_workers_per_10k is not None:
        need = d.community_workers_per_10k * k / n_communities
        _put(
            s.officials, "community_workers", ceil_staff(need), "density.community_workers_per_10k"
        )
    if d.street_officials_per_10k is not None:
        need = d.street_officials_per_10k * k / n_streets
        _put(s.officials, "street_officials", ceil_staff(need), "density.street_officials_per_10k")
    if d.hotline_operators_per_10k is not None:
        need = d.hotline_operators_per_10k * k
        _put(s.channels, "hotline_operators", ceil_staff(need), "density.hotline_operators_per_10k")
    for name, per_10k in d.department_staff_per_10k.items():
        dept = s.departments[name]
        copies = 1 if dept.level == "city" else c.districts
        where = f"density.department_staff_per_10k.{name}"
        _put(dept, "staff", ceil_staff(per_10k * k / copies), where)


def _put(section: Any, field: str, value: int, where: str) -> None:
    """Set ``section.field = value`` (validated), or say which density figure passed its limit."""
    limit = type(section).model_fields[field].metadata
    le = next((getattr(m, "le", None) for m in limit if getattr(m, "le", None) is not None), None)
    if le is not None and value > le:
        raise ValueError(
            f"{where}: resolves to {value:,} for {field}, above its limit of {le:,}; lower it"
        )
    # object.__setattr__ would skip validation; the value is an int within its limits, and this
    # keeps the size out of the section's fields set (it was not stated)
    fields_set = set(section.model_fields_set)
    setattr(section, field, value)
    section.__pydantic_fields_set__ = fields_set


def drop_resolved_sizes(s: Scenario, data: Any) -> Any:
    """``data`` (the dump of ``s``) without the sizes resolved from ``s.density``.

    A dump read back then states the density, not its outcome at one population, so that
    ``--set population.citizens=...`` on it (or on a scenario extending it) resolves again.
    """
    if not isinstance(data, dict):
        return data
    for path in density_paths(s):
        cur: Any = data
        *head, last = path.split(".")
        for p in head:
            cur = cur.get(p) if isinstance(cur, dict) else None
        if isinstance(cur, dict):
            cur.pop(last, None)
    return data


@dataclass(frozen=True)
class Size:
    """One resolved size of a city."""

    path: str
    """Its key path, e.g. ``officials.community_workers``."""
    value: int
    source: str
    """:data:`DENSITY` or :data:`STATED`."""


def sizes(s: Scenario) -> list[Size]:
    """Every size of ``s``'s city and staff, as the model reads them, and where it came from."""
    from_density = set(density_paths(s))
    paths = [
        "city.districts",
        "city.streets_per_district",
        "city.communities_per_street",
        "city.grids_per_community",
        "officials.community_workers",
        "officials.street_officials",
        "channels.hotline_operators",
        *(f"departments.{n}.staff" for n in s.departments),
    ]
    out = []
    for path in paths:
        cur: Any = s
        for p in path.split("."):
            cur = cur[p] if isinstance(cur, dict) else getattr(cur, p)
        out.append(Size(path, int(cur), DENSITY if path in from_density else STATED))
    return out


@dataclass(frozen=True)
class Load:
    """Offered load against capacity of one kind of unit at day 0 (per unit, hours a day)."""

    unit: str
    """``community``, ``street`` or ``department <name>``."""
    units: int
    """How many such units the city has."""
    offered_hours: float
    """Expected case hours a day per unit: sum over the categories it owns of problems a day x
    the chance they are reported x effort per owner."""
    capacity_hours: float
    """Platform hours a day per unit left for cases: staff x hours x (1 - routine share), less
    the communities' patrol."""

    @property
    def ratio(self) -> float:
        """Offered load / capacity (above 1: the queue grows without bound)."""
        return self.offered_hours / self.capacity_hours if self.capacity_hours > 0 else math.inf


def report_probability(s: Scenario, severity: float) -> float:
    """Chance that a problem of ``severity`` is reported at day 0 (ODD 7.5, at the means).

    The voice logit at the population's mean efficacy and trust, with the cost of the cheapest
    channel open to a citizen of mean literacy (app, hotline with no wait, offline); 0 if none.
    """
    pop, cb, ch = s.population, s.citizens, s.channels
    lit = sum(pop.age_shares[g] * pop.literacy[g].mean for g in pop.age_shares)
    costs = []
    if ch.app and lit >= cb.app_literacy_threshold:
        costs.append((1 - lit) * (1 - ch.app_usability / 2))
    if ch.hotline:
        costs.append(cb.hotline_base_cost)
    if ch.offline:
        costs.append(cb.offline_cost)
    if not costs:
        return 0.0
    z = (
        cb.voice_base
        + cb.voice_efficacy_weight * pop.efficacy_mean
        + cb.voice_trust_weight * pop.trust_mean
        + cb.voice_severity_weight * severity
        - cb.voice_cost_weight * min(costs)
    )
    return 1.0 / (1.0 + math.exp(-z))


def load_estimate(s: Scenario) -> list[Load]:
    """Offered load and capacity at day 0, per kind of unit (an estimate from the scenario alone).

    Expected problems a day of category ``k``: ``rate_k x N x (1 + (old_rate_multiplier_k - 1) x
    old share)``; each owner does ``effort_hours_k``. Left out: patrol discoveries (more load),
    data work, deliberation and assistance (less capacity) and burnout: the estimate errs toward
    no warning, so a warning means a city overloaded by construction.

    Returns:
        One row per kind of unit that owns a category (empty in the queue validation mode).
    """
    if s.queue.enabled:
        return []
    c, o = s.city, s.officials
    n = s.population.citizens
    old = s.population.age_shares.get("old", 0.0)
    hours: dict[str, float] = {}
    for cat in s.categories.values():
        if cat.consultation:
            continue
        per_day = cat.rate * n * (1 + (cat.old_rate_multiplier - 1) * old)
        offered = per_day * report_probability(s, cat.severity) * cat.effort_hours
        for owner in cat.owners:
            hours[owner] = hours.get(owner, 0.0) + offered
    streets = c.districts * c.streets_per_district
    communities = streets * c.communities_per_street
    grass = o.hours_per_day * (1 - o.routine_share)
    rows = []
    if "community" in hours:
        staff = o.community_workers + c.grids_per_community * (1 - o.patrol_share)
        rows.append(Load("community", communities, hours["community"] / communities, staff * grass))
    if "street" in hours:
        rows.append(Load("street", streets, hours["street"] / streets, o.street_officials * grass))
    dept_hours = o.hours_per_day * (1 - o.department_routine_share)
    for name, dept in s.departments.items():
        if name in hours:
            copies = 1 if dept.level == "city" else c.districts
            rows.append(
                Load(f"department {name}", copies, hours[name] / copies, dept.staff * dept_hours)
            )
    return rows


def overload_warning(s: Scenario) -> str | None:
    """A message when some kind of unit is offered more case hours than its staff has, else None."""
    over = [r for r in load_estimate(s) if r.ratio > 1]
    if not over:
        return None
    worst = ", ".join(f"{r.unit} {r.ratio:.1f}x" for r in sorted(over, key=lambda r: -r.ratio))
    fix = (
        "its density.max_citizens keeps the city at that size; raise or remove it"
        if s.density is not None and s.density.max_citizens is not None
        else "state the city by density (density: in the scenario, ODD §5; the packaged "
        "scenarios do) so that it grows with population.citizens, or add staff"
    )
    return (
        f"scenario '{s.name}': the city is overloaded at day 0 by construction: offered case "
        f"hours exceed the staff's platform hours ({worst}) for "
        f"{s.population.citizens:,} citizens; backlogs will grow without bound. To fix: {fix}. "
        "(`govsim show` prints the sizes and the load.)"
    )


def warn_if_overloaded(s: Scenario, stacklevel: int = 3) -> None:
    """Emit :class:`OverloadWarning` (to stderr; the run proceeds) when ``s`` is overloaded."""
    message = overload_warning(s)
    if message:
        warnings.warn(message, OverloadWarning, stacklevel=stacklevel)


def sizes_text(s: Scenario) -> str:
    """The resolved sizes and the day-0 load as YAML comment lines (the end of ``govsim show``)."""
    c = s.city
    streets = c.districts * c.streets_per_district
    communities = streets * c.communities_per_street
    how = (
        f"by density for {built_for(s):,} citizens (ODD §5)"
        if s.density is not None and density_paths(s)
        else "as stated"
    )
    lines = [
        f"# Resolved sizes, {s.population.citizens:,} citizens; the city {how}:",
        f"#   {c.districts} districts, {streets} streets, {communities} communities, "
        f"{communities * c.grids_per_community} grids",
    ]
    width = max(len(z.path) for z in sizes(s))
    for z in sizes(s):
        copies = ""
        if z.path.startswith("departments."):
            dept = s.departments[z.path.split(".")[1]]
            n = 1 if dept.level == "city" else c.districts
            copies = f" (x {n} {'copy' if n == 1 else 'copies'}: {z.value * n})"
        lines.append(f"#   {z.path:<{width}}  {z.value}{copies}  [{z.source}]")
    rows = load_estimate(s)
    if rows:
        lines.append(
            "# Load at day 0 (offered case hours / staff's platform hours, per unit; over 1 "
            "overloads):"
        )
        lines += [f"#   {r.unit:<{width}}  {r.ratio:.2f}" for r in rows]
    message = overload_warning(s)
    if message:
        lines.append(f"# WARNING: {message}")
    return "\n".join(lines) + "\n"


def plain_overload_warnings() -> None:
    """Print :class:`OverloadWarning` and :class:`~govsim.compiled.KernelCacheWarning` as
    ``warning: ...`` (the command line's stderr), without the source line Python adds; other
    warnings print as before. Idempotent."""
    from govsim.compiled import KernelCacheWarning

    original = warnings.formatwarning
    if getattr(original, "govsim_plain", False):
        return

    def plain(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> str:
        if issubclass(category, (OverloadWarning, KernelCacheWarning)):
            return f"warning: {message}\n"
        return original(message, category, *args, **kwargs)

    plain.govsim_plain = True  # type: ignore[attr-defined]
    warnings.formatwarning = plain


def _groups(density: dict[str, Any]) -> list[tuple[list[str], list[str]]]:
    """(density figures, the sizes they resolve) of a density as plain data, per figure group."""
    out: list[tuple[list[str], list[str]]] = []
    trio = ["citizens_per_community", "communities_per_street", "streets_per_district"]
    if density.get("citizens_per_community") is not None:
        out.append((trio, [f"city.{k}" for k in ("districts", *trio[1:][::-1])]))
    for figure, size in (
        ("community_workers_per_10k", "officials.community_workers"),
        ("street_officials_per_10k", "officials.street_officials"),
        ("hotline_operators_per_10k", "channels.hotline_operators"),
    ):
        if density.get(figure) is not None:
            out.append(([figure], [size]))
    for name in density.get("department_staff_per_10k") or {}:
        out.append(([f"department_staff_per_10k.{name}"], [f"departments.{name}.staff"]))
    return out


def _get(data: Any, path: str) -> tuple[bool, Any]:
    """(whether ``data`` holds the dotted ``path``, its value)."""
    for p in path.split("."):
        if not isinstance(data, dict) or p not in data:
            return False, None
        data = data[p]
    return True, data


def yield_to_stated(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` (a scenario's full data) ready for ``over`` to be merged onto it.

    A size that a later statement (a file extending ``base``, a ``--set``, an experiment's
    parameter) states replaces the density figure ``base`` resolves it from: that figure is
    removed, and the other sizes of its group (the city's three for ``citizens_per_community``)
    are written as ``base`` resolved them. ``density: null`` in ``over`` so freezes every size
    as ``base`` resolved it. A statement that also states the figure is left to be refused as
    stating both. ``base`` is returned as it is when nothing yields or it is not valid.
    """
    density = base.get("density")
    if not isinstance(density, dict):
        return base
    over_density = over.get("density") if isinstance(over.get("density"), dict) else {}
    drop = [
        (figures, paths)
        for figures, paths in _groups(density)
        if ("density" in over and over["density"] is None)  # every size stated from here on
        or (
            any(_get(over, p)[0] for p in paths)
            and not any(_get(over_density, f)[0] for f in figures)
        )
    ]
    if not drop:
        return base
    from pydantic import ValidationError

    from govsim.schema import Scenario

    try:
        resolved = Scenario.model_validate(base)
    except ValidationError:
        return base
    import copy

    out = copy.deepcopy(base)
    for figures, paths in drop:
        for f in figures:
            *head, last = f.split(".")
            holder = out["density"]
            for p in head:
                holder = holder[p]
            holder.pop(last, None)
        for path in paths:
            *head, last = path.split(".")
            holder, value = out, resolved
            for p in head:
                holder = holder.setdefault(p, {})
                value = value[p] if isinstance(value, dict) else getattr(value, p)
            holder[last] = getattr(value, last)
    return out
