#!/usr/bin/env bash
# lmms-eval round trip: an omnibench model on omnibench tasks *inside lmms-eval* must give the
# numbers `omnibench run` + `omnibench score` give on the same samples. Needs .venv-lmms (see .ci/run).
# Env: LMMS_VENV (default .venv-lmms), LMMS_CHECK_MODEL (blind), LMMS_CHECK_MODEL_ARGS (the adapter's
#      settings, key=value,... given to both tools), LMMS_CHECK_TASKS (synth_ap,synth_si),
#      LMMS_CHECK_OUT (default: a temp dir, removed on success).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${LMMS_VENV:-.venv-lmms}"
model="${LMMS_CHECK_MODEL:-blind}"
tasks="${LMMS_CHECK_TASKS:-synth_ap,synth_si}"
model_args="${LMMS_CHECK_MODEL_ARGS:-}"
out="${LMMS_CHECK_OUT:-$(mktemp -d -t omnibench-lmms-check.XXXXXX)}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if [ ! -x "$venv/bin/lmms-eval" ]; then
  echo "lmms-check: $venv/bin/lmms-eval not found; set up the lmms-eval venv first (see .ci/run)" >&2
  exit 2
fi
if ! "$venv/bin/python" -c "import sys; from lmms_eval.models import MODEL_REGISTRY_V2 as r; sys.exit('omnibench_$model' not in r.list_model_names())"; then
  echo "lmms-check: lmms-eval does not know omnibench_$model: is omnibench installed in $venv with its" \
       "[project.entry-points.\"lmms_eval.models\"] entry point?" >&2
  exit 2
fi

mkdir -p "$out"
include="$("$venv/bin/omnibench" lmms-eval-path)"
lmms_tasks="$(echo "$tasks" | sed -E 's/(^|,)/\1omnibench_/g')"
echo "== lmms-eval --model omnibench_$model --tasks $lmms_tasks --include_path $include"
"$venv/bin/lmms-eval" --model "omnibench_$model" --model_args "${model_args:+$model_args,}response_cache=false" --tasks "$lmms_tasks" --include_path "$include" \
  --output_path "$out/lmms" --log_samples > "$out/lmms.log" 2>&1 || { tail -40 "$out/lmms.log" >&2; exit 1; }
echo "== omnibench run --model $model --tasks $tasks --protocol offline"
"$venv/bin/omnibench" run --model "$model" ${model_args:+--model-args "$model_args"} --tasks "$tasks" --protocol offline --out "$out/omnibench" --quiet --no-score
"$venv/bin/omnibench" score "$out/omnibench" --tasks "$tasks" --json > "$out/omnibench_scores.json"
if "$venv/bin/python" -m omnibench.lmms.check "$out/lmms" "$out/omnibench_scores.json" --tasks "$tasks"; then
  [ -n "${LMMS_CHECK_OUT:-}" ] || rm -rf "$out"
else
  tail -20 "$out/lmms.log" >&2
  echo "lmms-check: outputs kept in $out" >&2
  exit 1
fi
