"""Per-session skill rates on AnnoMI, annotated and classifier-measured, and the classifier's quality."""

from replisuite.runlog import log_to
from replisuite.support.pipeline import measure_skills

out = snakemake.output
with log_to(snakemake.log[0]):
    measure_skills(snakemake.params.study, skills=snakemake.params.skills, annomi_path=snakemake.input[0],
                   tables={name: out[name] for name in ("sessions", "measurement", "classifier_f1")})
