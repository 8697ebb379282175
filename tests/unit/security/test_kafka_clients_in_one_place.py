"""No Kafka client is configured outside infra.kafka_config's builders (so none can forget
the SASL/TLS settings): read from the source, as a linter would."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("schemas", "core", "infra", "projections", "streams", "connectors", "web", "c360")
BUILDERS = "infra/kafka_config.py"
# librdkafka keys that say where the brokers are or how to reach them: only the builders
# write them (client_config always adds the endpoint's security settings next to them).
BROKER_KEYS = ("bootstrap.servers", "metadata.broker.list", "security.protocol")
SECURITY_PREFIXES = ("sasl.", "ssl.")
CONFLUENT_CLIENTS = {
    "Producer",
    "Consumer",
    "AdminClient",
    "SerializingProducer",
    "DeserializingConsumer",
}
AIOKAFKA_CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}
# Where a confluent-kafka client is constructed today, each from a builder's config. A new
# site must be added here knowingly: build its config with infra.kafka_config.
KNOWN_SITES = {
    "c360/bench_live.py",
    "c360/bench_replay.py",
    "c360/bench_replay_data.py",
    "c360/bench_stack.py",
    "c360/kafka_admin.py",
    "c360/replay_offsets.py",
    "connectors/crm/kafka_consumer.py",
    "connectors/crm/worker.py",
    "connectors/gateway/kafka_feed.py",
    "infra/kafka_producer.py",
}
AIOKAFKA_SITES = {"streams/transport.py"}  # Faust builds its own from broker_credentials


def sources() -> list[tuple[str, ast.Module]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            found.append((rel, ast.parse(path.read_text(), rel)))
    return found


def imported_from(tree: ast.Module, module_prefix: str) -> set[str]:
    """Local names bound by `from <module_prefix>... import X [as Y]`."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(module_prefix):
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def test_only_the_builders_name_brokers_or_security_settings() -> None:
    offenders = []
    for rel, tree in sources():
        if rel == BUILDERS:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                if value in BROKER_KEYS or (
                    value.startswith(SECURITY_PREFIXES) and "." in value[4:] and " " not in value
                ):
                    offenders.append(f"{rel}:{node.lineno}: {value!r}")
    assert not offenders, "configure Kafka clients with infra.kafka_config:\n" + "\n".join(
        offenders
    )


def test_confluent_kafka_clients_are_built_only_at_known_sites_from_builder_configs() -> None:
    unknown = []
    for rel, tree in sources():
        clients = imported_from(tree, "confluent_kafka") & CONFLUENT_CLIENTS
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and called_name(node) in clients:
                if rel not in KNOWN_SITES:
                    unknown.append(f"{rel}:{node.lineno}")
                arg = node.args[0] if node.args else None
                # A literal config must spread a builder's dict ({**producer_config(...), ...}).
                if isinstance(arg, ast.Dict) and None not in arg.keys:
                    unknown.append(f"{rel}:{node.lineno}: a config without a builder")
                if node.keywords:
                    unknown.append(f"{rel}:{node.lineno}: config given as keywords")
    assert not unknown, "new confluent-kafka client sites:\n" + "\n".join(unknown)


def test_aiokafka_clients_get_the_auth_keywords() -> None:
    offenders = []
    for rel, tree in sources():
        clients = imported_from(tree, "aiokafka") & AIOKAFKA_CLIENTS
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and called_name(node) in clients:
                spread = any(kw.arg is None for kw in node.keywords)
                if rel not in AIOKAFKA_SITES or not spread:
                    offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, "aiokafka clients need **aiokafka_auth(settings):\n" + "\n".join(
        offenders
    )


def test_the_faust_app_is_given_the_broker_credentials() -> None:
    """streams/app.py's faust.App(...) passes broker_credentials=broker_credentials(...)."""
    tree = ast.parse((ROOT / "streams/app.py").read_text())
    apps = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "App"
    ]
    assert apps, "no faust.App(...) in streams/app.py"
    for app in apps:
        given = {kw.arg: kw.value for kw in app.keywords}
        value = given.get("broker_credentials")
        assert isinstance(value, ast.Call) and called_name(value) == "broker_credentials"
