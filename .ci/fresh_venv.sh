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
start=$(date +%s)
HOME="$work/home" PATH="$work/venv/bin:$PATH" VIRTUAL_ENV="$work/venv" bash -euo pipefail -c "$first" > "$work/out.txt" 2>&1 \
  || { tail -40 "$work/out.txt"; echo "fresh venv: the README's first command failed"; exit 1; }
first_s=$(( $(date +%s) - start ))
board="$work/omnibench/leaderboards/synth"
for f in leaderboard.csv leaderboard.md index.html; do
  [ -s "$board/$f" ] || { echo "fresh venv: $board/$f missing or empty"; exit 1; }
done
for m in silent chatty random blind m4-tiny; do
  grep -q "^| $m |" "$board/leaderboard.md" || { echo "fresh venv: no '$m' row in leaderboard.md"; exit 1; }
  grep -q ",$m," "$board/leaderboard.csv" || { echo "fresh venv: no '$m' rows in leaderboard.csv"; exit 1; }
done
echo "fresh venv: board written with all five models"
# the same command again resumes from the event logs: no sample runs twice, the same table, far sooner
start=$(date +%s)
HOME="$work/home" PATH="$work/venv/bin:$PATH" VIRTUAL_ENV="$work/venv" bash -euo pipefail -c "python run_eval.py" > "$work/again.txt" 2>&1 \
  || { tail -40 "$work/again.txt"; echo "fresh venv: the second run failed"; exit 1; }
again_s=$(( $(date +%s) - start ))
table() { sed -n '/^| model |/,/^$/p' "$1"; }
[ "$(table "$work/out.txt")" = "$(table "$work/again.txt")" ] || { echo "fresh venv: the resumed run printed another table"; exit 1; }
[ $(( again_s * 2 )) -lt "$first_s" ] || { echo "fresh venv: the resume took ${again_s}s against ${first_s}s cold"; exit 1; }
echo "fresh venv: resumed in ${again_s}s (cold: ${first_s}s) with the same table"
