"""Spoken question answering (issue #20): SQuAD-format data, the pairing of manual and ASR
contexts, and the official SQuAD v1.1 metrics."""
