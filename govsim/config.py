"""Scenario loading: safe YAML with line numbers, ``extends:``, ``--set`` overrides, clear errors.

A scenario file is YAML whose keys follow :class:`govsim.schema.Scenario`. Loading it:

1. parses the YAML safely (only plain tags; file size, nesting, node count, alias expansion and
   integer length bounded before anything large is built; merge keys work; dates stay text),
2. resolves ``extends:`` (a packaged scenario name or a path relative to the file) recursively,
3. merges each file onto its fully resolved parent (validated, with every schema default
   written out): mappings merge key by key whatever the parent wrote, everything else replaces,
   and the mappings a file lists under ``replace:`` replace the parent's whole,
4. applies ``--set key.path=value`` overrides (values parsed as YAML scalars),
5. validates with pydantic and turns every problem into ``file:line: key.path: message``,
6. refuses a scenario whose run would not fit the memory bound (:mod:`govsim.resources`).

Any problem raises :class:`ScenarioError`, which carries all messages; the CLI prints them and exits
with code 2.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ValidationError

from govsim.schema import Scenario
from govsim.sizing import yield_to_stated

MAX_YAML_NODES = 200_000
"""Refuse documents that expand (through aliases) to more nodes than this."""

MAX_YAML_DEPTH = 64
"""Refuse documents nested deeper than this (deep nesting or a recursive alias)."""

MAX_YAML_BYTES = 2_000_000
"""Refuse scenario and experiment files larger than this (2 MB), before parsing them. The packaged
scenarios are a few kB; a file this large is a mistake (or an attack) and parsing it would take
seconds to minutes."""

MAX_INT_DIGITS = 30
"""Refuse integer literals longer than this (every integer govsim reads fits in 19 digits); Python
itself refuses to convert more than 4,300 digits, with a traceback."""

MAX_EXTENDS_DEPTH = 16
ALLOWED_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


class ScenarioError(Exception):
    """A scenario could not be loaded; ``messages`` lists every problem as ``where: what``."""

    def __init__(self, messages: list[str]):
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


Path_ = tuple[str, ...]


@dataclass
class Located:
    """A plain-data document plus the source location (``file:line``) of every key path."""

    data: Any
    where: dict[Path_, str] = field(default_factory=dict)


def _fmt_path(path: Path_ | tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path) if path else "(top level)"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader (libyaml's when available), reading dates as text.

    YAML 1.1 reads an unquoted ``2024-01-01`` as a timestamp; no scenario value is a date, so such
    a value stays the text it is (``description: 2024-01-01``). An explicit ``!!timestamp`` tag is
    still refused like every other non-plain tag.
    """

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _check_events(text: str, source: str) -> None:
    """Refuse a document nested too deeply or with too many nodes, before composing it.

    Walks the parser's event stream (libyaml's when available), which costs far less than building
    the document and stops at the first limit passed.

    Raises:
        ScenarioError: naming the line where a limit was passed (syntax errors are left to the
            composer, which reports them with their line).
    """
    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise ScenarioError(
                        [
                            f"{source}:{event.start_mark.line + 1}: document nested too deeply "
                            f"(more than {MAX_YAML_DEPTH} levels); refused"
                        ]
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_YAML_NODES:
                    raise ScenarioError(
                        [
                            f"{source}:{event.start_mark.line + 1}: document has more than "
                            f"{MAX_YAML_NODES} nodes; refused"
                        ]
                    )
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):  # libyaml's own limit, passed while scanning ahead
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            raise ScenarioError(
                [
                    f"{source}:{line}: document nested too deeply (more than {MAX_YAML_DEPTH} levels); refused"
                ]
            ) from None
        return  # composing reports other syntax errors with their line


