package dev.cai.actors.work;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.protocol.v1.CompletionResult;
import dev.cai.protocol.v1.ScoreOptionsWork;
import dev.cai.protocol.v1.WorkReply;
import dev.cai.protocol.v1.WorkRequest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestKitJUnit5Extension.class)
class WorkRouterTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final Duration LONG = Duration.ofMinutes(5);

  private ActorRef<WorkRouter.Command> router(int maxInFlight, Duration attemptTimeout, int maxAttempts, Duration noWorker) {
    return testKit.spawn(WorkRouter.create("policy", new WorkSettings(maxInFlight, attemptTimeout, maxAttempts, noWorker, 100)));
  }

  /** A worker whose requests the test sees and answers by hand. */
  private TestProbe<WorkRequest> worker() {
    TestProbe<WorkRequest> w = testKit.createTestProbe();
    testKit.system().receptionist().tell(Receptionist.register(ModelWorker.serviceKey("policy"), w.ref()));
    return w;
  }

  private static WorkRequest work(String context) {
    return WorkRequest.newBuilder().setScoreOptions(ScoreOptionsWork.newBuilder().setContext(context)).build();
  }

  private TestProbe<StatusReply<WorkReply>> route(ActorRef<WorkRouter.Command> router, String context) {
    TestProbe<StatusReply<WorkReply>> p = testKit.createTestProbe();
    router.tell(new WorkRouter.Route(work(context), p.ref()));
    return p;
  }

  private void answer(WorkRequest r, String worker, String text) {
    ActorRef<WorkReply> to = ActorRefResolver.get(testKit.system()).resolveActorRef(r.getReplyTo());
    to.tell(WorkReply.newBuilder().setId(r.getId()).setWorker(worker).setModelId("m")
        .setCompletion(CompletionResult.newBuilder().setText(text)).build());
  }

  private WorkRouter.Stats stats(ActorRef<WorkRouter.Command> router) {
    TestProbe<WorkRouter.Stats> p = testKit.createTestProbe();
    router.tell(new WorkRouter.GetStats(p.ref()));
    return p.receiveMessage();
  }

  /** Waits until the router sees {@code n} workers (the Receptionist's listing reaches it asynchronously). */
  private void awaitWorkers(ActorRef<WorkRouter.Command> router, int n) {
    testKit.createTestProbe().awaitAssert(() -> {
      assertEquals(n, stats(router).workers());
      return null;
    });
  }

  @Test
  void shouldHoldAtMostMaxInFlightPerWorkerAndSendTheRestAsRepliesFreeRoom() {
    ActorRef<WorkRouter.Command> router = router(2, LONG, 3, LONG);
    TestProbe<WorkRequest> a = worker();
    TestProbe<WorkRequest> b = worker();
    awaitWorkers(router, 2);
    List<TestProbe<StatusReply<WorkReply>>> callers = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      callers.add(route(router, "c" + i));
    }
    // two each, least loaded first; the other two wait in the router
    List<WorkRequest> atA = a.receiveSeveralMessages(2);
    List<WorkRequest> atB = b.receiveSeveralMessages(2);
    a.expectNoMessage(Duration.ofMillis(200));
    b.expectNoMessage(Duration.ofMillis(50));
    // one answer frees one slot at that worker: the oldest waiting request goes there
    answer(atA.get(0), "A", "done " + atA.get(0).getScoreOptions().getContext());
    WorkRequest next = a.receiveMessage();
    assertEquals("c4", next.getScoreOptions().getContext());
    int i = Integer.parseInt(atA.get(0).getScoreOptions().getContext().substring(1));
    StatusReply<WorkReply> r = callers.get(i).receiveMessage();
    assertTrue(r.isSuccess());
    assertEquals("done c" + i, r.getValue().getCompletion().getText());
    assertEquals(List.of("c0", "c1", "c2", "c3"), java.util.stream.Stream.concat(atA.stream(), atB.stream())
        .map(w -> w.getScoreOptions().getContext()).sorted().toList());
    WorkRouter.Stats s = stats(router);
    assertEquals(1, s.routed());
    assertEquals(Map.of("A", 1L), s.answeredBy());
  }

  @Test
  void shouldRetryWorkInFlightOnAnotherWorkerWhenItsWorkerStopsAndDropTheLateReply() {
    double retriedBefore = count("retried");
    double answeredBefore = count("answered");
    ActorRef<WorkRouter.Command> router = router(4, LONG, 3, LONG);
    TestProbe<WorkRequest> a = worker();
    awaitWorkers(router, 1);
    TestProbe<StatusReply<WorkReply>> caller = route(router, "x");
    WorkRequest first = a.receiveMessage();
    TestProbe<WorkRequest> b = worker();
    awaitWorkers(router, 2);
    a.stop(); // the Receptionist drops a stopped worker, as it drops the workers of a node that becomes unreachable
    WorkRequest second = b.receiveMessage();
    assertEquals(first.getScoreOptions(), second.getScoreOptions());
    assertTrue(!first.getId().equals(second.getId()), "each attempt has its own id");
    answer(second, "B", "from b");
    assertEquals("from b", caller.receiveMessage().getValue().getCompletion().getText());
    answer(first, "A", "late from a"); // the abandoned attempt answers after all: nobody hears of it
    caller.expectNoMessage(Duration.ofMillis(300));
    WorkRouter.Stats s = stats(router);
    assertEquals(1, s.retried());
    assertEquals(1, s.routed());
    assertEquals(1, s.workers());
    // the same on /metrics: cai_work_requests_total{role,outcome} and the gauges
    assertEquals(retriedBefore + 1, count("retried"));
    assertEquals(answeredBefore + 1, count("answered"));
    assertEquals(1.0, METRICS.get(WorkMeters.WORKERS).tag("role", "policy").gauge().value());
    assertEquals(0.0, METRICS.get(WorkMeters.IN_FLIGHT).tag("role", "policy").gauge().value());
  }

  private static final SimpleMeterRegistry METRICS = new SimpleMeterRegistry();

  static {
    Metrics.addRegistry(METRICS);
  }

  private static double count(String outcome) {
    Counter c = METRICS.find(WorkMeters.REQUESTS).tag("role", "policy").tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void shouldRetryAnAttemptThatTimesOutAndGiveUpAfterMaxAttempts() {
    ActorRef<WorkRouter.Command> router = router(4, Duration.ofMillis(300), 2, LONG);
    TestProbe<WorkRequest> a = worker();
    awaitWorkers(router, 1);
    TestProbe<StatusReply<WorkReply>> caller = route(router, "slow");
    WorkRequest first = a.receiveMessage();
    WorkRequest second = a.receiveMessage(Duration.ofSeconds(3)); // retried after 300 ms
    assertEquals(first.getScoreOptions(), second.getScoreOptions());
    StatusReply<WorkReply> r = caller.receiveMessage(Duration.ofSeconds(3)); // the second attempt times out too
    assertTrue(r.isError());
    assertTrue(r.getError().getMessage().contains("did not answer within PT0.3S; gave up after 2 attempts"),
        r.getError().getMessage());
    answer(second, "A", "too late");
    caller.expectNoMessage(Duration.ofMillis(300));
    assertEquals(1, stats(router).failed());
  }

  @Test
  void shouldPassAWorkersErrorReplyOnWithoutRetrying() {
    ActorRef<WorkRouter.Command> router = router(4, LONG, 3, LONG);
    TestProbe<WorkRequest> a = worker();
    awaitWorkers(router, 1);
    TestProbe<StatusReply<WorkReply>> caller = route(router, "too long");
    WorkRequest r = a.receiveMessage();
    ActorRefResolver.get(testKit.system()).<WorkReply>resolveActorRef(r.getReplyTo()).tell(WorkReply.newBuilder()
        .setId(r.getId()).setWorker("A").setError("prompt has 9000 tokens, the context holds 8192").build());
    StatusReply<WorkReply> reply = caller.receiveMessage();
    assertEquals("policy worker A: prompt has 9000 tokens, the context holds 8192", reply.getError().getMessage());
    a.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void shouldFailWaitingWorkWhenNoWorkerIsReachableForTheTimeout() {
    ActorRef<WorkRouter.Command> router = router(4, LONG, 3, Duration.ofMillis(300));
    TestProbe<StatusReply<WorkReply>> caller = route(router, "anyone?");
    StatusReply<WorkReply> r = caller.receiveMessage(Duration.ofSeconds(3));
    assertEquals("no policy worker reachable for PT0.3S (start one with: cai node --role policy --seed HOST:PORT)",
        r.getError().getMessage());
  }

  @Test
  void shouldSendWaitingWorkToAWorkerThatJoinsLater() {
    ActorRef<WorkRouter.Command> router = router(4, LONG, 3, LONG);
    TestProbe<StatusReply<WorkReply>> caller = route(router, "early");
    TestProbe<WorkRequest> a = worker();
    WorkRequest r = a.receiveMessage(Duration.ofSeconds(3));
    answer(r, "A", "late worker");
    assertEquals("late worker", caller.receiveMessage().getValue().getCompletion().getText());
  }
}
