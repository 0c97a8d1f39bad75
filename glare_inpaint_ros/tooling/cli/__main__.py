"""``python -m glare_inpaint_ros.tooling.cli ...``: the same as ``glare-inpaint ...``."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
