"""PsychEval's Table 1 recomputed from the case files present."""

from replisuite.roleplay.pipeline import psycheval_table
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    cases = {therapy: list(snakemake.input[therapy]) for therapy in snakemake.params.study["psycheval"]["therapies"]}
    psycheval_table(snakemake.params.study, cases=cases, out=snakemake.output[0])
