"""The study's cohort (simulated, or the user's table): balance, ATT by method, skill effects."""

from replisuite.runlog import log_to
from replisuite.support.pipeline import analyse_main

out = snakemake.output
with log_to(snakemake.log[0]):
    analyse_main(snakemake.params.study, skills=snakemake.params.skills, sessions_path=snakemake.input.sessions,
                 user_table=snakemake.input.table[0] if snakemake.input.table else None, cohort_out=out.cohort,
                 truth_out=out.truth, tables={name: out[name] for name in ("balance", "att", "effects")},
                 transcripts=snakemake.input.transcripts[0] if snakemake.input.transcripts else None,
                 annomi_path=snakemake.input.annomi[0] if snakemake.input.annomi else None)
