"""`omnibench data reference-prompts --benchmark ovobench|streamingbench PATH`: their prompt wording,
read from the user's own checkout with `ast` (string literals, f-strings, `+` of strings; nothing is run).

OVO-Bench (JoeLeelyf/OVO-Bench): the four templates of `constant.py` (multiple choice, REC, SSR,
CRR) and, from `utils/OVOBench.py`'s `build_prompt`, how options are lettered and joined and the
REC question built around the activity. StreamingBench (THUNLP-MT/StreamingBench): the templates
of `src/benchmark/StreamingBench.py` (with the line it appends after the options),
`StreamingBenchSQA.py` (with its context sentences) and `StreamingBenchProactive.py` (with its
yes/no poll). The result is a task prompts file ({task: {template: text}}) that `--reference`
picks up; the templates' positional {} become our named slots.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path

from omnibench.errors import ConfigError

Slot = Callable[[ast.expr], "str | None"]


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise ConfigError(f"cannot read the reference's {path.name} at {path}: {exc}") from exc


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def positional(text: str, names: list[str], where: str) -> str:
    """A str.format template with n positional {} as one with named slots (other braces escaped)."""
    pieces = text.split("{}")
    if len(pieces) - 1 != len(names):
        raise ConfigError(f"{where}: expected {len(names)} '{{}}' fields, found {len(pieces) - 1}")
    return "".join(_escape(p) + (f"{{{names[i]}}}" if i < len(names) else "") for i, p in enumerate(pieces))


def template(node: ast.AST, slot: Slot, where: str) -> str:
    """A literal, an f-string or a `+` of them as a template; `slot` names each expression it may hold."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _escape(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return template(node.left, slot, where) + template(node.right, slot, where)
    if isinstance(node, ast.JoinedStr):
        return "".join(template(part.value, slot, where) if isinstance(part, ast.FormattedValue)
                       else template(part, slot, where) for part in node.values)
    name = slot(node)   # type: ignore[arg-type]
    if name is None:
        raise ConfigError(f"{where}: unexpected expression {ast.unparse(node)[:60]!r}")
    return f"{{{name}}}"


def _key(node: ast.expr) -> tuple[str, object] | None:
    """`x` -> ('x', None); `x['k']` / `x[0]` -> ('x', 'k' / 0)."""
    if isinstance(node, ast.Name):
        return node.id, None
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and isinstance(node.slice, ast.Constant):
        return node.value.id, node.slice.value
    return None


def _slots(table: dict[tuple[str, object], str]) -> Slot:
    return lambda node: table.get(_key(node) or ("", None))


def _constant(module: ast.Module, name: str, where: str) -> str:
    for node in module.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    raise ConfigError(f"{where}: no module-level string {name}")


