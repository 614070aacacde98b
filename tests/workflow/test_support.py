"""The support study end to end on AnnoMI with a small simulated cohort, then on a user's own table."""

import json

import polars as pl
import pytest
import yaml

from tests.conftest import real_data_copy, rerun_plan, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
TARGET = "results/support/manifest.json"


@pytest.fixture(scope="module")
def support_run(tmp_path_factory):
    def small(config):
        study = config["support"]
        study.update(n_boot=50, replicates={"count": 4, "shards": 2, "n_boot": 30})
        study["simulation"]["users"] = 1200
        study["classifier"]["n_splits"] = 3

    work, env = real_data_copy(tmp_path_factory, "support", small)
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET)
    return work, env


def table(work, name):
    return pl.read_csv(work / f"results/support/tables/{name}.csv")


def test_matching_removes_the_confounding_the_naive_comparison_shows(support_run):
    work, _ = support_run
    truth = json.loads((work / "results/support/cohort/truth.json").read_text())
    att = table(work, "att")
    for outcome in ("phq9", "gad7"):
        rows = {r["method"]: r for r in att.filter(pl.col("outcome") == outcome).iter_rows(named=True)}
        planted = truth["sample_att"][outcome]
        assert rows["naive"]["estimate"] < planted - 0.5  # chat users would have improved more anyway
        for method in ("matching_replace", "ipw", "doubly_robust"):
            assert abs(rows[method]["estimate"] - planted) < 0.6, (outcome, method)
    balance = table(work, "balance")
    assert balance.filter(pl.col("sample") == "before matching")["smd"].abs().max() > 0.3
    assert balance.filter(pl.col("sample") == "matched (with replacement)")["smd"].abs().max() < 0.1


def test_skill_rates_come_from_annomi_twice_and_coding_error_attenuates(support_run):
    work, _ = support_run
    sessions = table(work, "session_skills")
    assert sessions["transcript_id"].n_unique() == 133 and set(sessions["skill"]) == {"empathy", "autonomy", "information", "persuading"}
    measurement = table(work, "skill_measurement")
    beats_null = dict(zip(measurement["skill"], measurement["pearson_r"] > measurement["null_r_95"], strict=True))
    # frequent codes are measured; autonomy (options/negotiation, 93 of 4,882 utterances) is not, by this classifier
    assert beats_null["empathy"] and beats_null["information"] and beats_null["persuading"]
    effects = table(work, "skill_effects")
    assert set(effects["skills_from"]) == {"annotated", "classifier"}
    recovery = table(work, "skill_recovery").filter(pl.col("scenario") == "planted")
    empathy = {r["skills_from"]: r for r in recovery.filter((pl.col("term") == "empathy") & (pl.col("outcome") == "phq9")).iter_rows(named=True)}
    assert abs(empathy["classifier"]["expected"]) < abs(empathy["annotated"]["expected"])  # calibration predicts attenuation
    assert abs(empathy["classifier"]["mean_estimate"]) < abs(empathy["annotated"]["mean_estimate"])


def test_recovery_null_claims_and_manifest(support_run):
    work, _ = support_run
    recovery = table(work, "att_recovery")
    assert recovery.filter(pl.col("scenario") == "null")["replicates"].to_list() == [4] * 10
    naive_null = recovery.filter((pl.col("scenario") == "null") & (pl.col("method") == "naive"))
    assert (naive_null["rejection_rate"] == 1.0).all()  # the baseline the adjusted estimators must beat
    claims = pl.read_csv(work / "results/support/claims.csv")
    assert {"chat_improves_phq9", "att_null_false_positives", "skill_persuading_gad7_classifier"} <= set(claims["claim_id"])
    assert set(claims["level"]) == {"B"}
    # each verdict follows its rule on the tables (read here independently of the claims module)
    verdicts = dict(zip(claims["claim_id"], claims["verdict"], strict=True))
    primary = json.loads((work / "results/support/manifest.json").read_text())["config"]["support"]["matching"]["primary"]
    att = table(work, "att").filter((pl.col("method") == primary) & (pl.col("outcome") == "phq9")).row(0, named=True)
    assert verdicts["chat_improves_phq9"] == ("planted recovered" if att["ci_high"] < 0 else "not reproduced")
    null_rate = recovery.filter((pl.col("scenario") == "null") & (pl.col("method") == primary))["rejection_rate"].mean()
    assert verdicts["att_null_false_positives"] == ("null passed" if null_rate <= 0.1 else "not reproduced")
    assert verdicts["att_null_false_positives"] == "null passed"   # the naive rate is 1.0 above: this one must differ
    manifest = json.loads((work / "results/support/manifest.json").read_text())
    assert manifest["config"]["support"]["simulation"]["users"] == 1200
    assert any(i["path"].endswith("AnnoMI-full.csv") for i in manifest["inputs"])
    for figure in ("balance", "att", "skill_effects", "coverage", "skill_measurement"):
        assert (work / f"results/support/figures/{figure}.png").stat().st_size > 1000


