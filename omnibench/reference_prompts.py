"""`omnibench data reference-prompts PATH`: the reference's prompt wording, read from the user's checkout.

The OmniMMI reference's sentences are not ours to ship, so they are read from the user's own copy
of the repository: the judge messages from `evaluations/evaluate.py` (function `openai_eval`, its
`messages` list of {"role", "content"} dicts) and the AP sentence from
`evaluations/inference_utils.py` (the f-string assigned to `question` that formats `vocab`).
Both are read with the `ast` module as string literals and f-strings; nothing is run. The result
is a judge prompt file (omnibench.scoring.judge.prompts format) and a task prompts file
({"omnimmi_ap": {"question": ...}}), which `--reference omnimmi` picks up.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from omnibench.errors import ConfigError

JUDGE_SLOTS = {"question": "{question}", "answer": "{answer}", "pred": "{prediction}"}
AP_SLOTS = {"question": "{question}", "vocab": "{vocab}"}


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise ConfigError(f"cannot read the reference's {path.name} at {path}: {exc}") from exc


def _text(node: ast.AST, slots: dict[str, str], *, escape_braces: bool, where: str) -> str:
    """A string literal or f-string as a template: each {name} of `slots` becomes its slot."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}") if escape_braces else node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                if not (isinstance(part.value, ast.Name) and part.value.id in slots):
                    raise ConfigError(f"{where}: unexpected f-string field {ast.dump(part.value)[:60]}")
                parts.append(slots[part.value.id])
            else:
                parts.append(_text(part, slots, escape_braces=escape_braces, where=where))
        return "".join(parts)
    raise ConfigError(f"{where}: expected a string or f-string, found {type(node).__name__}")


def judge_prompt(evaluate_py: Path) -> dict[str, str]:
    """{"version", "system", "user"} from `openai_eval`'s messages in the reference's evaluate.py."""
    where = f"{evaluate_py} (openai_eval)"
    func = next((n for n in ast.walk(_parse(evaluate_py)) if isinstance(n, ast.FunctionDef) and n.name == "openai_eval"), None)
    if func is None:
        raise ConfigError(f"{evaluate_py}: no function openai_eval; is this OmniMMI's evaluations/evaluate.py?")
    messages = next((n.value for n in ast.walk(func) if isinstance(n, ast.Assign) and isinstance(n.value, ast.List)
                     and any(isinstance(t, ast.Name) and t.id == "messages" for t in n.targets)), None)
    if messages is None:
        raise ConfigError(f"{where}: no `messages = [...]` list")
    by_role: dict[str, str] = {}
    for item in messages.elts:
        if not isinstance(item, ast.Dict):
            raise ConfigError(f"{where}: a message is not a dict literal")
        fields = {k.value: v for k, v in zip(item.keys, item.values) if isinstance(k, ast.Constant)}
        role = fields.get("role")
        if not (isinstance(role, ast.Constant) and "content" in fields):
            raise ConfigError(f"{where}: a message lacks 'role' or 'content'")
        by_role[str(role.value)] = _text(fields["content"], JUDGE_SLOTS, escape_braces=False, where=where)
    if set(by_role) != {"system", "user"}:
        raise ConfigError(f"{where}: expected a system and a user message, found {sorted(by_role)}")
    missing = [s for s in JUDGE_SLOTS.values() if s not in by_role["user"]]
    if missing:
        raise ConfigError(f"{where}: the user message lacks {', '.join(missing)}")
    digest = hashlib.sha256((by_role["system"] + "\0" + by_role["user"]).encode()).hexdigest()[:10]
    return {"version": f"omnimmi-reference-{digest}", "system": by_role["system"], "user": by_role["user"]}


def ap_prompt(inference_utils_py: Path) -> str:
    """The AP question template ({question}, {vocab}) from the reference's inference_utils.py."""
    where = f"{inference_utils_py} (AP question)"
    for node in ast.walk(_parse(inference_utils_py)):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.JoinedStr)
                and any(isinstance(t, ast.Name) and t.id == "question" for t in node.targets)
                and any(isinstance(p, ast.FormattedValue) and isinstance(p.value, ast.Name) and p.value.id == "vocab"
                        for p in node.value.values)):
            return _text(node.value, AP_SLOTS, escape_braces=True, where=where)
    raise ConfigError(f"{where}: no `question = f\"...{{vocab}}...\"`; is this OmniMMI's evaluations/inference_utils.py?")


def write_reference_prompts(checkout: str | Path, out: str | Path) -> dict[str, Path]:
    """Read both from `checkout` (the repository root or its evaluations/) and write them into `out`."""
    from omnibench.reference import JUDGE_PROMPT_FILE, TASK_PROMPTS_FILE

    root = Path(checkout).expanduser()
    folder = root / "evaluations" if (root / "evaluations").is_dir() else root
    for name in ("evaluate.py", "inference_utils.py"):
        if not (folder / name).is_file():
            raise ConfigError(f"{folder / name} not found: give the root of an OmniMMI checkout")
    judge = judge_prompt(folder / "evaluate.py")
    tasks = {"omnimmi_ap": {"question": ap_prompt(folder / "inference_utils.py")}}
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    paths = {"judge": out / JUDGE_PROMPT_FILE, "tasks": out / TASK_PROMPTS_FILE}
    paths["judge"].write_text(json.dumps(judge, indent=2), encoding="utf-8")
    paths["tasks"].write_text(json.dumps(tasks, indent=2), encoding="utf-8")
    return paths
