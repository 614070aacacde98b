"""The benchmark table with intervals over cases, and the figures."""

from replisuite.runlog import log_to
from replisuite.trauma.pipeline import summarise

out = snakemake.output
with log_to(snakemake.log[0]):
    summarise(snakemake.params.study, marginals=snakemake.input.marginals, trajectories_in=snakemake.input.trajectories,
              predictions=snakemake.input.predictions, tables={"benchmark": out.benchmark},
              figure_stems={name: out[f"figure_{name}"].removesuffix(".png")
                            for name in ("marginals", "trajectories", "benchmark")})
