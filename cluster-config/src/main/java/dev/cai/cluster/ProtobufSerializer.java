package dev.cai.cluster;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import dev.cai.protocol.v1.CheckpointAck;
import dev.cai.protocol.v1.CheckpointChunk;
import dev.cai.protocol.v1.CheckpointFile;
import dev.cai.protocol.v1.CheckpointOffer;
import dev.cai.protocol.v1.Comparison;
import dev.cai.protocol.v1.ConstitutionRef;
import dev.cai.protocol.v1.CritiqueRound;
import dev.cai.protocol.v1.FetchPolicyVersion;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.MetricsSnapshot;
import dev.cai.protocol.v1.ModelConfig;
import dev.cai.protocol.v1.PolicyVersionAnnounced;
import dev.cai.protocol.v1.PolicyVersionManifest;
import dev.cai.protocol.v1.PolicyWeightsChunk;
import dev.cai.protocol.v1.Prompt;
import dev.cai.protocol.v1.ResponsePair;
import dev.cai.protocol.v1.Rollout;
import dev.cai.protocol.v1.SlExample;
import dev.cai.protocol.v1.SourceOffset;
import dev.cai.protocol.v1.TensorManifest;
import dev.cai.protocol.v1.WeightsChunkAck;
import dev.cai.protocol.v1.WeightsChunkDelivery;
import dev.cai.protocol.v1.WeightsFetchRefused;
import dev.cai.protocol.v1.WeightsServed;
import dev.cai.protocol.v1.WeightsSubscribe;
import dev.cai.protocol.v1.WorkReply;
import dev.cai.protocol.v1.WorkRequest;
import java.io.NotSerializableException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * Pekko serializer for the cai.v1 Protobuf messages: the bytes are the message's wire format and the
 * manifest is its full Protobuf name (e.g. {@code cai.v1.Prompt}), so the Java class may move freely.
 */
public final class ProtobufSerializer extends SerializerWithStringManifest {
  /** Pekko serializer id; Pekko reserves 0 to 40. */
  public static final int IDENTIFIER = 8801;

  private static final Map<String, Parser<? extends Message>> PARSERS = parsers(List.of(
      Prompt.getDefaultInstance(),
      ConstitutionRef.getDefaultInstance(),
      CritiqueRound.getDefaultInstance(),
      SlExample.getDefaultInstance(),
      ResponsePair.getDefaultInstance(),
      Comparison.getDefaultInstance(),
      Rollout.getDefaultInstance(),
      PolicyWeightsChunk.getDefaultInstance(),
      SourceOffset.getDefaultInstance(),
      LearnerStateHeader.getDefaultInstance(),
      MetricsSnapshot.getDefaultInstance(),
      // model work routed to workers (work.proto)
      WorkRequest.getDefaultInstance(),
      WorkReply.getDefaultInstance(),
      // weight shipping (weights.proto)
      ModelConfig.getDefaultInstance(),
      TensorManifest.getDefaultInstance(),
      PolicyVersionManifest.getDefaultInstance(),
      PolicyVersionAnnounced.getDefaultInstance(),
      WeightsSubscribe.getDefaultInstance(),
      FetchPolicyVersion.getDefaultInstance(),
      WeightsFetchRefused.getDefaultInstance(),
      WeightsChunkDelivery.getDefaultInstance(),
      WeightsChunkAck.getDefaultInstance(),
      WeightsServed.getDefaultInstance(),
      // learner failover (learner_ha.proto)
      CheckpointOffer.getDefaultInstance(),
      CheckpointChunk.getDefaultInstance(),
      CheckpointAck.getDefaultInstance(),
      CheckpointFile.getDefaultInstance()));

  /** Pekko creates serializers reflectively with the system. */
  public ProtobufSerializer(ExtendedActorSystem system) {}

  /** Full Protobuf names of the messages this serializer reads. */
  public static Set<String> knownMessages() {
    return PARSERS.keySet();
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    return fullName(o);
  }

  @Override
  public byte[] toBinary(Object o) {
    fullName(o); // refuses what it could not read back
    return ((Message) o).toByteArray();
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    Parser<? extends Message> parser = PARSERS.get(manifest);
    if (parser == null) {
      throw new NotSerializableException("cai-proto: unknown Protobuf message '" + manifest
          + "' (known: " + String.join(", ", new TreeSet<>(PARSERS.keySet())) + ")");
    }
    try {
      return parser.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      NotSerializableException n = new NotSerializableException(
          "cai-proto: " + bytes.length + " bytes are not a valid " + manifest + ": " + e.getMessage());
      n.initCause(e);
      throw n;
    }
  }

  private static String fullName(Object o) {
    if (o instanceof Message m && PARSERS.containsKey(m.getDescriptorForType().getFullName())) {
      return m.getDescriptorForType().getFullName();
    }
    throw new IllegalArgumentException("cai-proto serializes only cai.v1 messages, not " + o.getClass().getName());
  }

  private static Map<String, Parser<? extends Message>> parsers(List<Message> defaults) {
    return defaults.stream().collect(Collectors.toUnmodifiableMap(
        m -> m.getDescriptorForType().getFullName(), Message::getParserForType, (a, b) -> a));
  }
}
