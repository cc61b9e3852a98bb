"""Person re-identification: the standard data layouts and evaluation (issue #22).

- :mod:`advkt.reid.layouts`: Market-1501, DukeMTMC-reID and CUHK03 (new protocol) folders read
  into (path, person id, camera id) lists, junk images marked as the benchmarks define them.
- :mod:`advkt.reid.evaluate`: CMC rank-k and mAP with the same-identity, same-camera exclusion.
- :mod:`advkt.reid.sampler`: P identities × K images a batch, for the triplet loss.
- :mod:`advkt.reid.synthetic`: people rendered by the library (attributes, cameras, captions),
  written as a Market-1501 folder: the data the methods train on where no re-ID set can be had.
"""
