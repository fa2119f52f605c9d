// Readiness probe of the local stack's broker, run by `stack.sh up` with Java's single-file launcher and the
// broker's own kafka-clients jar: "ready" means a client can create a topic, produce to it with acks=all and
// read the record back. A broker that has just started may accept connections and still answer
// UNKNOWN_TOPIC_OR_PARTITION for a new topic while it loads its existing partitions; this waits that out.
//
//   java -cp "<kafka libs>/*" KafkaReady.java <bootstrap> <timeout seconds> [client.properties]
import java.io.FileReader;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class KafkaReady {
  static final String TOPIC = "px.stack.ready";

  public static void main(String[] args) throws Exception {
    Properties base = new Properties();
    base.put("bootstrap.servers", args[0]);
    if (args.length > 2) try (FileReader r = new FileReader(args[2])) { base.load(r); }
    long deadline = System.currentTimeMillis() + Long.parseLong(args[1]) * 1000L;
    String last = "";
    while (System.currentTimeMillis() < deadline) {
      try {
        probe(base);
        System.out.println("kafka ready: created, wrote and read back " + TOPIC);
        return;
      } catch (Exception e) {
        Throwable c = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        last = c.getClass().getSimpleName() + ": " + c.getMessage();
        Thread.sleep(500);
      }
    }
    System.err.println("kafka not ready to create and use topics: " + last);
    System.exit(1);
  }

  static void probe(Properties base) throws Exception {
    Properties a = (Properties) base.clone();
    a.put("request.timeout.ms", "5000");
    a.put("default.api.timeout.ms", "10000");
    try (Admin admin = Admin.create(a)) {
      try {
        // The broker default replication factor: 3 with min.insync.replicas=2 on the three-node stack.
        admin.createTopics(List.of(new NewTopic(TOPIC, Optional.of(1), Optional.empty()))).all().get();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw e;
      }
    }
    Properties p = (Properties) base.clone();
    p.put("acks", "all");
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("max.block.ms", "10000");
    p.put("delivery.timeout.ms", "10000");
    p.put("request.timeout.ms", "5000");
    String value = "ready-" + System.nanoTime();
    RecordMetadata md;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      md = producer.send(new ProducerRecord<>(TOPIC, "k", value)).get();
    }
    Properties c = (Properties) base.clone();
    c.put("key.deserializer", StringDeserializer.class.getName());
    c.put("value.deserializer", StringDeserializer.class.getName());
    c.put("enable.auto.commit", "false");
    c.put("isolation.level", "read_committed");
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
      TopicPartition tp = new TopicPartition(TOPIC, 0);
      consumer.assign(List.of(tp));
      consumer.seek(tp, md.offset());
      long until = System.currentTimeMillis() + 10_000;
      while (System.currentTimeMillis() < until) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          if (value.equals(r.value())) return;
        }
      }
    }
    throw new IllegalStateException("the record written to " + TOPIC + " was not read back within 10 s");
  }
}
