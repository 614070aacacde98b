"""The preference study's findings (PsychoCounsel, on public CounselChat pairs: level proxy), each
against the baseline that would pass without the method: a reward model against the length-only
model and the coin flip, the tuned policy against the base at a win rate of 0.5, the principle
judge against reply length.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from replisuite.claims import Claim, TaskFloor, all_floors, beats_baseline_verdict, embedded_label, rate_floor, with_floor

STUDY = "preference"
SOURCE = "Preference Learning Unlocks LLMs' Psycho-Counseling Skills (PsychoCounsel)"


def _label(name: str, embedded: Sequence[str]) -> str:
    return embedded_label(name) if name in embedded else name


def reward_claim(accuracy: pl.DataFrame) -> Claim:
    """The reward model beats reply length at predicting the preferred reply on held-out questions."""
    rows = {r["model"]: r for r in accuracy.iter_rows(named=True)}
    model, baseline = rows["embedding+length"], max(rows["length"]["accuracy"], 0.5)
    verdict, rule = beats_baseline_verdict(baseline, model["accuracy"], model["ci_low"])
    return Claim(study=STUDY, claim_id="reward_model_beats_length", source=SOURCE,
                 claim="A reward model trained on preference pairs predicts which reply is preferred on held-out "
                       "questions better than reply length does",
                 published="", reproduced=model["accuracy"], ci_low=model["ci_low"], ci_high=model["ci_high"],
                 level="proxy", verdict=verdict, rule=f"{rule} (the better of length-only BT and the coin flip)",
                 measure="held-out pair accuracy", baseline=baseline,
                 note=f"Bradley-Terry on MiniLM embeddings and log length, {model['pairs']} held-out pairs of "
                      f"{model['questions']} questions; length only {rows['length']['accuracy']:.2f}, embedding only "
                      f"{rows['embedding']['accuracy']:.2f}, TF-IDF {rows['tfidf']['accuracy']:.2f}")


# a pairwise judge shown each pair in both orders must give the same verdict both times in at least
# half the pairs: one that follows the position compares nothing
MIN_CONSISTENT = 0.5


def pairwise_judge_floor(row: Mapping, *, min_usable: float) -> TaskFloor | None:
    """The pairwise judge's task floor: format compliance and order consistency, or ``None`` without counts."""
    if row.get("judged") is None:
        return None
    return all_floors(rate_floor("format compliance (verdicts A or B)", int(row["judged"]), int(row["questions"]),
                                 min_rate=min_usable, unit="questions", hit="judged"),
                      rate_floor("verdicts independent of the order shown", int(row["consistent"]), int(row["judged"]),
                                 min_rate=MIN_CONSISTENT, unit="questions", hit="order-consistent"))


def principle_judge_floor(total: Mapping) -> TaskFloor:
    """A rubric judge's totals must tell the two replies apart in at least half the pairs."""
    return rate_floor("totals that separate two replies", int(total["agree"]) + int(total["disagree"]),
                      int(total["pairs"]), min_rate=MIN_CONSISTENT, unit="pairs", hit="not tied")


def policy_claims(policy: pl.DataFrame, *, base: str, embedded: Sequence[str], min_usable: float = 0.8) -> list[Claim]:
    """One claim per judge that the DPO-tuned policy beats its base, with the judge's floor."""
    claims = []
    for row in policy.filter(pl.col("measure") == "judge win rate of dpo over base").iter_rows(named=True):
        verdict, rule = beats_baseline_verdict(0.5, row["estimate"], row["ci_low"])
        self_judged = row["judge"] == base
        claims.append(with_floor(Claim(
            study=STUDY, claim_id=f"dpo_beats_base[{row['judge']}]", source=SOURCE,
            claim="Preference optimisation (DPO) makes the model's counselling replies win against the base model's",
            published="", reproduced=row["estimate"], ci_low=row["ci_low"], ci_high=row["ci_high"], level="proxy",
            verdict=verdict, rule=f"{rule} (win rate 0.5, ties half)", measure="judge win rate of DPO over base",
            baseline=0.5,
            models=f"policy {_label(base, embedded)}; judge {_label(row['judge'], embedded)}",
            note=f"{row['questions']} held-out questions; {row['note']}"
                 + ("; self-judged: the judge is the tuned model's own base model (configure another entry in "
                    "preference.evaluation.judges)" if self_judged else "")),
            pairwise_judge_floor(row, min_usable=min_usable)))
    return claims


def principle_claims(agreement: pl.DataFrame, *, embedded: Sequence[str]) -> list[Claim]:
    """One claim per judge that its principle scores agree with the published preferences beyond reply length."""
    claims = []
    for (judge,), frame in agreement.group_by("judge", maintain_order=True):
        rows = {r["principle"]: r for r in frame.iter_rows(named=True)}
        total, length = rows["total"], rows["longer reply (baseline)"]
        baseline = max(0.5, length["agreement"]) if length["agreement"] == length["agreement"] else 0.5
        verdict, rule = beats_baseline_verdict(baseline, total["agreement"], total["ci_low"])
        claims.append(with_floor(Claim(
            study=STUDY, claim_id=f"principles_agree_with_upvotes[{judge}]", source=SOURCE,
            claim="Replies preferred on the seven principles are the ones human readers upvoted",
            published="", reproduced=total["agreement"], ci_low=total["ci_low"], ci_high=total["ci_high"],
            level="proxy", verdict=verdict, rule=f"{rule} (the better of 0.5 and 'the longer reply wins')",
            models=f"judge {_label(judge, embedded)}", measure="agreement with upvotes", baseline=baseline,
            note=f"{total['pairs']} pairs, {total['ties']} tied on the total; longer reply agrees "
                 f"{length['agreement']:.2f}; interval resamples questions"), principle_judge_floor(total)))
    return claims


def claims_from_files(paths: dict[str, str], *, embedded: Sequence[str], base: str, min_usable: float = 0.8) -> list[Claim]:
    """The preference study's claims from the tables the workflow wrote."""
    return [reward_claim(pl.read_csv(paths["reward_accuracy"])),
            *principle_claims(pl.read_csv(paths["principle_agreement"]), embedded=embedded),
            *policy_claims(pl.read_csv(paths["policy_comparison"]), base=base, embedded=embedded, min_usable=min_usable)]
