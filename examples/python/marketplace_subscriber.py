"""A marketplace reads what the exchange delivers to it, on Confluent's own Python client.

Subscribes to the party's delivery topic `<prefix>.deliver.<party>` with read_committed isolation (the router
writes deliveries in transactions), decodes each record with Confluent's AvroDeserializer and SchemaRegistryClient
(Confluent wire format; the writer schema is fetched from the registry by the id in the record), skips policy
notices (header `px-notice: 1`, which share the topic) and prints one JSON line per delivery on stdout:

    {"kind": "delivery", "type", "policyVersion", "sourceEventId", "transformed", "partition", "offset", "key", "event"}

`event` holds the fields as the party received them: printing them is the point of this example. Fields the
policy withheld arrive as null; `transformed` lists the fields the policy changed and how (mask, token, drop...).

    python3 marketplace_subscriber.py [--party ID] [--group ID] [--from-beginning] [--max N] [--idle-s S] [--timeout-s S]

Settings come from the same environment variables as the TypeScript SDK (services/shared/src/config.ts).
Exit codes: 0 done; 2 bad settings; 3 refused by the broker; 1 anything else.
"""
import argparse
import datetime
import json
import os
import re
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

# Header names the router and the policy service stamp on delivery records (services/shared/src/topics.ts).
H_POLICY_VERSION = "px-policy-version"
H_SOURCE_EVENT_ID = "px-source-event-id"
H_TRANSFORMED = "px-transformed"
H_NOTICE = "px-notice"

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class SettingError(Exception):
    pass


def setting(name: str, default: str = "") -> str:
    value = os.environ.get(name, "").strip()
    return value if value else default


def settings() -> dict:
    """The connection settings, named and defaulted like the TypeScript SDK's."""
    brokers = [b.strip() for b in setting("KAFKA_BROKERS", "127.0.0.1:39092").split(",") if b.strip()]
    for b in brokers:
        if not re.fullmatch(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}", b):
            raise SettingError(f"KAFKA_BROKERS: '{b}' is not host:port")
    ssl = setting("KAFKA_SSL", "true").lower()
    if ssl not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise SettingError("KAFKA_SSL: not a boolean; set it to true or false")
    ssl_on = ssl in ("1", "true", "yes", "on")
    mechanism = setting("KAFKA_SASL_MECHANISM").lower()
    if mechanism not in ("", "plain", "scram-sha-256", "scram-sha-512"):
        raise SettingError("KAFKA_SASL_MECHANISM: set it to plain, scram-sha-256 or scram-sha-512")
    username, password = setting("KAFKA_SASL_USERNAME"), setting("KAFKA_SASL_PASSWORD")
    if mechanism and not (username and password):
        raise SettingError("KAFKA_SASL_USERNAME: SASL is enabled but the username or password is empty (source the party's credential file)")
    prefix = setting("PX_TOPIC_PREFIX", "px")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", prefix):
        raise SettingError("PX_TOPIC_PREFIX: use letters, digits, '.', '_' and '-' only")
    kafka = {
        "bootstrap.servers": ",".join(brokers),
        "client.id": setting("KAFKA_CLIENT_ID", "parcel-exchange"),
        "security.protocol": ("SASL_SSL" if mechanism else "SSL") if ssl_on else ("SASL_PLAINTEXT" if mechanism else "PLAINTEXT"),
    }
    ca = setting("KAFKA_SSL_CA_FILE")
    if ca:
        if not ssl_on:
            raise SettingError("KAFKA_SSL_CA_FILE: is set but KAFKA_SSL is false")
        kafka["ssl.ca.location"] = ca
    if mechanism:
        kafka.update({"sasl.mechanism": mechanism.upper(), "sasl.username": username, "sasl.password": password})
    registry = {"url": setting("SCHEMA_REGISTRY_URL", "http://127.0.0.1:38081").rstrip("/")}
    if setting("SCHEMA_REGISTRY_USERNAME"):
        registry["basic.auth.user.info"] = f"{setting('SCHEMA_REGISTRY_USERNAME')}:{setting('SCHEMA_REGISTRY_PASSWORD')}"
    return {"kafka": kafka, "registry": registry, "prefix": prefix, "username": username}


def party_of_username(prefix: str, username: str):
    """The party a SASL username `<prefix>.<party>` names, or None."""
    head = prefix + "."
    party = username[len(head):] if username.startswith(head) else ""
    return party if party and "." not in party else None


def header(headers, name: str):
    for k, v in headers or []:
        if k == name:
            return v.decode("utf-8") if v is not None else None
    return None


def parse_transformed(raw):
    """`field:action,...` as the router writes it in px-transformed."""
    out = []
    for item in (raw or "").split(","):
        item = item.strip()
        if item:
            field, _, action = item.partition(":")
            out.append({"field": field.strip(), "action": action.strip()})
    return out


def plain(value):
    """JSON-ready values: timestamp-millis (a datetime from fastavro) as epoch milliseconds, like the SDK."""
    if isinstance(value, datetime.datetime):
        return (value - EPOCH) // datetime.timedelta(milliseconds=1)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class RegistryUnavailable(Exception):
    """The registry failed or does not know a schema id: the registry's gap, not the record's."""


class Undecodable(Exception):
    """The record itself cannot be decoded (not the wire format, or bytes that do not fit its schema)."""


def registry_failure(e: Exception) -> bool:
    return isinstance(e, SchemaRegistryError) or type(e).__module__.startswith(("httpx", "httpcore"))


