"""replisuite: reproducible replications of papers on LLMs in counselling and single-cell studies."""

__version__ = "0.2.0"
