"""Study ``support``: do counselling skills change clinical well-being? (Fang, Yang et al., CSCW 2024).

The paper's platform data are private. The analysis runs on a simulated cohort with planted effects
(so recovery can be checked), with skill rates taken from real counselling text (AnnoMI) two ways:
from the human annotations and from a classifier's out-of-fold predictions.

* :mod:`.skills`: per-session skill rates, annotated and classifier-measured, and how well the
  classifier measures them.
* :mod:`.cohort`: the user-table schema and its validation, and the cohort simulator.
* :mod:`.causal`: propensity scores, nearest-neighbour matching, balance, ATT by matching, IPW and
  a doubly robust estimator, with bootstrap intervals.
* :mod:`.effects`: skill effects among chat users (OLS with HC3 errors, BH across skills).
* :mod:`.recovery`: planted vs estimated over replicate cohorts, and the null scenario.
"""
