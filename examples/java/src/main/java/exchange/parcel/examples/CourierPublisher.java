package exchange.parcel.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A courier publishes one TrackingEvent to the exchange, as the TypeScript SDK's PartyPublisher would: to its own
 * ingress topic `<prefix>.raw.<party>.tracking`, Avro in Confluent wire format with the registry id of subject
 * `<prefix>.raw.tracking-value`, keyed by parcelId (the Java client's murmur2 partitioner, which the SDK uses
 * too, so a parcel's events stay in one partition), headers px-source and px-published-at, idempotent, acks=all.
 *
 * <pre>
 *   java -jar target/px-courier.jar [--party ID] field=value ...
 * </pre>
 *
 * Fields are TrackingEvent's (schemas/avro/TrackingEvent.avsc). eventId defaults to a random UUID, eventTime to
 * now (epoch milliseconds or an ISO-8601 instant), courier to the party; nullable fields left out are null.
 * Prints one JSON line with where the record went; its field values are not printed or logged.
 *
 * The exchange, not this client, decides what a party may publish: the broker lets a party write only its own
 * ingress topic, and the router dead-letters an event whose courier is not the publishing party. This example
 * sends what it is asked to (with a warning), so that those checks can be seen.
 *
 * Exit codes: 0 published; 2 bad arguments, settings or event; 3 refused by the broker (authentication or
 * authorization); 1 anything else (registry, network).
 */
public final class CourierPublisher {
  private static final String EVENT_TYPE = "TrackingEvent";
  private static final String SOURCE_FIELD = "courier";
  private static final ObjectMapper JSON = new ObjectMapper();

  private CourierPublisher() {}

  /** Bad arguments or an event that does not fit the schema: every problem, named by field. */
  static final class UsageError extends RuntimeException {
    UsageError(String message) {
      super(message);
    }
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String[] args) {
    try {
      return publish(args);
    } catch (UsageError | Settings.SettingError e) {
      System.err.println("px-courier: " + e.getMessage());
      return 2;
    } catch (Registry.RegistryError e) {
      System.err.println("px-courier: schema registry: " + e.getMessage());
      return 1;
    }
  }

  private static int publish(String[] args) {
    String partyArg = null;
    Map<String, String> fields = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--help") || a.equals("-h")) {
        System.out.println("usage: java -jar px-courier.jar [--party ID] field=value ...   (fields of " + EVENT_TYPE + "; see README.md)");
        return 0;
      } else if (a.equals("--party")) {
        if (i + 1 >= args.length) throw new UsageError("--party needs a party id");
        partyArg = args[++i];
      } else if (a.indexOf('=') > 0) {
        fields.put(a.substring(0, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
      } else {
        throw new UsageError("'" + a + "' is neither --party ID nor field=value");
      }
    }

    Settings settings = Settings.fromEnv(System.getenv());
    String ownParty = settings.partyOfUsername();
    String party = partyArg != null ? partyArg : ownParty;
    if (party == null) {
      throw new UsageError("no party: connect with a party's credentials (KAFKA_SASL_USERNAME=" + settings.topicPrefix() + ".<party>) or pass --party");
    }
    if (!party.matches("^[a-z0-9][a-z0-9-]*$")) throw new UsageError("party id '" + party + "' must be lowercase letters, digits and '-'");
    if (ownParty != null && !party.equals(ownParty)) {
      System.err.println("px-courier: warning: publishing as '" + party + "' with the credentials of '" + ownParty + "': the broker will refuse it");
    }

    Schema schema = loadSchema(EVENT_TYPE);
    GenericRecord event = buildEvent(schema, fields, party);
    Object claimed = event.get(SOURCE_FIELD);
    if (!party.equals(String.valueOf(claimed))) {
      System.err.println("px-courier: warning: the event's courier is not '" + party + "': the exchange will dead-letter it (spoofed_source)");
    }

    String subject = settings.topicPrefix() + ".raw.tracking-value";
    String topic = settings.topicPrefix() + ".raw." + party + ".tracking";
    int schemaId = new Registry(settings).schemaIdOf(subject, schema);
    byte[] value = ConfluentWire.encode(schemaId, schema, event);
    String key = event.get("parcelId").toString();

    Properties props = settings.kafkaProperties();
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());

    ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, key, value);
    record.headers().add("px-source", party.getBytes(StandardCharsets.UTF_8));
    record.headers().add("px-published-at", String.valueOf(System.currentTimeMillis()).getBytes(StandardCharsets.UTF_8));

    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props)) {
      RecordMetadata meta;
      try {
        meta = producer.send(record).get();
      } catch (ExecutionException e) {
        Throwable cause = e.getCause() == null ? e : e.getCause();
        if (cause instanceof AuthorizationException || cause instanceof AuthenticationException) {
          System.err.println("px-courier: refused by the broker: " + cause.getClass().getSimpleName() + ": " + cause.getMessage());
          return 3;
        }
        System.err.println("px-courier: sending to " + topic + " failed: " + cause.getClass().getSimpleName() + ": " + cause.getMessage());
        return 1;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 1;
      } catch (AuthorizationException | AuthenticationException e) {
        System.err.println("px-courier: refused by the broker: " + e.getClass().getSimpleName() + ": " + e.getMessage());
        return 3;
      }
      ObjectNode out = JSON.createObjectNode();
      out.put("party", party);
      out.put("topic", meta.topic());
      out.put("partition", meta.partition());
      out.put("offset", meta.offset());
      out.put("schemaId", schemaId);
      out.put("eventId", event.get("eventId").toString());
      out.put("parcelId", key);
      System.out.println(out.toString());
    }
    return 0;
  }

  /** schemas/avro/<name>.avsc as packaged into the jar at build time. */
  static Schema loadSchema(String name) {
    try (InputStream in = CourierPublisher.class.getResourceAsStream("/schemas/" + name + ".avsc")) {
      if (in == null) throw new IllegalStateException("schemas/" + name + ".avsc is not in the jar: build it with mvn package from examples/java");
      return new Schema.Parser().parse(in);
    } catch (IOException e) {
      throw new IllegalStateException("reading schemas/" + name + ".avsc failed", e);
    }
  }

  /**
   * The event from field=value pairs: each value converted to its field's type, defaults filled in, then checked
   * against the schema and the exchange's routing rules (eventId and parcelId not empty, platform given). Problems
   * name the field, never its value (it may be personal data).
   */
  static GenericRecord buildEvent(Schema schema, Map<String, String> given, String party) {
    List<String> problems = new ArrayList<>();
    for (String name : given.keySet()) {
      if (schema.getField(name) == null) problems.add(name + ": is not a field of " + schema.getName());
    }
    GenericRecord r = new GenericData.Record(schema);
    for (Schema.Field f : schema.getFields()) {
      String raw = given.get(f.name());
      Schema type = nonNull(f.schema());
      boolean nullable = type != f.schema();
      if (raw == null) {
        switch (f.name()) {
          case "eventId" -> r.put(f.name(), UUID.randomUUID().toString());
          case "eventTime" -> r.put(f.name(), System.currentTimeMillis());
          case SOURCE_FIELD -> r.put(f.name(), party);
          default -> {
            if (nullable) r.put(f.name(), null);
            else problems.add(f.name() + ": is required (" + describe(type) + ")");
          }
        }
        continue;
      }
      try {
        r.put(f.name(), convert(type, raw));
      } catch (IllegalArgumentException e) {
        problems.add(f.name() + ": expected " + describe(type));
      }
    }
    for (String f : List.of("eventId", "parcelId")) {
      Object v = r.get(f);
      if (v != null && v.toString().isBlank()) problems.add(f + ": must not be empty");
    }
    Object platform = r.get("platform");
    if (platform == null || platform.toString().isBlank()) problems.add("platform: is required for routing (the marketplace the parcel came from)");
    if (problems.isEmpty() && !GenericData.get().validate(schema, r)) problems.add("the event does not fit " + schema.getFullName());
    if (!problems.isEmpty()) throw new UsageError("invalid " + schema.getName() + ": " + String.join("; ", problems));
    return r;
  }

  private static Schema nonNull(Schema s) {
    if (s.getType() != Schema.Type.UNION) return s;
    List<Schema> branches = s.getTypes().stream().filter(t -> t.getType() != Schema.Type.NULL).toList();
    return branches.size() == 1 ? branches.get(0) : s;
  }

  private static Object convert(Schema type, String raw) {
    return switch (type.getType()) {
      case STRING -> raw;
      case ENUM -> {
        if (!type.getEnumSymbols().contains(raw)) throw new IllegalArgumentException();
        yield new GenericData.EnumSymbol(type, raw);
      }
      case LONG -> {
        if (type.getLogicalType() instanceof LogicalTypes.TimestampMillis && !raw.matches("^-?\\d+$")) {
          try {
            yield Instant.parse(raw).toEpochMilli();
          } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(e);
          }
        }
        yield Long.parseLong(raw);
      }
      case INT -> Integer.parseInt(raw);
      case BOOLEAN -> switch (raw) {
        case "true" -> true;
        case "false" -> false;
        default -> throw new IllegalArgumentException();
      };
      default -> throw new IllegalArgumentException("unsupported type");
    };
  }

  private static String describe(Schema type) {
    return switch (type.getType()) {
      case ENUM -> "one of " + String.join(", ", type.getEnumSymbols());
      case LONG -> type.getLogicalType() instanceof LogicalTypes.TimestampMillis ? "epoch milliseconds or an ISO-8601 instant" : "a whole number";
      case INT -> "a whole number";
      case BOOLEAN -> "true or false";
      default -> type.getType().getName();
    };
  }
}
