"""MIO-7B-Instruct (any-to-any model on discrete image and speech tokens) on the offline protocol.

MIO reads images and speech as tokens of its own vocabulary (`<img123>`, `<spch45>`), made by the
SEED image tokenizer and SpeechTokenizer that ship with the MIO code, so this adapter needs that
code next to the weights. Real set-up (GPU; the tokenizers need torchvision, torchaudio, omegaconf):

    git clone https://github.com/MIO-Team/MIO /opt/MIO && pip install -r /opt/MIO/requirements.txt
    huggingface-cli download m-a-p/MIO-7B-Instruct --local-dir /models/MIO-7B-Instruct
    omnibench run --tasks omnimmi --model mio \
        --model-args mio_repo=/opt/MIO,pretrained=/models/MIO-7B-Instruct,num_frames=8

`mio_repo` is put on sys.path when the adapter is built (never at import) and the tokenizer is
constructed with the repo as working directory, because `MIOTokenizer` reads its image-transform
configs by relative path. `pretrained` must be a local directory: the image and speech tokenizer
checkpoints are read from inside it. Video goes in as keyframes (the engine's sampled frames, as
`<image_placeholder_i>` in the user turn, written to temporary JPEGs because MIOTokenizer opens
images by path); a spoken query (`request.audio`, `speech=true`) goes in as
`<speech_placeholder_0>` after the frames. Answers are read in MIO's "std" mode (text out);
any image/speech tokens in the reply are dropped.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omnibench.engine.protocols import OfflineRequest
from omnibench.errors import ConfigError, ModelError
from omnibench.models import _hf_common as hf
from omnibench.registry import model

_MEDIA_RUN = re.compile(r"<image>.*?</image>|<spch>.*?</spch>|<img\d+>|<spch\d+>", re.S)


def load_mio_tokenizer_class(mio_repo: str):
    """`tokenization_mio.MIOTokenizer` from a checkout of the MIO repository."""
    repo = Path(mio_repo).expanduser().resolve()
    if not (repo / "tokenization_mio.py").is_file():
        raise ConfigError(f"mio_repo={mio_repo!r} has no tokenization_mio.py; clone https://github.com/MIO-Team/MIO")
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    try:
        return repo, importlib.import_module("tokenization_mio").MIOTokenizer
    except ImportError as exc:
        raise ConfigError(f"cannot import MIO's tokenizer from {repo}: {exc}; "
                          f"install the repository's requirements") from exc


@model("mio", description="MIO-7B-Instruct: keyframes as image tokens, optional speech query (needs mio_repo=)")
class MIO:
    deterministic = True
    max_concurrency = 1

    def __init__(self, mio_repo: str, pretrained: str, device: str = "auto", dtype: str = "auto",
                 attn_implementation: str | None = None, num_frames: int = 8, speech: bool = True,
                 num_beams: int = 1, repetition_penalty: float = 1.0, mode: str = "std",
                 device_map: str | None = None):
        from transformers import AutoModelForCausalLM

        self.num_frames = num_frames
        self.accepts_audio = speech
        self.num_beams, self.repetition_penalty, self.mode = num_beams, repetition_penalty, mode
        local = Path(pretrained).expanduser()
        if not local.is_dir():
            raise ConfigError(f"mio: pretrained={pretrained!r} must be a local directory (its image and "
                              f"speech tokenizers are read from it); download it first")
        repo, tokenizer_class = load_mio_tokenizer_class(mio_repo)
        self.model, self.device = hf.load_pretrained(AutoModelForCausalLM, str(local.resolve()), device=device,
                                                     dtype=dtype, attn_implementation=attn_implementation,
                                                     device_map=device_map)
        with _working_dir(repo):   # MIOTokenizer opens image_tokenizer/configs/*.yaml relative to cwd
            self.tokenizer = tokenizer_class(str(local.resolve()), device=self.device)
        text_tokenizer = self.tokenizer.tokenizer
        self.stop_id = text_tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.pad_id = text_tokenizer.pad_token_id if text_tokenizer.pad_token_id is not None else self.stop_id

    def conversation(self, request: OfflineRequest, n_images: int, with_speech: bool) -> list[dict[str, str]]:
        media = "".join(f"<image_placeholder_{i}>" for i in range(n_images))
        if with_speech:
            media += "<speech_placeholder_0>"
        turns = [{"role": m.role, "content": m.text} for m in request.history if m.role != "system"]
        turns.append({"role": "user", "content": (media + "\n" if media else "") + request.prompt})
        return turns

    def tokenize(self, request: OfflineRequest, workdir: Path) -> dict[str, Any]:
        from PIL import Image

        image_paths: list[str] = []
        for i, frame in enumerate(request.frames if request.frames is not None else []):
            path = workdir / f"frame_{i:04d}.jpg"
            Image.fromarray(frame).save(path, quality=95)
            image_paths.append(str(path))
        speech = [request.audio] if request.audio and self.accepts_audio else []
        # MIOTokenizer.__call__ hands every image list to tokenize_images, which reads images[0]:
        # a request without frames (the offline-as-streaming bridge's first ask) must pass None
        return self.tokenizer.apply_chat_template(
            [self.conversation(request, len(image_paths), bool(speech))],
            batch_image_paths=[image_paths] if image_paths else None,
            batch_speech_paths=[speech] if speech else None, mode=self.mode, add_generation_prompt=True, tokenize=True,
            add_timbre=False, return_tensors="pt", padding="longest")

    def generate(self, request: OfflineRequest) -> str:
        import torch

        with tempfile.TemporaryDirectory(prefix="omnibench-mio-") as tmp:
            encoded = self.tokenize(request, Path(tmp))
            ids = encoded["input_ids"].to(self.device)
            mask = encoded["attention_mask"].to(self.device)
            sampling = request.temperature > 0
            with torch.inference_mode():
                out = self.model.generate(
                    input_ids=ids, attention_mask=mask, max_new_tokens=request.max_new_tokens,
                    do_sample=sampling, num_beams=self.num_beams, repetition_penalty=self.repetition_penalty,
                    eos_token_id=self.stop_id, pad_token_id=self.pad_id,
                    **({"temperature": request.temperature} if sampling else {}))
            texts, _, _ = self.tokenizer.detokenize(
                out[:, ids.shape[1]:], output_image_dir=str(Path(tmp) / "img"),
                output_speech_dir=str(Path(tmp) / "spch"), save_images=False, save_speeches=False,
                extract_assistant=True)
        if not texts:
            raise ModelError("mio: the tokenizer decoded no text")
        return _MEDIA_RUN.sub("", texts[0]).replace("<|im_end|>", "").replace("</s>", "").strip()


@contextlib.contextmanager
def _working_dir(path: str | Path) -> Iterator[None]:
    """contextlib.chdir, which Python 3.10 lacks."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)
