"""Apache Kafka 4.x, one KRaft node (broker + controller), jars resolved from Maven Central.

The jar set is cached per content of infra/local/kafka/pom.xml, so bumping the version there
is the whole upgrade. Topics come from the app's settings (the original backend's
KAFKA_TOPIC_* names).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
import subprocess
import uuid
from functools import cached_property
from pathlib import Path
from typing import Any

from mayachat.settings import load_settings
from mayachat_local.process import StackError, run_checked
from mayachat_local.services.base import Progress, Service, require

# (partitions) per topic; key = roomId on chat-messages keeps a room's messages in order.
TOPIC_PARTITIONS = {"chat": 3, "persistence": 3, "presence": 3, "dead_letter": 1}

# The SASL_SSL listener's users, as the seed's providers authenticate: PLAIN (Confluent Cloud,
# Azure Event Hubs), SCRAM-SHA-512 (self-managed), OAUTHBEARER (MSK IAM's plumbing; the local
# broker validates unsecured tokens, so only AWS checks the IAM signature itself).
SASL_USER = "mayachat"
SASL_PASSWORD = "mayachat-local-kafka-password"  # noqa: S105 - a local dev credential
_PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
_SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
_OAUTH = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
_UNSECURED_VALIDATOR = (
    "org.apache.kafka.common.security.oauthbearer.internals.unsecured."
    "OAuthBearerUnsecuredValidatorCallbackHandler"
)

_quiet = logging.getLogger("mayachat_local.kafka")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


def java_binary() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    require(
        java is not None and Path(java).exists(),
        "Java 17+ not found: Kafka 4 needs it (Debian: `apt-get install openjdk-17-jre-headless`)"
        " - set JAVA_HOME or put java on PATH",
    )
    assert java is not None
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)', out)
    major = int(match.group(1)) if match else 0
    require(
        major >= 17,
        f"Java 17+ not found: {java} is {out.splitlines()[0] if out else '?'}"
        " - Kafka 4 needs 17 or newer; set JAVA_HOME to one",
    )
    return java


class KafkaService(Service):
    name = "kafka"
    start_timeout = 90.0

    @property
    def port(self) -> int:
        return self.config.kafka_port

    @property
    def endpoint(self) -> str:
        return f"{self.config.host}:{self.port}"

    @property
    def pom(self) -> Path:
        return self.config.repo / "infra" / "local" / "kafka" / "pom.xml"

    @property
    def lib_dir(self) -> Path:
        digest = hashlib.sha256(self.pom.read_bytes()).hexdigest()[:12]
        return self.config.cache_dir / "kafka" / digest / "lib"

    def _admin_config(self) -> dict[str, Any]:
        # A silent logger: librdkafka logs every refused connect while the broker boots.
        return {"bootstrap.servers": self.endpoint, "socket.timeout.ms": 2000, "logger": _quiet}

    def healthy(self) -> bool:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(self._admin_config())
        try:
            return len(admin.list_topics(timeout=2).brokers) > 0
        except Exception:  # KafkaException, or a timeout while the broker boots
            return False

    @cached_property
    def java(self) -> str:
        return java_binary()

    def install(self, progress: Progress) -> None:
        _ = self.java  # fail early, and clearly, without Java 17
        if self.lib_dir.is_dir():
            return
        mvn = shutil.which("mvn")
        require(
            mvn is not None,
            "Maven not found: the Kafka jars are resolved with `mvn` "
            "(Debian: `apt-get install maven`) - install it and retry",
        )
        assert mvn is not None
        progress("kafka: resolving the broker's jars from Maven Central (first run only)")
        partial = self.lib_dir.with_name("lib.partial")
        shutil.rmtree(partial, ignore_errors=True)
        run_checked(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(self.pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={partial}",
                "-DincludeScope=runtime",
            ],
            what="mvn dependency:copy-dependencies (Kafka)",
        )
        os.replace(partial, self.lib_dir)

    @property
    def properties_file(self) -> Path:
        return self.config.data_dir(self.name) / "server.properties"

    @property
    def tls_dir(self) -> Path:
        return self.config.data_dir(self.name) / "tls"

    @property
    def secure_endpoint(self) -> str:
        return f"{self.config.host}:{self.config.kafka_secure_port}"

    def prepare(self) -> None:
        from mayachat_local.services.kafka_tls import ensure_certificates

        data = self.config.data_dir(self.name)
        data.mkdir(parents=True, exist_ok=True)
        host, port, cport = self.config.host, self.port, self.config.kafka_controller_port
        secure = self.config.kafka_secure_port
        _, keystore = ensure_certificates(self.tls_dir, host)
        self.properties_file.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@{host}:{cport}",
                    f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport},"
                    f"SASL_SSL://{host}:{secure}",
                    f"advertised.listeners=PLAINTEXT://{host}:{port},SASL_SSL://{host}:{secure}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map="
                    "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL",
                    # What cloud providers serve: SASL over TLS, the certificate of a CA the
                    # client must trust (tls/ca.pem here).
                    "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512,OAUTHBEARER",
                    "ssl.keystore.type=PEM",
                    f"ssl.keystore.location={keystore}",
                    "ssl.client.auth=none",
                    f"listener.name.sasl_ssl.plain.sasl.jaas.config={_PLAIN} required "
                    f'user_{SASL_USER}="{SASL_PASSWORD}";',
                    f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={_SCRAM} required;",
                    f"listener.name.sasl_ssl.oauthbearer.sasl.jaas.config={_OAUTH} required;",
                    "listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class="
                    f"{_UNSECURED_VALIDATOR}",
                    f"log.dirs={data / 'log'}",
                    "num.partitions=3",
                    # One node: every internal topic has a single replica.
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    # Topics are created explicitly below, so a misspelt name fails instead of
                    # silently creating a second topic.
                    "auto.create.topics.enable=false",
                    "",
                ]
            )
        )
        if not (data / "log" / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
            run_checked(
                [
                    self.java,
                    "-cp",
                    f"{self.lib_dir}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(self.properties_file),
                    "--ignore-formatted",
                ],
                what="kafka storage format",
            )

    def command(self) -> list[str]:
        log4j = self.config.repo / "infra" / "local" / "kafka" / "log4j2.properties"
        return [
            self.java,
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{self.lib_dir}/*",
            "kafka.Kafka",
            str(self.properties_file),
        ]

    def after_start(self, progress: Progress) -> None:
        from confluent_kafka.admin import AdminClient
        from confluent_kafka.cimpl import NewTopic  # where the stubs declare it

        settings = load_settings()
        wanted = {
            settings.kafka_topic_chat_messages: TOPIC_PARTITIONS["chat"],
            settings.kafka_topic_message_persistence: TOPIC_PARTITIONS["persistence"],
            settings.kafka_topic_presence: TOPIC_PARTITIONS["presence"],
            settings.kafka_topic_dead_letter: TOPIC_PARTITIONS["dead_letter"],
        }
        admin = AdminClient(self._admin_config())
        self._ensure_scram_user(admin)
        existing = set(admin.list_topics(timeout=10).topics)
        missing = [
            NewTopic(name, num_partitions=n, replication_factor=1)
            for name, n in wanted.items()
            if name not in existing
        ]
        if not missing:
            return
        for name, future in admin.create_topics(missing, operation_timeout=30).items():
            try:
                future.result()
            except Exception as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise StackError(f"kafka: could not create topic {name}: {exc}") from exc
            progress(f"kafka: created topic {name}")

    def _ensure_scram_user(self, admin: Any) -> None:
        """The SCRAM user (KRaft keeps SCRAM credentials in the metadata log); an upsert."""
        from confluent_kafka.admin._scram import (  # where the typed classes live
            ScramCredentialInfo,
            ScramMechanism,
            UserScramCredentialUpsertion,
        )

        upsert = UserScramCredentialUpsertion(
            SASL_USER,
            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096),
            SASL_PASSWORD.encode(),
        )
        for user, future in admin.alter_user_scram_credentials([upsert]).items():
            try:
                future.result(timeout=30)
            except Exception as exc:
                raise StackError(f"kafka: could not create SCRAM user {user}: {exc}") from exc
