"""A single-node Apache Kafka broker in KRaft mode, run from the official jars.

The jars come from Maven Central once, with Maven and `deploy/kafka/pom.xml`
(`org.apache.kafka:kafka_2.13` plus a log4j2 backend), and are cached outside
the repository. Storage is formatted once; the broker runs as a detached
process with its pid recorded. Tests use `KafkaBroker` directly to run a
private broker they can stop and start.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fanout_cli.stack.errors import StackError
from fanout_cli.stack.processes import ManagedProcess, port_open, require_free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
# Extra JVM options of the brokers the stack starts (space-separated). The test suite sets
# `-XX:TieredStopAtLevel=1` (C1 only): it starts and formats a dozen throwaway brokers,
# and each start then costs about half the CPU; long-running stacks keep the JIT's default.
JVM_OPTIONS_VARIABLE = "FANOUT_STACK_KAFKA_JVM_OPTIONS"


def jvm_options(env: Mapping[str, str]) -> tuple[str, ...]:
    """The extra broker JVM options `env` asks for (`JVM_OPTIONS_VARIABLE`)."""
    return tuple(env.get(JVM_OPTIONS_VARIABLE, "").split())


# The broker's garbage collector: the serial one, as the JVM's own ergonomics pick for a
# machine this small. Side by side with G1 (bench/results/20261204T2200Z-kafka-gc, 300k
# campaigns on a freshly started broker, three rounds alternating) the broker spent 0.928×
# the CPU per email (13.9–15.0 against 15.6–17.0 µs) and peaked at 435 MB instead of
# 508 MB; the parallel collector 0.919× at 606 MB. Its pauses stop the broker, which a
# 1 GB heap keeps short; G1 (or another) stays one option away
# (`FANOUT_STACK_KAFKA_JVM_OPTIONS=-XX:+UseG1GC`).
DEFAULT_GC = "-XX:+UseSerialGC"


def collector_options(options: tuple[str, ...]) -> tuple[str, ...]:
    """The broker's garbage collector: `DEFAULT_GC` unless `options` choose one (the JVM
    refuses two)."""
    chosen = any(o.startswith("-XX:+Use") and o.endswith("GC") for o in options)
    return () if chosen else (DEFAULT_GC,)


LOG4J2 = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.server.name = kafka.server.KafkaServer
logger.server.level = INFO
"""


def kafka_version() -> str:
    """The broker version pinned in the pom."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    if match is None:
        raise StackError(f"no <kafka.version> in {POM}")
    return match.group(1)


def ensure_java() -> str:
    """The java executable; a clear error when Java is missing."""
    java = shutil.which("java")
    if java is None:
        raise StackError(
            "Java is required to run Kafka but `java` was not found. "
            "Install a JRE 17+ (`sudo apt-get install openjdk-17-jre-headless`)."
        )
    return java


def ensure_jars(cache_dir: Path, log: list[str]) -> Path:
    """The folder of broker jars, fetched with Maven on first use."""
    libs = cache_dir / f"kafka-{kafka_version()}" / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "Maven is required once to fetch the Kafka jars but `mvn` was not found. "
            "Install it (`sudo apt-get install maven`) or set FANOUT_KAFKA_BOOTSTRAP_SERVERS."
        )
    log.append(f"fetching Kafka {kafka_version()} jars from Maven Central into {libs}")
    libs.mkdir(parents=True, exist_ok=True)
    # a Maven settings file (mirrors, proxies, a local repository) can be given by path
    settings = os.environ.get("FANOUT_MAVEN_SETTINGS")
    result = subprocess.run(  # noqa: S603
        [
            mvn,
            *(["-s", settings] if settings else []),
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not any(libs.glob("kafka_2.13-*.jar")):
        raise StackError(
            "Maven could not fetch the Kafka jars from Maven Central "
            f"(exit {result.returncode}). Check network access to the Maven repository.\n"
            + (result.stdout + result.stderr)[-1500:]
        )
    marker.write_text(kafka_version())
    return libs


@dataclass(frozen=True)
class KafkaBroker:
    """One KRaft broker+controller on loopback, its files under `home`."""

    home: Path
    cache_dir: Path
    port: int = 19092
    controller_port: int = 19093
    host: str = "127.0.0.1"
    heap: str = "1g"
    name: str = "kafka"
    jvm_options: tuple[str, ...] = ()  # extra options of its JVMs (format and broker)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess(self.name, self.home, marker=str(self.config_file))

    @property
    def folder(self) -> Path:
        return self.home / self.name

    @property
    def config_file(self) -> Path:
        return self.folder / "server.properties"

    def _write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@{self.host}:{self.controller_port}",
                    f"listeners=PLAINTEXT://{self.host}:{self.port},"
                    f"CONTROLLER://{self.host}:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://{self.host}:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={self.folder / 'data'}",
                    "num.partitions=12",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=12",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "log.retention.hours=168",
                    "message.max.bytes=8388608",
                    "",
                ]
            )
        )
        (self.folder / "log4j2.properties").write_text(LOG4J2)

    def _format(self, java: str, libs: Path) -> None:
        if (self.folder / "data" / "meta.properties").exists():
            return
        cluster_id = uuid.uuid4().hex[:22]
        result = subprocess.run(  # noqa: S603
            [
                java,
                *self.jvm_options,
                "-cp",
                f"{libs}/*",
                f"-Dlog4j2.configurationFile={self.folder / 'log4j2.properties'}",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.config_file),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(
                f"Kafka storage format failed:\n{(result.stdout + result.stderr)[-1500:]}"
            )

    def running(self) -> bool:
        """True when our broker process is alive."""
        return self.process.pid() is not None

    def start(self, log: list[str]) -> bool:
        """Fetch jars, format storage and start the broker. False if already running."""
        if self.running():
            return False
        java = ensure_java()
        libs = ensure_jars(self.cache_dir, log)
        require_free_port("Kafka", self.host, self.port)
        require_free_port("Kafka controller", self.host, self.controller_port)
        self._write_config()
        self._format(java, libs)
        self.process.start(
            [
                java,
                "-Xms256m",
                f"-Xmx{self.heap}",
                *collector_options(self.jvm_options),
                *self.jvm_options,
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.folder / 'log4j2.properties'}",
                "-cp",
                f"{libs}/*",
                "kafka.Kafka",
                str(self.config_file),
            ]
        )
        log.append(f"Kafka {kafka_version()} (KRaft) starting on {self.bootstrap}")
        return True

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Block until the broker accepts connections; a clear error with its log if not.

        A process that looks gone is only believed after a second of consecutive checks
        (a loaded machine can be slow to show a just-started JVM).
        """
        deadline = time.monotonic() + timeout
        gone_checks = 0
        while time.monotonic() < deadline:
            if port_open(self.host, self.port):
                return
            gone_checks = gone_checks + 1 if not self.running() else 0
            if gone_checks >= 4:
                break
            time.sleep(0.25)
        state = "exited" if not self.running() else "is still starting"
        raise StackError(
            f"Kafka did not come up on {self.bootstrap} (the process {state}). Last log lines "
            f"({self.process.log_file}):\n{self.process.log_tail(30)}"
        )

    def stop(self) -> bool:
        """Stop the broker (controlled shutdown on SIGTERM). False if it was not running."""
        return self.process.stop(timeout=30)

    def kill(self) -> bool:
        """Stop the broker at once, no controlled shutdown (a throwaway broker whose data
        goes with it: a test's). False if it was not running."""
        return self.process.stop(timeout=0)
