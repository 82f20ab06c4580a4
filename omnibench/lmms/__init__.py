"""lmms-eval interop: omnibench tasks and models inside lmms-eval, lmms-eval models inside omnibench.

- `omnibench.lmms.tasks`: writes lmms-eval task YAMLs + JSONL docs (`omnibench lmms-eval-path`),
  and the doc hooks those YAMLs name.
- `omnibench.lmms.scoring`: `process_results` / `aggregate`, which run omnibench's own scorers.
- `omnibench.lmms.models` + `manifests`: omnibench models as lmms-eval models (entry point).
- `omnibench.lmms.from_lmms`: any lmms-eval model as an omnibench OfflineModel (`--model lmms:<name>`).

Nothing here imports lmms_eval at import time except `omnibench.lmms.models`, which only
lmms-eval itself imports.
"""
