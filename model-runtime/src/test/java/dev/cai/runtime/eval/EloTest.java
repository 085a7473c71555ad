package dev.cai.runtime.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.eval.Elo.Comparison;
import dev.cai.runtime.eval.Elo.Rating;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Elo fit against the numbers of {@code tools/elo_reference.py} (an independent pure-Python Newton fit with a
 * port of SplittableRandom for the bootstrap), and its properties.
 */
class EloTest {
  private static final double L2 = 1e-3;
  /** Elo agreement with the reference: both fits converge to rounding, so far tighter than any reported digit. */
  private static final double TOL = 1e-6;

  /** tools/elo_reference.py THREE. */
  private static final List<Comparison> THREE = List.of(c(0, 1, 0.30), c(0, 1, 0.45), c(0, 1, 0.20), c(1, 2, 0.55),
      c(1, 2, 0.40), c(0, 2, 0.35), c(2, 0, 0.70), c(1, 0, 0.60), c(2, 1, 0.50), c(0, 2, 0.25));
  /** tools/elo_reference.py SWEEP: player 3 wins every comparison it is in. */
  private static final List<Comparison> SWEEP = List.of(c(0, 1, 0.6), c(1, 2, 0.55), c(2, 0, 0.5), c(3, 0, 1.0),
      c(1, 3, 0.0), c(3, 2, 1.0), c(0, 1, 0.4));

  private static Comparison c(int i, int j, double p) {
    return new Comparison(i, j, p);
  }

  @Test
  void shouldDrawTheSameIndicesAsThePythonPortOfSplittableRandom() {
    // the bootstrap goldens rest on tools/elo_reference.py drawing exactly these
    SplittableRandom r = new SplittableRandom(42);
    int[] draws = new int[5];
    for (int k = 0; k < 5; k++) {
      draws[k] = r.nextInt(10);
    }
    assertArrayEquals(new int[] {1, 6, 1, 2, 1}, draws);
  }

  @Test
  void shouldMatchTheReferenceFitWithMeanZeroAndAnchoredToTheFirstPlayer() {
    double[] s = Elo.fit(3, THREE, L2);
    assertArrayEquals(new double[] {-87.392583712, 34.857396213, 52.535187500}, Elo.toElo(s, Elo.MEAN_ZERO), TOL);
    assertArrayEquals(new double[] {0.0, 122.249979925, 139.927771212}, Elo.toElo(s, 0), TOL);
    assertEquals(0, s[0] + s[1] + s[2], 1e-12, "the prior fixes the gauge at mean 0");
  }

  @Test
  void shouldMatchTheReferenceBootstrapIntervals() {
    List<Rating> anchored = Elo.rate(3, THREE, new Elo.Settings(L2, 1000, 42, 0));
    assertRatings(anchored, new double[] {0.0, 122.249979925, 139.927771212},
        new double[] {0.000000000, 69.887960471, 95.106084143}, new double[] {0.000000000, 186.399950114, 187.157786649});
    List<Rating> meanZero = Elo.rate(3, THREE, new Elo.Settings(L2, 1000, 42, Elo.MEAN_ZERO));
    assertRatings(meanZero, new double[] {-87.392583712, 34.857396213, 52.535187500},
        new double[] {-120.664582900, 2.431330997, 30.447461625}, new double[] {-58.680210208, 69.253807004, 77.505393412});
    assertEquals(List.of(7, 7, 6), anchored.stream().map(Rating::comparisons).toList());
  }

  private static void assertRatings(List<Rating> r, double[] elo, double[] lo, double[] hi) {
    for (int i = 0; i < elo.length; i++) {
      assertEquals(elo[i], r.get(i).elo(), TOL, "elo " + i);
      assertEquals(lo[i], r.get(i).lo(), TOL, "lo " + i);
      assertEquals(hi[i], r.get(i).hi(), TOL, "hi " + i);
      assertTrue(r.get(i).lo() <= r.get(i).elo() && r.get(i).elo() <= r.get(i).hi(), "CI contains the estimate " + i);
    }
  }

  @Test
  void shouldRankAPlayerWhoAlwaysWinsFirstWithAFiniteRating() {
    double[] elo = Elo.toElo(Elo.fit(4, SWEEP, L2), Elo.MEAN_ZERO);
    assertArrayEquals(new double[] {-277.045556174, -270.107366666, -290.904680817, 838.057603657}, elo, TOL);
    for (int i = 0; i < 3; i++) {
      assertTrue(elo[3] > elo[i] + 500, "the sweeper is far ahead of " + i);
    }
    // the same with a single decisive comparison: the prior alone bounds it
    double[] one = Elo.toElo(Elo.fit(2, List.of(c(1, 0, 1.0)), L2), Elo.MEAN_ZERO);
    assertTrue(one[1] > one[0] && Double.isFinite(one[1]), java.util.Arrays.toString(one));
  }

