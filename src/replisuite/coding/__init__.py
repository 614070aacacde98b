"""Shared layer ``coding``: coding counselling text against a scheme.

* :mod:`.annomi`: AnnoMI utterances, the labels of each coding task, and the flat therapist code
  (main behaviour refined by its subtype) that the skill analyses count.
* :mod:`.classifier`: utterance classifiers cross-validated with whole transcripts held out, their
  out-of-fold predictions and metrics.
* :mod:`.rates`: per-session code rates.
"""
