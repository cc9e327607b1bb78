"""KetaGuide's benchmarks, kept out of the runtime package: this package imports `ketaguide`, never the reverse.

`ketaguide-bench retrieval` and `ketaguide-bench sentences` measure evidence retrieval and rationale-sentence
selection on BEIR-format datasets; `ketaguide-bench ask-latency` times `ketaguide ask`. See `cli.py`.
"""
