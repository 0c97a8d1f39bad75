"""Glare removal as three node processes: specular_detector -> mask_dilation -> inpainting.

Topics (relative to ``namespace``): ``image`` (remapped from the ``image`` argument) ->
``glare/mask_raw`` -> ``glare/mask`` -> ``image_deglared``. Arguments: ``namespace``, ``image``,
``params_file``, ``use_sim_time``, ``fastdds_profile`` (see glare_inpaint_ros.ros.launch_common).

    ros2 launch glare_inpaint_ros glare_pipeline.launch.py image:=/camera/image_raw
    ros2 launch glare_inpaint_ros glare_pipeline.launch.py namespace:=front image:=/front/image_raw
"""

from glare_inpaint_ros.ros.launch_common import glare_launch_description
from glare_inpaint_ros.ros.pipelines import PIPELINES


def generate_launch_description():
    return glare_launch_description(PIPELINES["three"])
