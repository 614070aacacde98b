"""Study ``networks``: personalised process networks from therapy sessions (EEMM process coding by
in-context learning, two-step themes, explained edges, multi-step vs direct prompting).

The paper's annotations are not public. The sessions are AnnoMI's; the gold EEMM codes of their
client utterances are an illustrative set written by this project (``config/networks/eemm_gold.csv``),
and every table built on them says so. The shared coding layer does the work; this package wires it.
"""
