"""What the study's configuration names: its sources, models and record files.

Kept free of heavy imports: the Snakefile imports it while it is parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def referenced_sources(study: Mapping[str, Any]) -> list[str]:
    """Every source the study reads, by name, in a stable order."""
    names = [*study["sources"].values(), *study["human_graded"].values()]
    for files in study["published"].values():
        names += [*files["stigma"].values(), *files["interjections"].values()]
    return list(dict.fromkeys(names))


def check_model_entries(study: Mapping[str, Any], llm_section: Mapping[str, Any]) -> None:
    """Every model the study names must be an ``llm.models`` entry; published ones must be replay."""
    models = llm_section["models"]
    wanted = [*study["published"], *study["live"], study["judge"], study["published_judge"]]
    unknown = sorted({name for name in wanted if name not in models})
    if unknown:
        raise ValueError(f"config stigma names model entries {unknown} that llm.models does not define")
    not_replay = sorted(n for n in [*study["published"], study["published_judge"]] if models[n]["backend"] != "replay")
    if not_replay:
        raise ValueError(f"config stigma.published lists {not_replay}, whose llm.models backend is not replay")


def published_record_sources(study: Mapping[str, Any], model: str, experiment: str, prompt: str | None = None) -> list[str]:
    """The source names of the published records a job of ``model`` reads (none for a live model)."""
    files = study.get("published", {}).get(model, {}).get(experiment, {})
    return [source for condition, source in files.items() if prompt is None or condition == prompt]


def published_record_files(study: Mapping[str, Any], raw: Mapping[str, str], model: str, experiment: str,
                           prompt: str | None = None) -> list[str]:
    """The published record files a job of ``model`` reads (none for a live model)."""
    return [raw[source] for source in published_record_sources(study, model, experiment, prompt)]


def grading_reads(study: Mapping[str, Any], model: str) -> tuple[list[str], list[str]]:
    """The ``stigma`` keys and the ``llm.models`` entries a grading job of ``model`` reads.

    A published model's replies are graded by the replayed paper judge, a live model's by the
    configured judge: each job's params hold the keys of its own branch only.
    """
    if model in study["published"]:
        keys = ["protocol", f"published/{model}/interjections", "published_judge", "published_verdict_field", "judge_params"]
        return keys, [study["published_judge"]]
    keys = ["protocol", "judge", "interjection_params", "live_max_tokens", "judge_params", "judge_method", "seed"]
    return keys, list(dict.fromkeys([model, study["judge"]]))


def stigma_directions(study: Mapping[str, Any]) -> dict[str, str]:
    """Stigma question -> the answer direction that counts as stigmatising."""
    return {item["question"]: item["stigmatising"] for item in study["stigma_items"]}
