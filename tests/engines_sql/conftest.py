"""One Spark session for every Spark test in the process (starting Spark costs seconds)."""

from __future__ import annotations

from typing import Any

import pytest

#: Every Spark test runs on this local master; the session gets the tiny-data settings.
MASTER = "local[2]"


@pytest.fixture(scope="session")
def spark() -> Any:
    pytest.importorskip("pyspark")
    from shoal.engines.sql.spark_engine import TINY_DATA_CONF, spark_session

    return spark_session(MASTER, TINY_DATA_CONF)


@pytest.fixture
def spark_engine(spark: Any) -> Any:
    """A Spark engine over the shared session (relations in a fresh temporary directory)."""
    from shoal.engines.sql.spark_engine import SparkEngine

    return SparkEngine(spark_master=MASTER, cache=False)
