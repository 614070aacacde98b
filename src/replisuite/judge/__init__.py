"""The ``judge`` layer and study: models scoring transcripts and replies with rubrics.

Layer (used by several studies): :mod:`.rubrics` (rubrics as data), :mod:`.transcripts`,
:mod:`.judging` (rubric scores of transcripts), :mod:`.pairwise` (which of two replies is better),
:mod:`.reliability` (agreement statistics), :mod:`.data`. Study ``judge``: :mod:`.pipeline`,
:mod:`.analysis`, :mod:`.claims`, :mod:`.figures`.
"""
