#!/usr/bin/env bash
# The other lmms-eval direction, and the cross-check with a model that takes frames. Needs .venv-lmms.
# 1. a tiny random-weight Qwen2.5-VL checkpoint with its processor files (bench/_vs_lmms_model.py);
# 2. lmms-eval's own qwen2_5_vl class inside omnibench (`--model lmms:qwen2_5_vl`) on a synthetic
#    video task, offline and through the OfflineAsStreaming bridge; its answers must reach the board;
# 3. .ci/lmms_check.sh with omnibench's qwen2_5_vl adapter (it takes frames) instead of `blind`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${LMMS_VENV:-.venv-lmms}"
out="$(mktemp -d -t omnibench-lmms-models.XXXXXX)"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
"$venv/bin/python" bench/_vs_lmms_model.py build "$out/ckpt" > "$out/build.log" 2>&1 || { tail -20 "$out/build.log" >&2; exit 1; }
px=50176
lmms_args="pretrained=$out/ckpt,device=cpu,device_map=cpu,max_num_frames=4,min_pixels=$px,max_pixels=$px,num_frames=4"
for protocol in offline streaming; do
  task=synth_ap; [ "$protocol" = streaming ] && task=synth_pa
  echo "== omnibench run --model lmms:qwen2_5_vl --tasks $task --protocol $protocol --limit 1"
  "$venv/bin/omnibench" run --model lmms:qwen2_5_vl --model-args "$lmms_args" --tasks "$task" --protocol "$protocol" \
    --limit 1 --out "$out/run-$protocol" --quiet > "$out/run-$protocol.log" 2>&1 || { tail -30 "$out/run-$protocol.log" >&2; exit 1; }
done
"$venv/bin/omnibench" report "$out/run-offline" "$out/run-streaming" --out "$out/board" > "$out/report.log" 2>&1 \
  || { tail -20 "$out/report.log" >&2; exit 1; }
"$venv/bin/python" - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for protocol, task in (("offline", "synth_ap"), ("streaming", "synth_pa")):
    logs = list((out / f"run-{protocol}" / "logs" / task).glob("*.jsonl"))
    records = [json.loads(line) for p in logs for line in p.read_text().splitlines() if line.strip()]
    assert records and all(r["status"] == "ok" for r in records), f"{task} ({protocol}): no ok record: {records}"
    said = [e for r in records for e in r["events"] if e["kind"] == "emission" and e.get("text")]
    # offline always answers; through the bridge the model's yes/no polls are the record (it may stay silent)
    polls = [e for r in records for e in r["events"] if e["kind"] == "query"]
    assert said or protocol == "streaming" and polls, f"{task} ({protocol}): no answer logged"
    print(f"lmms:qwen2_5_vl {protocol} {task}: {len(records)} sample(s), {len(said)} emission(s)")
board = "\n".join(p.read_text() for p in (out / "board").rglob("*.csv"))
assert "lmms:qwen2_5_vl" in board and "synth_ap" in board and "synth_pa" in board, "the lmms model is not on the board"
print("lmms:qwen2_5_vl answers reach the board")
PY
echo "== lmms-eval round trip with omnibench's qwen2_5_vl (takes frames)"
LMMS_CHECK_MODEL=qwen2_5_vl LMMS_CHECK_TASKS=synth_ap \
  LMMS_CHECK_MODEL_ARGS="pretrained=$out/ckpt,device=cpu,num_frames=4,min_pixels=$px,max_pixels=$px" bash .ci/lmms_check.sh
rm -rf "$out"
