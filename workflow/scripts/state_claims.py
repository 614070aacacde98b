"""Write results/<study>/claims.csv: the paper's claims with verdicts computed from the study's tables."""

from importlib import import_module

from replisuite.claims import write_claims
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    study = import_module(f"replisuite.{snakemake.wildcards.study}.claims")
    claims = study.claims_from_files(dict(snakemake.input.items()), **snakemake.params.options)
    write_claims(claims, snakemake.output[0])
