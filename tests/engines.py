"""Real engines for the tests: a throwaway PostgreSQL server, a local Spark session and
a Spark Connect server.

PostgreSQL: `initdb` into a fresh folder and `pg_ctl start` on a free loopback port,
trust auth, fsync off (a test server). `initdb` refuses to run as root, so as root the
server runs as the `postgres` system user (created by Debian's package; made here if
missing). The binaries come from the system (`tests/system-packages.sh`, run by
`make test`, installs them when missing).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def postgres_bindir() -> Path | None:
    """The newest installed server's bin folder (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _version(path: str) -> int:
    try:
        return int(Path(path).parts[4])
    except (IndexError, ValueError):
        return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PostgresServer:
    """One server for the test session; `dsn()` names a database in it."""

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            raise RuntimeError(
                "PostgreSQL server binaries not found: run `make test` (it installs them) "
                "or `apt-get install postgresql`"
            )
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "monitor"
        self._as: list[str] = []
        if os.geteuid() == 0:
            account = _server_account()
            shutil.chown(self.root, account, account)
            self._as = ["runuser", "-u", account, "--"]

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> PostgresServer:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        return self

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            con.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                 "-w", "stop"],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def _server_account() -> str:
    """A non-root account to run the server as (initdb refuses root)."""
    for name in ("postgres", "monitor-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "monitor-pg"],
        check=True,
        capture_output=True,
    )
    return "monitor-pg"


def spark_session():  # type: ignore[no-untyped-def]
    """A small local session shared by the test session (a JVM takes seconds to start)."""
    from pyspark.sql import SparkSession

    from monitor.warehouse.spark import SESSION_CONF

    builder = SparkSession.builder.master("local[2]").appName("monitor-tests")
    conf = {
        **SESSION_CONF,
        "spark.sql.shuffle.partitions": "1",
        # Tiny data: generating and compiling code per query, and re-planning adaptively,
        # cost more than they save (measured: the parity checks ran in 0.6x the time
        # with both off). Results do not depend on either.
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.adaptive.enabled": "false",
        "spark.default.parallelism": "2",
        "spark.driver.memory": "1g",
        "spark.sql.warehouse.dir": tempfile.mkdtemp(prefix="monitor-spark-"),
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    started = time.monotonic()
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.started_in = time.monotonic() - started  # type: ignore[attr-defined]
    return spark


class SparkConnectServer:
    """A Spark Connect server (pyspark's own jars, `local[2]`) on a free loopback port,
    for the adapter's `connect_url` path. A Python process holds either a classic or a
    Connect session, never both, so its clients run in subprocesses."""

    def __init__(self) -> None:
        import pyspark

        self.home = Path(pyspark.__file__).parent
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="monitor-spark-connect-"))
        self.url = f"sc://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SparkConnectServer:
        conf = {
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.sql.warehouse.dir": str(self.root / "warehouse"),
            "spark.driver.memory": "1g",
            "spark.sql.shuffle.partitions": "1",
            "spark.sql.codegen.wholeStage": "false",  # tiny data: see spark_session()
            "spark.sql.adaptive.enabled": "false",
            "spark.ui.enabled": "false",
        }
        args = [str(self.home / "bin" / "spark-submit"), "--master", "local[2]",
                "--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]  # fmt: skip
        for key, value in conf.items():
            args += ["--conf", f"{key}={value}"]
        log = (self.root / "server.log").open("wb")
        env = {**os.environ, "SPARK_HOME": str(self.home)}
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Spark Connect server exited:\n{self.log()[-3000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("Spark Connect server did not listen within 120 s")

    def log(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


_PG_TYPES = {
    "int8": "SMALLINT", "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT",
    "float": "REAL", "double": "DOUBLE PRECISION", "string": "TEXT", "large_string": "TEXT",
    "bool": "BOOLEAN", "date32[day]": "DATE",
}  # fmt: skip


def copy_to_postgres(dsn: str, name: str, table) -> None:  # type: ignore[no-untyped-def]
    """Replace table `name` with an Arrow table's rows (COPY; NaN, ±inf and NULL kept)."""
    import psycopg

    columns = []
    for field in table.schema:
        kind = str(field.type)
        pg_type = "TIMESTAMP" if kind.startswith("timestamp") else _PG_TYPES[kind]
        columns.append(f'"{field.name}" {pg_type}')
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f'DROP TABLE IF EXISTS "{name}"')
        con.execute(f'CREATE TABLE "{name}" ({", ".join(columns)})')
        names = ", ".join(f'"{f.name}"' for f in table.schema)
        with con.cursor() as cur, cur.copy(f'COPY "{name}" ({names}) FROM STDIN') as copy:
            for row in table.to_pylist():
                copy.write_row(list(row.values()))


def copy_to_spark(spark, name: str, table) -> None:  # type: ignore[no-untyped-def]
    """Register an Arrow table as a Spark table (timestamps stay UTC wall-clock)."""
    spark.sql(f"DROP TABLE IF EXISTS `{name}`")
    spark.createDataFrame(table).write.saveAsTable(name)
