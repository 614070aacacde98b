"""Write results/<study>/manifest.json for every file the study produced."""

import json

import logging

from replisuite.provenance import merge_provenance, run_times, write_manifest
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    logging.getLogger("replisuite").info("run %s", json.dumps(run_times()))
    llm = merge_provenance(entry for path in snakemake.input.llm for entry in json.loads(open(path).read()))
    write_manifest(
        snakemake.output[0],
        study=snakemake.wildcards.study,
        inputs=snakemake.input.inputs,
        outputs=snakemake.input.outputs,
        config=snakemake.params.config,
        seed=snakemake.params.seed,
        llm=llm,
    )
