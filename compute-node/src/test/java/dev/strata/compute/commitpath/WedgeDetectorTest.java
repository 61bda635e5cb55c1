package dev.strata.compute.commitpath;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.lsn.Lsn;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class WedgeDetectorTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private final WedgeDetector detector = new WedgeDetector(Duration.ofSeconds(10));

    private static Instant at(long seconds) {
        return T0.plusSeconds(seconds);
    }

    @Test
    void commitsWaitingWhileTheQuorumStandsStillIsAWedgeAfterTheTimeout() {
        Lsn flush = Lsn.parse("0/1000000");
        assertThat(detector.observe(at(0), true, flush)).isEmpty();
        assertThat(detector.observe(at(9), true, flush)).isEmpty();
        assertThat(detector.observe(at(10), true, flush)).contains(Duration.ofSeconds(10));
        assertThat(detector.waiting(at(10))).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void aSlowButMovingQuorumIsNotAWedge() {
        for (int s = 0; s <= 60; s++) {
            assertThat(detector.observe(at(s), true, Lsn.of(0x1000000L + s * 8192L))).as("second %d", s).isEmpty();
        }
    }

    @Test
    void anIdleComputeIsNotAWedgeAndWaitingRestartsAfterABreak() {
        Lsn flush = Lsn.parse("0/1000000");
        for (int s = 0; s <= 30; s++) {
            assertThat(detector.observe(at(s), false, flush)).isEmpty();
        }
        // The quorum has stood still for 30 s, but commits only began waiting now.
        assertThat(detector.observe(at(31), true, flush)).isEmpty();
        assertThat(detector.observe(at(40), true, flush)).isEmpty();
        assertThat(detector.observe(at(41), true, flush)).contains(Duration.ofSeconds(10));
        assertThat(detector.observe(at(42), false, flush)).isEmpty();
        assertThat(detector.waiting(at(42))).isZero();
    }
}
