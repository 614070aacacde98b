"""Client profiles, four kinds, loaded from files and validated, plus a seeded generator.

* ``post``: a free-text help-seeking post (Interactive Agents' user profiles).
* ``questionnaire``: demographics, a diagnosis text, BDI-II item answers and HAM-A item
  ratings with their totals (SQPsych).
* ``case``: a structured case with static traits, main problem, growth experiences, core
  demands and a global plan over sessions (PsychEval).
* ``scripted``: the client turns of a real transcript, replayed in order (HELPERT's design).

A profile file is JSON (a list), JSONL (one profile per line) or YAML (a list); every profile
has ``id`` and ``kind`` and the fields of its kind. Errors name the file, the profile and field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from replisuite.instruments import Instrument, score
from replisuite.stats import name_seed

KINDS = ("post", "questionnaire", "case", "scripted")
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "post": ("text",),
    "questionnaire": ("demographics", "diagnosis", "bdi2", "hama"),
    "case": ("static_traits", "main_problem", "core_demands", "global_plan"),
    "scripted": ("turns",),
}


class ProfileError(ValueError):
    """A profile file or profile is malformed."""


@dataclass(frozen=True)
class Profile:
    """One client profile.

    Attributes
    ----------
    id, kind
        Unique within a run; one of :data:`KINDS`.
    fields
        The kind's fields (see the module docstring); ``questionnaire`` profiles keep item
        answers under ``bdi2`` / ``hama`` ({item id: value}) and totals under ``totals``.
    language
        ``en`` for the generator and AnnoMI; ``zh`` for Interactive Agents and PsychEval files.
    source
        Where it came from (a file, ``generated``).
    """

    id: str
    kind: str
    fields: Mapping[str, Any]
    language: str = "en"
    source: str = ""
    plan: tuple[Mapping[str, Any], ...] = field(default=())

    @property
    def script(self) -> tuple[Mapping[str, str], ...]:
        """A scripted profile's turns (``role``, ``text``) in order."""
        return tuple(self.fields.get("turns", ()))


def validate(values: Mapping[str, Any], *, where: str) -> Profile:
    """A :class:`Profile` from a mapping, refusing a missing id, an unknown kind or a missing field."""
    if not isinstance(values, Mapping):
        raise ProfileError(f"{where}: a profile must be a mapping, got {type(values).__name__}")
    profile_id = values.get("id")
    if profile_id in (None, ""):
        raise ProfileError(f"{where}: missing field 'id'")
    kind = values.get("kind")
    if kind not in KINDS:
        raise ProfileError(f"{where} (profile {profile_id}): field 'kind' must be one of {KINDS}, got {kind!r}")
    missing = [key for key in REQUIRED[kind] if values.get(key) in (None, "", [], {})]
    if missing:
        raise ProfileError(f"{where} (profile {profile_id}): a {kind} profile needs field(s) {missing}")
    if kind == "scripted":
        for index, turn in enumerate(values["turns"], start=1):
            if not isinstance(turn, Mapping) or turn.get("role") not in ("counsellor", "client") or not str(turn.get("text", "")).strip():
                raise ProfileError(f"{where} (profile {profile_id}): turns[{index}] needs role counsellor/client and text")
        if not any(turn["role"] == "client" for turn in values["turns"]):
            raise ProfileError(f"{where} (profile {profile_id}): a scripted profile needs at least one client turn")
    plan = values.get("global_plan") or ()
    if kind == "case" and not all(isinstance(step, Mapping) and step.get("goals") for step in plan):
        raise ProfileError(f"{where} (profile {profile_id}): every global_plan entry needs 'goals'")
    fields = {k: v for k, v in values.items() if k not in ("id", "kind", "language", "source")}
    return Profile(id=str(profile_id), kind=kind, fields=fields, language=str(values.get("language", "en")),
                   source=str(values.get("source", where)), plan=tuple(plan))


