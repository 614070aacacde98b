"""Write the merged, validated configuration this run used."""

import yaml

from replisuite.atomic import atomic_open
from replisuite.runlog import log_to

with log_to(snakemake.log[0]), atomic_open(snakemake.output[0]) as handle:
    yaml.safe_dump(dict(snakemake.params.config), handle, sort_keys=False)
