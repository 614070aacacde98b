"""One judge's rubric scores of the sampled AnnoMI sessions."""

from replisuite.judge.pipeline import judge_sessions
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    judge_sessions(snakemake.params.study, snakemake.params.llm, snakemake.wildcards.judge, annomi=snakemake.input.annomi,
                   prompt_files=snakemake.params.prompts,
                   out=snakemake.output.judgements, floor_out=snakemake.output.floor, provenance_out=snakemake.output.provenance, threads=snakemake.threads)