def parse_yaml(text: str, source: str) -> Located:
    """Parse YAML text safely into plain data, recording the line of every key.

    Args:
        text: The YAML document.
        source: A name for messages (a file path or ``--set``).

    Returns:
        The data and a map from key path to ``source:line``.

    Raises:
        ScenarioError: on a text over :data:`MAX_YAML_BYTES`, syntax errors, non-plain tags, alias
            bombs, deep nesting, integers over :data:`MAX_INT_DIGITS` digits or non-string keys.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_YAML_BYTES:
        raise ScenarioError(
            [
                f"{source}: {size:,} bytes is more than the {MAX_YAML_BYTES:,} a scenario or "
                "experiment file may have; refused before parsing"
            ]
        )
    _check_events(text, source)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except RecursionError:
        raise ScenarioError([f"{source}: document nested too deeply to parse; refused"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}" if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([f"{source}:{line}: YAML syntax error: {problem}"]) from None
    where: dict[Path_, str] = {}
    if node is None:
        return Located({}, where)
    constructor = yaml.SafeLoader("")
    budget = [MAX_YAML_NODES]

    def build(n: yaml.Node, path: Path_) -> Any:
        budget[0] -= 1
        if len(path) > MAX_YAML_DEPTH:
            raise ScenarioError(
                [
                    f"{source}:{n.start_mark.line + 1}: document nested deeper than {MAX_YAML_DEPTH} levels "
                    "(a recursive alias?); refused"
                ]
            )
        if budget[0] < 0:
            raise ScenarioError(
                [
                    f"{source}:{n.start_mark.line + 1}: document expands to more than {MAX_YAML_NODES} nodes "
                    "(an alias bomb?); refused"
                ]
            )
        if n.tag not in ALLOWED_TAGS:
            raise ScenarioError(
                [
                    f"{source}:{n.start_mark.line + 1}: {_fmt_path(path)}: tag '{n.tag}' is not allowed "
                    "(scenario files hold plain data only)"
                ]
            )
        if isinstance(n, yaml.MappingNode):
            out: dict[str, Any] = {}
            merged = _flatten(n)
            explicit: set[str] = set()  # keys written in this mapping (not merged into it)
            for i, (k, v) in enumerate(n.value):
                key = build(k, path)
                if not isinstance(key, str):
                    raise ScenarioError(
                        [
                            f"{source}:{k.start_mark.line + 1}: {_fmt_path(path)}: keys must be text (got {key!r})"
                        ]
                    )
                if key in explicit:  # a merged key may be overridden; a written one not twice
                    raise ScenarioError(
                        [
                            f"{source}:{k.start_mark.line + 1}: {_fmt_path((*path, key))}: duplicate key"
                        ]
                    )
                if i >= merged:
                    explicit.add(key)
                where[(*path, key)] = f"{source}:{k.start_mark.line + 1}"
                out[key] = build(v, (*path, key))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(v, (*path, str(i))) for i, v in enumerate(n.value)]
        return _scalar(n, path)

    merged_counts: dict[int, int] = {}

    def _flatten(n: yaml.MappingNode) -> int:
        """Apply ``<<:`` merge keys; return how many leading entries came from merges."""
        if id(n) not in merged_counts:  # an aliased mapping is flattened once
            own = sum(1 for k, _ in n.value if k.tag != "tag:yaml.org,2002:merge")
            try:
                constructor.flatten_mapping(n)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None) or n.start_mark
                raise ScenarioError(
                    [f"{source}:{mark.line + 1}: merge key: {getattr(exc, 'problem', exc)}"]
                ) from None
            merged_counts[id(n)] = len(n.value) - own
        return merged_counts[id(n)]

    def _scalar(n: yaml.Node, path: Path_) -> Any:
        line = n.start_mark.line + 1
        where = f"{_fmt_path(path)}: " if path else ""
        if n.tag == "tag:yaml.org,2002:int":
            digits = sum(c.isdigit() for c in str(n.value))
            if digits > MAX_INT_DIGITS:
                raise ScenarioError(
                    [
                        f"{source}:{line}: {where}an integer of {digits:,} digits is "
                        f"out of range (at most {MAX_INT_DIGITS} digits; no govsim value needs more "
                        "than 19)"
                    ]
                )
        try:
            return constructor.construct_object(n, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError) as exc:
            raise ScenarioError(
                [f"{source}:{line}: {where}cannot read {n.value!r:.60}: {exc}"]
            ) from None

    data = build(node, ())
    where.setdefault((), f"{source}:1")
    return Located(data, where)


def packaged_scenarios() -> dict[str, Path]:
    """Return the packaged scenarios by name."""
    root = resources.files("govsim") / "scenarios"
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".yaml")}


def resolve_scenario_ref(ref: str, relative_to: Path | None = None) -> Path:
    """Turn a scenario reference (a path or a packaged name) into a path.

    Raises:
        ScenarioError: if neither a file nor a packaged scenario matches.
    """
    candidates = []
    p = Path(ref)
    if relative_to is not None and not p.is_absolute():
        candidates.append(relative_to / p)
    candidates.append(p)
    for c in candidates:
        if c.is_file():
            return c
    packaged = packaged_scenarios()
    name = ref.removesuffix(".yaml")
    if name in packaged and "/" not in ref:
        return packaged[name]
    hint = difflib.get_close_matches(name, list(packaged), n=1)
    dym = f"; did you mean '{hint[0]}'?" if hint else ""
    raise ScenarioError(
        [
            f"{ref}: no such file, and not a packaged scenario (packaged: {', '.join(sorted(packaged))}){dym}"
        ]
    )


def _merge(base: Located, over: Located, replace: tuple[Path_, ...] = ()) -> Located:
    """Deep-merge ``over`` into ``base`` (mappings merge; other values replace).

    Args:
        base: The parent document.
        over: The document merged onto it.
        replace: Key paths whose mapping in ``over`` replaces the parent's whole instead of merging.
    """

    def merge(a: Any, b: Any, path: Path_) -> Any:
        if isinstance(a, dict) and isinstance(b, dict) and path not in replace:
            out = dict(a)
            for k, v in b.items():
                out[k] = merge(a[k], v, (*path, k)) if k in a else copy.deepcopy(v)
            return out
        return copy.deepcopy(b)

    if isinstance(base.data, dict) and isinstance(over.data, dict):
        # a size stated here replaces the density figure the parent resolves it from (ODD §5)
        base = Located(yield_to_stated(base.data, over.data), base.where)
    where = {
        k: v
        for k, v in base.where.items()
        if not any(k[: len(r)] == r and len(k) > len(r) for r in replace)
    }
    where.update(over.where)
    return Located(merge(base.data, over.data, ()), where)


def _replace_paths(doc: Located, source: str, *, has_parent: bool) -> tuple[Path_, ...]:
    """Pop and check a document's ``replace:`` list (dotted paths of mappings it writes whole).

    Args:
        doc: The document as written (``replace`` is removed from it).
        source: Where the document comes from, for messages.
        has_parent: Whether the document extends another (without one, ``replace`` is refused).

    Raises:
        ScenarioError: when ``replace`` is not a list of dotted paths to mappings this file writes,
            or the document has no parent.
    """
    raw = doc.data.pop("replace", None)
    at = doc.where.pop(("replace",), source)
    if raw is None:
        return ()
    if not has_parent:
        raise ScenarioError(
            [
                f"{at}: replace: only a scenario with extends: merges onto a parent; without "
                "one, every mapping it writes is already whole"
            ]
        )
    if not isinstance(raw, list) or not all(isinstance(r, str) and r for r in raw):
        raise ScenarioError(
            [f"{at}: replace: expected a list of dotted key paths, e.g. [assessment.weights]"]
        )
    paths: list[Path_] = []
    problems = []
    for dotted in raw:
        path = tuple(dotted.split("."))
        cur: Any = doc.data
        for p in path:
            cur = cur.get(p) if isinstance(cur, dict) else None
        if cur is None:
            problems.append(f"{at}: replace: {dotted}: this file does not write it")
        elif not isinstance(cur, dict):
            problems.append(
                f"{at}: replace: {dotted}: not a mapping (only mappings merge; "
                "other values always replace the parent's)"
            )
        else:
            paths.append(path)
    if problems:
        raise ScenarioError(problems)
    return tuple(paths)


def read_yaml_file(path: Path, what: str = "cannot read") -> str:
    """Read a scenario or experiment file, refusing one over :data:`MAX_YAML_BYTES` unread.

    Args:
        path: The file.
        what: How a read failure starts (``cannot read``, ``cannot read experiment``).

    Raises:
        ScenarioError: if the file is too large, not readable or not UTF-8 text.
    """
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_YAML_BYTES + 1)
        if len(raw) > MAX_YAML_BYTES:
            raise ScenarioError(
                [
                    f"{path}: larger than the {MAX_YAML_BYTES:,} bytes a scenario or experiment "
                    "file may have; refused before parsing"
                ]
            )
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{path}: {what}: {exc}"]) from None


def load_document(path: Path, _chain: tuple[Path, ...] = ()) -> Located:
    """Load one scenario file merged onto its parent (not yet validated).

    The parent is the ``extends:`` scenario, itself validated and written out in full (every
    schema default explicit), so a mapping merges key by key whatever the parent wrote out;
    ``replace:`` names the mappings that replace the parent's whole. A file without ``extends:``
    is returned as written: the schema fills in what it leaves out when it is validated.
    """
    rpath = path.resolve()
    if rpath in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, rpath))
        raise ScenarioError([f"{path}: extends cycle: {cycle}"])
    if len(_chain) > MAX_EXTENDS_DEPTH:
        raise ScenarioError([f"{path}: extends chain deeper than {MAX_EXTENDS_DEPTH}"])
    doc = parse_yaml(read_yaml_file(path), str(path))
    if not isinstance(doc.data, dict):
        raise ScenarioError(
            [
                f"{path}:1: a scenario must be a mapping of keys to values (got {type(doc.data).__name__})"
            ]
        )
    parent_ref = doc.data.pop("extends", None)
    extends_at = doc.where.pop(("extends",), str(path))
    replace = _replace_paths(doc, f"{path}:1", has_parent=parent_ref is not None)
    if parent_ref is None:
        return doc
    if not isinstance(parent_ref, str):
        raise ScenarioError(
            [f"{extends_at}: extends: expected a scenario name or path (got {parent_ref!r})"]
        )
    try:
        parent_path = resolve_scenario_ref(parent_ref, relative_to=path.parent)
    except ScenarioError as exc:
        raise ScenarioError([f"{extends_at}: extends: {m}" for m in exc.messages]) from None
    if parent_path.resolve() in (*_chain, rpath):
        cycle = " -> ".join(str(p) for p in (*_chain, rpath, parent_path.resolve()))
        raise ScenarioError([f"{extends_at}: extends cycle: {cycle}"])
    parent = resolved_document(load_document(parent_path, (*_chain, rpath)), str(parent_path))
    return _merge(parent, doc, replace)


def resolved_document(doc: Located, source: str) -> Located:
    """A document validated and written out in full (every schema default explicit).

    The locations of the keys the document wrote are kept, so that a child's problem with an
    inherited value still points at the line that set it.

    Raises:
        ScenarioError: when the document is not a valid scenario by itself.
    """
    return Located(scenario_to_dict(validate(doc, source)), dict(doc.where))


def parse_override(text: str) -> Located:
    """Parse one ``--set key.path=value`` into a nested document (value parsed as YAML)."""
    if "=" not in text:
        raise ScenarioError([f"--set {text}: expected key.path=value"])
    key, _, raw = text.partition("=")
    parts = tuple(p for p in key.strip().split("."))
    if not key.strip() or any(not p for p in parts):
        raise ScenarioError([f"--set {text}: expected key.path=value with a non-empty dotted key"])
    value = parse_yaml(raw, f"--set {key}").data if raw.strip() else ""
    nested: Any = value
    for p in reversed(parts):
        nested = {p: nested}
    where = {parts[:i]: f"--set {key}" for i in range(1, len(parts) + 1)}
    return Located(nested, where)


def set_path(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Return a copy of ``data`` with ``dotted`` set to ``value`` (creating mappings as needed).

    A size set here replaces the density figure ``data`` resolves it from (ODD §5).
    """
    nested: Any = value
    for p in reversed(dotted.split(".")):
        nested = {p: nested}
    out = copy.deepcopy(yield_to_stated(data, nested))
    cur = out
    parts = dotted.split(".")
    for p in parts[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[p] = nxt
        cur = nxt
    cur[parts[-1]] = value
    return out


def fields_allowed(root: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """Names allowed at a key path of a schema (for did-you-mean).

    The path walks through model fields, the values of dict-valued fields (a key such as a
    category name is skipped) and optional or union annotations (their model member).
    """
    model: Any = root
    at_dict_key = False
    for p in path:
        if at_dict_key:  # p is a key of a dict-valued field (e.g. a category name): no lookup
            at_dict_key = False
            continue
        model = _model_in(model)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        f = model.model_fields.get(str(p))
        if f is None:
            return []
        ann = f.annotation
        args = getattr(ann, "__args__", ())
        if getattr(ann, "__origin__", None) is dict and len(args) == 2:
            model = args[1]
            at_dict_key = True
            continue
        model = ann
    model = _model_in(model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    """The model member of an optional or union annotation (the annotation itself otherwise)."""
    if isinstance(annotation, type):
        return annotation
    members = [
        a
        for a in getattr(annotation, "__args__", ())
        if isinstance(a, type) and issubclass(a, BaseModel)
    ]
    return members[0] if members else annotation


def located_messages(
    exc: ValidationError,
    where: dict[tuple[str, ...], str],
    default_source: str,
    root: type[BaseModel],
    path_prefix: str = "",
) -> list[str]:
    """Every problem of a pydantic validation as ``file:line: key.path: what (got ...)``.

    The one formatter of validation errors, for scenarios and experiment files alike: unknown
    keys get the allowed ones and a did-you-mean; a model-level validator that names the
    offending key path at the start of its message (``categories.x.owners: ...``) is located at
    that key's line.

    Args:
        exc: The validation error.
        where: ``file:line`` of every key path of the document.
        default_source: Where to point when no key path is found (the file, or ``--set``).
        root: The schema validated against.
        path_prefix: Written before every key path (``timeline[2].set.`` for a timeline's
            change, :mod:`govsim.timeline`).

    Returns:
        The messages, sorted by file and line.
    """
    messages = []
    for err in exc.errors(include_url=False):
        # pydantic marks a bad dict key with a "[key]" location part: drop it
        loc = tuple(str(p) for p in err["loc"] if p != "[key]")
        msg = err["msg"].removeprefix("Value error, ")
        named = (
            re.match(r"([A-Za-z_][\w.]*)(?=: | must )", msg)
            if err["type"] == "value_error"
            else None
        )
        full = (*loc, *named.group(1).split(".")) if named else loc
        at = next((where[full[:i]] for i in range(len(full), -1, -1) if full[:i] in where), None)
        if err["type"] == "extra_forbidden":
            allowed = fields_allowed(root, loc[:-1])
            hint = difflib.get_close_matches(loc[-1], allowed, n=1)
            dym = f"; did you mean '{hint[0]}'?" if hint else ""
            msg = (
                f"unknown key{dym} (allowed here: {', '.join(allowed)})"
                if allowed
                else "unknown key"
            )
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "literal_error" and len(loc) and loc[-1] not in ("mode",):
            msg = f"{msg} (got {_describe_input(err.get('input'))})"
        elif "input" in err and not isinstance(err.get("input"), dict):
            msg = f"{msg} (got {_describe_input(err['input'])})"
        path = path_prefix + _fmt_path(loc) if loc else path_prefix.rstrip(".")
        messages.append(f"{at or default_source}: {path + ': ' if path else ''}{msg}")
    return sorted(messages, key=_by_location)


def _describe_input(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate(doc: Located, default_source: str = "scenario") -> Scenario:
    """Validate a merged document against the schema, with located messages.

    Raises:
        ScenarioError: listing every problem.
    """
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        raise ScenarioError(located_messages(exc, doc.where, default_source, Scenario)) from None
    if scenario.timeline:  # each dated change checked like --set (govsim.timeline)
        from govsim.timeline import resolve_timeline

        scenario = resolve_timeline(scenario, doc.where, default_source)
    check_memory(scenario, doc, default_source)
    return scenario


def check_memory(scenario: Scenario, doc: Located, default_source: str = "scenario") -> None:
    """Refuse a scenario whose run would not fit the memory bound (see :mod:`govsim.resources`).

    Raises:
        ScenarioError: located at the key most responsible (``population.citizens`` or ``city``),
            with the estimate, the bound and how to raise it.
    """
    from govsim.resources import over_limit, scenario_memory

    estimate = scenario_memory(scenario)
    try:
        problem = over_limit(estimate, f"a run of {scenario.days:,} days")
    except ValueError as exc:
        raise ScenarioError([str(exc)]) from None
    if problem:
        path = tuple(estimate.key.split("."))
        where = next(
            (doc.where[path[:i]] for i in range(len(path), 0, -1) if path[:i] in doc.where), None
        )
        raise ScenarioError([f"{where or default_source}: {estimate.key}: {problem}"])


def name_from_file(path: Path) -> str:
    """The name of a scenario (or experiment) that has no ``name:``, made from its file name.

    Runs of characters a name may not hold (anything but A-Z, a-z, 0-9, ``_``, ``.``, ``-``) become
    one ``_``: ``my city.yaml`` is named ``my_city``.

    Raises:
        ScenarioError: when nothing usable is left (``城市.yaml``), saying to add ``name:``.
    """
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("_")[:80]
    if not name:
        raise ScenarioError(
            [
                f"{path}: a file without 'name:' is named after its file name, but "
                f"'{path.stem}' has no letters A-Z, digits, '_', '.' or '-' to make a name of; "
                "add a line such as 'name: my_city' to the file (or --set name=my_city)"
            ]
        )
    return name


def _by_location(message: str) -> tuple[str, int, str]:
    """Sort key of a message: its file, then its line number (``--set`` ones after the files)."""
    located = re.match(r"(.+?):(\d+): ", message)
    if located:
        return ("0" + located.group(1), int(located.group(2)), message)
    return ("1", 0, message)


def load_scenario(ref: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Load, merge, override and validate a scenario.

    Args:
        ref: A scenario file path or a packaged scenario name (see ``govsim scenarios``).
        overrides: ``key.path=value`` strings applied after the file, merged onto it fully resolved
            (a mapping value merges key by key, as in a file that extends it).

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: with every problem found, each located as ``file:line: key.path: ...``.
    """
    path = resolve_scenario_ref(str(ref))
    doc = load_document(path)
    if overrides:
        # overrides merge onto the file fully resolved, like a child file onto its parent; an
        # invalid file stays as written and its problems are reported with the overrides'
        with contextlib.suppress(ScenarioError):
            doc = resolved_document(doc, str(path))
    problems: list[str] = []
    for o in overrides:
        try:
            doc = _merge(doc, parse_override(o))
        except ScenarioError as exc:
            problems.extend(exc.messages)
    if problems:
        raise ScenarioError(problems)
    name_from = doc.where.get(("name",), "")
    if not (name_from.startswith(f"{path}:") or name_from.startswith("--set ")):
        doc.data["name"] = name_from_file(path)
    return validate(doc, str(path))


def scenario_from_dict(data: dict[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a plain dict as a scenario (``extends`` and ``replace`` are honoured, as in a file)."""
    data = copy.deepcopy(data)
    parent_ref = data.pop("extends", None)
    doc = Located(data, {})
    replace = _replace_paths(doc, source, has_parent=parent_ref is not None)
    if parent_ref is None:
        return validate(doc, source)
    ref_path = resolve_scenario_ref(parent_ref)
    parent = resolved_document(load_document(ref_path), str(ref_path))
    return validate(_merge(parent, doc, replace), source)


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The fully resolved scenario as plain data (JSON/YAML-safe)."""
    return scenario.model_dump(mode="json")


def scenario_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML text."""
    return yaml.safe_dump(scenario_to_dict(scenario), sort_keys=False, allow_unicode=True)


def scenario_sha256(scenario: Scenario) -> str:
    """A stable hash of the resolved scenario (canonical JSON)."""
    canon = json.dumps(scenario_to_dict(scenario), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def check_parameter_path(dotted: str) -> None:
    """Check that a dotted path names a scalar parameter of the schema (used by experiments).

    Raises:
        ScenarioError: naming the bad part and the allowed keys there.
    """
    parts = dotted.split(".")
    base = scenario_to_dict(Scenario())
    cur: Any = base
    for i, p in enumerate(parts):
        if not isinstance(cur, dict) or p not in cur:
            allowed = list(cur) if isinstance(cur, dict) else []
            allowed = allowed or fields_allowed(Scenario, tuple(parts[:i]))
            hint = difflib.get_close_matches(p, allowed, n=1)
            dym = f"; did you mean '{hint[0]}'?" if hint else ""
            raise ScenarioError([f"{dotted}: '{p}' is not a scenario key here{dym}"])
        cur = cur[p]


def resolve_scenario(
    scenario: Scenario | str | dict | None, overrides: dict[str, Any] | None = None
) -> Scenario:
    """A validated scenario from a scenario, a packaged name or path, or a dict, with overrides.

    Args:
        scenario: The scenario (default: the packaged ``baseline``).
        overrides: Dotted-path overrides (e.g. ``{"dispatch.mode": "unified"}``).
    """
    if scenario is None:
        scenario = "baseline"
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    elif isinstance(scenario, dict):
        scenario = scenario_from_dict(scenario)
    if overrides:
        data = scenario_to_dict(scenario)
        for k, v in overrides.items():
            data = set_path(data, k, v)
        scenario = scenario_from_dict(data)
    return scenario
