"""Glare removal with the three nodes composed in one process (executable ``glare_pipeline``).

Same nodes, topics and parameters as glare_pipeline.launch.py, one process and one executor:
no inter-process copies of the frames. Arguments: ``namespace``, ``image``, ``params_file``,
``use_sim_time``, ``fastdds_profile``, ``add_node`` (your node classes in the same process),
``pipeline`` (``three`` / ``fused``); see glare_inpaint_ros.ros.launch_common.

    ros2 launch glare_inpaint_ros glare_composed.launch.py image:=/camera/image_raw
    ros2 launch glare_inpaint_ros glare_composed.launch.py pipeline:=fused
    add_node:=my_detector.node:Detector
"""

from glare_inpaint_ros.ros.launch_common import glare_launch_description
from glare_inpaint_ros.ros.pipelines import COMPOSED


def generate_launch_description():
    return glare_launch_description([COMPOSED])
