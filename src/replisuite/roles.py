"""Suite-wide model roles: which ``llm.models`` entries every study runs, in one place.

The ``roles`` section of the config names three lists of model entries:

``subjects``
    the models the papers' claims are about: they answer vignettes and questionnaires, play the
    counsellor, generate dialogues, and (in the studies of models as coders or raters) code and rate.
``judges``
    the instruments: they judge, rate and code other models' output, and stay fixed while the
    subjects change, so every subject is measured by the same instrument.
``clients``
    the models that play simulated clients.

A study reads its models from these roles unless its own section names them (the study's keys,
listed in `ROLE_KEYS`, are overrides). `apply_roles` fills the unset keys; the workflow calls it
before any rule reads the config, so a filled key is in each job's params and each manifest's
config exactly as if it had been written out.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from replisuite.config import ConfigError

ROLES = ("subjects", "judges", "clients")


@dataclass(frozen=True)
class RoleKey:
    """A study key filled from a role: ``take`` is "all" (the role's list), "first" (its first
    model: the study runs one), or "local" (its entries with the local backend).
    """

    study: str
    path: str  # slash-separated inside the study's section
    role: str
    take: str = "all"


ROLE_KEYS = (
    RoleKey("stigma", "live", "subjects"),
    RoleKey("stigma", "judge", "judges", "first"),
    RoleKey("psaich", "models", "subjects"),
    # the judge study is about models as judges of counselling: its judges are subjects
    RoleKey("judge", "judges", "subjects"),
    RoleKey("judge", "arena/models", "subjects"),
    RoleKey("networks", "coders", "subjects"),
    RoleKey("networks", "judge", "judges", "first"),
    RoleKey("care", "coders", "subjects"),
    RoleKey("roleplay", "recovery/raters", "judges"),
    RoleKey("reconstruct", "counsellors", "subjects"),
    RoleKey("reconstruct", "judge/judges", "judges"),
    RoleKey("preference", "principles/judges", "judges"),
    RoleKey("preference", "reward/loglik_scorers", "judges", "local"),
    RoleKey("preference", "evaluation/judges", "judges"),
    RoleKey("trauma", "generate/counsellor", "subjects", "first"),
    RoleKey("trauma", "generate/client", "clients", "first"),
    RoleKey("trauma", "extraction/rater", "judges", "first"),
    RoleKey("trauma", "benchmark/raters", "subjects"),
    RoleKey("synthesis", "generators", "subjects"),
    RoleKey("synthesis", "client", "clients", "first"),
    RoleKey("synthesis", "judge", "judges", "first"),
)
# roleplay.pairs: one counsellor-client pair per subject, the first client playing the client
PAIRS = ("roleplay", "pairs")


def apply_roles(config: Mapping[str, Any], *, origin: str = "config") -> dict[str, Any]:
    """A copy of ``config`` in which every study key of `ROLE_KEYS` (and ``roleplay.pairs``) that
    the study's section leaves unset is filled from ``config["roles"]``.

    Studies absent from the config are left alone. A key that is unset while its role is not
    given is an error naming both, as is a role that names no model.

    Parameters
    ----------
    config
        The whole configuration (after schema validation).
    origin
        Where the config came from, for error messages.

    Returns
    -------
    dict
        The configuration with the study keys filled in.
    """
    filled = copy.deepcopy(dict(config))
    roles = filled.get("roles") or {}
    models = (filled.get("llm") or {}).get("models") or {}
    for role in ROLES:
        if role in roles and not roles[role]:
            raise ConfigError(f"{origin}: roles.{role} names no model (list at least one llm.models entry)")
    for key in ROLE_KEYS:
        section = filled.get(key.study)
        if not isinstance(section, dict):
            continue
        *parents, leaf = key.path.split("/")
        node = section
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf in node:
            continue
        node[leaf] = _take(_role(roles, key.role, f"{key.study}.{key.path.replace('/', '.')}", origin),
                           key.take, models)
    study, leaf = PAIRS
    section = filled.get(study)
    if isinstance(section, dict) and leaf not in section:
        where = f"{study}.{leaf}"
        client = _role(roles, "clients", where, origin)[0]
        section[leaf] = [{"counsellor": subject, "client": client} for subject in _role(roles, "subjects", where, origin)]
    return filled


def _role(roles: Mapping[str, Any], role: str, where: str, origin: str) -> list[str]:
    if role not in roles:
        raise ConfigError(f"{origin}: {where} is not set and roles.{role} is not given: set one of them")
    return list(roles[role])


def _take(names: list[str], take: str, models: Mapping[str, Any]) -> Any:
    if take == "first":
        return names[0]
    if take == "local":
        return [name for name in names if (models.get(name) or {}).get("backend") == "local"]
    return names
