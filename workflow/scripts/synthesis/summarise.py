"""Generation, filter, defect, benchmark and diagnosis tables; the figures."""

from replisuite.runlog import log_to
from replisuite.synthesis.pipeline import summarise

inp, out = snakemake.input, snakemake.output
with log_to(snakemake.log[0]):
    summarise(snakemake.params.study, counselchat=inp.get("counselchat"), topic_map=inp.topic_map,
              transcripts=list(inp.transcripts), checks=list(inp.checks), judgements=list(inp.judgements),
              tables={name: out[name] for name in snakemake.params.tables},
              figure_stems={name: out[f"figure_{name}"].removesuffix(".png") for name in snakemake.params.figures})
