"""Trauma cases drawn to the published marginals of Thousand Voices of Trauma, each with a planted
SUDS arc per prolonged-exposure phase, and the case x phase client profiles the dialogue engine runs.

Every case is drawn with a seed from its own id, so a case never changes when more are sampled.
Where the paper publishes a share, it is used; the categories without one share the remainder
uniformly (config says which is which).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml
from scipy import optimize, stats

from replisuite.stats import name_seed

PHASES_FILE = Path(__file__).parent / "data" / "phases.yaml"
CATEGORICAL = ("gender", "ethnicity", "trauma_type", "behaviour")
CASE_SCHEMA = {"case_id": pl.String, "age": pl.Int64, "gender": pl.String, "ethnicity": pl.String,
               "trauma_type": pl.String, "behaviour": pl.String, "baseline_suds": pl.Float64}
MARGINALS_SCHEMA = {"attribute": pl.String, "category": pl.String, "published_share": pl.Float64,
                    "share_source": pl.String, "sampled_share": pl.Float64, "deviation": pl.Float64, "cases": pl.Int64,
                    "chi2": pl.Float64, "df": pl.Int64, "p_value": pl.Float64}


class TraumaConfigError(ValueError):
    """Marginals or phases that cannot be sampled (shares above 1, unknown phase)."""


@functools.cache
def phases(path: str | os.PathLike[str] = PHASES_FILE) -> dict[str, dict[str, Any]]:
    """The PE phase definitions (goals, SUDS schedule, planted arc, adherence checklist)."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def shares(spec: Mapping[str, Any], *, attribute: str) -> tuple[dict[str, float], dict[str, str]]:
    """Category shares of one attribute: the published ones, and the rest of the mass spread uniformly
    over the ``remainder`` categories. Returns the shares and, per category, ``published`` or ``uniform remainder``.
    """
    published = {str(k): float(v) for k, v in (spec.get("published") or {}).items()}
    remainder = [str(c) for c in spec.get("remainder") or []]
    left = 1.0 - sum(published.values())
    if left < -1e-9 or (remainder and left <= 0):
        raise TraumaConfigError(f"trauma.marginals.{attribute}: published shares sum to {1 - left:.3f}, leaving "
                                f"nothing for {len(remainder)} remainder categories")
    if not remainder and abs(left) > 1e-6:
        raise TraumaConfigError(f"trauma.marginals.{attribute}: published shares sum to {1 - left:.3f} and no "
                                "remainder categories take the rest")
    out = {**published, **{c: left / len(remainder) for c in remainder}}
    source = {c: "published" if c in published else "uniform remainder" for c in out}
    return out, source


def _age_location(low: float, high: float, mean: float, sd: float) -> float:
    """The normal location whose truncation to [low, high] has the published mean."""
    def gap(mu):
        a, b = (low - mu) / sd, (high - mu) / sd
        return stats.truncnorm.mean(a, b, loc=mu, scale=sd) - mean
    return optimize.brentq(gap, low - 3 * sd, high + 3 * sd)


def sample_cases(n: int, marginals: Mapping[str, Any], suds: Mapping[str, Any], *, seed: int,
                 prefix: str = "tv") -> pl.DataFrame:
    """``n`` cases (ids ``{prefix}0001`` ...): age from a normal truncated to the published range with
    the published mean, categorical attributes from :func:`shares`, and a baseline SUDS.
    """
    age = marginals["age"]
    location = _age_location(age["min"], age["max"], age["mean"], age["sd"])
    a, b = (age["min"] - location) / age["sd"], (age["max"] - location) / age["sd"]
    tables = {attribute: shares(marginals[attribute], attribute=attribute)[0] for attribute in CATEGORICAL}
    rows = []
    for index in range(1, n + 1):
        case_id = f"{prefix}{index:04d}"
        rng = np.random.default_rng(name_seed(seed, "case", case_id))
        drawn = {attribute: str(rng.choice(list(t), p=np.array(list(t.values())) / sum(t.values())))
                 for attribute, t in tables.items()}
        years = stats.truncnorm.ppf(rng.random(), a, b, loc=location, scale=age["sd"])
        rows.append({"case_id": case_id, "age": int(round(years)), **drawn,
                     "baseline_suds": float(rng.uniform(*suds["baseline"]))})
    return pl.DataFrame(rows, schema=CASE_SCHEMA)


