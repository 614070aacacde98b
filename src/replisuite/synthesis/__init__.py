"""Study ``synthesis``: PsyLLM's data pipeline (Beyond Empathy). Real help-seeking posts
(CounselChat questions) become dialogues whose counsellor turns carry diagnostic and therapeutic
reasoning before the reply (the dialogue layer's ``psyllm_synthesis`` protocol); a filter of rule
checks and a judge's four issues keeps or drops each dialogue, validated on planted defects
against trivial filters; the four-dimension ``psyllm`` rubric scores them, after a task floor of
planted degraded replies; the reasoning's condition is compared with the posts' topics.
"""