def test_rerun_does_nothing_and_one_key_reruns_only_its_readers(support_run):
    work, env = support_run
    again = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET)
    assert "Nothing to be done" in again.stdout + again.stderr
    for edit, expected in (
        ({"support/replicates/n_boot": 40}, {"support_replicates": 4}),
        ({"support/matching/caliper_sd": 0.25}, {"support_replicates": 4, "analyse_support_cohort": 1}),
        ({"support/matching/primary": "ipw"}, {"state_claims": 1}),
        ({"support/skills/empathy/published_sign": 1}, {"state_claims": 1}),
        ({"support/n_boot": 60}, {"measure_support_skills": 1}),  # the rest follows its output
        ({"support/main_scenario": "null"}, {"analyse_support_cohort": 1}),
    ):
        by_params, scheduled = rerun_plan(work, env, [TARGET], edit)
        assert by_params == expected, edit
        assert ("measure_support_skills" in scheduled) == ("support/n_boot" in edit), edit
    by_params, scheduled = rerun_plan(work, env, [TARGET], {"support/scenarios/null/att": {"phq9": 0.5, "gad7": 0.0}})
    assert by_params == {"support_replicates": 2}  # only the null scenario's shards (the summary follows them)
    assert "analyse_support_cohort" not in scheduled


def run_on_table(work, env, table_path, check=True, transcripts=None):
    config = yaml.safe_load((work / "config/config.yaml").read_text())
    config["support"]["cohort"] = {"source": "table", "table": str(table_path), "transcripts": transcripts}
    edited = work / "table-config.yaml"
    edited.write_text(yaml.safe_dump(config, sort_keys=False))
    return snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET,
                     "--configfile", str(edited), check=check)


def test_skill_rates_measured_from_the_users_transcripts(support_run, published):
    """A user table without skill columns and the chats as transcripts (here each chat user's AnnoMI
    session): the classifier measures the rates. AnnoMI is also its training data, so these are in-sample
    measurements: they track the experts' rates, and are not a copy of them."""
    from replisuite.coding.annomi import read_annomi, utterances

    work, env = support_run
    cohort = pl.read_parquet(work / "results/support/cohort/cohort.parquet")
    users = cohort.select("user_id", "chat", "phq9_pre", "phq9_post", "gad7_pre", "gad7_post", "age", "engagement",
                          "prior_use", "supporter_experience")
    annomi = utterances(read_annomi(next(work.glob("data/raw/annomi_full/*.csv"))))
    chats = (cohort.filter(pl.col("chat")).select("user_id", "transcript_id")
             .join(annomi.select("transcript_id", "utterance_id", "interlocutor", "utterance_text"), on="transcript_id")
             .select("user_id", pl.col("utterance_id").alias("turn"),
                     pl.when(pl.col("interlocutor") == "therapist").then(pl.lit("supporter")).otherwise(pl.lit("client"))
                     .alias("speaker"), pl.col("utterance_text").alias("text")))
    users.write_csv(work / "users_only.csv")
    chats.write_csv(work / "chats.csv")
    run_on_table(work, env, work / "users_only.csv", transcripts=str(work / "chats.csv"))
    measured = pl.read_parquet(work / "results/support/cohort/cohort.parquet").filter(pl.col("chat"))
    joined = measured.select("user_id", pl.col("skill_information").alias("from_transcripts")).join(
        cohort.select("user_id", "skill_information"), on="user_id")
    r = joined.select(pl.corr("from_transcripts", "skill_information"))[0, 0]
    assert 0.6 < r < 0.999, r
    assert json.loads((work / "results/support/cohort/truth.json").read_text())["transcripts"].endswith("chats.csv")
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET)  # back to the simulated cohort


def test_a_users_own_table_runs_and_a_bad_one_is_refused_by_column(support_run):
    work, env = support_run
    cohort = pl.read_parquet(work / "results/support/cohort/cohort.parquet")
    users = cohort.select("user_id", "chat", *[f"phq9_pre_{i}" for i in range(1, 10)], "phq9_post", "gad7_pre",
                          "gad7_post", "age", "engagement", "prior_use", "supporter_experience",
                          *[pl.col(f"skill_{s}") for s in ("empathy", "autonomy", "information", "persuading")])
    good = work / "my_users.csv"
    users.write_csv(good)
    run_on_table(work, env, good)
    effects = table(work, "skill_effects")
    assert set(effects["skills_from"]) == {"as supplied"}
    assert json.loads((work / "results/support/cohort/truth.json").read_text())["simulated"] is False
    att = table(work, "att").filter((pl.col("method") == "ipw") & (pl.col("outcome") == "phq9"))
    assert att["estimate"][0] < 0  # the planted benefit is in the table's data
    bad = work / "bad_users.csv"
    users.with_columns(pl.when(pl.col("user_id") == "u00007").then(pl.lit(120)).otherwise(pl.col("phq9_post"))
                       .alias("phq9_post")).write_csv(bad)
    failed = run_on_table(work, env, bad, check=False)
    assert failed.returncode != 0
    log = (work / "logs/support/analyse_support_cohort.log").read_text()
    assert f"{bad}: column phq9_post: a value above 27 (120" in log and "user 'u00007'" in log
    assert not (work / "results/support/tables/att.csv").exists()  # nothing partial is left
