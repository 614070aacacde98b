"""F1, confusion, code rates vs MI quality, annotator agreement, and the figures."""

from replisuite.mi.pipeline import summarise
from replisuite.runlog import log_to

out = snakemake.output
with log_to(snakemake.log[0]):
    summarise(
        snakemake.params.study, annomi_path=snakemake.input.annomi, utterances_path=snakemake.input.utterances,
        predictions=list(snakemake.input.predictions),
        tables={key: out[key] for key in ("f1", "confusion", "session_rates", "quality", "agreement")},
        figure_stems={"f1": out.f1_png, "rates": out.rates_png, "confusion": out.confusion_png},
    )
