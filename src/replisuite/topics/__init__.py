"""Study ``topics``: BERTopic over therapists' answers (CounselChat), compared across therapist groups.

The paper ("Applying LLM and Topic Modelling in Psychotherapeutic Contexts") ran BERTopic over
the remarks of two groups of therapists and looked for topics stable across them. CounselChat
has real therapists' answers to users' questions, with each therapist's stated credentials: we
group therapists by licence (counselling vs social work by default; configurable regexes).

* :mod:`.data`: answers, credential groups.
* :mod:`.model`: BERTopic (MiniLM embeddings, UMAP, HDBSCAN, c-TF-IDF) and the TF-IDF + NMF baseline.
* :mod:`.evaluate`: NPMI coherence, topic matching across seeds and across groups.
"""
