"""Evaluation metrics and statistics: pure functions over one query (or per-query score lists).

- :mod:`ragpipe.evaluation.retrieval_metrics`: document-level ranking metrics (recall, precision, MRR, nDCG,
  MAP, hit rate at a cutoff), matching ranx / trec_eval definitions;
- :mod:`ragpipe.evaluation.span_metrics`: chunker-independent token-level recall / precision / IoU of
  retrieved character spans against gold spans;
- :mod:`ragpipe.evaluation.answer_metrics`: offline answer metrics (SQuAD exact match and F1, ROUGE-L,
  BLEU, phrase presence, embedding similarity, ragas non-LLM metrics);
- :mod:`ragpipe.evaluation.stats`: bootstrap confidence intervals and paired significance tests.

Heavy libraries (ragas, rouge-score, sacrebleu) are imported inside the functions that use them.
"""
