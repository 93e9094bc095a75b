"""HTTP route templates as the Functions host reads them (the ASP.NET Core route template subset).

Pure code: parse a function's ``route`` into a matcher, order routes by precedence, find conflicts.
Supported: literal segments (case-insensitive), ``{name}``, ``{name?}``, ``{name=default}``,
``{name:constraint}`` (int, long, bool, alpha, guid, float, double, decimal, datetime, minlength(n),
maxlength(n), length(n[,m]), min(n), max(n), range(a,b), regex(expr)), ``{*rest}`` catch-all, and
segments mixing literals and parameters (``{file}.{ext}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from hpcburst.errors import ConfigError

_PARAM = re.compile(r"\{([^{}]*)\}")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")

Check = Callable[[str], bool]


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_SIMPLE: dict[str, Check] = {
    "int": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**31) <= int(v) < 2**31,
    "long": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**63) <= int(v) < 2**63,
    "bool": lambda v: v.lower() in ("true", "false"),
    "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "guid": lambda v: _GUID.match(v) is not None,
    "float": _is_number,
    "double": _is_number,
    "decimal": _is_number,
    "datetime": _is_datetime,
}


def _args(raw: str) -> list[int]:
    return [int(a) for a in raw.split(",")]


def _constraint(spec: str, route: str) -> Check:
    match = re.fullmatch(r"(\w+)(?:\((.*)\))?", spec, re.S)
    if not match:
        raise ConfigError(f"route {route!r}: cannot read the constraint {spec!r}")
    name, raw = match.group(1).lower(), match.group(2)
    try:
        if raw is None and name in _SIMPLE:
            return _SIMPLE[name]
        if name == "regex" and raw is not None:
            pattern = re.compile(raw, re.I)
            return lambda v: pattern.search(v) is not None
        if raw is not None and name in ("minlength", "maxlength", "length", "min", "max", "range"):
            nums = _args(raw)
            return _ranged(name, nums)
    except (ValueError, re.error) as err:
        raise ConfigError(f"route {route!r}: bad arguments in the constraint {spec!r} ({err})") from None
    raise ConfigError(f"route {route!r}: unknown route constraint {spec!r}")


def _ranged(name: str, nums: list[int]) -> Check:
    def as_int(v: str) -> int | None:
        return int(v) if re.fullmatch(r"-?\d+", v) else None

    if name == "minlength":
        return lambda v: len(v) >= nums[0]
    if name == "maxlength":
        return lambda v: len(v) <= nums[0]
    if name == "length":
        low, high = (nums[0], nums[0]) if len(nums) == 1 else (nums[0], nums[1])
        return lambda v: low <= len(v) <= high
    if name == "min":
        return lambda v: (n := as_int(v)) is not None and n >= nums[0]
    if name == "max":
        return lambda v: (n := as_int(v)) is not None and n <= nums[0]
    return lambda v: (n := as_int(v)) is not None and nums[0] <= n <= nums[1]


@dataclass(frozen=True)
class Param:
    name: str
    checks: tuple[Check, ...] = ()
    constraint_text: str = ""  # normalised, for conflict detection
    optional: bool = False
    default: str | None = None
    catch_all: bool = False


def _parse_param(body: str, route: str) -> Param:
    catch_all = body.startswith("*")
    body = body.lstrip("*")
    default = None
    if "=" in body:
        body, default = body.split("=", 1)
    optional = body.endswith("?")
    body = body.rstrip("?")
    name, *constraints = body.split(":")
    if not re.fullmatch(r"\w+", name):
        raise ConfigError(f"route {route!r}: bad parameter name {name!r}")
    checks = tuple(_constraint(c, route) for c in constraints)
    return Param(name, checks, ":".join(c.lower() for c in constraints), optional, default, catch_all)


@dataclass(frozen=True)
class Route:
    """One compiled route template with the methods it answers (None: every method)."""

    template: str
    function: str
    methods: frozenset[str] | None
    regex: re.Pattern[str] = field(repr=False)
    params: tuple[Param, ...]
    precedence: tuple[int, ...]
    normalised: str  # what two templates share when they would answer the same URLs

    def allows(self, method: str) -> bool:
        return self.methods is None or method.upper() in self.methods

    def match(self, path: str) -> dict[str, str] | None:
        """The route parameters if ``path`` (without the route prefix, no leading slash) matches."""
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        values: dict[str, str] = {}
        for param in self.params:
            value = found.group(param.name)
            if value is None or value == "":
                if param.default is not None:
                    values[param.name] = param.default
                elif not (param.optional or param.catch_all):
                    return None
                continue
            if not all(check(value) for check in param.checks):
                return None
            values[param.name] = value
        return values


def _segment(segment: str, route: str) -> tuple[str, list[Param], int, str]:
    """Regex, params, precedence rank (lower wins) and normalised text of one path segment."""
    params: list[Param] = []
    parts: list[str] = []
    norm: list[str] = []
    pos = 0
    for found in _PARAM.finditer(segment):
        literal = segment[pos : found.start()]
        parts.append(re.escape(literal))
        norm.append(literal.lower())
        param = _parse_param(found.group(1), route)
        params.append(param)
        group = ".*" if param.catch_all else "[^/]+"  # greedy: ASP.NET matches literals right to left
        parts.append(f"(?P<{param.name}>{group})")
        norm.append("{" + ("*" if param.catch_all else "") + param.constraint_text + "}")
        pos = found.end()
    tail = segment[pos:]
    if "{" in tail or "}" in tail:
        raise ConfigError(f"route {route!r}: unbalanced braces in segment {segment!r}")
    parts.append(re.escape(tail))
    norm.append(tail.lower())
    if not params:
        rank = 0
    elif len(params) > 1 or segment != "{" + segment[1:-1] + "}":
        rank = 1
    else:
        p = params[0]
        rank = 5 if p.catch_all else 4 if (p.optional or p.default is not None) else 2 if p.checks else 3
    return "".join(parts), params, rank, "".join(norm)


def compile_route(template: str, function: str, methods: Iterable[str] | None) -> Route:
    """Compile a route template; a ConfigError names the function and the fault."""
    clean = template.strip().strip("/")
    segments = clean.split("/") if clean else []
    regex = ""
    params: list[Param] = []
    ranks: list[int] = []
    norms: list[str] = []
    for i, segment in enumerate(segments):
        if not segment:
            raise ConfigError(f"function {function!r}: route {template!r} has an empty segment")
        piece, seg_params, rank, norm = _segment(segment, template)
        last = i == len(segments) - 1
        if any(p.catch_all for p in seg_params) and not last:
            raise ConfigError(f"function {function!r}: a catch-all parameter must be last in {template!r}")
        lone_optional = rank in (4, 5)
        if lone_optional and not last:
            raise ConfigError(f"function {function!r}: an optional parameter must be last in {template!r}")
        sep = "/" if i else ""
        regex += f"(?:{sep}{piece})?" if lone_optional else f"{sep}{piece}"
        params.extend(seg_params)
        ranks.append(rank)
        norms.append(norm)
    names = [p.name.lower() for p in params]
    if len(set(names)) != len(names):
        raise ConfigError(f"function {function!r}: route {template!r} repeats a parameter name")
    wanted = frozenset(m.upper() for m in methods) if methods else None
    return Route(
        template=clean,
        function=function,
        methods=wanted,
        regex=re.compile(regex, re.I),
        params=tuple(params),
        precedence=tuple(ranks),
        normalised="/".join(norms),
    )


def find_conflicts(routes: Iterable[Route]) -> list[str]:
    """Messages for pairs of routes that answer the same method on the same template."""
    seen: list[Route] = []
    problems: list[str] = []
    for route in routes:
        for other in seen:
            if route.normalised != other.normalised:
                continue
            if route.methods is None or other.methods is None or route.methods & other.methods:
                shared = (
                    "all methods"
                    if route.methods is None or other.methods is None
                    else ", ".join(
                        sorted(route.methods & other.methods)  # type: ignore[operator]
                    )
                )
                same = (
                    repr(route.template)
                    if route.template == other.template
                    else f"{other.template!r} and {route.template!r}"
                )
                problems.append(
                    f"functions {other.function!r} and {route.function!r} both answer {shared} on route {same}: "
                    "give one of them another route or other methods"
                )
        seen.append(route)
    return problems


class Router:
    """Routes in precedence order: literal segments beat constrained parameters beat plain ones."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: (r.precedence, -len(r.precedence)))

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if not route.allows(method):
                continue
            values = route.match(path.strip("/"))
            if values is not None:
                return route, values
        return None
