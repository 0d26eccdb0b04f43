"""clrt-polygraphy: the polygraphy command with clrt as TensorRT (inspect, convert, debug, run
--clrt, ...)."""

import sys

from . import use_clrt


def main():
    use_clrt()
    from polygraphy.tools import main as polygraphy_main

    return polygraphy_main()


if __name__ == "__main__":
    sys.exit(main())
