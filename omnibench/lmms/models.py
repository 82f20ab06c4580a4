"""omnibench OfflineModels as lmms-eval models (simple type). Imported only by lmms-eval.

`OmnibenchModel` takes `omnibench_model=<omnibench name>` plus that adapter's settings; the classes
`OmnibenchModel_<name>` (made on first attribute access, see `manifests.class_name`) fix the
name, so `--model omnibench_m4 --model_args ...` works. Every adapter runs inside omnibench's
GuardedModel (retries, timeout, response cache), as in `omnibench run`.
"""

from __future__ import annotations

from typing import Any

from lmms_eval.api.model import lmms

from omnibench.lmms.manifests import CLASS_PREFIX, model_for_class


class OmnibenchModel(lmms):
    is_simple = True
    omnibench_name: str | None = None

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None) -> OmnibenchModel:
        """Only --model_args reach the adapter: lmms-eval's --batch_size/--device are not its settings."""
        from lmms_eval import utils

        return cls(**utils.simple_parse_args_string(arg_string or ""))

    def __init__(self, omnibench_model: str | None = None, call_timeout_s: float | None = None,
                 response_cache: bool | str = True, **settings: Any) -> None:
        super().__init__()
        from omnibench import registry
        from omnibench.cache import cache_dir, stable_hash
        from omnibench.engine.capabilities import capabilities_of
        from omnibench.engine.wrapper import GuardedModel, ResponseCache
        from omnibench.errors import ConfigError
        from omnibench.identity import model_spec

        name = self.omnibench_name or omnibench_model
        if not name:
            raise ConfigError("--model omnibench needs --model_args omnibench_model=<omnibench model name>")
        inner = registry.get_model(name, **settings)
        if not callable(getattr(inner, "generate", None)):
            raise ConfigError(f"omnibench model {name!r} is streaming-only; lmms-eval needs an offline model")
        caps = capabilities_of(inner, name)
        spec = model_spec(name, inner, settings, caps)
        # the rule of `omnibench run`; response_cache=false: every answer computed here (the cross-check
        # compares with a fresh omnibench run, which must not be handed these answers)
        use_cache = (str(response_cache).lower() not in ("0", "false", "no")
                     and caps.deterministic and caps.weights_fingerprint is not None)
        scope = spec.model_identity()
        cache = ResponseCache(cache_dir() / "responses" / stable_hash(scope)[:16]) if use_cache else None
        self.model = GuardedModel(inner, model_id=name, settings=spec.model_args, timeout_s=call_timeout_s,
                                  cache=cache, cache_scope=scope)

    def generate_until(self, requests) -> list[str]:
        from tqdm.auto import tqdm

        return [self._answer(r) for r in tqdm(requests, disable=self.rank != 0, desc="omnibench model")]

    def _answer(self, request) -> str:
        from omnibench.engine.offline import respond
        from omnibench.lmms.requests import is_omnibench_doc, request_from_doc, request_from_visuals

        context, gen_kwargs, doc_to_visual, doc_id, task, split = request.args
        doc = self.task_dict[task][split][doc_id]
        if is_omnibench_doc(doc):
            offline = request_from_doc(doc, self.model, gen_kwargs)
            # the turn-taking head as in omnibench: on every turn of a turn-taking task
            text, _, _ = respond(self.model, offline, bool(doc.get("turn_taking")))
            return text
        visuals = doc_to_visual(doc) if callable(doc_to_visual) else []
        offline = request_from_visuals(context, visuals if isinstance(visuals, list) else [visuals], self.model,
                                       gen_kwargs, task=task, sample_id=str(doc_id))
        return self.model.generate(offline)[0]

    def generate_until_multi_round(self, requests) -> list[str]:
        return self.generate_until(requests)

    def loglikelihood(self, requests):
        raise NotImplementedError("omnibench models only generate text; loglikelihood tasks are not supported")


def __getattr__(name: str) -> type[OmnibenchModel]:
    """`OmnibenchModel_<escaped name>`: a subclass bound to that omnibench model, made on demand."""
    if not name.startswith(CLASS_PREFIX):
        raise AttributeError(name)
    cls = type(name, (OmnibenchModel,), {"omnibench_name": model_for_class(name), "__module__": __name__})
    globals()[name] = cls
    return cls
