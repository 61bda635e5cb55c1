package dev.strata.proxy.wake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.proxy.protocol.ErrorKind;
import dev.strata.proxy.protocol.ProxyException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The proxy's retries stop at the control plane's definitive answer: a wake that failed with
 * {@link WakeRefusedException} reaches the client at once, as it was said; any other failure is
 * retried until the wake timeout.
 */
class WakeRefusedTest {

    private static final EndpointId EP = EndpointId.of("ep-refused");

    /** Every wake fails with {@code failure}; counts them. */
    private static final class Failing implements ComputeControl {
        final AtomicInteger wakes = new AtomicInteger();
        final RuntimeException failure;

        Failing(RuntimeException failure) {
            this.failure = failure;
        }

        @Override
        public CompletableFuture<Optional<EndpointSpec>> lookup(EndpointId endpoint) {
            return CompletableFuture.completedFuture(Optional.of(EndpointSpec.of(endpoint)));
        }

        @Override
        public CompletableFuture<ComputeAddress> wake(EndpointId endpoint) {
            wakes.incrementAndGet();
            return CompletableFuture.failedFuture(failure);
        }

        @Override
        public CompletableFuture<Void> suspend(EndpointId endpoint) {
            return CompletableFuture.completedFuture(null);
        }
    }

    /** Generous enough for several retries at 1 ms apart on a loaded machine. */
    private static final WakePolicy POLICY = new WakePolicy(Duration.ofSeconds(2), Duration.ofMillis(1), 1.0,
            Duration.ofMillis(1));

    @Test
    void aRefusedWakeIsNotRetriedAndKeepsItsMessage() {
        Failing control = new Failing(new WakeRefusedException("endpoint ep-refused: wake operation op-1 failed: no agent"));
        try (EndpointRegistry registry = new EndpointRegistry(control, POLICY, Duration.ofMinutes(5), Duration.ofSeconds(1))) {
            assertThatThrownBy(() -> registry.address(EP).get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(ProxyException.class)
                    .hasMessage("endpoint ep-refused: wake operation op-1 failed: no agent")
                    .satisfies(e -> assertThat(((ProxyException) e).kind()).isEqualTo(ErrorKind.WAKE_FAILED));
            assertThat(control.wakes).hasValue(1);
        }
    }

    @Test
    void anyOtherFailureIsRetriedUntilTheTimeout() {
        Failing control = new Failing(new IllegalStateException("the metadata could not be read"));
        try (EndpointRegistry registry = new EndpointRegistry(control, POLICY, Duration.ofMinutes(5), Duration.ofSeconds(1))) {
            assertThatThrownBy(() -> registry.address(EP).get(30, TimeUnit.SECONDS))
                    .cause().isInstanceOf(ProxyException.class).hasMessageContaining("the metadata could not be read");
            assertThat(control.wakes.get()).isGreaterThan(1);
        }
    }
}
