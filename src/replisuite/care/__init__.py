"""Study ``care``: qualitative coding of care encounters and care-seeking (after '"When I lost it, they
dragged me out"'). The interviews are not public: the excerpts and both coders' codings shipped in
``config/care/`` are illustrative, written by this project, and labelled so in every output. Point the
config at real excerpts and codings to analyse a real study.
"""
