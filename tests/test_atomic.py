import pytest

from replisuite.atomic import atomic_open, atomic_path


def test_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "f.txt"
    with atomic_open(target) as handle:
        handle.write("new")
        assert not target.exists()
    assert target.read_text() == "new"


def test_failure_keeps_old_file_and_cleans_up(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask):
    """mkstemp makes owner-only files; after the rename a file must have the mode any new file gets,
    so that colleagues on a shared filesystem can read results (0644 under umask 022)."""
    import os
    import stat

    from replisuite.tables import write_table
    import polars as pl

    old = os.umask(umask)
    try:
        with atomic_open(tmp_path / "a.txt") as handle:
            handle.write("x")
        write_table(pl.DataFrame({"x": [1]}), str(tmp_path / "t.csv"), schema={"x": pl.Int64})
        reference = tmp_path / "plain.txt"
        reference.write_text("x")
    finally:
        os.umask(old)
    expected = stat.S_IMODE(reference.stat().st_mode)
    assert expected == 0o666 & ~umask
    for name in ("a.txt", "t.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name
