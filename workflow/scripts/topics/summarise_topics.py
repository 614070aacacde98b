"""Topic table, sizes by group, coherence vs NMF, stability over seeds, groups compared, figures."""

from replisuite.runlog import log_to
from replisuite.topics.pipeline import summarise

out = snakemake.output
with log_to(snakemake.log[0]):
    summarise(
        snakemake.params.study, documents=snakemake.input.documents, document_map=snakemake.input.document_map,
        seed_models=list(snakemake.input.seed_models), group_models=list(snakemake.input.group_models),
        tables={key: out[key] for key in ("topics", "sizes_by_group", "coherence", "stability", "groups", "group_test")},
        figure_stems={"sizes": out.sizes_png, "words": out.words_png, "map": out.map_png},
    )
