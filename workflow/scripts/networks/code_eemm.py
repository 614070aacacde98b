"""The model coder's EEMM codes of the gold sessions' client utterances with a number of examples."""

from replisuite.networks.pipeline import code_sessions
from replisuite.runlog import log_to

inp = snakemake.input
with log_to(snakemake.log[0]):
    code_sessions(snakemake.params.study, snakemake.params.llm, coder=snakemake.wildcards.networks_coder,
                  shots=int(snakemake.wildcards.shots), annomi=inp.annomi,
                  gold=inp.gold, out=snakemake.output.detections, provenance_out=snakemake.output.provenance,
                  threads=snakemake.threads)
