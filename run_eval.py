"""Thin shim over omnibench's CLI: `python run_eval.py [omnibench run flags]`; no flags runs the main job."""

import sys

from omnibench.cli import run_eval_main

if __name__ == "__main__":
    sys.exit(run_eval_main())