def _function(module: ast.Module, name: str, where: str) -> ast.FunctionDef:
    found = next((n for n in ast.walk(module) if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if found is None:
        raise ConfigError(f"{where}: no function {name}")
    return found


def _assigned(func: ast.AST, target: str, where: str, *, augmented: bool = False) -> list[ast.expr]:
    """The values assigned (or `+=`-ed) to `target` inside `func`, in source order."""
    kind = ast.AugAssign if augmented else ast.Assign
    values = [n.value for n in ast.walk(func) if isinstance(n, kind)
              and any(isinstance(t, ast.Name) and t.id == target
                      for t in ([n.target] if isinstance(n, ast.AugAssign) else n.targets))]
    if not values:
        raise ConfigError(f"{where}: no {'`+=`' if augmented else 'assignment'} to {target}")
    return sorted(values, key=lambda v: (v.lineno, v.col_offset))


# -- OVO-Bench -------------------------------------------------------------------------------------

def ovobench_prompts(checkout: Path) -> dict[str, dict[str, str]]:
    from omnibench.data.ovobench import BACKWARD, REALTIME, task_name

    constant, ovo = checkout / "constant.py", checkout / "utils" / "OVOBench.py"
    consts, build = _parse(constant), _function(_parse(ovo), "build_prompt", str(ovo))
    where = f"{ovo} (build_prompt)"
    joined = _assigned(build, "formatted_options", where)[0]
    # '<joiner>'.join(<f-string per option> for ...) + '<end>'
    if not (isinstance(joined, ast.BinOp) and isinstance(joined.left, ast.Call)
            and isinstance(joined.left.func, ast.Attribute) and isinstance(joined.left.func.value, ast.Constant)
            and joined.left.args and isinstance(joined.left.args[0], ast.GeneratorExp)):
        raise ConfigError(f"{where}: formatted_options is not '<sep>'.join(...) + '<end>'")
    letter = lambda n: "letter" if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "chr" else (  # noqa: E731
        "text" if isinstance(n, ast.Name) else None)
    option = template(joined.left.args[0].elt, letter, where)
    built = [v for v in _assigned(build, "question", where)          # the REC branch: a sum around `activity`
             if any(isinstance(n, ast.Name) and n.id == "activity" for n in ast.walk(v))]
    if not built:
        raise ConfigError(f"{where}: no `question = ... + activity + ...`")
    rec_question = template(built[0], _slots({("activity", None): "activity"}), where)
    br = positional(_constant(consts, "BR_PROMPT_TEMPLATE", str(constant)), ["question", "options"], str(constant))
    choice = {"question": br, "option": option, "options_joiner": str(joined.left.func.value.value),
              "options_end": template(joined.right, letter, where)}
    out = {task_name(code): dict(choice) for code in (*BACKWARD, *REALTIME)}
    out[task_name("REC")] = {"question": positional(_constant(consts, "REC_PROMPT_TEMPLATE", str(constant)),
                                                    ["question"], str(constant)).replace("{question}", rec_question)}
    out[task_name("SSR")] = {"question": positional(_constant(consts, "SSR_PROMPT_TEMPLATE", str(constant)),
                                                    ["step"], str(constant))}
    out[task_name("CRR")] = {"question": positional(_constant(consts, "CRR_PROMPT_TEMPLATE", str(constant)),
                                                    ["question"], str(constant))}
    return out


# -- StreamingBench --------------------------------------------------------------------------------

_OPTIONS = [f"option_{k}" for k in range(1, 5)]


def _options_suffix(func: ast.FunctionDef, where: str) -> str:
    """The constant `inp += "..."` of the branch taken when the question has options."""
    for node in ast.walk(func):
        if isinstance(node, ast.If) and any(isinstance(c, ast.Constant) and c.value == "options"
                                            for c in ast.walk(node.test)):
            values = _assigned(ast.Module(body=node.body, type_ignores=[]), "inp", where, augmented=True)
            return template(values[0], lambda n: None, where)
    raise ConfigError(f"{where}: no `if \"options\" in ...` branch appending to inp")


def streamingbench_prompts(checkout: Path) -> dict[str, dict[str, str]]:
    folder = checkout / "src" / "benchmark" if (checkout / "src" / "benchmark").is_dir() else checkout
    plain, sqa, proactive = (folder / f"{n}.py" for n in ("StreamingBench", "StreamingBenchSQA", "StreamingBenchProactive"))
    module = _parse(plain)
    question = positional(_constant(module, "PROMPT_TEMPLATE", str(plain)), ["question", *_OPTIONS], str(plain)) \
        + _options_suffix(_function(module, "StreamingBenchEval", str(plain)), str(plain))
    choice = {"question": question, "options": "reference"}
    module = _parse(sqa)
    where = f"{sqa} (StreamingBenchSQAEval)"
    added = _assigned(_function(module, "StreamingBenchSQAEval", str(sqa)), "context", where, augmented=True)
    slots = _slots({("question", "time_stamp"): "time_stamp", ("ques", None): "question",
                    ("question", "answer"): "answer", **{("options", k): _OPTIONS[k] for k in range(4)}})
    sequential = {**choice, "context": "gold", "context_start": template(added[0], lambda n: None, where),
                  "context_item": template(added[1], slots, where),
                  "with_context": positional(_constant(module, "PROMPT_TEMPLATE", str(sqa)),
                                             ["context", "question", *_OPTIONS], str(sqa))}
    module = _parse(proactive)
    where = f"{proactive} (StreamingBenchProactiveEval)"
    shell = positional(_constant(module, "PROMPT_TEMPLATE_PROACTIVE", str(proactive)), ["question"], str(proactive))
    query = template(_assigned(_function(module, "StreamingBenchProactiveEval", str(proactive)), "query", where)[0],
                     _slots({("question", "question"): "question", ("question", "ground_truth_output"): "output"}),
                     where)
    alert = {"request": shell, "poll": shell.replace("{question}", query), "answer": shell}
    return {"streamingbench_real": choice, "streamingbench_omni": dict(choice), "streamingbench_sqa": sequential,
            "streamingbench_proactive": alert}


READERS = {"ovobench": ovobench_prompts, "streamingbench": streamingbench_prompts}


def write_reference_prompts(benchmark: str, checkout: str | Path, out: str | Path) -> Path:
    """Read `benchmark`'s wording from `checkout` and write it as a task prompts file into `out`."""
    from omnibench.peer_reference import TASK_PROMPTS_FILE

    root = Path(checkout).expanduser()
    if not root.is_dir():
        raise ConfigError(f"{root} is not a directory: give the root of your {benchmark} checkout")
    prompts = READERS[benchmark](root)
    path = Path(out).expanduser() / TASK_PROMPTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(prompts, indent=2, ensure_ascii=False), encoding="utf-8")
    return path
