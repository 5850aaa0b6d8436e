from pathlib import Path

from shoal.store.database import open_database


def test_checkpoints_wait_for_a_large_wal(tmp_path: Path) -> None:
    con = open_database(tmp_path / "data")
    try:
        setting = con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
        assert setting == "256.0 MiB"
    finally:
        con.close()


def test_data_written_before_a_crash_is_replayed_from_the_wal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    con = open_database(data)
    con.execute("CREATE TABLE t (x BIGINT, s VARCHAR)")
    for first in range(0, 200_000, 1_000):  # commits the size of the writer's group commits
        con.execute(
            "INSERT INTO t SELECT range, repeat('x', 100) || range FROM range(?, ?)",
            [first, first + 1_000],
        )
    wal = data / "shoal.duckdb.wal"
    # Past DuckDB's default threshold (16 MB), yet not checkpointed: all of it is in the WAL.
    assert wal.stat().st_size > 16 << 20
    # No close: the file and its WAL are left as a killed process leaves them. DuckDB allows one
    # instance per file per process, so the test copies them and opens the copy.
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("shoal.duckdb", "shoal.duckdb.wal"):
        (copy / name).write_bytes((data / name).read_bytes())
    con.close()
    again = open_database(copy)
    try:
        assert again.execute("SELECT count(*), sum(x) FROM t").fetchone() == (200_000, 19999900000)
    finally:
        again.close()
