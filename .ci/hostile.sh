#!/usr/bin/env bash
# issue 24's hostile inputs, each in its own process under a time and memory limit: 0 crashes, hangs, leaks, wrong
set -euo pipefail
cd "$(dirname "$0")/.."
python -m tests.adversarial
