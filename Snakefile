# replisuite: reproducible replications.  `snakemake --cores all` builds every study's results.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"


if "stigma" in config:

    include: "workflow/rules/stigma.smk"


if "mi" in config:

    include: "workflow/rules/mi.smk"


if "topics" in config:

    include: "workflow/rules/topics.smk"


if "psaich" in config:

    include: "workflow/rules/psaich.smk"


if "trpm4" in config:

    include: "workflow/rules/trpm4.smk"


if "judge" in config:

    include: "workflow/rules/judge.smk"


if "support" in config:

    include: "workflow/rules/support.smk"


if "networks" in config:

    include: "workflow/rules/networks.smk"


if "care" in config:

    include: "workflow/rules/care.smk"


if "roleplay" in config:

    include: "workflow/rules/roleplay.smk"


if "reconstruct" in config:

    include: "workflow/rules/reconstruct.smk"


if "preference" in config:

    include: "workflow/rules/preference.smk"


if "trauma" in config:

    include: "workflow/rules/trauma.smk"


if "synthesis" in config:

    include: "workflow/rules/synthesis.smk"


include: "workflow/rules/claims.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/reproduction.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        "results/config_used.yaml",
        rules.write_scorecard.output,
        expand("results/{study}/manifest.json", study=STUDY_OUTPUTS),
        rules.compare_with_record.output,