def load_profiles(path: str | os.PathLike[str]) -> list[Profile]:
    """Every profile of a JSON, JSONL or YAML file, validated; duplicate ids are refused."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".jsonl":
            entries = [json.loads(line) for line in text.splitlines() if line.strip()]
        elif path.suffix == ".json":
            entries = json.loads(text)
        else:
            entries = yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as problem:
        raise ProfileError(f"{path}: not valid {path.suffix.lstrip('.')} ({problem})") from None
    if not isinstance(entries, list):
        raise ProfileError(f"{path}: expected a list of profiles")
    return unique([validate(entry, where=f"{path}: profile {index + 1}") for index, entry in enumerate(entries)], where=str(path))


def unique(profiles: Sequence[Profile], *, where: str) -> list[Profile]:
    """``profiles`` as a list, or :class:`ProfileError` naming ``where`` and the first duplicated id."""
    seen: set[str] = set()
    for profile in profiles:
        if profile.id in seen:
            raise ProfileError(f"{where}: duplicate profile id {profile.id!r}")
        seen.add(profile.id)
    return list(profiles)


def interactive_agents_posts(path: str | os.PathLike[str], *, prefix: str, limit: int | None = None) -> list[Profile]:
    """Interactive Agents' ``user_profiles/*.json`` (a list of Chinese help-seeking posts) as ``post`` profiles."""
    posts = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(posts, list) or not all(isinstance(p, str) for p in posts):
        raise ProfileError(f"{path}: expected a JSON list of post texts")
    chosen = posts if limit is None else posts[:limit]
    return [Profile(id=f"{prefix}-{index}", kind="post", fields={"text": text}, language="zh", source=str(path))
            for index, text in enumerate(chosen)]


def psycheval_case(path: str | os.PathLike[str]) -> Profile:
    """One PsychEval case file (``data/<therapy>/<n>.json``) as a ``case`` profile."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        basic = document["client_info"]["basic_info"]
        plan = document["global_plan"]
    except (json.JSONDecodeError, KeyError, TypeError) as problem:
        raise ProfileError(f"{path}: not a PsychEval case (client_info.basic_info and global_plan expected; {problem})") from None
    steps = []
    for stage in plan:
        for session, content in (stage.get("content") or {}).items():
            steps.append({"session": session, "goals": content.get("theme") or stage.get("stage_name", ""),
                          "stage": stage.get("stage_name", "")})
    values = {
        "id": f"psycheval-{path.parent.name}-{path.stem}", "kind": "case", "language": "zh",
        "static_traits": basic.get("static_traits"), "main_problem": basic.get("main_problem"),
        "growth_experiences": basic.get("growth_experiences"), "core_demands": basic.get("core_demands"),
        "topic": basic.get("topic"), "global_plan": steps, "source": str(path),
    }
    return validate(values, where=str(path))


def scripted(profile_id: str, turns: Iterable[Mapping[str, str]], *, language: str = "en", source: str = "",
             extra: Mapping[str, Any] | None = None) -> Profile:
    """A scripted profile from a transcript's turns; consecutive turns of one speaker are merged into one."""
    merged: list[dict[str, str]] = []
    for turn in turns:
        text = " ".join(str(turn["text"]).split())
        if not text:
            continue
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["text"] += " " + text
        else:
            merged.append({"role": turn["role"], "text": text})
    return validate({"id": profile_id, "kind": "scripted", "turns": merged, "language": language, "source": source,
                     **(extra or {})}, where=source or profile_id)


# --- the seeded questionnaire-profile generator ---------------------------------------------------

FIRST_NAMES = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Riley", "Robin", "Chris", "Dana", "Lee")
OCCUPATIONS = ("nurse", "teacher", "software developer", "retail assistant", "student", "accountant", "electrician",
               "chef", "unemployed", "retired engineer", "delivery driver", "social worker")
STRESSORS = ("a recent break-up", "losing a job", "caring for a sick parent", "exam pressure", "conflict at work",
             "money worries", "moving to a new city", "the death of a friend", "a long illness", "loneliness after retirement")


def items_for_total(instrument: Instrument, total: int, rng: np.random.Generator) -> dict[str, int]:
    """Item values of ``instrument`` that sum exactly to ``total``, spread by random weights."""
    high = max(instrument.values)
    ids = [item.id for item in instrument.items]
    if not 0 <= total <= high * len(ids):
        raise ProfileError(f"{instrument.id}: a total of {total} is outside 0-{high * len(ids)}")
    values = dict.fromkeys(ids, 0)
    weights = rng.dirichlet(np.full(len(ids), 2.0))
    for _ in range(total):
        room = np.array([values[i] < high for i in ids], dtype=float) * weights
        values[ids[int(rng.choice(len(ids), p=room / room.sum()))]] += 1
    return values


