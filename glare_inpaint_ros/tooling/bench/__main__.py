"""``python -m glare_inpaint_ros.tooling.bench [...]``: the same as
``glare-inpaint bench [...]``."""

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