def marginals_table(cases: pl.DataFrame, marginals: Mapping[str, Any]) -> pl.DataFrame:
    """Sampled against published shares per category, with a chi-square goodness-of-fit test per
    attribute; age as its mean and range against the published ones.
    """
    rows = []
    n = cases.height
    for attribute in CATEGORICAL:
        expected, source = shares(marginals[attribute], attribute=attribute)
        counts = dict(zip(*cases[attribute].value_counts().select(attribute, "count").to_dict(as_series=False).values(),
                          strict=True))
        observed = np.array([counts.get(c, 0) for c in expected], dtype=float)
        unknown = set(counts) - set(expected)
        if unknown:
            raise TraumaConfigError(f"cases have {attribute} categories {sorted(unknown)} not in the marginals")
        chi2, p = stats.chisquare(observed, np.array(list(expected.values())) * n)
        for category, share in expected.items():
            sampled = counts.get(category, 0) / n
            rows.append((attribute, category, share, source[category], sampled, sampled - share, n, float(chi2),
                         len(expected) - 1, float(p)))
    age = marginals["age"]
    rows.append(("age", "mean", float(age["mean"]), "published", float(cases["age"].mean()),
                 float(cases["age"].mean()) - age["mean"], n, None, None, None))
    for bound in ("min", "max"):
        value = float(getattr(cases["age"], bound)())
        rows.append(("age", bound, float(age[bound]), "published", value, value - age[bound], n, None, None, None))
    return pl.DataFrame(rows, schema=MARGINALS_SCHEMA, orient="row")


def published_marginals_table(cases: pl.DataFrame, marginals: Mapping[str, Any]) -> pl.DataFrame:
    """Released cases against the shares the paper publishes: per attribute, each category with a
    published share and every other category pooled as "other" (the shares we would otherwise
    assume are not the paper's), with a chi-square goodness-of-fit test; age as its mean.
    """
    rows = []
    n = cases.height
    for attribute in CATEGORICAL:
        published = {str(k).lower(): float(v) for k, v in (marginals[attribute].get("published") or {}).items()}
        if not published:
            continue
        values = [str(v).lower() if v is not None else None for v in cases[attribute].to_list()]
        expected = {**published, "other": max(0.0, 1.0 - sum(published.values()))}
        observed = np.array([sum(v == c for v in values) for c in published] + [sum(v not in published for v in values)],
                            dtype=float)
        keep = np.array(list(expected.values())) > 0
        chi2, p = stats.chisquare(observed[keep], np.array(list(expected.values()))[keep] * n)
        for (category, share), count in zip(expected.items(), observed, strict=True):
            rows.append((attribute, category, share, "published" if category != "other" else "published (rest)",
                         count / n, count / n - share, n, float(chi2), int(keep.sum()) - 1, float(p)))
    ages = cases["age"].drop_nulls()
    if ages.len():
        rows.append(("age", "mean", float(marginals["age"]["mean"]), "published", float(ages.mean()),
                     float(ages.mean()) - marginals["age"]["mean"], ages.len(), None, None, None))
    return pl.DataFrame(rows, schema=MARGINALS_SCHEMA, orient="row")


def check_exchanges(phase: Mapping[str, Any], max_exchanges: int) -> list[int]:
    """The exchanges at which the therapist elicits SUDS in a phase of ``max_exchanges`` exchanges."""
    if phase["suds"] == "every":
        return list(range(1, max_exchanges + 1))
    if phase["suds"] == "start_end":
        return sorted({1, max_exchanges})
    raise TraumaConfigError(f"phase {phase['name']!r}: suds must be 'every' or 'start_end', got {phase['suds']!r}")


