package dev.cai.cluster.weights;

import dev.cai.actors.PublishedPolicy;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.RandomWeights;
import dev.cai.runtime.weights.ModelWeights;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * Time to ship SmolLM2-135M-sized float32 weights (134.5M parameters, 538 MB) from a learner node's publisher to a
 * policy node's replica: two ActorSystems in this JVM, Artery TCP over loopback, the real role configurations. Per
 * version it reports the publisher's preparation (cutting + SHA-256 of every tensor) and the shipping (announce,
 * fetch, stream with flow control, validate, assemble, hash check) separately.
 *
 * <p>Run (after {@code mvn -o -q -pl cluster-config -am test-compile}):
 * {@code java -Xmx4g -cp <test classpath> dev.cai.cluster.weights.WeightShippingBench [versions] [chunk-bytes] [window]
 * [layers] [large]}; defaults 3, 131072, 16, 30 (fewer layers: a smaller model of the same shape); {@code large}
 * sends the chunks over Artery's large-message channel (then a chunk may be up to 2 MiB minus headroom).
 */
public final class WeightShippingBench {
  private WeightShippingBench() {}

  public static void main(String[] args) throws Exception {
    int versions = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    int chunkBytes = args.length > 1 ? Integer.parseInt(args[1]) : 131072;
    int window = args.length > 2 ? Integer.parseInt(args[2]) : 16;
    int layers = args.length > 3 ? Integer.parseInt(args[3]) : 30;
    boolean large = args.length > 4 && args[4].equals("large");
    // SmolLM2-135M: vocab 49152, hidden 576, intermediate 1536, 9 heads, 3 KV heads, head dim 64, tied embeddings
    LlamaConfig config = new LlamaConfig(49152, 576, 1536, layers, 9, 3, 64, 100000.0, 1e-5, 2048, true, 1, 2, 0);
    String shipping = "cai.cluster.weights { chunk-bytes = " + chunkBytes + ", window = " + window + " }\n"
        // the replica's remote-facing ref (a message adapter) is a child of the replica actor, which is /user/NAME
        + (large ? "pekko.remote.artery.large-message-destinations = [\"" + WeightReplica.LARGE_MESSAGE_DESTINATION
            + "\"]\n" : "");
    ActorTestKit learner = ClusterTestNodes.start("learner", shipping);
    ActorTestKit policy = ClusterTestNodes.start("policy", shipping);
    try {
      ClusterTestNodes.join(learner, learner);
      ClusterTestNodes.join(policy, learner);
      WeightShippingSettings settings = WeightShippingSettings.fromConfig(learner.system().settings().config());
      ActorRef<WeightPublisher.Command> publisher = learner.spawn(WeightPublisher.create(settings), "weight-publisher");
      PublishedPolicy published = new PublishedPolicy(0);
      System.out.println("replica " + policy.system().systemActorOf(WeightReplica.create(settings, List.of(), published,
          Optional.of(config)), WeightReplica.NAME, org.apache.pekko.actor.typed.Props.empty()).path() + (large ? " (on Artery's large-message channel)" : ""));
      Thread.sleep(2000); // the replica finds the publisher through the Receptionist
      System.out.printf("config %s%nchunk-bytes %d, window %d%n", config, chunkBytes, window);
      for (int v = 1; v <= versions; v++) {
        ModelWeights w = RandomWeights.create(config, v, 0.02);
        long t0 = System.nanoTime();
        TestProbe<StatusReply<WeightPublisher.Published>> ack = learner.createTestProbe();
        publisher.tell(new WeightPublisher.Publish(v, w, ack.getRef()));
        WeightPublisher.Published p = ack.receiveMessage(Duration.ofMinutes(5)).getValue();
        long t1 = System.nanoTime();
        published.whenServed(v).toCompletableFuture().get(10, TimeUnit.MINUTES);
        long t2 = System.nanoTime();
        double mb = p.bytes() / 1e6;
        double ship = (t2 - t1) / 1e9;
        System.out.printf("version %d: %.1f MB in %d chunks; prepare %.2f s; ship %.2f s = %.1f MB/s"
            + " (end to end %.1f MB/s)%n", v, mb, p.chunks(), (t1 - t0) / 1e9, ship, mb / ship, mb / ((t2 - t0) / 1e9));
        WeightAssemblerTest.assertBitEqual(w, published.latest().orElseThrow().weights());
      }
    } finally {
      policy.shutdownTestKit();
      learner.shutdownTestKit();
    }
  }
}
