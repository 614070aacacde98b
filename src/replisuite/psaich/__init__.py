"""Study ``psaich``: psychometric batteries administered to a model as a therapy client.

* :mod:`.protocol`: the protocol texts, prompts for items and whole questionnaires, strict parsers.
* :mod:`.administer`: stage 1 (open therapy questions over sessions) and stage 2 (questionnaires
  item by item in the conversation, item by item statelessly, or whole in one prompt).
* :mod:`.records`: importing published PsAIch-style transcripts for the replay backend.
* :mod:`.analysis`: scores, bands, item-by-item minus whole differences, transcript statistics.
"""
