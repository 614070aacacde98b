"""The user table: its schema and validation (a user's own data), and the simulated cohort.

A user table has one row per platform user (CSV or Parquet):

``user_id``
    unique, non-empty.
``chat``
    true/false or 1/0: the user had a one-on-one support chat.
``<outcome>_pre``, ``<outcome>_post``
    totals of each outcome instrument (``phq9``, ``gad7``) at baseline and follow-up, within the
    instrument's range. Instead of ``<outcome>_pre`` the items may be given as
    ``<outcome>_pre_<item id>`` (``phq9_pre_1`` ... ``phq9_pre_9``): they are scored by the
    instrument library and every item must be answered.
the covariates
    the configured confounders (numeric or true/false, no missing values).
``supporter_experience``
    for chat users: the supporter's number of earlier chats (>= 0).
``skill_<name>``
    for chat users: the share of the supporter's utterances in the chat that show each skill (0-1).
    Instead, the chats themselves may be given as a transcripts table (``user_id``, ``turn``, ``speaker``
    = supporter or client, ``text``): the rates are then measured by the skill classifier.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from replisuite.instruments import Instrument, InstrumentError, score

EXPERIENCE = "supporter_experience"


class UserTableError(ValueError):
    """A user table lacks a column or holds a value outside what the column allows."""


def outcome_label(outcome: str) -> str:
    """``phq9`` -> ``PHQ-9``."""
    return re.sub(r"^([a-z]+)(\d+)$", lambda m: f"{m.group(1).upper()}-{m.group(2)}", outcome)


def skill_column(skill: str, *, measured: bool = False) -> str:
    """The cohort column of a skill (true, or as measured)."""
    return f"skill_{skill}_measured" if measured else f"skill_{skill}"


SUPPORTER_SPEAKERS = ("supporter", "counsellor", "counselor", "therapist", "helper", "listener")
CLIENT_SPEAKERS = ("client", "seeker", "user", "member")


def read_transcripts(path: str | os.PathLike[str], *, users: pl.DataFrame) -> pl.DataFrame:
    """A transcripts table (one row per turn) checked against the user table: every chat user has a
    transcript with at least one supporter turn, and every transcript belongs to a chat user. Returns
    the supporter turns with the previous turn's text (``utterance_text``, ``previous_text``).
    """
    path = Path(path)
    try:
        frame = pl.read_csv(path, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise UserTableError(f"{path}: cannot be read as a CSV transcripts table ({error})") from None
    _require(frame, str(path), ["user_id", "turn", "speaker", "text"])
    frame = frame.with_columns(pl.col("user_id").cast(pl.String), pl.col("speaker").cast(pl.String).str.to_lowercase(),
                               pl.col("text").cast(pl.String).fill_null(""))
    speakers = (*SUPPORTER_SPEAKERS, *CLIENT_SPEAKERS)
    bad = frame.filter(~pl.col("speaker").is_in(speakers))
    if bad.height:
        raise UserTableError(f"{path}: column speaker: {bad['speaker'][0]!r} (user {bad['user_id'][0]!r}) is not one of {list(speakers)}")
    if not frame["turn"].dtype.is_integer():
        raise UserTableError(f"{path}: column turn: expected whole numbers, got {frame['turn'].dtype}")
    chat_users = set(users.filter(pl.col("chat"))["user_id"].cast(pl.String))
    strangers = sorted(set(frame["user_id"]) - chat_users)
    if strangers:
        raise UserTableError(f"{path}: column user_id: {strangers[:5]} are not chat users of the user table")
    ordered = frame.sort("user_id", "turn").with_columns(
        pl.col("text").shift(1).over("user_id").fill_null("").alias("previous_text"))
    supporter = ordered.filter(pl.col("speaker").is_in(SUPPORTER_SPEAKERS))
    missing = sorted(chat_users - set(supporter["user_id"]))
    if missing:
        raise UserTableError(f"{path}: chat user(s) {missing[:5]} have no supporter turn")
    return supporter.select("user_id", "turn", pl.col("text").alias("utterance_text"), "previous_text")


def read_user_table(path: str | os.PathLike[str], *, instruments: Mapping[str, Instrument], covariates: Sequence[str],
                    skills: Sequence[str], skill_rates: pl.DataFrame | None = None) -> pl.DataFrame:
    """Read and validate a user table (see the module docstring); errors name the file, column and user.

    ``skill_rates`` (user_id, ``skill_<name>``), measured from transcripts, replace the table's own.
    """
    path = Path(path)
    if not path.is_file():
        raise UserTableError(f"{path}: no such user table")
    try:
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise UserTableError(f"{path}: cannot be read as a {'Parquet' if path.suffix == '.parquet' else 'CSV'} table "
                             f"({error})") from None
    if skill_rates is not None:
        frame = (frame.drop([c for c in skill_rates.columns if c != "user_id" and c in frame.columns])
                 .with_columns(pl.col("user_id").cast(pl.String).alias("_user"))
                 .join(skill_rates.rename({"user_id": "_user"}), on="_user", how="left").drop("_user"))
    return validate_users(frame, origin=str(path), instruments=instruments, covariates=covariates, skills=skills)


def validate_users(frame: pl.DataFrame, *, origin: str, instruments: Mapping[str, Instrument], covariates: Sequence[str],
                   skills: Sequence[str]) -> pl.DataFrame:
    """The table with ``chat`` as booleans and every ``<outcome>_pre`` total present (scored from
    items where only items are given); raises :class:`UserTableError` naming the first problem.
    """
    _require(frame, origin, ["user_id", "chat"])
    if frame["user_id"].null_count() or frame["user_id"].cast(pl.String).str.len_chars().min() == 0:
        raise UserTableError(f"{origin}: column user_id: empty user id in row {_first(frame['user_id'].is_null() | (frame['user_id'].cast(pl.String) == ''))}")
    duplicated = frame.filter(frame["user_id"].is_duplicated())
    if duplicated.height:
        raise UserTableError(f"{origin}: column user_id: duplicate user id {duplicated['user_id'][0]!r}")
    frame = frame.with_columns(_boolean(frame, origin, "chat"))
    for outcome, instrument in instruments.items():
        frame = _with_total(frame, origin, outcome, instrument)
    missing = [c for c in covariates if c not in frame.columns]
    if missing:
        raise UserTableError(f"{origin}: missing covariate column(s) {missing} (config support.covariates)")
    frame = frame.with_columns(
        pl.col(c).cast(pl.Float64) if frame.schema[c] == pl.Boolean else pl.col(c) for c in covariates)
    for column in covariates:
        _numeric(frame, origin, column, nulls=False)
    chats = frame.filter(pl.col("chat"))
    _require(frame, origin, [EXPERIENCE, *map(skill_column, skills)], what="column(s) for chat users")
    _numeric(chats, origin, EXPERIENCE, nulls=False, low=0)
    for skill in skills:
        _numeric(chats, origin, skill_column(skill), nulls=False, low=0, high=1)
    return frame


def _require(frame: pl.DataFrame, origin: str, columns: Sequence[str], *, what: str = "column(s)") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UserTableError(f"{origin}: missing {what} {missing}")


def _first(mask: pl.Series) -> int:
    return int(np.flatnonzero(mask.fill_null(True).to_numpy())[0]) + 1


def _boolean(frame: pl.DataFrame, origin: str, column: str) -> pl.Series:
    values = frame[column]
    if values.dtype == pl.Boolean and not values.null_count():
        return values
    allowed = {"true": True, "false": False, "1": True, "0": False}
    text = values.cast(pl.String).str.to_lowercase()
    bad = ~text.is_in(list(allowed)) | text.is_null()
    if bad.any():
        row = _first(bad)
        raise UserTableError(f"{origin}: column {column}: expected true/false or 1/0, got {values[row - 1]!r} "
                             f"(user {frame['user_id'][row - 1]!r})")
    return text.replace_strict(allowed, return_dtype=pl.Boolean).alias(column)


def _numeric(frame: pl.DataFrame, origin: str, column: str, *, nulls: bool, low: float | None = None,
             high: float | None = None) -> None:
    values = frame[column]
    if not values.dtype.is_numeric():
        raise UserTableError(f"{origin}: column {column}: expected numbers, got {values.dtype}")
    checks = [(values.is_null(), "a missing value")] if not nulls else []
    checks.append((values.is_nan() if values.dtype.is_float() else pl.Series([False] * len(values)), "NaN"))
    if low is not None:
        checks.append((values < low, f"a value below {low:g}"))
    if high is not None:
        checks.append((values > high, f"a value above {high:g}"))
    for mask, problem in checks:
        mask = mask.fill_null(False)
        if mask.any():
            row = _first(mask)
            raise UserTableError(f"{origin}: column {column}: {problem} ({values[row - 1]!r}, user "
                                 f"{frame['user_id'][row - 1]!r})")


def _with_total(frame: pl.DataFrame, origin: str, outcome: str, instrument: Instrument) -> pl.DataFrame:
    low, high = instrument.score_range()
    item_columns = [f"{outcome}_pre_{item.id}" for item in instrument.items]
    if f"{outcome}_pre" not in frame.columns:
        present = [c for c in item_columns if c in frame.columns]
        if not present:
            raise UserTableError(f"{origin}: missing column {outcome}_pre (or its items {item_columns[0]} ... "
                                 f"{item_columns[-1]})")
        _require(frame, origin, item_columns, what=f"{instrument.id} item column(s)")
        frame = frame.with_columns(pl.Series(f"{outcome}_pre", _score_items(frame, origin, instrument, item_columns)))
    _require(frame, origin, [f"{outcome}_post"])
    for column in (f"{outcome}_pre", f"{outcome}_post"):
        _numeric(frame, origin, column, nulls=False, low=low, high=high)
    return frame


def _score_items(frame: pl.DataFrame, origin: str, instrument: Instrument, columns: Sequence[str]) -> list[float]:
    totals = []
    for user, *answers in frame.select("user_id", *columns).iter_rows():
        try:
            result = score(instrument, {item.id: a for item, a in zip(instrument.items, answers, strict=True)})
        except InstrumentError as error:
            raise UserTableError(f"{origin}: user {user!r}: {error}") from None
        if result.total is None:
            item = next(c for c, a in zip(columns, answers, strict=True) if a is None)
            raise UserTableError(f"{origin}: column {item}: missing answer (user {user!r}); totals need every item")
        totals.append(result.total)
    return totals


def simulate_cohort(sessions: pl.DataFrame, *, instruments: Mapping[str, Instrument], skills: Sequence[str],
                    design: Mapping[str, Any], effects: Mapping[str, Any], users: int,
                    seed: int) -> tuple[pl.DataFrame, dict[str, Any]]:
    """A platform cohort with confounded chat uptake and planted effects, and its truth.

    Parameters
    ----------
    sessions
        One row per real counselling session: ``transcript_id``, each skill's annotated rate
        (``<skill>``) and classifier-measured rate (``<skill>_measured``)
        (:func:`replisuite.support.skills.skills_wide`). Each chat user is given one session.
    instruments
        Outcome name -> instrument; baseline answers are drawn item by item and written as
        ``<outcome>_pre_<item>`` columns, to be scored by the instrument library.
    design
        ``uptake`` (logit coefficients: intercept, severity, engagement, prior_use, age),
        ``change`` (untreated change: drift, regression_to_mean, engagement, prior_use, age,
        noise_sd), ``items`` (location, loading, noise of the item latent), ``severity_correlation``
        and ``supporter_chats_mean``.
    effects
        ``att`` (outcome -> points), ``skills`` (outcome -> skill -> points per unit rate) and
        ``experience`` (outcome -> points per log(1 + chats)); skill and experience effects are
        centred on the sessions' and users' means, so ``att`` is the average effect.

    Returns
    -------
    The cohort (user-table columns, the items, the assigned session, both skill rates, and the two
    potential follow-ups ``<outcome>_post_if_chat`` / ``_if_no_chat``) and the truth: the planted
    values and the sample ATT computed from the potential outcomes.

    Notes
    -----
    Chat uptake depends on the latent severity, engagement, prior use and age; the untreated change
    regresses to the mean of the observed baseline score and depends on engagement, prior use and
    age, so users who chat would improve more without a chat and the naive comparison is biased.
    Conditioning on the observed covariates removes the confounding.
    """
    rng = np.random.default_rng(seed)
    uptake, change, items = design["uptake"], design["change"], design["items"]
    severity = rng.standard_normal(users)
    engagement = rng.standard_normal(users)
    prior_use = rng.random(users) < design["prior_use_rate"]
    age = rng.integers(design["age"][0], design["age"][1] + 1, users)
    age_z = (age - age.mean()) / age.std()
    logit = (uptake["intercept"] + uptake["severity"] * severity + uptake["engagement"] * engagement
             + uptake["prior_use"] * prior_use + uptake["age"] * age_z)
    chat = rng.random(users) < 1 / (1 + np.exp(-logit))
    session = rng.integers(0, sessions.height, users)
    chats_before = rng.geometric(1 / (design["supporter_chats_mean"] + 1), users) - 1
    log_experience = np.log1p(chats_before)
    columns: dict[str, Any] = {
        "user_id": [f"u{i:05d}" for i in range(1, users + 1)], "chat": chat, "age": age,
        "engagement": engagement, "prior_use": prior_use,
    }
    truth: dict[str, Any] = {"users": users, "chat_users": int(chat.sum()), "planted_att": dict(effects["att"]),
                             "planted_skills": {o: dict(effects["skills"].get(o, {})) for o in instruments},
                             "planted_experience": dict(effects["experience"]), "sample_att": {}}
    rho = design["severity_correlation"]
    for outcome, instrument in instruments.items():
        latent = rho * severity + math.sqrt(1 - rho**2) * rng.standard_normal(users)
        values = np.array(instrument.values)
        answers = _draw_items(rng, latent, len(instrument.items), values, items)
        for k, item in enumerate(instrument.items):
            columns[f"{outcome}_pre_{item.id}"] = answers[:, k]
        pre = answers.sum(axis=1)
        untreated = (change["drift"] - change["regression_to_mean"] * (pre - pre.mean()) + change["engagement"] * engagement
                     + change["prior_use"] * prior_use + change["age"] * age_z + rng.normal(0, change["noise_sd"], users))
        gain = effects["att"][outcome] + effects["experience"][outcome] * (log_experience - log_experience.mean())
        for skill, coefficient in effects["skills"].get(outcome, {}).items():
            rates = sessions[skill].to_numpy()
            gain = gain + coefficient * (rates[session] - rates.mean())
        low, high = instrument.score_range()
        if_no_chat = np.clip(np.round(pre + untreated), low, high)
        if_chat = np.clip(np.round(pre + untreated + gain), low, high)
        columns[f"{outcome}_post"] = np.where(chat, if_chat, if_no_chat)
        columns[f"{outcome}_post_if_chat"] = if_chat
        columns[f"{outcome}_post_if_no_chat"] = if_no_chat
        truth["sample_att"][outcome] = float((if_chat - if_no_chat)[chat].mean())
    columns[EXPERIENCE] = chats_before
    columns["transcript_id"] = sessions["transcript_id"].to_numpy()[session]
    for skill in skills:
        for measured in (False, True):
            columns[skill_column(skill, measured=measured)] = sessions[f"{skill}_measured" if measured else skill].to_numpy()[session]
    chat_only = [EXPERIENCE, "transcript_id", *[skill_column(s, measured=m) for s in skills for m in (False, True)]]
    cohort = pl.DataFrame(columns).with_columns(pl.when(pl.col("chat")).then(pl.col(c)).alias(c) for c in chat_only)
    return cohort, truth


def _draw_items(rng: np.random.Generator, latent: np.ndarray, count: int, values: np.ndarray,
                items: Mapping[str, float]) -> np.ndarray:
    """Ordinal answers: each item's latent (location + loading x severity + noise) cut at the
    midpoints between option values.
    """
    continuous = items["location"] + items["loading"] * latent[:, None] + rng.normal(0, items["noise"], (latent.size, count))
    cuts = (values[:-1] + values[1:]) / 2
    return values[np.digitize(continuous, cuts)]
