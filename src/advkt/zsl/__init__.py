"""Zero-shot learning (issue #21): the xlsa17 benchmark files and the standard ZSL / GZSL
measures."""
