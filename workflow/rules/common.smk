# Shared set-up: make the library importable, validate the config, load the sources.
import re
import sys
from pathlib import Path

SRC = str(Path(workflow.basedir) / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
from replisuite.config import ConfigError, check_model_references, validate_config
from replisuite.data import SourceError, load_sources, verify_present_sources
from replisuite.roles import apply_roles
from replisuite.workflow import by_attempt, compile_library, config_subset, configure_environment

# Scripts run in their own interpreter (on a cluster, on another node) and inherit this.
configure_environment(SRC)
compile_library(SRC)

try:
    validate_config(
        config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml", origin="config"
    )
    # every study key a study leaves unset takes its models from the suite-wide roles
    config.update(apply_roles(config, origin="config"))
    check_model_references(config, origin="config")
    SOURCES = load_sources(config["data"]["sources_file"])
    RAW_DIR = config["data"]["raw_dir"]
    # a file fetched earlier is re-checked: nothing reruns its fetch when it is edited later
    verify_present_sources(SOURCES.values(), RAW_DIR)
except (ConfigError, SourceError) as error:
    raise WorkflowError(str(error)) from None
# Resources a site gives every job that sends model requests (a GPU partition, `gpu: 1`), in one place.
LLM_RESOURCES = dict(config["llm"].get("cluster_resources") or {})

# Each study registers the files its manifest describes: STUDY_OUTPUTS[study] (results) and
# STUDY_INPUTS[study] (what they were computed from).  `rule all` builds every manifest.
# Studies that query language models also register STUDY_LLM[study]: JSON files with the
# provenance of each model entry they ran (replisuite.llm.LLM.provenance()).
# Studies that state the paper's claims register STUDY_CLAIMS[study] (see claims.smk).
STUDY_OUTPUTS = {}
STUDY_INPUTS = {}
STUDY_LLM = {}
STUDY_CLAIMS = {}


def raw_path(name):
    """Where a declared source is materialised."""
    if name not in SOURCES:
        raise WorkflowError(
            f"unknown source {name!r}: declare it in {config['data']['sources_file']}"
        )
    return str(SOURCES[name].raw_path(RAW_DIR))


def selected_sources():
    wanted = config["data"]["fetch"]
    if wanted == "all":
        return sorted(name for name, source in SOURCES.items() if not source.on_demand)
    unknown = sorted(set(wanted) - set(SOURCES))
    if unknown:
        raise WorkflowError(
            f"config data.fetch names unknown source(s) {unknown}; "
            f"the declared ones are listed in {config['data']['sources_file']}"
        )
    return list(wanted)


def study_config(study):
    """The config section a study's manifest records (top-level seed included)."""
    return {"seed": config["seed"], study: config.get(study, {})}


def embedded_models(names):
    """The listed model entries that run the embedded local model (claims label them)."""
    return [name for name in names if config["llm"]["models"][name]["backend"] == "local"]


def config_keys(section, *paths):
    """A rule's params: only these keys of config[section], shaped like the section.

    Paths are slash-separated inside the section ("gam", "cv/repeats"); a trailing "?" marks an
    optional one. A path with wildcards ("models/{model}") makes this a function of the job's
    wildcards. One leaf is simply lookup(dpath="section/key", within=config).
    """

    def subset(wildcards=None):
        return config_subset(
            config[section], paths, name=f"config {section}",
            wildcards=dict(wildcards.items()) if wildcards is not None else None,
        )

    return subset if any("{" in path for path in paths) else subset()


def model_labels_of(names):
    """The llm section restricted to the labels of the named model entries (tables show them)."""
    return {"models": {name: {"label": config["llm"]["models"][name].get("label", name)} for name in names}}


def dialogue_protocol_file(name):
    """The YAML file of a dialogue protocol named in config: a path, or a protocol shipped with the dialogue layer."""
    return name if name.endswith((".yaml", ".yml")) else f"src/replisuite/dialogue/data/{name}.yaml"


def published_prompt_files(protocol_file, prompt_files):
    """``prompt_files`` when the protocol names published prompt files ({file:...} placeholders), else none."""
    return prompt_files if "{file:" in Path(protocol_file).read_text() else {}


def pair_model_keys(pair):
    """A rule's params for a "<counsellor>__<client>" pair: the store and both model entries."""
    counsellor, _, client = pair.partition("__")
    return config_keys("llm", "store_dir", *dict.fromkeys([f"models/{counsellor}", f"models/{client}"]))


def wildcard_choices(names):
    """A wildcard constraint matching exactly these names (no names: one that nothing matches)."""
    return "|".join(map(re.escape, names)) or "none"


def codebook_file(name):
    """The YAML file of a codebook named in config: a path, or a codebook shipped with the coding layer."""
    return name if name.endswith((".yaml", ".yml")) else f"src/replisuite/coding/data/{name}.yaml"
