"""ParamSpec -> ROS 2 parameters: descriptors, declaration and read-back, written once.

Every node declares the core parameters it uses (``SCHEMA`` sections ``detector``, ``mask``,
``inpainting``) plus its own node parameters, which are also :class:`ParamSpec` objects so that
they get the same typed descriptors, ranges and validation. Start-up values come from
``--ros-args --params-file config/*.yaml`` (nested YAML keys become dotted names: standard ROS).
"""

from __future__ import annotations

import array
import sys
from typing import Any, Iterable, Sequence

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType
from rclpy.node import Node
from rclpy.parameter import Parameter

from ..core.params import ParamSpec, Schema

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_LIST_TYPES = {
    float: ParameterType.PARAMETER_DOUBLE_ARRAY,
    int: ParameterType.PARAMETER_INTEGER_ARRAY,
    str: ParameterType.PARAMETER_STRING_ARRAY,
    bool: ParameterType.PARAMETER_BOOL_ARRAY,
}
_SCALAR_TYPES = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
}


class StartupParameterError(ValueError):
    """A start-up parameter value (params file or ``-p``) is invalid; the message says which and why."""


def ros_type(spec: ParamSpec) -> int:
    """The ``ParameterType`` of a spec (lists: by the type of their first element; empty = double array)."""
    if spec.type is list:
        elem = type(spec.default[0]) if spec.default else float
        return _LIST_TYPES[elem]
    return _SCALAR_TYPES[spec.type]


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """A ``ParameterDescriptor`` carrying the spec's type, description, range, choices and read-only flag.

    Integer ranges become ``IntegerRange`` (step 1), float ranges ``FloatingPointRange`` (step 0 =
    continuous); a one-sided range is closed with the type's extreme. String choices are listed in
    ``additional_constraints``.
    """
    d = ParameterDescriptor(
        name=spec.name, type=ros_type(spec), description=spec.description, read_only=spec.read_only
    )
    if spec.choices:
        d.additional_constraints = "one of: " + ", ".join(spec.choices)
    if spec.min_value is not None or spec.max_value is not None:
        if spec.type is int:
            lo = INT64_MIN if spec.min_value is None else int(spec.min_value)
            hi = INT64_MAX if spec.max_value is None else int(spec.max_value)
            d.integer_range = [IntegerRange(from_value=lo, to_value=hi, step=1)]
        elif spec.type is float:
            lo = -sys.float_info.max if spec.min_value is None else float(spec.min_value)
            hi = sys.float_info.max if spec.max_value is None else float(spec.max_value)
            d.floating_point_range = [FloatingPointRange(from_value=lo, to_value=hi, step=0.0)]
    return d


def to_python(value: Any) -> Any:
    """A ROS parameter value as plain Python (``array.array`` -> list)."""
    if isinstance(value, (array.array, tuple)):
        return list(value)
    return value


def declare(node: Node, specs: Iterable[ParamSpec]) -> dict[str, Any]:
    """Declare every spec on ``node`` (start-up overrides applied) and return the values, dotted names.

    Raises:
        StartupParameterError: an override of the wrong type, out of range, or not among the choices
            (checked with :meth:`ParamSpec.coerce`, so the reason matches the core's wording).
    """
    values: dict[str, Any] = {}
    overrides = getattr(node, "_parameter_overrides", None)  # rclpy keeps start-up values here
    for spec in specs:
        given = overrides.get(spec.name) if isinstance(overrides, dict) else None
        if spec.type is float and given is not None and given.type_ == Parameter.Type.INTEGER:
            # YAML "5" for a float parameter: accept it like the core does (ROS alone would refuse it)
            overrides[spec.name] = Parameter(spec.name, Parameter.Type.DOUBLE, float(given.value))
        try:
            param = node.declare_parameter(spec.name, spec.default, descriptor(spec))
        except Exception as exc:  # rclpy raises several exception types for bad overrides
            raise StartupParameterError(f"{spec.name}: {exc}") from None
        try:
            values[spec.name] = spec.coerce(to_python(param.value))
        except ValueError as exc:
            raise StartupParameterError(str(exc)) from None
    return values


def schema_sections(schema: Schema, sections: Sequence[str]) -> list[ParamSpec]:
    """The specs of ``schema`` whose first name component is in ``sections`` (e.g. ``("detector",)``)."""
    return [s for s in schema if s.name.split(".", 1)[0] in sections]


def changes_from(params: Sequence[Parameter]) -> dict[str, Any]:
    """``{name: python value}`` for a batch of parameters from a set-parameters request."""
    return {p.name: to_python(p.value) for p in params}

