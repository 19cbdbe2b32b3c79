"""The city's structure: districts -> streets (街道) -> communities (社区) -> grids (网格), and its units.

Units are everything that can own and serve cases, numbered in one index space:
communities first, then streets, then department copies (one per district for district-level
departments, one for the city otherwise), then one district-government backstop (兜底) per district.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from govsim.schema import Scenario

COMMUNITY, STREET, DEPARTMENT, BACKSTOP = range(4)
UNIT_KINDS = ("community", "street", "department", "backstop")


@dataclass
class City:
    """Index arrays describing the city and its units.

    Attributes:
        n_districts, n_streets, n_communities, n_grids: counts.
        street_district: district of each street.
        community_street: street of each community.
        grid_community: community of each grid.
        unit_kind: kind of each unit (COMMUNITY, STREET, DEPARTMENT, BACKSTOP).
        unit_district: district of each unit (-1 for city-level departments).
        unit_name: readable name of each unit.
        unit_dept: department index of each unit (-1 if not a department copy).
        unit_vertical: whether each unit is vertically managed.
        dept_names: department names in schema order.
        dept_unit: ``dept_unit[d, district]`` = unit index of department ``d`` serving that district.
        backstop_unit: unit index of each district's backstop.
    """

    n_districts: int
    n_streets: int
    n_communities: int
    n_grids: int
    street_district: np.ndarray
    community_street: np.ndarray
    grid_community: np.ndarray
    unit_kind: np.ndarray
    unit_district: np.ndarray
    unit_name: list[str]
    unit_dept: np.ndarray
    unit_vertical: np.ndarray
    dept_names: list[str]
    dept_unit: np.ndarray
    backstop_unit: np.ndarray

    @property
    def n_units(self) -> int:
        """Total number of units."""
        return len(self.unit_kind)

    @property
    def community_district(self) -> np.ndarray:
        """District of each community."""
        return self.street_district[self.community_street]

    def street_unit(self, street: np.ndarray | int) -> np.ndarray | int:
        """Unit index of a street."""
        return self.n_communities + street

    @classmethod
    def build(cls, scenario: Scenario) -> City:
        """Build the structure from a scenario's ``city`` and ``departments`` sections."""
        c = scenario.city
        nd = c.districts
        ns = nd * c.streets_per_district
        nc = ns * c.communities_per_street
        ng = nc * c.grids_per_community
        street_district = np.repeat(np.arange(nd), c.streets_per_district)
        community_street = np.repeat(np.arange(ns), c.communities_per_street)
        grid_community = np.repeat(np.arange(nc), c.grids_per_community)
        kinds = [COMMUNITY] * nc + [STREET] * ns
        districts = list(street_district[community_street]) + list(street_district)
        names = [f"community-{i}" for i in range(nc)] + [f"street-{i}" for i in range(ns)]
        udept = [-1] * (nc + ns)
        uvert = [False] * (nc + ns)
        dept_names = list(scenario.departments)
        dept_unit = np.full((len(dept_names), nd), -1, dtype=np.int64)
        for d, (dname, spec) in enumerate(scenario.departments.items()):
            if spec.level == "city":
                dept_unit[d, :] = len(kinds)
                kinds.append(DEPARTMENT)
                districts.append(-1)
                names.append(f"{dname}")
                udept.append(d)
                uvert.append(spec.vertical)
            else:
                for k in range(nd):
                    dept_unit[d, k] = len(kinds)
                    kinds.append(DEPARTMENT)
                    districts.append(k)
                    names.append(f"{dname}-d{k}")
                    udept.append(d)
                    uvert.append(spec.vertical)
        backstop = np.arange(len(kinds), len(kinds) + nd)
        for k in range(nd):
            kinds.append(BACKSTOP)
            districts.append(k)
            names.append(f"district-{k}-backstop")
            udept.append(-1)
            uvert.append(False)
        return cls(
            n_districts=nd,
            n_streets=ns,
            n_communities=nc,
            n_grids=ng,
            street_district=street_district,
            community_street=community_street,
            grid_community=grid_community,
            unit_kind=np.array(kinds, dtype=np.int8),
            unit_district=np.array(districts, dtype=np.int64),
            unit_name=names,
            unit_dept=np.array(udept, dtype=np.int64),
            unit_vertical=np.array(uvert, dtype=bool),
            dept_names=dept_names,
            dept_unit=dept_unit,
            backstop_unit=backstop,
        )
