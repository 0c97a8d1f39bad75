"""Rosbag workflows without a ROS install: offline processing (:mod:`.process`), DDS replay
(:mod:`.replay`), sample bags (:mod:`.sample`), and the ``rosbags`` I/O they share (:mod:`.io`)."""
