"""SFT data for M4: render the ChatML template, build the label mask, expand media placeholders, pad.

Labels (M4_SPEC "M4-IT data and recipe", the reference's preprocess_qwen):
- system and user turns: only `<|im_start|>`, the closing `<|im_end|>` and its newline are
  supervised; the role header and the content are not;
- assistant turns: `<|im_start|>`, the content, `<|im_end|>` and the newline are supervised; the
  "assistant\\n" header is not.
So after every user turn the model learns that a turn start comes next, which is what the noise
test reads. Consecutive human turns are allowed. `<image>` expands to frames x tokens_per_frame
positions, `<speech>` to tokens_per_utterance positions; their labels are ignored.
`position_gap` G > 0 skips a random 0..G position ids right after the first media run: at decode
time an interruption's channel follows the prefix but its positions continue after the answer so
far (M4's "continue" layout), so a model trained only on contiguous positions decides differently
depending on how long it had been answering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnibench.errors import DataError

IGNORE = -100
IMAGE_ID = -200           # placeholder positions in input_ids; the model swaps in embeddings
SPEECH_ID = -300
ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


@dataclass(frozen=True)
class MediaSizes:
    tokens_per_frame: int
    tokens_per_utterance: int = 0
    image_token: str = "<image>"
    speech_token: str = "<speech>"


@dataclass
class Rendered:
    input_ids: list[int]
    labels: list[int]
    segments: list[tuple[str, int, int]] = field(default_factory=list)   # (role, start, end) per turn


class TemplateRenderer:
    """Token-level ChatML with the spec's labels; pieces derived from the tokenizer."""

    def __init__(self, tokenizer: Any, system_prompt: str = "You are a helpful assistant.",
                 start_token: str = "<|im_start|>", end_token: str = "<|im_end|>"):
        self.tokenizer = tokenizer
        self.system_prompt = system_prompt
        self.im_start = int(tokenizer.convert_tokens_to_ids(start_token))
        self.im_end = int(tokenizer.convert_tokens_to_ids(end_token))
        self.newline = self.encode("\n")

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []

    def content_ids(self, text: str, media: MediaSizes, frames: list[int], utterances: list[int]) -> list[int]:
        """Text with placeholders replaced by runs of IMAGE_ID / SPEECH_ID (frames[k] frames for image k)."""
        out: list[int] = []
        rest = text
        while True:
            i = rest.find(media.image_token)
            j = rest.find(media.speech_token) if media.speech_token else -1
            hits = [(p, tok) for p, tok in ((i, media.image_token), (j, media.speech_token)) if p >= 0]
            if not hits:
                return out + self.encode(rest)
            pos, token = min(hits)
            out += self.encode(rest[:pos])
            if token == media.image_token:
                if not frames:
                    raise ValueError(f"more {token} placeholders than images")
                out += [IMAGE_ID] * (frames.pop(0) * media.tokens_per_frame)
            else:
                if not utterances:
                    raise ValueError(f"more {token} placeholders than speech files")
                utterances.pop(0)
                out += [SPEECH_ID] * media.tokens_per_utterance
            rest = rest[pos + len(token):]

    def render(self, turns: list[tuple[str, str]], media: MediaSizes, frames: list[int] = (),
               utterances: list[int] = ()) -> Rendered:
        """turns: (role, content) in order, without the system turn (added here)."""
        frames, utterances = list(frames), list(utterances)
        out = Rendered([], [])
        for role, content in [("system", self.system_prompt), *turns]:
            header = self.encode(role) + self.newline
            body = self.content_ids(content, media, frames, utterances)
            start = len(out.input_ids)
            out.input_ids += [self.im_start, *header, *body, self.im_end, *self.newline]
            shown = body if role == "assistant" else [IGNORE] * len(body)
            shown = [IGNORE if t < 0 else t for t in shown]
            out.labels += [self.im_start, *[IGNORE] * len(header), *shown, self.im_end, *self.newline]
            out.segments.append((role, start, len(out.input_ids)))
        if frames or utterances:
            raise ValueError(f"{len(frames)} image(s) and {len(utterances)} speech file(s) have no placeholder")
        return out


