"""The optional extras an adapter needs, checked when it is built (once), not when a sample runs."""

from __future__ import annotations

import importlib

from omnibench.errors import ConfigError


def require_extra(adapter: str, extra: str, *modules: str) -> None:
    """Import `modules` now; a missing one is a ConfigError naming it and the pip line of `extra`
    (an extra of pyproject.toml's optional-dependencies)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"{adapter} needs {name}, which is not installed ({exc}): "
                              f'pip install "omnibench[{extra}]"') from None
