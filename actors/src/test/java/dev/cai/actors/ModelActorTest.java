package dev.cai.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestKitJUnit5Extension.class)
class ModelActorTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final BatchingSettings SETTINGS =
      new BatchingSettings(4, Duration.ofMillis(50), 64, Duration.ofMillis(100), Duration.ofMillis(400));

  /** Upper-cases strings; records batch sizes; fails a batch containing "boom"; the first batch waits for a gate. */
  static final class FakeModel implements BatchModel<String, String> {
    final List<Integer> batchSizes = Collections.synchronizedList(new ArrayList<>());
    /** Sizes of the batches that reached the model, recorded before the gate. */
    final List<Integer> started = Collections.synchronizedList(new ArrayList<>());
    final CountDownLatch gate;
    final AtomicInteger closed;

    FakeModel(CountDownLatch gate, AtomicInteger closed) {
      this.gate = gate;
      this.closed = closed;
    }

    @Override
    public List<Outcome<String>> run(List<String> batch) throws Exception {
      started.add(batch.size());
      assertTrue(gate.await(5, TimeUnit.SECONDS));
      batchSizes.add(batch.size());
      if (batch.contains("boom")) {
        throw new IllegalStateException("CUDA out of memory");
      }
      return batch.stream().map(s -> s.length() > 20 ? Outcome.<String>failed("prompt has " + s.length()
          + " tokens, the context holds 20") : Outcome.ok(s.toUpperCase())).toList();
    }

    @Override
    public String id() {
      return "fake-1";
    }

    @Override
    public void close() {
      closed.incrementAndGet();
    }
  }

  @Test
  void shouldBatchRequestsThatArriveTogetherAndAnswerEachInOrder() {
    CountDownLatch gate = new CountDownLatch(1);
    FakeModel model = new FakeModel(gate, new AtomicInteger());
    ActorRef<ModelActor.Command<String, String>> actor =
        testKit.spawn(ModelActor.create("policy", () -> model, SETTINGS));
    List<TestProbe<StatusReply<String>>> probes = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      TestProbe<StatusReply<String>> p = testKit.createTestProbe();
      probes.add(p);
      actor.tell(new ModelActor.Submit<>("req" + i, p.getRef()));
    }
    gate.countDown();
    for (int i = 0; i < 10; i++) {
      assertEquals("REQ" + i, probes.get(i).receiveMessage().getValue());
    }
    assertEquals(10, model.batchSizes.stream().mapToInt(Integer::intValue).sum());
    assertTrue(model.batchSizes.stream().allMatch(s -> s <= 4), "batches " + model.batchSizes);
    assertTrue(model.batchSizes.size() <= 4, "10 requests sent together need at most 4 batches: " + model.batchSizes);
  }

  @Test
  void shouldMeterBatchSizesQueueLengthQueueWaitAndForwardTime() throws Exception {
    io.micrometer.core.instrument.simple.SimpleMeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    io.micrometer.core.instrument.Metrics.addRegistry(registry);
    try {
      String role = "metered-" + System.nanoTime();
      CountDownLatch gate = new CountDownLatch(1);
      FakeModel model = new FakeModel(gate, new AtomicInteger());
      ActorRef<ModelActor.Command<String, String>> actor = testKit.spawn(ModelActor.create(role, () -> model, SETTINGS));
      TestProbe<StatusReply<String>> p = testKit.createTestProbe();
      for (int i = 0; i < 10; i++) {
        actor.tell(new ModelActor.Submit<>("req" + i, p.getRef()));
      }
      ModelMeters meters = ModelMeters.of(role);
      p.awaitAssert(() -> {
        // the first batch is held at the gate (4 requests, fewer if max-wait ran out before all had arrived)
        assertEquals(1, model.started.size());
        assertEquals(10 - model.started.get(0), meters.queueLength(), "the rest wait in the queue");
        return null;
      });
      Thread.sleep(30); // the first batch is held on the model for at least this long
      gate.countDown();
      p.receiveSeveralMessages(10);
      assertEquals(0, meters.queueLength());
      assertEquals(model.batchSizes.size(), meters.batches());
      assertEquals(10.0 / model.batchSizes.size(), meters.meanBatchSize(), 1e-9);
      assertEquals(10, registry.get(ModelMeters.QUEUE_WAIT).tag("model", role).timer().count(), "one wait per request");
      assertEquals(model.batchSizes.size(), registry.get(ModelMeters.FORWARD).tag("model", role).timer().count());
      assertTrue(registry.get(ModelMeters.FORWARD).tag("model", role).timer().max(TimeUnit.MILLISECONDS) >= 30,
          "the blocked batch's forward time is measured");
    } finally {
      io.micrometer.core.instrument.Metrics.removeRegistry(registry);
    }
  }

  @Test
  void shouldFailOnlyTheRequestTheModelRejects() {
    FakeModel model = new FakeModel(new CountDownLatch(0), new AtomicInteger());
    ActorRef<ModelActor.Command<String, String>> actor =
        testKit.spawn(ModelActor.create("policy", () -> model, SETTINGS));
    TestProbe<StatusReply<String>> longOne = testKit.createTestProbe();
    TestProbe<StatusReply<String>> fine = testKit.createTestProbe();
    actor.tell(new ModelActor.Submit<>("x".repeat(25), longOne.getRef()));
    actor.tell(new ModelActor.Submit<>("fine", fine.getRef()));
    assertEquals("policy model fake-1 rejected the request: prompt has 25 tokens, the context holds 20",
        longOne.receiveMessage(Duration.ofSeconds(3)).getError().getMessage());
    assertEquals("FINE", fine.receiveMessage(Duration.ofSeconds(3)).getValue());
  }

  @Test
  void shouldRunAPartialBatchAfterMaxWait() {
    FakeModel model = new FakeModel(new CountDownLatch(0), new AtomicInteger());
    ActorRef<ModelActor.Command<String, String>> actor =
        testKit.spawn(ModelActor.create("policy", () -> model, SETTINGS));
    TestProbe<StatusReply<String>> p = testKit.createTestProbe();
    actor.tell(new ModelActor.Submit<>("alone", p.getRef()));
    assertEquals("ALONE", p.receiveMessage(Duration.ofSeconds(3)).getValue());
    assertEquals(List.of(1), model.batchSizes);
  }

  @Test
  void shouldFailEveryRequestInFlightThenRestartWithBackoffAndServeAgain() {
    CountDownLatch gate = new CountDownLatch(1);
    AtomicInteger loads = new AtomicInteger();
    AtomicInteger closed = new AtomicInteger();
    ActorRef<ModelActor.Command<String, String>> actor = testKit.spawn(ModelActor.create("feedback", () -> {
      loads.incrementAndGet();
      return new FakeModel(gate, closed);
    }, SETTINGS));
    TestProbe<StatusReply<String>> boom = testKit.createTestProbe();
    TestProbe<StatusReply<String>> sameBatch = testKit.createTestProbe();
    actor.tell(new ModelActor.Submit<>("boom", boom.getRef()));
    actor.tell(new ModelActor.Submit<>("ok", sameBatch.getRef()));
    gate.countDown();

    StatusReply<String> failed = boom.receiveMessage(Duration.ofSeconds(3));
    assertTrue(failed.isError());
    assertEquals("feedback model fake-1 failed: CUDA out of memory", failed.getError().getMessage());
    assertTrue(sameBatch.receiveMessage(Duration.ofSeconds(3)).isError(), "the whole batch fails, never silence");

    TestProbe<StatusReply<String>> later = testKit.createTestProbe();
    actor.tell(new ModelActor.Submit<>("after", later.getRef()));
    assertEquals("AFTER", later.receiveMessage(Duration.ofSeconds(5)).getValue(), "served after the restart");
    assertEquals(2, loads.get(), "the model is reloaded on restart");
    assertEquals(1, closed.get(), "the failed model is closed");
  }

  @Test
  void shouldRetryLoadingWithBackoffWhenTheModelCannotBeLoaded() {
    AtomicInteger attempts = new AtomicInteger();
    FakeModel model = new FakeModel(new CountDownLatch(0), new AtomicInteger());
    ActorRef<ModelActor.Command<String, String>> actor = testKit.spawn(ModelActor.create("policy", () -> {
      if (attempts.incrementAndGet() < 3) {
        throw new IllegalArgumentException("Missing tensor 'lm_head.weight' in model.gguf");
      }
      return model;
    }, SETTINGS));
    TestProbe<StatusReply<String>> p = testKit.createTestProbe();
    actor.tell(new ModelActor.Submit<>("x", p.getRef()));
    StatusReply<String> first = p.receiveMessage(Duration.ofSeconds(3));
    // the request queued while loading fails with the load error; a later one is served once loaded
    assertTrue(first.isError());
    assertTrue(first.getError().getMessage().contains("could not be loaded: Missing tensor 'lm_head.weight'"),
        first.getError().getMessage());
    // like a stream would, retry: requests reaching an incarnation whose load fails get errors, never silence
    TestProbe<StatusReply<String>> q = testKit.createTestProbe();
    StatusReply<String> reply = null;
    for (int i = 0; i < 10 && (reply == null || reply.isError()); i++) {
      actor.tell(new ModelActor.Submit<>("y", q.getRef()));
      reply = q.receiveMessage(Duration.ofSeconds(5));
    }
    assertEquals("Y", reply.getValue());
    assertEquals(3, attempts.get(), "loaded on the third attempt, after two backoffs");
  }
}
