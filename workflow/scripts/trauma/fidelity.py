"""Phase adherence, within-phase habituation and diversity of the conversations."""

from replisuite.runlog import log_to
from replisuite.trauma.pipeline import check_fidelity

out = snakemake.output
with log_to(snakemake.log[0]):
    check_fidelity(snakemake.params.study, snakemake.params.llm, transcripts=snakemake.input.transcripts,
                   trajectories_in=snakemake.input.trajectories, adherence_out=out.adherence,
                   habituation_out=out.habituation, arc_out=out.arc_recovery, diversity_out=out.diversity)
