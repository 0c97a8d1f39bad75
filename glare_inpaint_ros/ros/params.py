"""ParamSpec -> ROS 2 parameters: descriptors, declaration and read-back, written once.

Every node declares the core parameters it uses (``SCHEMA`` sections ``detector``, ``mask``,
``inpainting``) plus its own node parameters, which are also :class:`ParamSpec` objects so that
they get the same typed descriptors, ranges and validation. Start-up values come from
``--ros-args --params-file config/*.yaml`` (nested YAML keys become dotted names: standard ROS).
"""

from __future__ import annotations

import array
import importlib
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from rcl_interfaces.msg import (
    FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType, SetParametersResult,
)
from rclpy.exceptions import ParameterNotDeclaredException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.parameter_service import ParameterService

from ..core.params import ParamSpec, Schema, unknown_parameter
from ..core.pipeline import SCHEMA, GlareRemover
from .pipelines import node_modules

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
    """A start-up parameter value (params file or ``-p``) is invalid; the message says which and
    why."""


def ros_type(spec: ParamSpec) -> int:
    """The ``ParameterType`` of a spec (lists: by the type of their first element; empty = double
    array)."""
    if spec.type is list:
        elem = type(spec.default[0]) if spec.default else float
        return _LIST_TYPES[elem]
    return _SCALAR_TYPES[spec.type]


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """A ``ParameterDescriptor`` carrying the spec's type, description, range, choices and
    read-only flag.

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
    """Declare every spec on ``node`` (start-up overrides applied) and return the values, dotted
    names.

    Raises:
        StartupParameterError: an override of the wrong type, out of range, or not among the
            choices (checked with :meth:`ParamSpec.coerce`, so the reason matches the core's
            wording).
    """
    values: dict[str, Any] = {}
    overrides = getattr(node, "_parameter_overrides", None)  # rclpy keeps start-up values here
    for spec in specs:
        given = overrides.get(spec.name) if isinstance(overrides, dict) else None
        if spec.type is float and given is not None and given.type_ == Parameter.Type.INTEGER:
            # YAML "5" for a float parameter: accept it like the core does (ROS alone would refuse
            # it)
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
    """The specs of ``schema`` whose first name component is in ``sections`` (e.g.
    ``("detector",)``)."""
    return [s for s in schema if s.name.split(".", 1)[0] in sections]


def changes_from(params: Sequence[Parameter]) -> dict[str, Any]:
    """``{name: python value}`` for a batch of parameters from a set-parameters request."""
    return {p.name: to_python(p.value) for p in params}


def apply_changes(
    remover: GlareRemover, changes: Mapping[str, Any], own_specs: Mapping[str, ParamSpec],
) -> tuple[SetParametersResult, dict[str, Any]]:
    """Apply one batch of parameter changes, all or none: the core's through ``remover.update``
    (atomic), the caller's own ones (``own_specs``, by the same names) checked and coerced.

    Returns ``(result, own)``: ``own`` holds the accepted values of the caller's own parameters,
    for it to store; on a refusal ``result`` carries the reason and nothing was applied.
    """
    try:
        own = {k: own_specs[k].coerce(v) for k, v in changes.items() if k in own_specs}
        remover.update({k: v for k, v in changes.items() if k in SCHEMA})
    except ValueError as exc:
        return SetParametersResult(successful=False, reason=str(exc)), {}
    # a stage that cannot be built must not kill the node
    except Exception as exc:  # noqa: BLE001
        reason = f"cannot apply: {type(exc).__name__}: {exc}"
        return SetParametersResult(successful=False, reason=reason), {}
    return SetParametersResult(successful=True), own


#: modules whose module-level ParamSpec objects (or tuples of them) are node parameters: the nodes'
#: base module, then every node executable's (:mod:`.pipelines`).
NODE_MODULES = ("glare_inpaint_ros.ros.base", *node_modules())
#: parameters rclpy declares on every node itself.
ROS_PARAMS = ("use_sim_time", "start_type_description_service")
#: prefixes of rclpy's own parameter families (QoS overrides of publishers / subscriptions).
ROS_PARAM_PREFIXES = ("qos_overrides.",)


def node_param_specs() -> list[ParamSpec]:
    """Every node parameter (QoS, sync, deadline, debug, ...) of every glare node, first definition
    wins.

    Found as the module-level :class:`ParamSpec` objects (or tuples/lists of them) of
    :data:`NODE_MODULES` (imported here, lazily: they import this module).
    """
    found: dict[str, ParamSpec] = {}
    for module_name in NODE_MODULES:
        for value in vars(importlib.import_module(module_name)).values():
            for item in value if isinstance(value, (tuple, list)) else (value,):
                if isinstance(item, ParamSpec):
                    found.setdefault(item.name, item)
    return list(found.values())


def known_parameter_names() -> list[str]:
    """Every parameter name some glare node declares: the core ``SCHEMA`` and
    :func:`node_param_specs`."""
    return SCHEMA.names() + [s.name for s in node_param_specs()]


def check_known(names: Iterable[str], known: Iterable[str]) -> None:
    """Refuse start-up parameter names that no glare node declares (a typo, a stale key).

    ``known``: every name some glare node declares (a params file under ``/**`` serves all the
    nodes, so a key of another glare node is fine). rclpy's own parameters are always known.

    Raises:
        StartupParameterError: naming the first unknown key and the closest known name.
    """
    known = set(known)
    for name in names:
        if name in known or name in ROS_PARAMS or name.startswith(ROS_PARAM_PREFIXES):
            continue
        raise StartupParameterError(
            f"{unknown_parameter(name, known)}: no glare node has it (params file or -p); "
            "set strict_params:=false to allow parameters meant for other nodes")


def check_ros_args(argv: Sequence[str], known: Iterable[str] | None = None) -> None:
    """Check every ``--params-file FILE`` and ``-p NAME:=VALUE`` in ``argv`` before rclpy parses
    them.

    rcl would otherwise fail inside ``rclpy.init`` with a C error and a traceback (or, for a YAML
    file that is not a parameter file, silently ignore it). With ``known`` (every name some glare
    node declares), the names every node of the process receives, the ``-p`` rules and the
    ``/**`` entries of the files, are checked as :func:`check_known` would in the node, so a typo
    fails before the process joins the DDS network; left to the nodes where any ``strict_params``
    is false, and for entries of one node name.

    Raises:
        StartupParameterError: a missing or unreadable file, invalid YAML, a file that is not a
            ROS 2 parameter file (``node_name: {ros__parameters: {...}}``, ``/**`` for all nodes),
            a ``-p`` rule without ``NAME:=``, or (with ``known``) a name no glare node has.
    """
    import yaml

    for flag in ("--params-file", "-p", "--param"):
        if argv and argv[-1] == flag:
            raise StartupParameterError(f"{flag} needs a value")
    everyone: set[str] = set()  # the names every node gets (-p rules, /** entries)
    strict_values = []  # every strict_params value, wherever it is set
    for i, a in enumerate(argv[:-1]):
        if a in ("-p", "--param"):
            name, sep, value = argv[i + 1].partition(":=")
            if not sep or not name.strip():
                raise StartupParameterError(f"{a} {argv[i + 1]!r}: expected NAME:=VALUE")
            everyone.add(name)
            if name == "strict_params":  # (as rcl reads the value: YAML)
                try:
                    strict_values.append(yaml.safe_load(value))
                except yaml.YAMLError:
                    strict_values.append(value)
    files = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--params-file"]
    for name in files:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StartupParameterError(f"params file {name}: cannot read it: {reason}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise StartupParameterError(
                f"params file {name}: not valid YAML: {' '.join(str(exc).split())}") from None
        if not isinstance(data, Mapping) or not data:
            raise StartupParameterError(
                f"params file {name}: not a ROS 2 parameter file (expected 'node_name: "
                f"{{ros__parameters: "
                "{...}}', or '/**:' for every node)")
        for node, body in data.items():
            if not _is_node_entry(body):
                raise StartupParameterError(
                    f"params file {name}: not a ROS 2 parameter file: entry {node!r} has no "
                    "'ros__parameters' "
                    "mapping (expected 'node_name: {ros__parameters: {...}}', or '/**:' for every "
                    "node)")
            for entry, params in _node_entries(node, body):
                if "strict_params" in params:
                    strict_values.append(params["strict_params"])
                if entry == "/**":
                    everyone.update(params)  # (the names)
    if known is not None and all(v is not False for v in strict_values):
        check_known(everyone, known)


def _node_entries(key: str, body: Any) -> Iterable[tuple[str, dict[str, Any]]]:
    """``(node pattern, {dotted name: value})`` of each ``ros__parameters`` mapping under a
    params file's entry ``key`` (rcl's nested namespace form joins the keys with ``/``; nested
    parameter keys become dotted names)."""
    if "ros__parameters" in body:
        yield key, dict(_flatten(body["ros__parameters"] or {}))
        return
    for sub, inner in body.items():
        yield from _node_entries(f"{key.rstrip('/')}/{sub.lstrip('/')}", inner)


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Nested YAML parameter keys as ``(dotted.name, value)``, as rcl reads them."""
    for k, v in tree.items():
        if isinstance(v, Mapping):
            yield from _flatten(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _is_node_entry(body: Any) -> bool:
    """``{ros__parameters: {...}}``, or a namespace level holding such entries (rcl's nested
    form)."""
    if not isinstance(body, Mapping) or not body:
        return False
    if "ros__parameters" in body:
        return isinstance(body["ros__parameters"], Mapping) or body["ros__parameters"] is None
    return all(_is_node_entry(v) for v in body.values())


def batch_results(node: Node, parameter_list: Sequence[Parameter]) -> list[SetParametersResult]:
    """Apply ``parameter_list`` all or none (one ``set_parameters_atomically``), one result per
    parameter.

    rclpy's ``Node.set_parameters`` and its SetParameters service apply a request one parameter at
    a time, so ``[valid, invalid, valid]`` would apply two of three. Here either every parameter
    applies, or none does and each result carries the reason.
    """
    if not parameter_list:
        return []
    try:
        result = node.set_parameters_atomically(list(parameter_list))
    except ParameterNotDeclaredException:
        undeclared = [p.name for p in parameter_list if not node.has_parameter(p.name)]
        result = SetParametersResult(successful=False,
                                     reason="undeclared parameter(s): "
                                            f"{', '.join(map(repr, undeclared))}")
    if not result.successful and len(parameter_list) > 1:
        result = SetParametersResult(
            successful=False,
            reason=f"{result.reason} (request of {len(parameter_list)} parameters refused as a "
                   "whole: none applied)")
    return [SetParametersResult(successful=result.successful, reason=result.reason)
            for _ in parameter_list]


class BatchParameterService(ParameterService):
    """rclpy's parameter services, with SetParameters applying each request all or none
    (:func:`batch_results`)."""

    def _set_parameters_callback(self, request: Any, response: Any) -> Any:
        params = [Parameter.from_parameter_msg(p) for p in request.parameters]
        response.results = batch_results(self._get_node(), params)
        return response