def band_total(instrument: Instrument, band: str, rng: np.random.Generator) -> int:
    """A total score drawn uniformly within the named ``band`` of ``instrument``."""
    matches = [b for b in instrument.bands if b.label == band]
    if not matches:
        raise ProfileError(f"{instrument.id}: unknown band {band!r}; bands: {[b.label for b in instrument.bands]}")
    return int(rng.integers(int(matches[0].min), int(matches[0].max) + 1))


def generate_questionnaire_profiles(n: int, *, seed: int, bdi2: Instrument, hama: Instrument,
                                    severities: Sequence[Mapping[str, str]], prefix: str = "gen") -> list[Profile]:
    """``n`` English questionnaire profiles; profile i targets ``severities[i % len]`` (a BDI-II and
    a HAM-A band), its item answers summing to a total drawn inside each band.

    Each profile is seeded from its own id, so adding profiles never changes earlier ones.
    """
    profiles = []
    for index in range(n):
        profile_id = f"{prefix}-{index:03d}"
        rng = np.random.default_rng(name_seed(seed, "profile", profile_id))
        target = severities[index % len(severities)]
        answers = {}
        for instrument, key in ((bdi2, "bdi2"), (hama, "hama")):
            answers[key] = items_for_total(instrument, band_total(instrument, target[key], rng), rng)
        totals = {key: score(inst, answers[key]) for inst, key in ((bdi2, "bdi2"), (hama, "hama"))}
        age = int(rng.integers(18, 71))
        demographics = {"name": FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))], "age": age,
                        "gender": str(rng.choice(["woman", "man", "non-binary person"], p=[0.48, 0.48, 0.04])),
                        "occupation": OCCUPATIONS[int(rng.integers(len(OCCUPATIONS)))]}
        stressor = STRESSORS[int(rng.integers(len(STRESSORS)))]
        diagnosis = (f"{totals['bdi2'].band} depressive symptoms and {totals['hama'].band} anxiety, "
                     f"worse since {stressor}")
        profiles.append(validate({
            "id": profile_id, "kind": "questionnaire", "demographics": demographics, "diagnosis": diagnosis,
            "stressor": stressor, "bdi2": answers["bdi2"], "hama": answers["hama"],
            "totals": {key: {"total": s.total, "band": s.band} for key, s in totals.items()},
            "target": dict(target), "source": "generated",
        }, where=profile_id))
    return profiles


# --- how a profile is described to the client model ------------------------------------------------

def describe(profile: Profile, *, instruments: Mapping[str, Instrument] | None = None) -> str:
    """The profile as the text the client's system prompt carries (and identifiability retrieves)."""
    f = profile.fields
    if profile.kind == "post":
        return str(f["text"])
    if profile.kind == "questionnaire":
        d = f["demographics"]
        lines = [f"You are {d['name']}, a {d['age']}-year-old {d['gender']} working as a {d['occupation']}.",
                 f"Background: {f['diagnosis']}."]
        for key in ("bdi2", "hama"):
            instrument = (instruments or {}).get(key)
            strong = [item for item, value in sorted(f[key].items(), key=lambda kv: -kv[1]) if value >= 2][:5]
            if instrument is not None and strong:
                texts = {i.id: i.text.split(" (")[0].lower() for i in instrument.items}
                lines.append("You are troubled by: " + ", ".join(texts[i] for i in strong) + ".")
        return " ".join(lines)
    if profile.kind == "case":
        traits = f["static_traits"]
        trait_text = "; ".join(f"{k}: {v}" for k, v in traits.items()) if isinstance(traits, Mapping) else str(traits)
        growth = f.get("growth_experiences") or []
        growth_text = " ".join(growth) if isinstance(growth, list) else str(growth)
        return f"{trait_text}. Main problem: {f['main_problem']}. Background: {growth_text} Wishes: {f['core_demands']}"
    return " ".join(turn["text"] for turn in profile.script if turn["role"] == "client")
