package dev.strata.compute.commitpath;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class ThrottlePolicyTest {

    private static final long MB = 1L << 20;
    private static final Duration PERIOD = Duration.ofMillis(100);
    private final ThrottlePolicy policy = new ThrottlePolicy(64 * MB, PERIOD);

    @Test
    void upToHalfTheBoundASteadyLagIsNotThrottled() {
        for (long lag : new long[] {0, MB, 32 * MB}) {
            DutyCycle d = policy.decide(lag, 0, Duration.ZERO);
            assertThat(d.throttling()).as("lag %d", lag).isFalse();
            assertThat(d.run()).isEqualTo(PERIOD);
        }
    }

    @Test
    void fromHalfTheBoundTheStopShareGrowsWithTheLagReachingItsMaximumAtTheBound() {
        double previous = 0;
        for (long lag = 32 * MB + 1; lag <= 256 * MB; lag += 4 * MB) {
            DutyCycle d = policy.decide(lag);
            assertThat(d.throttling()).as("lag %d", lag).isTrue();
            assertThat(d.stopFraction()).as("lag %d", lag).isGreaterThanOrEqualTo(previous)
                    .isLessThanOrEqualTo(ThrottlePolicy.MAX_STOP + 0.001);
            assertThat(d.run()).as("a backend always runs again within the period").isPositive();
            assertThat(d.stop()).as("without overhead, never stopped longer than a period").isLessThanOrEqualTo(PERIOD);
            previous = d.stopFraction();
        }
        assertThat(policy.decide(48 * MB).stopFraction()).isCloseTo(ThrottlePolicy.MAX_STOP / 2, Offset.offset(0.01));
        assertThat(policy.decide(64 * MB).stopFraction()).as("already at the most at the bound, not at twice it")
                .isCloseTo(ThrottlePolicy.MAX_STOP, Offset.offset(0.001));
        assertThat(policy.decide(Long.MAX_VALUE).run()).isEqualTo(ThrottlePolicy.MIN_RUN);
    }

    @Test
    void aFastGrowingLagIsThrottledBeforeItCrossesTheBound() {
        // 20 MB now, growing 400 MB/s: within one period it would be at 60 MB, near the 64 MB bound.
        DutyCycle d = policy.decide(20 * MB, 400.0 * MB, Duration.ZERO);
        assertThat(d.throttling()).isTrue();
        assertThat(d.stopFraction()).isGreaterThan(0.8);
        // The same lag, steady or shrinking, is left alone.
        assertThat(policy.decide(20 * MB, 0, Duration.ZERO).throttling()).isFalse();
        assertThat(policy.decide(20 * MB, -400.0 * MB, Duration.ZERO).throttling()).isFalse();
    }

    @Test
    void theCyclesOverheadCountsAsRunTimeSoTheStopShareHoldsOverTheWholeCycle() {
        Duration overhead = Duration.ofMillis(20);
        DutyCycle d = policy.decide(48 * MB, 0, overhead); // half way: target share MAX_STOP / 2
        double share = (double) d.stop().toNanos() / (d.stop().plus(d.run()).plus(overhead)).toNanos();
        assertThat(share).isCloseTo(ThrottlePolicy.MAX_STOP / 2, Offset.offset(0.01));
        // Overhead longer than the run a share allows: the run shrinks to the minimum, and the stop
        // grows so the share still holds over the whole cycle.
        Duration slow = Duration.ofMillis(40);
        DutyCycle max = policy.decide(100 * MB, 0, slow);
        assertThat(max.run()).isEqualTo(ThrottlePolicy.MIN_RUN);
        double maxShare = (double) max.stop().toNanos() / (max.stop().plus(max.run()).plus(slow)).toNanos();
        assertThat(maxShare).isCloseTo(ThrottlePolicy.MAX_STOP, Offset.offset(0.01));
    }

    @Test
    void aStarvedCycleStopsTheWritersForAtMostTenPeriods() {
        // 200 ms of sampling and signalling per cycle (a starved machine): a stop of one period would
        // let the writers run 2/3 of the time; the stop grows up to ten periods instead.
        Duration starved = Duration.ofMillis(200);
        DutyCycle d = policy.decide(100 * MB, 0, starved);
        assertThat(d.stop()).isEqualTo(PERIOD.multipliedBy(ThrottlePolicy.MAX_STOP_PERIODS));
        double share = (double) d.stop().toNanos() / (d.stop().plus(d.run()).plus(starved)).toNanos();
        assertThat(share).as("the writers run under a fifth of the cycle").isGreaterThan(0.8);
        assertThat(d.run()).as("and always run again").isPositive();
    }

    @Test
    void aDutyCycleThatNeverRunsIsRefused() {
        assertThatThrownBy(() -> new DutyCycle(Duration.ofMillis(100), Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("runs for > 0");
        assertThatThrownBy(() -> new ThrottlePolicy(0, Duration.ofMillis(100))).hasMessageContaining("positive");
    }
}
