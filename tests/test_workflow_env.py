from replisuite.provenance import RUN_STARTED_ENV
from replisuite.workflow import configure_environment


def test_src_first_on_pythonpath_once_and_single_threaded_blas():
    environ = {"PYTHONPATH": "/other:/src", "OMP_NUM_THREADS": "8"}
    configure_environment("/src", environ)
    configure_environment("/src", environ)
    assert environ["PYTHONPATH"] == "/src:/other"
    assert environ["OMP_NUM_THREADS"] == environ["OPENBLAS_NUM_THREADS"] == environ["POLARS_MAX_THREADS"] == "1"
    assert environ["TOKENIZERS_PARALLELISM"] == "false"


def test_run_start_is_set_once():
    environ = {RUN_STARTED_ENV: "then"}
    configure_environment("/src", environ)
    assert environ[RUN_STARTED_ENV] == "then"
    fresh = {}
    configure_environment("/src", fresh)
    assert fresh[RUN_STARTED_ENV].endswith("+00:00")
