"""``python -m glare_inpaint_ros.tooling.eval ...``: the same as ``glare-inpaint eval ...``."""

import sys

from glare_inpaint_ros.tooling.cli import main

if __name__ == "__main__":
    sys.exit(main(["eval", *sys.argv[1:]]))