class Deliveries:
    def __init__(self, registry: SchemaRegistryClient):
        self.registry = registry
        # The writer schema is fetched by the id in each record. The exchange's subjects are per event type
        # (`<prefix>.raw.tracking-value`), not per topic, so no subject is derived from the delivery topic.
        self.deserialize = AvroDeserializer(registry, conf={"subject.name.strategy": lambda ctx, record_name: None})

    def decode(self, msg) -> dict:
        value = msg.value()
        if value is None or len(value) < 5 or value[0] != 0:
            raise Undecodable("not in Confluent wire format (magic byte 0 + schema id)")
        schema_id = int.from_bytes(value[1:5], "big")
        try:
            # The event type is the writer schema's record name (the client caches schemas by id).
            name = json.loads(self.registry.get_schema(schema_id).schema_str).get("name", "")
        except Exception as e:
            raise RegistryUnavailable(f"schema id {schema_id}: {e}") from e
        try:
            event = self.deserialize(value, SerializationContext(msg.topic(), MessageField.VALUE, msg.headers()))
        except Exception as e:
            if registry_failure(e):
                raise RegistryUnavailable(f"schema id {schema_id}: {e}") from e
            # Only the error's type: its message may quote the record's bytes.
            raise Undecodable(f"decoding with schema id {schema_id} failed ({type(e).__name__})") from e
        headers = msg.headers()
        key = msg.key()
        return {
            "kind": "delivery",
            "type": name.rsplit(".", 1)[-1],
            "policyVersion": header(headers, H_POLICY_VERSION) or "",
            "sourceEventId": header(headers, H_SOURCE_EVENT_ID) or event.get("eventId", ""),
            "transformed": parse_transformed(header(headers, H_TRANSFORMED)),
            "partition": msg.partition(),
            "offset": msg.offset(),
            "key": key.decode("utf-8") if key is not None else None,
            "event": plain(event),
        }


def main(argv) -> int:
    ap = argparse.ArgumentParser(description="Print what the exchange delivers to a marketplace.")
    ap.add_argument("--party", help="the party (default: the one KAFKA_SASL_USERNAME names, <prefix>.<party>)")
    ap.add_argument("--group", help="consumer group, under the party's name (default <prefix>.<party>.python-subscriber)")
    ap.add_argument("--from-beginning", action="store_true", help="a new group starts at the earliest delivery (default: new ones)")
    ap.add_argument("--max", type=int, default=0, help="stop after this many deliveries")
    ap.add_argument("--idle-s", type=float, default=0, help="stop when nothing arrived for this long")
    ap.add_argument("--timeout-s", type=float, default=0, help="stop after this long in any case")
    args = ap.parse_args(argv)
    try:
        s = settings()
    except SettingError as e:
        print(f"px-marketplace: {e}", file=sys.stderr)
        return 2
    party = args.party or party_of_username(s["prefix"], s["username"])
    if not party:
        print(f"px-marketplace: no party: connect with a party's credentials (KAFKA_SASL_USERNAME={s['prefix']}.<party>) or pass --party", file=sys.stderr)
        return 2
    topic = f"{s['prefix']}.deliver.{party}"
    consumer = Consumer({
        **s["kafka"],
        "group.id": args.group or f"{s['prefix']}.{party}.python-subscriber",
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest" if args.from_beginning else "latest",
        "enable.auto.commit": False,
    })
    deliveries = Deliveries(SchemaRegistryClient(s["registry"]))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    started = time.monotonic()
    last = None  # idle time counts from joining the group, then from each record
    count, code = 0, 0

    def on_assign(_consumer, _partitions):
        nonlocal last
        last = last or time.monotonic()

    consumer.subscribe([topic], on_assign=on_assign)
    try:
        while not stop:
            now = time.monotonic()
            if args.timeout_s and now - started > args.timeout_s:
                break
            if args.idle_s and last is not None and now - last > args.idle_s:
                break
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(msg.error())
            last = time.monotonic()
            if header(msg.headers(), H_NOTICE) == "1":
                print(f"px-marketplace: skipped a policy notice at {msg.partition()}/{msg.offset()} (an approved change will reduce what {party} receives)", file=sys.stderr)
                consumer.commit(message=msg, asynchronous=False)
                continue
            try:
                line = deliveries.decode(msg)
            except RegistryUnavailable as e:
                # The registry's gap (e.g. restarted without its schemas), not the record's: stop without committing.
                print(f"px-marketplace: schema registry: {e}; the record at {msg.partition()}/{msg.offset()} is not skipped", file=sys.stderr)
                code = 1
                break
            except Undecodable as e:
                print(f"px-marketplace: skipping an undecodable record at {msg.partition()}/{msg.offset()}: {e}", file=sys.stderr)
                consumer.commit(message=msg, asynchronous=False)
                continue
            print(json.dumps(line, ensure_ascii=False), flush=True)
            consumer.commit(message=msg, asynchronous=False)
            count += 1
            if args.max and count >= args.max:
                break
    except KeyboardInterrupt:
        pass
    except KafkaException as e:
        err = e.args[0] if e.args and isinstance(e.args[0], KafkaError) else None
        name = err.name() if err is not None else str(e)
        print(f"px-marketplace: {topic}: {name}: {err.str() if err is not None else ''}", file=sys.stderr)
        code = 3 if "AUTHORIZATION" in name or "AUTHENTICATION" in name else 1
    finally:
        consumer.close()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
