"""Spoken question answering (issue #20): SQuAD-format data, the pairing of manual and ASR
contexts, and the official SQuAD v1.1 metrics (:mod:`advkt.spoken_qa.squad`); answer spans on the
ASR text where they survived recognition, and the split by article
(:mod:`advkt.spoken_qa.spans`); the frozen text encoder's token features, cached
(:mod:`advkt.spoken_qa.encoder`); the span reader (:mod:`advkt.spoken_qa.model`), its training and
predictions (:mod:`advkt.spoken_qa.reader`)."""
