"""Cases drawn to the published marginals, their comparison, and the case x phase profiles."""

from replisuite.runlog import log_to
from replisuite.trauma.pipeline import sample

with log_to(snakemake.log[0]):
    sample(snakemake.params.study, cases_out=snakemake.output.cases, marginals_out=snakemake.output.marginals,
           profiles_out=snakemake.output.profiles)
