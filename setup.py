"""ament_python package setup: installs launch/, config/ and the package marker into share/."""

from glob import glob
import os
import runpy

from setuptools import find_namespace_packages, setup

package_name = "glare_inpaint_ros"

# The nodes' console scripts, declared in glare_inpaint_ros/ros/pipelines.py (loaded by path: plain
# data, so setup.py imports neither the package nor rclpy).
PIPELINES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), package_name, "ros",
                              "pipelines.py")
NODES = runpy.run_path(PIPELINES_FILE)["console_scripts"]()

setup(
    name=package_name,
    version="0.1.0",
    packages=find_namespace_packages(include=["glare_inpaint_ros", "glare_inpaint_ros.*"]),
    package_data={package_name: ["models/*.onnx", "models/*.yaml", "models/*.pt"]},
    include_package_data=True,
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        (os.path.join("share", package_name, "launch"), glob("launch/*.launch.py")),
        (os.path.join("share", package_name, "config"),
         glob("config/*.yaml") + glob("config/*.xml")),
    ],
    python_requires=">=3.10",
    install_requires=["setuptools", "numpy", "opencv-python-headless", "pyyaml", "tqdm"],
    extras_require={
        "onnx": ["onnxruntime"],
        "torch": ["torch"],
        "bags": ["rosbags"],
        # rapidocr-onnxruntime: the OCR downstream client of `glare-inpaint eval` (PP-OCRv4 models
        # in the wheel)
        "eval": ["scikit-image", "matplotlib", "rapidocr-onnxruntime"],
        "test": ["pytest", "hypothesis", "onnx", "rosbags", "scikit-image", "matplotlib",
                 "onnxruntime",
                 "rapidocr-onnxruntime"],
    },
    zip_safe=True,
    maintainer="glare_inpaint_ros maintainers",
    maintainer_email="maintainers@glare-inpaint-ros.invalid",
    description="Glare / specular highlight removal (detect, dilate, inpaint) as ROS 2 nodes.",
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [f"{name} = {target}" for name, target in NODES.items()]
        + ["glare-inpaint = glare_inpaint_ros.tooling.cli:main"],
    },
)