def planted_arc(case: Mapping[str, Any], phase_id: str, *, order: Sequence[str], max_exchanges: int,
                suds: Mapping[str, Any], seed: int, flat: bool = False) -> dict[str, int]:
    """The SUDS a planted client reports at each elicited exchange of one phase: the case's baseline
    lowered from phase to phase (between-session habituation), then within the phase falling by the
    case's slope per exchange ("decline") or first rising to a peak ("peak"), plus seeded noise.
    ``flat``: the null scenario, the phase's starting SUDS at every exchange (same noise), so a
    check of habituation must not find it there.
    """
    phase = phases()[phase_id]
    rng = np.random.default_rng(name_seed(seed, "arc", case["case_id"], phase_id))
    start = case["baseline_suds"] * (1 - suds["between_phase_drop"] * order.index(phase_id))
    slope = rng.uniform(*suds["within_slope"])
    peak_at = max(1, round(max_exchanges / 3))
    values = {}
    for exchange in check_exchanges(phase, max_exchanges):
        if flat:
            value = start
        elif phase["arc"] == "peak" and exchange <= peak_at:
            value = start + suds["peak_rise"] * (exchange - 1) / max(peak_at - 1, 1)
        elif phase["arc"] == "peak":
            value = start + suds["peak_rise"] - slope * (exchange - peak_at)
        else:
            value = start - slope * (exchange - 1)
        values[str(exchange)] = int(np.clip(round(value + rng.normal(0, suds["noise"])), 0, 100))
    return values


SCENARIOS = ("planted", "flat")


def case_profiles(cases: pl.DataFrame, *, phase_ids: Sequence[str], order: Sequence[str], max_exchanges: int,
                  suds: Mapping[str, Any], seed: int, flat_cases: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One ``case`` profile per case and phase: demographics, the trauma and its behaviour, the phase's
    goals as the plan and the planted SUDS arc (``suds_plan``: exchange -> rating) the cues read.
    The cases named in ``flat_cases`` get a second profile per phase (id ``..._flat``, scenario
    ``flat``) with a flat arc: the null the habituation check must not call habituation.
    """
    unknown = sorted(set(phase_ids) - set(phases()))
    if unknown:
        raise TraumaConfigError(f"unknown phase(s) {unknown}; known: {sorted(phases())}")
    unknown = sorted(set(flat_cases) - set(cases["case_id"]))
    if unknown:
        raise TraumaConfigError(f"flat cases {unknown} are not among the generated cases")
    profiles = []
    for case in cases.iter_rows(named=True):
        scenarios = SCENARIOS if case["case_id"] in flat_cases else SCENARIOS[:1]
        for scenario in scenarios:
            for phase_id in phase_ids:
                profiles.append({
                    "id": f"{case['case_id']}_{phase_id}" + ("_flat" if scenario == "flat" else ""), "kind": "case",
                    "language": "en", "source": "trauma case sampler",
                    "case_id": case["case_id"], "phase": phase_id, "scenario": scenario,
                    "static_traits": {"age": case["age"], "gender": case["gender"], "ethnicity": case["ethnicity"]},
                    "main_problem": f"post-traumatic stress after {case['trauma_type']}, with {case['behaviour']}",
                    "growth_experiences": [f"The memory you work on in therapy is your experience of {case['trauma_type']}."],
                    "core_demands": "to stop avoiding the memory and feel safe in daily life again",
                    "global_plan": [{"goals": " ".join(phases()[phase_id]["goals"].split())}],
                    "suds_plan": planted_arc(case, phase_id, order=order, max_exchanges=max_exchanges, suds=suds,
                                             seed=seed, flat=scenario == "flat"),
                })
    return profiles
