import pytest

from replisuite.singlecell.simulate import CohortSpec, simulate_cohort

RIBO = ["RPL10", "RPL27", "RPL28", "RPS2", "RPS8", "RPS12", "RPS26"]
AR = ["KLK4", "KLK2", "KLK3", "PDLIM5", "ABHD2", "ALDH1A3", "SORD"]
PROGRAMMES = {"pre_ip": ["T Cell Activation (GO:0042110)"], "post_ip": ["Cell-Matrix Adhesion (GO:0007160)"]}


def small_spec(**changes):
    settings = dict(patients=("P1", "P2"), cells_per_group=400, genes=2500, focus_genes=RIBO, other_sets={"AR": AR},
                    programmes=PROGRAMMES, seed=7)
    return CohortSpec(**{**settings, **changes})


@pytest.fixture(scope="session")
def small_cohort():
    return simulate_cohort(small_spec())
