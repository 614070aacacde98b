"""The study's units (client utterances of the gold sessions) and gold codes."""

from __future__ import annotations

import polars as pl

from replisuite.coding.annomi import read_annomi, utterances
from replisuite.coding.codebook import Codebook
from replisuite.coding.codings import EXCERPTS_SCHEMA, CodingsError, read_codings
from replisuite.stats import name_seed


def client_units(annomi_path: str, sessions: list[int]) -> pl.DataFrame:
    """Client utterances of the sessions as coding units: unit ``<transcript>-<utterance>``, case = session."""
    frame = utterances(read_annomi(annomi_path))
    missing = sorted(set(sessions) - set(frame["transcript_id"].to_list()))
    if missing:
        raise CodingsError(f"{annomi_path}: no AnnoMI transcript(s) {missing}")
    clients = frame.filter(pl.col("transcript_id").is_in(sessions) & (pl.col("interlocutor") == "client"))
    return clients.select(
        pl.concat_str(pl.col("transcript_id").cast(pl.String), pl.col("utterance_id").cast(pl.String), separator="-").alias("unit"),
        pl.col("transcript_id").cast(pl.String).alias("case"), pl.col("utterance_id").cast(pl.Int64).alias("order"),
        pl.col("utterance_text").alias("text"),
    ).sort("case", "order").select(list(EXCERPTS_SCHEMA))


def gold_codings(path: str, *, codebook: Codebook, annomi_path: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The gold file's sessions as units, and its codes (checked against the codebook and the texts)."""
    sessions = pl.read_csv(path, comment_prefix="#", columns=["transcript_id"])["transcript_id"].unique().sort().to_list()
    units = client_units(annomi_path, sessions)
    codings = read_codings(path, codebook=codebook, excerpts=units, unit_of={"transcript_id": "", "utterance_id": ""})
    return units, codings


def sample_units(units: pl.DataFrame, *, per_session: int | None, seed: int) -> pl.DataFrame:
    """``per_session`` units of each session, chosen by a seed drawn from each unit's name (so a
    unit's selection never depends on the others); all units when None.
    """
    if per_session is None:
        return units
    ranked = units.with_columns(pl.col("unit").map_elements(lambda u: name_seed(seed, "sample", u),
                                                            return_dtype=pl.UInt64).alias("_rank"))
    return ranked.sort("_rank").group_by("case", maintain_order=True).head(per_session).drop("_rank").sort("case", "order")
