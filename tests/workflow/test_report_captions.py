"""Every output marked for `snakemake --report` has a caption file that exists: a missing one stops
the report with a FileNotFoundError (seen for the judge study's task floor table)."""

from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, ResourceSettings, StorageSettings, WorkflowSettings

REPO = Path(__file__).resolve().parents[2]


def report_captions() -> list[tuple[str, str, Path]]:
    with SnakemakeApi() as api:
        workflow = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(),
                                storage_settings=StorageSettings(), workflow_settings=WorkflowSettings(),
                                snakefile=REPO / "Snakefile", workdir=REPO)._workflow
        return [(rule.name, str(output), Path(output.flags["report"].caption))
                for rule in workflow.rules for output in rule.output
                if output.flags.get("report") and output.flags["report"].caption is not None]


def test_every_report_caption_exists(monkeypatch):
    monkeypatch.chdir(REPO)
    captions = report_captions()
    assert len(captions) > 100  # every study reports its tables and figures
    missing = [(rule, output, str(caption)) for rule, output, caption in captions if not caption.is_file()]
    assert not missing, f"outputs marked for the report whose caption file does not exist: {missing}"
