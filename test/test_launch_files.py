"""Packaging checks: launch files, the default parameter file, the FastDDS profile, env defaults.

``launch`` / ``launch_ros`` are not installed here, so the launch files are checked statically
(AST); ``tools/check_launch.py`` loads and runs them with the real packages.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import runpy
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from glare_inpaint_ros.core.params import flatten
from glare_inpaint_ros.core.pipeline import SCHEMA, load_config
from glare_inpaint_ros.ros import env

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))
LAUNCH_COMMON = ROOT / "glare_inpaint_ros" / "ros" / "launch_common.py"
REQUIRED_ARGS = {"namespace", "image", "params_file", "use_sim_time"}


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: the pipelines module loaded by path, as setup.py loads it (no package import, no rclpy).
PIPELINES = runpy.run_path(str(ROOT / "glare_inpaint_ros" / "ros" / "pipelines.py"))


def _console_scripts() -> set[str]:
    setup = (ROOT / "setup.py").read_text()
    assert (
        'runpy.run_path(PIPELINES_FILE)["console_scripts"]()' in setup
    ), "setup.py reads its NODES from pipelines.py"
    return set(PIPELINES["console_scripts"]())


def _launch_executables(path: Path) -> list[str]:
    """The executables a launch file passes to glare_launch_description (names from
    pipelines.py)."""
    calls = _calls(ast.parse(path.read_text(), filename=str(path)), "glare_launch_description")
    assert (
        len(calls) == 1
    ), "each launch file builds its description with launch_common.glare_launch_description"
    return list(
        eval(compile(ast.Expression(calls[0].args[0]), str(path), "eval"), dict(PIPELINES))
    )


def _calls(tree: ast.AST, func: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and (getattr(n.func, "id", None) == func or getattr(n.func, "attr", None) == func)]


def _first_str(call: ast.Call) -> str:
    assert call.args and isinstance(call.args[0], ast.Constant), ast.dump(call)
    return call.args[0].value


# --------------------------------------------------------------------------- launch files


def test_expected_launch_files_exist():
    names = {p.name for p in LAUNCH_FILES}
    assert {"glare_pipeline.launch.py", "glare_composed.launch.py"} <= names


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_compiles_and_names_real_executables(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    compile(tree, str(path), "exec")
    funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in funcs
    executables = _launch_executables(path)
    assert executables, "no node in the launch file"
    missing = set(executables) - _console_scripts()
    assert not missing, f"executables not in setup.py console_scripts: {missing}"


def test_pipeline_and_composed_launch_contents():
    by_name = {p.name: _launch_executables(p) for p in LAUNCH_FILES}
    assert by_name["glare_pipeline.launch.py"] == [
        "specular_detector", "mask_dilation", "inpainting",
    ]
    assert by_name["glare_composed.launch.py"] == ["glare_pipeline"]
    # no name for the composed process (one process, 3 nodes), the executable's name for the others
    glare_node = next(n for n in ast.walk(ast.parse(LAUNCH_COMMON.read_text()))
                      if isinstance(n, ast.FunctionDef) and n.name == "glare_node")
    name = next(k.value for c in _calls(glare_node, "Node") for k in c.keywords if k.arg == "name")
    assert ast.unparse(name) == "None if executable == COMPOSED else executable"
    assert PIPELINES["COMPOSED"] == "glare_pipeline"


def test_launch_arguments_declared_and_used():
    tree = ast.parse(LAUNCH_COMMON.read_text())
    declared = [_first_str(c) for c in _calls(tree, "DeclareLaunchArgument")]
    used = {_first_str(c) for c in _calls(tree, "LaunchConfiguration")}
    assert len(declared) == len(set(declared)), "an argument declared twice"
    assert REQUIRED_ARGS <= set(declared)
    assert used <= set(declared), f"used but not declared: {used - set(declared)}"
    assert set(declared) <= used, f"declared but unused: {set(declared) - used}"


def test_params_file_default_is_the_installed_default_yaml():
    tree = ast.parse(LAUNCH_COMMON.read_text())
    call = next(c for c in _calls(tree, "DeclareLaunchArgument") if _first_str(c) == "params_file")
    default = next(k.value for k in call.keywords if k.arg == "default_value")
    assert ast.unparse(default) == "share_config(PARAMS_FILE)"
    assert (
        env.PARAMS_FILE == "glare_inpaint.yaml" and (ROOT / "config" / env.PARAMS_FILE).is_file()
    )
    share = next(f for f in _calls(tree, "join"))
    assert [ast.unparse(a) for a in share.args[1:]] == ["'config'", "name"]
    # setup.py installs config/*.yaml and *.xml into share/<package>/config
    setup = (ROOT / "setup.py").read_text()
    assert 'glob("config/*.yaml") + glob("config/*.xml")' in setup


# -- default parameter file -----------------------------------------------------------------------


def test_default_yaml_is_generated_from_the_specs():
    gen = _tool("gen_params_yaml")
    text = (ROOT / "config" / "glare_inpaint.yaml").read_text()
    assert text == gen.render(
        gen.default_specs()
    ), "config/glare_inpaint.yaml is stale: run tools/gen_params_yaml.py"


def test_default_yaml_holds_every_default_and_validates():
    gen = _tool("gen_params_yaml")
    data = yaml.safe_load((ROOT / "config" / "glare_inpaint.yaml").read_text())
    assert list(data) == ["/**"] and list(data["/**"]) == ["ros__parameters"]
    values = flatten(data)
    node = {s.name: s for s in gen.node_specs()}
    assert set(SCHEMA.names()) <= set(values)
    assert set(values) == set(SCHEMA.names()) | set(node)
    for name, value in values.items():
        spec = SCHEMA[name] if name in SCHEMA else node[name]
        assert type(value) is spec.type and value == spec.default, name
        assert spec.coerce(value) == value
    assert load_config(ROOT / "config" / "glare_inpaint.yaml") == SCHEMA.defaults()


def test_yaml_formatting_round_trips_types():
    gen = _tool("gen_params_yaml")
    for value in (True, 0, 7, 0.25, 3.0, 1e-05, 2.5e20, "ellipse", [1.0, 2.0], ["a", "b"]):
        assert yaml.safe_load(f"k: {gen.format_value(value)}")["k"] == value
        assert type(yaml.safe_load(f"k: {gen.format_value(value)}")["k"]) is type(value)
    with pytest.raises(ValueError, match="empty list"):
        gen.format_value([])


# --------------------------------------------------------------------------- env + FastDDS profile


def test_apply_defaults_fills_only_unset_variables():
    environ: dict[str, str] = {}
    changed = env.apply_defaults(environ)
    assert environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert (
        Path(environ["FASTRTPS_DEFAULT_PROFILES_FILE"]) == ROOT / "config" / "fastdds_profile.xml"
    )
    assert changed == environ
    user = {
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET", "FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml",
    }
    assert env.apply_defaults(user) == {}
    assert user == {
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET", "FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml",
    }
    fastdds3 = {"FASTDDS_DEFAULT_PROFILES_FILE": "/mine.xml"}
    env.apply_defaults(fastdds3)
    assert "FASTRTPS_DEFAULT_PROFILES_FILE" not in fastdds3


def test_config_files_found_in_source_tree_without_ament_index(monkeypatch):
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    assert env.params_path() == ROOT / "config" / "glare_inpaint.yaml"
    assert env.profile_path() == ROOT / "config" / "fastdds_profile.xml"
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        env.config_file("nope.yaml")


def test_profile_content():
    ns = {"f": "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"}
    root = ET.parse(ROOT / "config" / "fastdds_profile.xml").getroot()
    shm = [
        t
        for t in root.iterfind(".//f:transport_descriptor", ns)
        if t.findtext("f:type", namespaces=ns) == "SHM"
    ]
    udp = [
        t
        for t in root.iterfind(".//f:transport_descriptor", ns)
        if t.findtext("f:type", namespaces=ns) == "UDPv4"
    ]
    assert (
        len(shm) == 1 and int(shm[0].findtext("f:segment_size", namespaces=ns)) >= 64 * 1024 * 1024
    )
    assert len(udp) == 1 and [a.text for a in udp[0].iterfind(".//f:address", ns)] == ["127.0.0.1"]
    participant = root.find("f:participant", ns)
    assert participant.get("is_default_profile") == "true"
    assert participant.findtext(".//f:useBuiltinTransports", namespaces=ns) == "false"
    ids = {t.findtext("f:transport_id", namespaces=ns) for t in shm + udp}
    assert {e.text for e in participant.iterfind(".//f:userTransports/f:transport_id", ns)} == ids


def _create_node_output(profile: Path) -> str:
    """The stdout + stderr of a process that creates one node with ``profile`` (FastDDS logs XML
    errors there)."""
    code = ("import rclpy; rclpy.init(); n = rclpy.create_node('profile_check'); "
            "n.destroy_node(); rclpy.shutdown()")
    e = dict(os.environ, FASTRTPS_DEFAULT_PROFILES_FILE=str(profile))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=e, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


@pytest.mark.ros
def test_fastdds_loads_the_profile_without_xml_errors(tmp_path):
    assert "XMLPARSER" not in _create_node_output(ROOT / "config" / "fastdds_profile.xml")
    broken = tmp_path / "broken.xml"
    broken.write_text(
        (ROOT / "config" / "fastdds_profile.xml")
        .read_text()
        .replace("<segment_size>", "<segment_sizeX>")
    )
    assert "XMLPARSER" in _create_node_output(broken)  # the check above can fail
