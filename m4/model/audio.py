"""The audio variant's speech path: Whisper encoder (frozen in training) + 5x frame-stacking projector.

Whisper-large-v3 turns 30 s of 128-bin log-mel into 1500 x 1280; stacking 5 consecutive frames
(6400) and projecting Linear(6400->2048) -> ReLU -> Linear(2048->H) gives 300 tokens an utterance.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class SpeechProjector(nn.Module):
    """Concatenate `stack` consecutive encoder frames, then a 2-layer MLP (LLaMA-Omni's layout)."""

    def __init__(self, encoder_width: int, hidden: int, out_width: int, stack: int = 5):
        super().__init__()
        self.stack = stack
        self.linear1 = nn.Linear(encoder_width * stack, hidden)
        self.relu = nn.ReLU()
        self.linear2 = nn.Linear(hidden, out_width)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        batch, length, width = frames.shape
        usable = length - length % self.stack           # drop a ragged tail, as the reference does
        stacked = frames[:, :usable].reshape(batch, usable // self.stack, width * self.stack)
        return self.linear2(self.relu(self.linear1(stacked)))


class SpeechEncoder(nn.Module):
    """log-mel (B, mel_bins, 2 * max_source_positions) -> (B, tokens, H)."""

    def __init__(self, config: Any):
        super().__init__()
        from transformers.models.whisper.modeling_whisper import WhisperEncoder

        whisper = config.whisper_config()
        self.input_frames = 2 * whisper.max_source_positions
        self.mel_bins = whisper.num_mel_bins
        self.encoder = WhisperEncoder(whisper)
        self.projector = SpeechProjector(whisper.d_model, config.speech_projector_hidden, config.hidden_size,
                                         config.speech_stack)

    @property
    def tokens_per_utterance(self) -> int:
        return (self.input_frames // 2) // self.projector.stack

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        if mel.shape[-1] < self.input_frames:        # Whisper expects exactly 30 s: pad with silence
            mel = nn.functional.pad(mel, (0, self.input_frames - mel.shape[-1]), value=float(mel.min()))
        mel = mel[..., : self.input_frames]
        hidden = self.encoder(input_features=mel).last_hidden_state
        return self.projector(hidden)


def log_mel(waveform: Any, mel_bins: int, input_frames: int, sampling_rate: int = 16000) -> torch.Tensor:
    """A mono 16 kHz waveform -> (1, mel_bins, input_frames) with Whisper's own feature extractor."""
    import numpy as np
    from transformers import WhisperFeatureExtractor

    hop = 160
    extractor = WhisperFeatureExtractor(feature_size=mel_bins, sampling_rate=sampling_rate, hop_length=hop,
                                        chunk_length=max(1, input_frames * hop // sampling_rate))
    features = extractor(np.asarray(waveform, dtype=np.float32), sampling_rate=sampling_rate,
                         return_tensors="pt").input_features
    return features[..., :input_frames]
