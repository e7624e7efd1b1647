"""Where a Spark session keeps its tables and metastore, and which master it asks for (no Spark started)."""

from pathlib import Path

from userrep import config
from userrep.spark import session_settings


def test_the_spark_warehouse_defaults_under_the_deployment_root(monkeypatch, tmp_path):
    for name in ("USERREP_HOME", "USERREP_SPARK_WAREHOUSE", "USERREP_SPARK_MASTER"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "dbt_project.yml").write_text("name: userrep\n")
    monkeypatch.setenv("USERREP_PROJECT_DIR", str(tmp_path / "project"))
    assert config.spark_warehouse_dir() == tmp_path / "project" / "warehouse" / "spark"
    assert config.spark_master() == "local[2]"
    monkeypatch.setenv("USERREP_HOME", str(tmp_path / "home"))
    assert config.spark_warehouse_dir() == tmp_path / "home" / "warehouse" / "spark"
    monkeypatch.setenv("USERREP_SPARK_WAREHOUSE", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("USERREP_SPARK_MASTER", "spark://head:7077")
    assert (config.spark_warehouse_dir(), config.spark_master()) == (tmp_path / "elsewhere", "spark://head:7077")


def test_the_metastore_and_its_log_stay_inside_the_warehouse():
    settings = session_settings("local[2]", Path("/data/warehouse/spark"))
    assert settings["spark.sql.warehouse.dir"] == "/data/warehouse/spark"
    assert settings["spark.hadoop.javax.jdo.option.ConnectionURL"] == (
        "jdbc:derby:;databaseName=/data/warehouse/spark/metastore_db;create=true")
    assert settings["spark.driver.extraJavaOptions"] == "-Dderby.system.home=/data/warehouse/spark"
    assert settings["spark.sql.session.timeZone"] == "UTC"
