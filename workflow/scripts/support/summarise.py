"""Recovery and null tables over the replicate cohorts, and the study's figures."""

from replisuite.runlog import log_to
from replisuite.support.pipeline import summarise

inp, out = snakemake.input, snakemake.output
with log_to(snakemake.log[0]):
    summarise(snakemake.params.study, skills=snakemake.params.skills, sessions_path=inp.sessions,
              measurement_path=inp.measurement, balance_path=inp.balance, att_path=inp.att, effects_path=inp.effects,
              truth_path=inp.truth, replicate_att=list(inp.replicate_att), replicate_effects=list(inp.replicate_effects),
              tables={name: out[name] for name in ("att_recovery", "skill_recovery")},
              figure_stems={name: out[f"{name}_png"].removesuffix(".png")
                            for name in ("balance", "att", "skills", "coverage", "measurement")})
