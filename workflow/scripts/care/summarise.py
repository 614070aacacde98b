"""Inter-coder and model-vs-human agreement, frequencies, co-occurrence and journeys, figures."""

from replisuite.care.pipeline import summarise
from replisuite.runlog import log_to

inp, out = snakemake.input, snakemake.output
with log_to(snakemake.log[0]):
    summarise(snakemake.params.study, excerpts=inp.excerpts, codings=inp.codings, model_codings=list(inp.model_codings),
              tables={name: out[name] for name in snakemake.params.tables},
              figure_stems={name: out[f"figure_{name}"].removesuffix(".png") for name in snakemake.params.figures})
