"""One small error hierarchy: every message says what went wrong and where."""

from __future__ import annotations

import os


class OmnibenchError(Exception):
    """Base of every error omnibench raises on purpose (the CLI prints these without traceback)."""


class DataError(OmnibenchError):
    """A data file or record is unusable; the message names file, record index and field."""

    def __init__(self, message: str, *, file: str | None = None, index: int | None = None,
                 field: str | None = None):
        where = ", ".join(
            part for part in (
                f"file {file}" if file else "",
                f"record {index}" if index is not None else "",
                f"field '{field}'" if field else "",
            ) if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.index, self.field = file, index, field


class VideoError(OmnibenchError):
    """A video cannot be read; the message names the path and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        super().__init__(f"cannot read video {path}: {reason}")
        self.path, self.reason = str(path), reason


class ModelError(OmnibenchError):
    """A model adapter failed or returned something invalid."""


class TransientModelError(ModelError):
    """A failure worth retrying (rate limit, dropped connection); the wrapper retries these."""


class JudgeError(OmnibenchError):
    """The LLM judge could not produce a usable verdict."""


class ConfigError(OmnibenchError):
    """Unknown task/model name, bad flag or bad model argument."""
