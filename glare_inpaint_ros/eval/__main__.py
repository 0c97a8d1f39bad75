"""``python -m glare_inpaint_ros.eval ...``: the same as ``glare-inpaint eval ...``."""

import sys

from glare_inpaint_ros.cli import main

if __name__ == "__main__":
    sys.exit(main(["eval", *sys.argv[1:]]))