def conversation_turns(record: dict, image_token: str = "<image>") -> list[tuple[str, str]]:
    """An M4-IT / LLaVA record's conversations as (role, text); the image goes first if no placeholder says where."""
    turns = []
    for k, turn in enumerate(record["conversations"]):
        who = turn.get("from", turn.get("role"))
        if who not in ROLES or not isinstance(turn.get("value", turn.get("content")), str):
            raise DataError(f"turn {k}: 'from' must be one of {sorted(ROLES)} and 'value' a string",
                            index=k, field="conversations")
        turns.append((ROLES[who], turn.get("value", turn.get("content"))))
    if record.get("image") and not any(image_token in text for _, text in turns):
        first = next(i for i, (role, _) in enumerate(turns) if role == "user")
        turns[first] = ("user", f"{image_token}\n{turns[first][1]}")
    return turns


class SFTDataset:
    """M4-IT records -> dicts of input_ids, labels, pixel_values (N, 3, S, S) and speech mels."""

    def __init__(self, records: list[dict], tokenizer: Any, config: Any, *, media_root: str | Path = ".",
                 frames_per_video: int = 16, max_length: int = 32000,
                 anyres_grids: tuple[tuple[int, int], ...] = ((2, 2),),
                 speech_root: str | Path | None = None, position_gap: int = 0):
        self.records = records
        self.config = config
        self.renderer = TemplateRenderer(tokenizer, config.system_prompt)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.renderer.im_end)
        utterance = (int(config.audio["max_source_positions"]) // config.speech_stack) if config.audio else 0
        self.media = MediaSizes(config.tokens_per_frame, utterance, config.image_token, config.speech_token)
        self.root = Path(media_root)
        self.speech_root = Path(speech_root) if speech_root is not None else self.root
        self.frames_per_video = frames_per_video
        self.max_length = max_length
        self.anyres_grids = anyres_grids
        self.position_gap = position_gap
        self._pixels: dict[tuple[str, int], Any] = {}

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict:
        import torch

        record = self.records[index]
        try:
            turns = conversation_turns(record, self.media.image_token)
            pixels = [self.pixels(p) for p in _as_list(record.get("image"))]
            mels = [self.mel(p) for p in _as_list(record.get("speech"))] if self.media.tokens_per_utterance else []
            rendered = self.renderer.render(turns, self.media, [len(p) for p in pixels], [1] * len(mels))
        except (ValueError, KeyError, OSError) as exc:
            raise DataError(f"record {record.get('id', index)!r}: {exc}", index=index, field="conversations") from exc
        ids, labels = rendered.input_ids, rendered.labels
        frames = torch.cat(pixels) if pixels else None
        if len(ids) > self.max_length:
            ids, labels, frames = self._truncate(ids, labels, frames)
        item = {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels)}
        if self.position_gap:
            item["position_ids"] = gapped_positions(ids, int(torch.randint(0, self.position_gap + 1, ())))
        if frames is not None and len(frames):
            item["pixel_values"] = frames
        if mels and SPEECH_ID in ids:
            item["speech_mel"] = torch.cat(mels)[: ids.count(SPEECH_ID) // self.media.tokens_per_utterance]
        return item

    def _truncate(self, ids: list[int], labels: list[int], frames: Any):
        ids, labels = ids[: self.max_length], labels[: self.max_length]
        seen = ids.count(IMAGE_ID)
        whole, partial = divmod(seen, self.media.tokens_per_frame)
        if partial:                       # never keep half a frame: cut before it
            cut = len(ids) - ids[::-1].index(IMAGE_ID) - partial
            ids, labels = ids[:cut], labels[:cut]
        return ids, labels, (frames[:whole] if frames is not None else None)

    # media ------------------------------------------------------------------------------------
    def _path(self, rel: str, root: Path | None = None) -> Path:
        path = ((root or self.root) / rel).resolve()
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ValueError(f"media path {rel!r} must be relative to the media root, without '..'")
        return path

    def pixels(self, rel: str):
        """(N, 3, S, S): an .npy stack of frames, a video (frames_per_video frames), or an image (anyres crops)."""
        key = (rel, self.frames_per_video)
        if key not in self._pixels:
            import numpy as np

            from omnibench.m4.model.frames import frames_to_pixels

            path, size = self._path(rel), self.config.frame_size
            if path.suffix == ".npy":
                frames = np.load(path, allow_pickle=False)
            elif path.suffix.lower() in (".mp4", ".mkv", ".webm", ".avi", ".mov"):
                from omnibench.data.video import VideoReader

                frames = VideoReader(str(path)).sample(count=self.frames_per_video).array
            elif self.config.image_tiling == "unires":     # the reference's tiles, no base image
                from omnibench.m4.training.unires import unires_tiles

                frames = unires_tiles(path, size, self.config.image_grid_pinpoints)
            else:
                frames = anyres_crops(path, size, self.anyres_grids)
            self._pixels[key] = frames_to_pixels(frames, size)
        return self._pixels[key]

    def mel(self, rel: str):
        import numpy as np

        from omnibench.m4.model.audio import log_mel

        audio = self.config.whisper_config()
        wave = _read_wav(self._path(rel, self.speech_root))
        return log_mel(np.asarray(wave), audio.num_mel_bins, 2 * audio.max_source_positions)


def gapped_positions(ids: list[int], gap: int):
    """0..n-1, shifted by `gap` from the token after the first run of media positions (no media: no gap)."""
    import torch

    positions = torch.arange(len(ids))
    media = [k for k, t in enumerate(ids) if t in (IMAGE_ID, SPEECH_ID)]
    if media and gap:
        end = media[0]
        while end < len(ids) and ids[end] in (IMAGE_ID, SPEECH_ID):
            end += 1
        positions[end:] += gap
    return positions


def anyres_crops(path: Path, size: int, grids: tuple[tuple[int, int], ...]):
    """The whole image, then tiles of the grid closest to its aspect (LLaVA-NeXT anyres, simplified)."""
    import numpy as np
    from PIL import Image

    image = Image.open(path).convert("RGB")
    crops = [np.asarray(image)]
    if grids:
        w, h = image.size
        rows, cols = min(grids, key=lambda g: abs(g[1] / g[0] - w / h))
        big = np.asarray(image.resize((cols * size, rows * size)))
        crops += [big[r * size:(r + 1) * size, c * size:(c + 1) * size] for r in range(rows) for c in range(cols)]
    return crops


def _read_wav(path: Path):
    import wave

    import numpy as np

    with wave.open(str(path), "rb") as f:
        if f.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM wav is supported")
        rate, channels = f.getframerate(), f.getnchannels()
        data = np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
    data = data.reshape(-1, channels).mean(axis=1)
    if rate != 16000:                  # linear resample: enough for a spoken query
        data = np.interp(np.arange(0, len(data), rate / 16000), np.arange(len(data)), data).astype(np.float32)
    return data


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return [value] if isinstance(value, str) else list(value)


@dataclass
class PaddingCollator:
    """Right-pads input_ids (pad id) and labels (IGNORE); concatenates frames and mels in batch order."""

    pad_id: int

    def __call__(self, items: list[dict]) -> dict:
        import torch

        width = max(len(x["input_ids"]) for x in items)
        ids = torch.full((len(items), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        for row, item in enumerate(items):
            n = len(item["input_ids"])
            ids[row, :n], labels[row, :n], mask[row, :n] = item["input_ids"], item["labels"], 1
        batch = {"input_ids": ids, "labels": labels, "attention_mask": mask}
        if "position_ids" in items[0]:
            positions = torch.arange(width).repeat(len(items), 1)
            for row, item in enumerate(items):
                positions[row, : len(item["position_ids"])] = item["position_ids"]
            batch["position_ids"] = positions
        for key in ("pixel_values", "speech_mel"):
            parts = [x[key] for x in items if key in x]
            if parts:
                batch[key] = torch.cat(parts)
        return batch
