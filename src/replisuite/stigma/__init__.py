"""Study ``stigma``: Moore et al., "Expressing stigma and inappropriate responses prevents LLMs
from safely replacing mental health providers" (FAccT 2025).

* :mod:`.stimuli`: the protocol texts, the stigma vignette x question prompts, the messages.
* :mod:`.coding`: answer parsing and stigma coding.
* :mod:`.interjections`: symptom interjections, judge prompts, appropriateness.
* :mod:`.records`: importing the published per-model records into the response store.
* :mod:`.analysis`: rates with bootstrap intervals, tests, baselines, checks, figures.
"""
