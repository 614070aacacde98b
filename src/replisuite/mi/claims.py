"""The MI paper's findings, on AnnoMI as a public stand-in for the private platform data."""

from __future__ import annotations

import polars as pl

from replisuite.claims import Claim, beats_baseline_verdict, direction_verdict

STUDY = "mi"
# (task, code, published sign, claim text): MI-consistent behaviour goes with higher quality.
QUALITY_CODES = (
    ("therapist_behaviour", "reflection", 1, "Reflections are more frequent in high-quality MI sessions"),
    ("client_talk_type", "change", 1, "Client change talk is more frequent in high-quality MI sessions"),
)


def quality_claims(codes: pl.DataFrame) -> list[Claim]:
    """Claims that each listed code's per-session rate differs by session quality in the paper's direction (annotated, predicted)."""
    claims = []
    for task, code, sign, text in QUALITY_CODES:
        for row in codes.filter((pl.col("task") == task) & (pl.col("code") == code)).iter_rows(named=True):
            annotated = row["source"] == "annotated"
            verdict, rule = direction_verdict(sign, row["difference"], row["ci_low"], row["ci_high"])
            claims.append(Claim(
                study=STUDY, claim_id=f"{code}_quality_{'annotated' if annotated else 'predicted'}",
                source="MI-quality analysis (code rates vs session quality)",
                claim=text + ("" if annotated else " (codes from the classifier's out-of-fold predictions)"),
                published="higher with high quality", reproduced=row["difference"], ci_low=row["ci_low"],
                ci_high=row["ci_high"], level="proxy", verdict=verdict, rule=rule, models="",
                measure="difference in per-session code rate (high minus low quality)",
                note=f"AnnoMI, {row['sessions_high']} high vs {row['sessions_low']} low sessions; {row['source']} codes; "
                     "difference of mean per-session rates, bootstrap 95% interval",
            ))
    return claims


def majority_macro_f1(per_class: pl.DataFrame) -> float:
    """Macro F1 of always predicting the most frequent class (the other classes score 0)."""
    share = per_class["support"].max() / per_class["support"].sum()
    return float(2 * share / (1 + share) / per_class.height)


def chance_macro_f1(per_class: pl.DataFrame) -> float:
    """Expected macro F1 of guessing each utterance's class from the class shares: every class's
    precision and recall are its share, so macro F1 is 1 / (number of classes). This trivial guess
    beats the majority guess on macro F1 whenever there are two or more classes.
    """
    return 1.0 / per_class.height


def classifier_claims(f1: pl.DataFrame) -> list[Claim]:
    """One claim per task and classifier: choosing the best classifier by its test-fold F1 and
    reporting that F1 would select on the evaluation data, so every classifier is stated.
    """
    claims = []
    for (task, classifier), rows in f1.group_by("task", "classifier", maintain_order=True):
        macro = rows.filter(pl.col("class") == "macro").row(0, named=True)
        classes = rows.filter(pl.col("class") != "macro")
        majority, chance = majority_macro_f1(classes), chance_macro_f1(classes)
        baseline = max(majority, chance)
        verdict, rule = beats_baseline_verdict(baseline, macro["f1"], macro["ci_low"])
        claims.append(Claim(
            study=STUDY, claim_id=f"classifier_{task}_{classifier}", source="MI behaviour classifier",
            claim=f"An utterance classifier ({classifier}) codes {task.replace('_', ' ')} better than a trivial guess",
            published="", reproduced=macro["f1"], ci_low=macro["ci_low"], ci_high=macro["ci_high"], level="proxy",
            verdict=verdict, rule=f"{rule} (the better of the majority guess and a guess from the class shares)",
            models="", measure="macro F1", baseline=baseline,
            note=f"macro F1 vs the trivial guess's {baseline:.3f} (majority {majority:.3f}, class shares {chance:.3f}); "
                 "the paper's F1 is on private data, so no published value is compared",
        ))
    return claims


def mi_claims(*, codes: pl.DataFrame, f1: pl.DataFrame) -> list[Claim]:
    """The mi study's claims: code frequencies by session quality, and the classifiers against their baselines."""
    return [*quality_claims(codes), *classifier_claims(f1)]


def claims_from_files(paths: dict[str, str]) -> list[Claim]:
    """:func:`mi_claims` from the tables the workflow wrote."""
    return mi_claims(codes=pl.read_csv(paths["quality"]), f1=pl.read_csv(paths["f1"]))
