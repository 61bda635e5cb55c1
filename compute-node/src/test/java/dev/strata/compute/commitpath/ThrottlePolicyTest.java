package dev.strata.compute.commitpath;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ThrottlePolicyTest {

    private static final long MB = 1L << 20;
    private final ThrottlePolicy policy = new ThrottlePolicy(64 * MB, Duration.ofMillis(100));

    @Test
    void atOrUnderTheBoundNothingIsThrottled() {
        for (long lag : new long[] {0, MB, 64 * MB}) {
            DutyCycle d = policy.decide(lag);
            assertThat(d.throttling()).as("lag %d", lag).isFalse();
            assertThat(d.run()).isEqualTo(Duration.ofMillis(100));
        }
    }

    @Test
    void overTheBoundTheStopShareGrowsWithTheLagAndNeverReachesTheWholePeriod() {
        double previous = 0;
        for (long lag = 64 * MB + 1; lag <= 256 * MB; lag += 8 * MB) {
            DutyCycle d = policy.decide(lag);
            assertThat(d.throttling()).isTrue();
            assertThat(d.stopFraction()).as("lag %d", lag).isGreaterThanOrEqualTo(previous)
                    .isBetween(ThrottlePolicy.MIN_STOP - 0.001, ThrottlePolicy.MAX_STOP + 0.001);
            assertThat(d.run()).as("a backend always runs again within the period").isPositive();
            assertThat(d.stop().plus(d.run())).isEqualTo(Duration.ofMillis(100));
            previous = d.stopFraction();
        }
        assertThat(policy.decide(64 * MB + 1).stopFraction()).isCloseTo(ThrottlePolicy.MIN_STOP, org.assertj.core.data.Offset.offset(0.01));
        assertThat(policy.decide(128 * MB).stopFraction()).isCloseTo(ThrottlePolicy.MAX_STOP, org.assertj.core.data.Offset.offset(0.001));
        assertThat(policy.decide(Long.MAX_VALUE).run()).isEqualTo(Duration.ofMillis(5));
    }

    @Test
    void aDutyCycleThatNeverRunsIsRefused() {
        assertThatThrownBy(() -> new DutyCycle(Duration.ofMillis(100), Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("runs for > 0");
        assertThatThrownBy(() -> new ThrottlePolicy(0, Duration.ofMillis(100))).hasMessageContaining("positive");
    }
}
