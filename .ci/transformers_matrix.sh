#!/usr/bin/env bash
# CI: M4 checkpoints load (both CLIP layouts, openai-whisper names) and answer on the lowest and the newest
# transformers that pyproject.toml allows, each in a small venv over the system torch.
# The newest venv also gets openai-whisper (no deps: its triton pin is not needed for the encoder) so the
# speech encoder is compared with openai-whisper's own.
set -euo pipefail
cd "$(dirname "$0")/.."

floor=$(python - <<'PY'
import re, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["models"]
print(next(re.search(r">=\s*([\d.]+)", d).group(1) for d in deps if d.startswith("transformers")))
PY
)
tests="tests/m4/model/test_checkpoint.py tests/m4/model/test_modeling.py tests/models/test_m4.py tests/models/test_m4_audio.py"
# the hub-kernels extra pins the `kernels` release each transformers was made for: 5.0's import breaks on
# the newer kernels that the system's newest transformers pulls in (visible here through --system-site-packages)
for spec in "transformers[hub-kernels]==${floor}" "transformers[hub-kernels]>=${floor}"; do
  venv=".venv-tf-$([ "${spec#*==}" != "$spec" ] && echo lowest || echo newest)"
  python -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install -q --upgrade "$spec" safetensors pillow pytest
  "$venv/bin/pip" install -q --no-deps -e .
  if [ "$venv" = ".venv-tf-newest" ]; then
    "$venv/bin/pip" install -q --no-deps openai-whisper
    "$venv/bin/pip" install -q tiktoken numba more-itertools
  fi
  echo "M4 checkpoint tests on $("$venv/bin/python" -c 'import transformers; print(transformers.__version__)')"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider $tests
done
