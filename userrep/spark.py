"""Apache Spark as the engine: a SparkSession built from settings, the registry's functions
registered on it, and dbt run in this process on target `spark`. Torch-free.

dbt-spark's `method: session` takes the process's existing SparkSession for every statement, so
the functions registered here are visible to every model. Executors receive the ONNX files
through Spark's own file distribution (SparkContext.addFile) and check their sha256 before the
first row: nothing assumes the driver's filesystem.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa

from python_udfs.catalog import FunctionSpec, registry_functions, verifier, verify_function_name
from python_udfs.onnx_functions import OnnxFunction
from userrep import config
from userrep.config import Deployment
from userrep.dbt import DbtError, deployment_for
from userrep.project import project_view
from userrep.registry import RegistryError, sha256_file

DBT_TARGET = "spark"
# the schema of profiles.yml's spark target, where the models' tables are
SCHEMA = "userrep"


class SparkSetupError(config.ConfigError):
    """The Spark engine cannot start here (no pyspark, no Java, another session in this process)."""


def session_settings(master: str, warehouse: Path) -> dict[str, str]:
    """The Spark configuration of a userrep session; `warehouse` must be absolute."""
    return {
        "spark.master": master,
        "spark.app.name": "userrep",
        "spark.sql.warehouse.dir": str(warehouse),
        # the Derby metastore lives beside the tables it describes, not in the directory the process started in
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={warehouse / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={warehouse}",
        "spark.sql.session.timeZone": "UTC",
        # dbt-spark turns ANSI mode off on every statement; SQL run outside dbt then reads the same
        "spark.sql.ansi.enabled": "false",
    }


def spark_session(master: str | None = None, warehouse: Path | str | None = None,
                  settings: dict[str, str] | None = None):
    """The process's SparkSession: built from USERREP_SPARK_MASTER and USERREP_SPARK_WAREHOUSE (or the
    arguments), with Hive support so that tables outlive the process. One per process."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise SparkSetupError(f"the Spark engine needs the spark extra (pip install -e '.[spark]'): {error}") from None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise SparkSetupError("the Spark engine needs Java 17 or newer: no `java` on the PATH and JAVA_HOME is unset")
    master = master or config.spark_master()
    warehouse = Path(warehouse or config.spark_warehouse_dir()).resolve()
    warehouse.mkdir(parents=True, exist_ok=True)
    # executors start Python workers with PYSPARK_PYTHON; unset, they take the system python, which lacks pyarrow
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    for key, value in {**session_settings(master, warehouse), **(settings or {})}.items():
        builder = builder.config(key, value)
    spark = builder.enableHiveSupport().getOrCreate()
    running = Path(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:")).resolve()
    if running != warehouse or spark.sparkContext.master != master:
        raise SparkSetupError(
            f"this process already runs a SparkSession on {spark.sparkContext.master} with warehouse {running}; "
            f"it cannot also use {master} with {warehouse} (one SparkSession per process)"
        )
    return spark


def spark_return_type(spec: FunctionSpec) -> str:
    return "float" if spec.output_dim == 1 else "array<float>"


# executor side: one loaded model per Python worker, shared by the tasks it runs
_loaded: dict[tuple[str, str], OnnxFunction] = {}
_loading = threading.Lock()


@dataclass(frozen=True)
class ShippedModel:
    """An ONNX model as executors see it: a file fetched by name from SparkFiles, checked against the
    manifest's sha256 before its first row. Pickled to executors in place of the OnnxFunction."""

    sql_name: str
    file_name: str
    sha256: str
    input_dim: int
    output_dim: int
    expected_tag: str | None
    tag_name: str
    also_accepted: tuple[str, ...] = ()
    explain_refusal: Callable[[str], str] | None = None

    def load(self) -> OnnxFunction:
        key = (self.sql_name, self.file_name)
        with _loading:
            if key not in _loaded:
                from pyspark import SparkFiles

                path = Path(SparkFiles.get(self.file_name))
                actual = sha256_file(path)
                if actual != self.sha256:
                    raise RegistryError(
                        f"{self.sql_name}: the model file this executor received has sha256 {actual[:12]}..., the "
                        f"manifest says {self.sha256[:12]}...: it was changed after it was registered; refusing to use it"
                    )
                # Spark runs one task per core, so each task's model gets one onnxruntime thread
                _loaded[key] = OnnxFunction(self.sql_name, path, self.input_dim, self.output_dim, self.expected_tag,
                                            self.tag_name, self.also_accepted, self.explain_refusal, threads=1)
            return _loaded[key]

    def __call__(self, features, tags):
        """pyarrow arrays in and out; no type hints, which arrow_udf cannot read off an object, so it
        takes this for a scalar Arrow UDF as it does a function without them."""
        function = self.load()
        # DuckDB answers NULL for a row with a NULL argument without calling the function; Spark
        # hands those rows over, so they are set aside here to give DuckDB's result
        valid = np.asarray(features.is_valid()) & np.asarray(tags.is_valid())
        if valid.all():
            return function(features, tags)
        encoded = function(features.filter(pa.array(valid)), tags.filter(pa.array(valid)))
        positions = pa.array(np.cumsum(valid) - 1, mask=~valid)
        return encoded.take(positions)


@lru_cache(maxsize=None)
def _staging_dir() -> Path:
    """Where this process keeps the copies it hands to SparkContext.addFile, for the life of the process."""
    path = Path(tempfile.mkdtemp(prefix="userrep-spark-files-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def ship(spark, spec: FunctionSpec) -> ShippedModel:
    """Copy the version's ONNX file under a name unique to its content and add it to the session's
    files (Spark ships files by base name, and every version's file is called encoder.onnx)."""
    source: OnnxFunction = spec.function
    staged = _staging_dir() / f"{spec.sha256}.onnx"
    if not staged.exists():
        shutil.copyfile(source.path, staged)
    spark.sparkContext.addFile(str(staged))
    return ShippedModel(spec.sql_name, staged.name, spec.sha256, spec.input_dim, spec.output_dim,
                        source.expected_tag, source.tag_name, source.also_accepted, source.explain_refusal)


def register_functions(spark, registry: Path | str | None = None, published: Path | str | None = None) -> list[FunctionSpec]:
    """Every registry version's function, and its userrep_verify_ twin, on `spark`: the names,
    signatures and refusals the DuckDB plugin registers (python_udfs.userrep_udfs), published
    versions checked against their pins in `published`."""
    from pyspark.sql.functions import arrow_udf, udf

    specs = registry_functions(registry or config.registry_dir(), published)
    for spec in specs:
        # a refused version's stand-in raises its reason; it holds only strings, so it pickles
        function = spec.function if spec.refusal else ship(spark, spec)
        spark.udf.register(spec.sql_name, arrow_udf(function, spark_return_type(spec)))
        spark.udf.register(verify_function_name(spec.sql_name), udf(verifier(spec), "string").asNondeterministic())
    return specs


# The session setting that names the listing this process wrote: the on-run-start hook refuses a
# listing that another process (or an earlier run) left, so a plain `dbt --target spark` cannot
# build from stale files.
LISTING_SETTING = "userrep.raw_files_listing"


def list_files(spark, root: str) -> list[tuple[str, int, dt.datetime]]:
    """Every file under `root`, recursively, through the Hadoop FileSystem Spark itself reads
    (local, HDFS, S3, ...): (path spelled from `root`, size in bytes, modification time, UTC)."""
    jvm = spark._jvm
    base = jvm.org.apache.hadoop.fs.Path(root)
    fs = base.getFileSystem(spark._jsc.hadoopConfiguration())
    if isinstance_of(jvm, fs, "org.apache.hadoop.fs.ChecksumFileSystem"):
        fs = fs.getRawFileSystem()  # the local file system hides its .crc files; DuckDB lists them
    if not fs.exists(base) or not fs.getFileStatus(base).isDirectory():
        return []
    prefix = fs.makeQualified(base).toUri().getPath().rstrip("/") + "/"
    found = []
    files = fs.listFiles(base, True)
    while files.hasNext():
        status = files.next()
        path = status.getPath().toUri().getPath()
        modified = dt.datetime.fromtimestamp(status.getModificationTime() / 1000, dt.timezone.utc).replace(tzinfo=None)
        found.append((root.rstrip("/") + "/" + path.removeprefix(prefix), status.getLen(), modified))
    return sorted(found)


def isinstance_of(jvm, obj, class_name: str) -> bool:
    return jvm.java.lang.Class.forName(class_name).isInstance(obj)


def write_runner_tables(spark, raw: Path | str, registry: Path | str) -> str:
    """What Spark SQL cannot do itself, done before dbt starts: raw.files lists every file under
    the raw directory (the hook derives raw.event_files and each source's files from it), and
    raw.registry_manifests holds each registry version's manifest.json. Returns the listing's id."""
    listing = f"{spark.sparkContext.applicationId}/{time.time_ns()}"
    spark.sql("create schema if not exists raw")
    files = [(path, size, modified, listing) for path, size, modified in list_files(spark, str(raw))]
    spark.createDataFrame(files, "file_path string, size_bytes bigint, modified_at timestamp, listing string") \
        .write.mode("overwrite").format("parquet").saveAsTable("raw.files")
    manifests = [(str(path), path.read_text()) for path in sorted(Path(registry).glob("v*/manifest.json"))]
    spark.createDataFrame(manifests, "manifest_path string, manifest string") \
        .write.mode("overwrite").format("parquet").saveAsTable("raw.registry_manifests")
    spark.conf.set(LISTING_SETTING, listing)
    return listing


@contextmanager
def _environment(values: dict[str, str]):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


def run_dbt(args: list[str], dbt_vars: dict | None = None, deployment: Deployment | None = None, project=None,
            target_path=None, spark=None, **paths):
    """`dbt <args> --target spark` in this process for one deployment (paths: run_dbt's home,
    raw_dir, warehouse, registry overrides), after registering the registry's functions and
    writing the runner's tables on the session (built from the deployment unless given).
    Raises DbtError with the failures."""
    from dbt.cli.main import dbtRunner

    deployment = deployment_for(deployment, **paths)
    project = Path(project).resolve() if project else config.project_dir()
    view = project_view(project, deployment.home)
    spark = spark or spark_session(warehouse=deployment.spark_warehouse)
    register_functions(spark, deployment.registry, deployment.published)
    write_runner_tables(spark, deployment.raw, deployment.registry)
    argv = ["--no-use-colors", *args, "--project-dir", str(view), "--profiles-dir", str(view), "--target", DBT_TARGET]
    if target_path:
        argv += ["--target-path", str(target_path)]
    if dbt_vars:
        argv += ["--vars", json.dumps(dbt_vars, default=str)]
    with _environment({**deployment.env(), "USERREP_PROJECT_DIR": str(project)}):
        result = dbtRunner().invoke(argv)
    if not result.success:
        failures = [f"{r.node.name}: {r.message}" for r in getattr(result.result, "results", None) or []
                    if str(r.status) in ("error", "fail", "runtime error")]
        detail = "\n".join(failures) or str(result.exception or "see the dbt output above")
        raise DbtError(f"dbt {' '.join(args)} --target {DBT_TARGET} failed:\n{detail}")
    return result


def scalar(spark, sql: str, *params):
    """The one value of a query whose tables are written {schema}name (the models' schema) and
    whose parameters are ?. A naive datetime is taken as UTC, as the models write their timestamps."""
    params = [p.replace(tzinfo=dt.timezone.utc) if isinstance(p, dt.datetime) and p.tzinfo is None else p for p in params]
    return spark.sql(sql.format(schema=SCHEMA + "."), args=params).collect()[0][0]
