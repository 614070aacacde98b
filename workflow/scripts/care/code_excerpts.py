"""One model coder's codes of every interview excerpt."""

from replisuite.care.pipeline import code_excerpts
from replisuite.runlog import log_to

inp = snakemake.input
with log_to(snakemake.log[0]):
    code_excerpts(snakemake.params.study, snakemake.params.llm, snakemake.wildcards.care_model, excerpts=inp.excerpts,
                  codings=inp.codings, out=snakemake.output.codings, provenance_out=snakemake.output.provenance,
                  threads=snakemake.threads)
