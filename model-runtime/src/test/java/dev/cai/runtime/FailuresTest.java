package dev.cai.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class FailuresTest {
  @Test
  void shouldStripEveryAsyncWrapperButNoOtherCause() {
    IllegalStateException root = new IllegalStateException("disk full");
    RuntimeException wrapped = new RuntimeException("while committing", root);
    assertSame(root, Failures.cause(new CompletionException(new ExecutionException(new CompletionException(root)))));
    assertSame(wrapped, Failures.cause(new CompletionException(wrapped)), "a cause that is no async wrapper stays");
    CompletionException bare = new CompletionException("no cause", null);
    assertSame(bare, Failures.cause(bare));
  }

  @Test
  void shouldDescribeByMessageOrElseByClassName() {
    assertEquals("disk full", Failures.describe(new CompletionException(new IllegalStateException("disk full"))));
    assertEquals("NullPointerException", Failures.describe(new ExecutionException(new NullPointerException())));
  }
}
