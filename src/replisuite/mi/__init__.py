"""Study ``mi``: motivational-interviewing behaviour coding on AnnoMI.

The paper ("Modeling Motivational Interviewing Strategies on an Online Peer-to-Peer Counseling
Platform") coded a private peer-counselling corpus; we run the same pipeline on AnnoMI, 133
expert-annotated MI sessions of high or low MI quality.

* :mod:`.data`: utterances, previous-utterance context, task labels (majority of annotators).
* :mod:`.classify`: TF-IDF and sentence-embedding classifiers, transcript-grouped CV, metrics.
* :mod:`.analysis`: per-session code rates vs MI quality, inter-annotator agreement.
"""
