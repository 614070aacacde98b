"""The dialogue layer: client profiles, role-play protocols as data, and the turn engine.

* :mod:`~replisuite.dialogue.profiles`: four profile kinds (post, questionnaire, case, scripted),
  loaded and validated, and a seeded questionnaire-profile generator.
* :mod:`~replisuite.dialogue.protocols`: protocol files (prompts, opener, word limits, stop rules,
  retries, rewrite pass, multi-session memory); three ship with the layer.
* :mod:`~replisuite.dialogue.engine`: conversations advance together, every turn a stored request.
* :mod:`~replisuite.dialogue.transcripts`, :mod:`~replisuite.dialogue.metrics`,
  :mod:`~replisuite.dialogue.recovery`: JSONL transcripts and what is measured on them.
"""
