"""A party on Confluent's own client (confluent-kafka, librdkafka): an independent check of the secured cluster.

Reads the party's delivery topic over SASL_SSL / SCRAM-SHA-512 with the stack's CA, then tries another party's
delivery topic. Prints one JSON line: the source event ids it read, and the error the broker gave for the other.

    python3 confluent_party.py <own topic> <other topic> <group>     (KAFKA_* settings from the environment)
"""
import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaException


def consumer(group: str) -> Consumer:
    return Consumer({
        "bootstrap.servers": os.environ["KAFKA_BROKERS"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": os.environ["KAFKA_SASL_USERNAME"],
        "sasl.password": os.environ["KAFKA_SASL_PASSWORD"],
        "ssl.ca.location": os.environ["KAFKA_SSL_CA_FILE"],
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })


def read_own(topic: str, group: str, timeout_s: float = 20.0) -> list:
    c = consumer(group)
    c.subscribe([topic])
    ids, deadline, idle_since = [], time.time() + timeout_s, None
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            if ids and idle_since and time.time() - idle_since > 2:
                break
            continue
        if m.error():
            raise KafkaException(m.error())
        headers = dict(m.headers() or [])
        ids.append((headers.get("px-source-event-id") or b"").decode())
        idle_since = time.time()
    c.close()
    return ids


def read_other(topic: str, group: str) -> str:
    """The broker's answer when this party asks for another party's topic (metadata, then a subscription)."""
    c = consumer(group)
    try:
        t = c.list_topics(topic=topic, timeout=10).topics.get(topic)
        if t is not None and t.error is not None:
            return t.error.name()
        c.subscribe([topic])
        deadline = time.time() + 15
        while time.time() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            return m.error().name() if m.error() else "READ"
        return "TIMEOUT"
    finally:
        c.close()


if __name__ == "__main__":
    own, other, group = sys.argv[1:4]
    print(json.dumps({"own": read_own(own, group), "other": read_other(other, group + ".other")}))
