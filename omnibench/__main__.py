"""`python -m omnibench ...`: the same as the `omnibench` command."""

import sys

from omnibench.cli import main

if __name__ == "__main__":
    sys.exit(main())
