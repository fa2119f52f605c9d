package exchange.parcel.examples;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;

/**
 * Confluent's wire format, written with Apache Avro alone: magic byte 0, the schema's registry id as a 4-byte
 * big-endian int, then the record in Avro binary encoding. This is what Confluent's KafkaAvroSerializer writes
 * and what the exchange's router reads (Confluent's Java serializer is not on Maven Central, so the example does
 * the five header bytes itself).
 */
final class ConfluentWire {
  static final byte MAGIC = 0;

  private ConfluentWire() {}

  static byte[] encode(int schemaId, Schema schema, GenericRecord record) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try {
      DataOutputStream header = new DataOutputStream(out);
      header.writeByte(MAGIC);
      header.writeInt(schemaId); // big-endian
      header.flush();
      BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
      new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
      encoder.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
