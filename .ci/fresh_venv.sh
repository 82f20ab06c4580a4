#!/usr/bin/env bash
# The README's first command, exactly as written, in a fresh venv on a clean copy under an empty HOME;
# then the board files must hold every main-job model. Usage: bash .ci/fresh_venv.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/omnibench"
python -m venv "$work/venv"
# the README's first bash block, first line, comment dropped
first="$(awk '/^```bash/{f=1;next} f&&/^```/{exit} f{print;exit}' "$repo/README.md" | sed 's/[[:space:]]*#.*$//')"
echo "fresh venv: $first"
cd "$work/omnibench"
# a CPU torch wheel first, as the README tells GPU-less machines (this CI's wheel source; pip keeps it)
"$work/venv/bin/python" -m pip install -q "torch==${OMNIBENCH_CI_TORCH:-2.13.0}"
HOME="$work/home" PATH="$work/venv/bin:$PATH" VIRTUAL_ENV="$work/venv" bash -euo pipefail -c "$first" > "$work/out.txt" 2>&1 \
  || { tail -40 "$work/out.txt"; echo "fresh venv: the README's first command failed"; exit 1; }
board="$work/omnibench/leaderboards/synth"
for f in leaderboard.csv leaderboard.md index.html; do
  [ -s "$board/$f" ] || { echo "fresh venv: $board/$f missing or empty"; exit 1; }
done
for m in silent chatty random blind m4-tiny; do
  grep -q "^| $m |" "$board/leaderboard.md" || { echo "fresh venv: no '$m' row in leaderboard.md"; exit 1; }
  grep -q ",$m," "$board/leaderboard.csv" || { echo "fresh venv: no '$m' rows in leaderboard.csv"; exit 1; }
done
echo "fresh venv: board written with all five models"
