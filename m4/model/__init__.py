"""The M4 model: config, CLIP + projector + pooling + Qwen2 modeling, checkpoint key maps, chat format,
the Whisper speech tower, frame preprocessing, in-memory ChatML tokenizers."""
