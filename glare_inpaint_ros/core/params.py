"""Parameter specifications: one declaration serves the core config, YAML files and ROS parameters.

Every tunable value of the pipeline is a :class:`ParamSpec` with a dotted name
(``detector.threshold.value_min``), a typed default, a unit-bearing description and its valid
range or choices. The core validates dictionaries against the specs; the ROS layer turns the same
specs into ``ParameterDescriptor`` objects (ranges, read-only flags) and uses
:meth:`ParamSpec.coerce` in its set-parameters callback, so an invalid value is refused with the
same reason everywhere.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Union

ParamValue = Union[bool, int, float, str, list]


@dataclass(frozen=True)
class ParamSpec:
    """One parameter.

    Attributes:
        name: dotted name, relative to the owner (a detector's ``value_min``) or absolute once
            placed in a schema (``detector.threshold.value_min``).
        default: typed default; its Python type (bool, int, float, str, list of float/int/str)
            is the parameter's type.
        description: what it does, with units (px, fraction 0..1, ms, 8-bit levels ...).
        min_value, max_value: inclusive numeric range (ints and floats).
        choices: allowed values for a string parameter.
        read_only: only settable at start-up (ROS ``read_only`` descriptor).
    """

    name: str
    default: ParamValue
    description: str
    min_value: float | None = None
    max_value: float | None = None
    choices: tuple[str, ...] | None = None
    read_only: bool = False

    @property
    def type(self) -> type:  # noqa: A003 (public API name)
        return type(self.default)

    def prefixed(self, prefix: str) -> "ParamSpec":
        """The same spec with ``prefix.`` in front of its name."""
        return ParamSpec(
            f"{prefix}.{self.name}" if prefix else self.name,
            self.default,
            self.description,
            self.min_value,
            self.max_value,
            self.choices,
            self.read_only,
        )

    def coerce(self, value: Any) -> ParamValue:
        """Return ``value`` converted to this parameter's type, or raise ``ValueError`` with a
        reason.

        ints are accepted where floats are expected (YAML ``5`` for ``5.0``); bools are never
        accepted as numbers; numbers are never accepted as strings.
        """
        t = self.type
        if t is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{self.name}: expected a bool, got {value!r}")
        elif t is int:
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise ValueError(f"{self.name}: expected an integer, got {value!r}")
        elif t is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{self.name}: expected a number, got {value!r}")
            value = float(value)
            if value != value:  # NaN
                raise ValueError(f"{self.name}: NaN is not allowed")
        elif t is str:
            if not isinstance(value, str):
                raise ValueError(f"{self.name}: expected a string, got {value!r}")
        elif t is list:
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"{self.name}: expected a list, got {value!r}")
            value = list(value)
        if self.min_value is not None and isinstance(value,
                                                     (int, float)) and value < self.min_value:
            raise ValueError(f"{self.name}: {value} is below the minimum {self.min_value}")
        if self.max_value is not None and isinstance(value,
                                                     (int, float)) and value > self.max_value:
            raise ValueError(f"{self.name}: {value} is above the maximum {self.max_value}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(
                f"{self.name}: {value!r} is not one of {', '.join(map(repr, self.choices))}"
            )
        return value


def flatten(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings into dotted keys: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``.

    A ROS parameter file (``node_name: {ros__parameters: {...}}``, possibly ``/**``) is unwrapped:
    the parameters of every node in it are merged, later nodes winning.
    """
    if prefix == "" and any(
        isinstance(v, Mapping) and "ros__parameters" in v for v in nested.values()
    ):
        merged: dict[str, Any] = {}
        for v in nested.values():
            if isinstance(v, Mapping) and "ros__parameters" in v:
                merged.update(flatten(v["ros__parameters"]))
        return merged
    out: dict[str, Any] = {}
    for key, value in nested.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, full))
        else:
            out[full] = value
    return out


def unknown_parameter(key: str, known: Iterable[str]) -> str:
    """``unknown parameter 'x'`` plus the closest known name when there is one (a typo)."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f"unknown parameter {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


class Schema:
    """An ordered set of :class:`ParamSpec` with absolute dotted names."""

    def __init__(self, specs: Iterable[ParamSpec] = ()) -> None:
        self._specs: dict[str, ParamSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ParamSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"parameter {spec.name!r} declared twice")
        self._specs[spec.name] = spec

    def replace(self, spec: ParamSpec) -> None:
        """Swap the spec of an already declared name (e.g. to widen its ``choices``)."""
        if spec.name not in self._specs:
            raise KeyError(f"parameter {spec.name!r} is not declared")
        self._specs[spec.name] = spec

    def extend(self, specs: Iterable[ParamSpec], prefix: str = "") -> None:
        for spec in specs:
            self.add(spec.prefixed(prefix))

    def __getitem__(self, name: str) -> ParamSpec:
        return self._specs[name]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self):
        return iter(self._specs.values())

    def names(self) -> list[str]:
        return list(self._specs)

    def defaults(self) -> dict[str, ParamValue]:
        return {name: spec.default for name, spec in self._specs.items()}

    def validate(
        self, values: Mapping[str, Any], *, base: Mapping[str, Any] | None = None,
        allow_unknown: bool = False,
    ) -> dict[str, ParamValue]:
        """Return ``base`` (defaults if None) updated with ``values``, every value coerced.

        Raises ``ValueError`` naming the first bad key: an unknown name (unless ``allow_unknown``)
        or a value of the wrong type or out of range.
        """
        out = dict(self.defaults() if base is None else base)
        for key, value in flatten(values).items():
            spec = self._specs.get(key)
            if spec is None:
                if allow_unknown:
                    continue
                raise ValueError(unknown_parameter(key, self._specs))
            out[key] = spec.coerce(value)
        return out


def section(config: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The entries of a flat config under ``prefix.``, with the prefix stripped."""
    p = prefix + "."
    return {k[len(p):]: v for k, v in config.items() if k.startswith(p)}
