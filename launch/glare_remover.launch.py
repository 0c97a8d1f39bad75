"""Glare removal by the fused node ``glare_remover`` (detect + dilate + inpaint in one callback).

Lowest latency: ``image`` -> ``image_deglared`` (masks only published when subscribed). Arguments:
``namespace``, ``image``, ``params_file``, ``use_sim_time``, ``fastdds_profile`` (see
glare_inpaint_ros.ros.launch_common).

    ros2 launch glare_inpaint_ros glare_remover.launch.py image:=/camera/image_raw
"""

from glare_inpaint_ros.ros.launch_common import glare_launch_description
from glare_inpaint_ros.ros.pipelines import PIPELINES


def generate_launch_description():
    return glare_launch_description(PIPELINES["fused"])
