"""The judge study's tables and figures."""

from replisuite.judge.pipeline import summarise
from replisuite.runlog import log_to

out = snakemake.output
with log_to(snakemake.log[0]):
    summarise(snakemake.params.study, snakemake.params.llm, sessions=snakemake.input.sessions, floors=snakemake.input.floors,
              pairs=snakemake.input.pairs,
              replies=snakemake.input.replies, counsel_chat=snakemake.input.counsel_chat,
              stigma_agreement=snakemake.input.stigma_agreement or None, prompt_files=snakemake.params.prompts,
              tables={name: out[name] for name in snakemake.params.tables},
              figure_stems={name: out[f"figure_{name}"].removesuffix(".png") for name in snakemake.params.figures})
