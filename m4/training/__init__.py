"""Training M4: the M4-IT builder and its phrase lists, SFT labels and image tiling, the trainer,
recipes (YAML) and DeepSpeed configs, callbacks and the tiny evaluation."""
