"""Paired comparison of original and reconstructed sessions, by MI-quality label."""

from replisuite.reconstruct.pipeline import summarise
from replisuite.runlog import log_to

inp, out = snakemake.input, snakemake.output
with log_to(snakemake.log[0]):
    summarise(snakemake.params.study, originals=inp.originals, reconstructions=list(inp.reconstructions), coded=inp.coded,
              judgements=list(inp.judgements), profiles=inp.profiles,
              tables={"sessions": out.sessions, "comparison": out.comparison},
              figure_stems={"paired": out.figure_paired.removesuffix(".png")})
