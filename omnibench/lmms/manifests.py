"""Entry point (group `lmms_eval.models`): omnibench's offline models as lmms-eval models.

`--model omnibench_<name>` for every registered omnibench OfflineModel (m4, openai_compat, blind,
random, ...), and `--model omnibench --model_args model=<name>,...` for any of them. Imports no
lmms_eval module at import time; lmms-eval calls `manifests()` while it builds its registry.
"""

from __future__ import annotations

import re

MODEL_PREFIX = "omnibench_"
CLASS_MODULE = "omnibench.lmms.models"
CLASS_PREFIX = "OmnibenchModel_"
# offered even when the registry cannot be read (their adapters then say what is missing)
ALWAYS = ("blind", "random", "m4", "openai_compat")


def class_name(model: str) -> str:
    """A class attribute name for an omnibench model name (every non-alphanumeric escaped)."""
    return CLASS_PREFIX + re.sub(r"[^A-Za-z0-9]", lambda m: f"_{ord(m.group()):x}_", model)


def model_for_class(name: str) -> str:
    """The inverse of `class_name`."""
    if not name.startswith(CLASS_PREFIX):
        raise ValueError(f"{name!r} is not an omnibench lmms-eval model class")
    return re.sub(r"_([0-9a-f]+)_", lambda m: chr(int(m.group(1), 16)), name[len(CLASS_PREFIX):])


def offline_model_names() -> list[str]:
    """Registered omnibench models that answer offline (have `generate`), plus ALWAYS."""
    names = set(ALWAYS)
    try:
        from omnibench import registry

        for name, entry in registry.models().items():
            factory = entry.factory
            if not isinstance(factory, type) or callable(getattr(factory, "generate", None)):
                names.add(name)
    except Exception:  # a broken omnibench plugin must not take lmms-eval's model list down
        pass
    return sorted(names)


def manifests() -> list:
    from lmms_eval.models.registry_v2 import ModelManifest

    out = [ModelManifest(model_id="omnibench", simple_class_path=f"{CLASS_MODULE}.OmnibenchModel")]
    for name in offline_model_names():
        out.append(ModelManifest(model_id=MODEL_PREFIX + name, simple_class_path=f"{CLASS_MODULE}.{class_name(name)}"))
    return out