  @Test
  void shouldGiveEqualScoresForSymmetricData() {
    List<Comparison> cycle = List.of(c(0, 1, 0.7), c(1, 2, 0.7), c(2, 0, 0.7));
    assertArrayEquals(new double[3], Elo.toElo(Elo.fit(3, cycle, L2), Elo.MEAN_ZERO), 1e-9);
    List<Comparison> ties = List.of(c(0, 1, 0.5), c(2, 1, 0.5), c(0, 2, 0.5));
    assertArrayEquals(new double[3], Elo.toElo(Elo.fit(3, ties, L2), 0), 1e-9);
    List<Comparison> mirrored = List.of(c(0, 1, 0.9), c(1, 0, 0.9));
    assertArrayEquals(new double[2], Elo.toElo(Elo.fit(2, mirrored, L2), 0), 1e-9);
  }

  @Test
  void shouldPutTwoHundredEloBetweenPlayersWhenOneWinsWithProbabilityPointSevenSix() {
    double[] elo = Elo.toElo(Elo.fit(2, Collections.nCopies(5, c(0, 1, 0.76)), L2), Elo.MEAN_ZERO);
    assertEquals(200.131237166, elo[0] - elo[1], TOL); // tools/elo_reference.py; 200.24 without the prior
    assertEquals(200, elo[0] - elo[1], 0.5);
    assertEquals(0.76, Elo.winProbability(Elo.ELO_PER_NAT * Math.log(0.76 / 0.24)), 1e-12);
    assertEquals(1 / (1 + Math.pow(10, -0.5)), Elo.winProbability(200), 1e-12);
  }

  @Test
  void shouldCountSoftOutcomesAsFractionalWins() {
    // one comparison at p counts as p wins and 1 - p losses: the same fit as the whole wins and losses, weighted
    List<Comparison> soft = List.of(c(0, 1, 0.75));
    List<Comparison> hard = List.of(c(0, 1, 1), c(0, 1, 1), c(0, 1, 1), c(0, 1, 0));
    double[] a = Elo.fit(2, soft, L2 / 4);
    double[] b = Elo.fit(2, hard, L2);
    assertArrayEquals(a, b, 1e-9);
  }

  @Test
  void shouldBeReproducibleFromTheSeedAndKeepTheAnchorAtZero() {
    List<Rating> a = Elo.rate(3, THREE, new Elo.Settings(L2, 200, 5, 1));
    List<Rating> b = Elo.rate(3, THREE, new Elo.Settings(L2, 200, 5, 1));
    List<Rating> other = Elo.rate(3, THREE, new Elo.Settings(L2, 200, 6, 1));
    assertEquals(a, b);
    assertTrue(!a.equals(other), "another seed draws other replicates");
    assertEquals(new Rating(0, 0, 0, 7), a.get(1));
  }

  @Test
  void shouldRejectBadInputWithClearMessages() {
    assertEquals("a comparison needs two different players >= 0, got 1 and 1",
        assertThrows(IllegalArgumentException.class, () -> c(1, 1, 0.5)).getMessage());
    assertEquals("comparison 0 vs 1: p must be in [0, 1], got NaN",
        assertThrows(IllegalArgumentException.class, () -> c(0, 1, Double.NaN)).getMessage());
    assertEquals("comparison 0 vs 3 names a player outside 0..2",
        assertThrows(IllegalArgumentException.class, () -> Elo.fit(3, List.of(c(0, 3, 0.5)), L2)).getMessage());
    assertEquals("no comparisons to rate 2 players from",
        assertThrows(IllegalArgumentException.class, () -> Elo.rate(2, new ArrayList<>(), Elo.Settings.anchoredToFirst(1)))
            .getMessage());
    assertEquals("anchor 2 is not one of the 2 players", assertThrows(IllegalArgumentException.class,
        () -> Elo.rate(2, List.of(c(0, 1, 0.5)), new Elo.Settings(L2, 10, 1, 2))).getMessage());
    assertThrows(IllegalArgumentException.class, () -> new Elo.Settings(0, 10, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new Elo.Settings(L2, 0, 1, 0));
  }
}
