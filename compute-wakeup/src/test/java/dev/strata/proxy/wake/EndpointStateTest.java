package dev.strata.proxy.wake;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EndpointStateTest {

    @Test
    void lifecycleAllowsOnlyTheDrawnTransitions() {
        assertThat(EndpointState.SUSPENDED.next()).containsExactly(EndpointState.WAKING);
        assertThat(EndpointState.WAKING.next()).containsExactlyInAnyOrder(EndpointState.RUNNING, EndpointState.SUSPENDED);
        assertThat(EndpointState.RUNNING.next()).containsExactlyInAnyOrder(EndpointState.SUSPENDING, EndpointState.SUSPENDED);
        assertThat(EndpointState.SUSPENDING.next()).containsExactly(EndpointState.SUSPENDED);
        assertThatThrownBy(() -> EndpointState.SUSPENDED.moveTo(EndpointState.RUNNING))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("SUSPENDED cannot move to RUNNING");
    }

    @Test
    void wakeBackoffGrowsByOnePointSixFromOneHundredMillisecondsUpToTheCap() {
        WakePolicy p = WakePolicy.DEFAULT;
        assertThat(p.delayAfter(0)).isEqualTo(Duration.ofMillis(100));
        assertThat(p.delayAfter(1)).isEqualTo(Duration.ofMillis(160));
        assertThat(p.delayAfter(2)).isEqualTo(Duration.ofMillis(256));
        assertThat(p.delayAfter(30)).isEqualTo(Duration.ofSeconds(5));
        assertThatThrownBy(() -> new WakePolicy(Duration.ZERO, Duration.ofMillis(1), 1.6, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
