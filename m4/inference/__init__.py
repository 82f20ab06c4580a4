"""M4 at inference: the offline pipeline, multiplexed decoding (listen while speaking), highlight
spotting (proactive alerts), the streaming session, noise-test calibration."""
