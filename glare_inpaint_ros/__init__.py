"""glare_inpaint_ros: remove glare and specular highlights from camera images before detection.

``glare_inpaint_ros.core`` is ROS-free (numpy / OpenCV / onnxruntime / torch);
``glare_inpaint_ros.ros`` is the thin ROS 2 layer on top of it.
"""

__version__ = "0.1.0"
