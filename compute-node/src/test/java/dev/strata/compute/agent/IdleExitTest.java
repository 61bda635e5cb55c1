package dev.strata.compute.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.local.LocalDynamo;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.testing.ControlPlaneHarness;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.postgres.PostgresBinaries;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.GetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemResponse;

/**
 * An on-demand agent leaving the warm pool once idle (dynalite, a table per test, a clock the test
 * moves): it leaves only after the whole time IDLE at one version, a claim (even one released
 * again) restarts the time, a wake claiming it at the deadline wins, and neither a missing or
 * RETIRED item nor an unreadable table makes it leave.
 */
class IdleExitTest {

    private static final Duration AFTER = Duration.ofMinutes(15);
    private static final String ADDRESS = "10.40.7.9:3080";

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;
    ControlPlaneHarness h;
    final TestClock clock = new TestClock();

    @BeforeAll
    static void startDynamo() {
        dynamo = LocalDynamo.start(dir.resolve("dynamo"));
    }

    @AfterAll
    static void stopDynamo() {
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @BeforeEach
    void harness() {
        h = ControlPlaneHarness.on(dynamo);
    }

    @AfterEach
    void close() {
        h.close();
    }

    private PoolRegistration registered(NodeId id) {
        PoolRegistration pool = new PoolRegistration(h.store, id, ADDRESS);
        pool.register();
        return pool;
    }

    @Test
    void anAgentIdleForLessThanTheTimeStays() {
        NodeId id = NodeId.of("burst-a");
        IdleExit exit = new IdleExit(registered(id), clock, AFTER);

        assertThat(exit.check()).as("the first sight starts the time").isFalse();
        clock.advance(AFTER.minusSeconds(1));
        assertThat(exit.check()).isFalse();
        assertThat(h.agent(id).state()).isEqualTo(AgentState.IDLE);
    }

    @Test
    void anAgentIdleForTheWholeTimeLeavesThePool() {
        NodeId id = NodeId.of("burst-b");
        IdleExit exit = new IdleExit(registered(id), clock, AFTER);

        assertThat(exit.check()).isFalse();
        clock.advance(AFTER.dividedBy(2));
        assertThat(exit.check()).isFalse();
        clock.advance(AFTER.dividedBy(2));
        assertThat(exit.check()).isTrue();
        assertThat(h.store.getAgent(id)).isEmpty();
    }

    @Test
    void aClaimReleasedAgainRestartsTheTimeFromTheRelease() {
        NodeId id = NodeId.of("burst-c");
        IdleExit exit = new IdleExit(registered(id), clock, AFTER);
        EndpointId endpoint = EndpointId.random();

        assertThat(exit.check()).isFalse();
        clock.advance(Duration.ofMinutes(10));
        // the wake's ClaimAgent, then the suspend's ReleaseAgent, as the control plane writes them
        ComputeAgent claimed = h.store.claimAgent(endpoint).orElseThrow();
        assertThat(claimed.id()).isEqualTo(id);
        assertThat(exit.check()).as("claimed: serving an endpoint").isFalse();
        clock.advance(Duration.ofMinutes(10));
        assertThat(exit.check()).isFalse();
        assertThat(h.agent(id).state()).isEqualTo(AgentState.CLAIMED);
        h.store.updateAgent(claimed, claimed.released());

        assertThat(exit.check()).as("released: the time starts again").isFalse();
        clock.advance(AFTER.minusSeconds(1));
        assertThat(exit.check()).as("35 minutes after the first sight, but not 15 after the release").isFalse();
        assertThat(h.agent(id).state()).isEqualTo(AgentState.IDLE);
        clock.advance(Duration.ofSeconds(1));
        assertThat(exit.check()).isTrue();
        assertThat(h.store.getAgent(id)).isEmpty();
    }

    @Test
    void aClaimAndReleaseBetweenTwoChecksStillRestartsTheTime() {
        NodeId id = NodeId.of("burst-d");
        IdleExit exit = new IdleExit(registered(id), clock, AFTER);

        assertThat(exit.check()).isFalse();
        clock.advance(Duration.ofMinutes(5));
        ComputeAgent claimed = h.store.claimAgent(EndpointId.random()).orElseThrow();
        h.store.updateAgent(claimed, claimed.released());
        clock.advance(Duration.ofMinutes(10));

        assertThat(exit.check()).as("IDLE again, at another version: a new time").isFalse();
        assertThat(h.agent(id).state()).isEqualTo(AgentState.IDLE);
        clock.advance(AFTER);
        assertThat(exit.check()).isTrue();
        assertThat(h.store.getAgent(id)).isEmpty();
    }

    @Test
    void aWakeThatClaimsTheAgentAtTheDeadlineKeepsIt() {
        NodeId id = NodeId.of("burst-e");
        IdleExit exit = new IdleExit(registered(id), clock, AFTER);
        EndpointId endpoint = EndpointId.random();

        assertThat(exit.check()).isFalse();
        h.store.claimAgent(endpoint).orElseThrow();
        clock.advance(AFTER);

        assertThat(exit.check()).isFalse();
        ComputeAgent item = h.agent(id);
        assertThat(item.state()).isEqualTo(AgentState.CLAIMED);
        assertThat(item.claimedBy()).contains(endpoint);
    }

    @Test
    void aMissingOrRetiredItemNeverMakesTheAgentLeave() {
        NodeId id = NodeId.of("burst-f");
        PoolRegistration pool = registered(id);
        IdleExit exit = new IdleExit(pool, clock, AFTER);

        assertThat(exit.check()).isFalse();
        h.store.deleteAgent(h.agent(id));
        clock.advance(AFTER);
        assertThat(exit.check()).as("missing").isFalse();

        ComputeAgent again = pool.register();
        ComputeAgent retired = h.store.updateAgent(again, again.retired());
        assertThat(exit.check()).isFalse();
        clock.advance(AFTER.multipliedBy(2));
        assertThat(exit.check()).as("RETIRED").isFalse();
        assertThat(h.agent(id)).isEqualTo(retired);
    }

    @Test
    void anUnreadableTableCountsAsNotIdle() {
        NodeId id = NodeId.of("burst-g");
        Outage outage = new Outage(dynamo.client());
        PoolRegistration pool = new PoolRegistration(new MetadataStore(outage, h.controlPlane.table()), id, ADDRESS);
        pool.register();
        IdleExit exit = new IdleExit(pool, clock, AFTER);

        assertThat(exit.check()).isFalse();
        clock.advance(AFTER);
        outage.down = true;
        assertThat(exit.check()).as("DynamoDB unreachable at the deadline").isFalse();
        outage.down = false;
        assertThat(exit.check()).as("the read after the outage starts the time again").isFalse();
        assertThat(h.agent(id).state()).isEqualTo(AgentState.IDLE);
        clock.advance(AFTER);
        assertThat(exit.check()).isTrue();
        assertThat(h.store.getAgent(id)).isEmpty();
    }

    @Test
    void theAgentMainWatchesAnOnDemandAgentUntilItIsClosed() {
        Map<String, String> env = Map.of(ComputeAgentMain.PASSWORD_ENV, "pw",
                ComputeAgentMain.TABLE_ENV, h.controlPlane.table(),
                "STRATA_DYNAMODB_ENDPOINT", dynamo.endpoint().toString(),
                "STRATA_COMPUTE_AGENT_ID", "burst-main", "STRATA_COMPUTE_IDLE_EXIT_MINUTES", "15");
        ComputeAgentMain.Parsed parsed = ComputeAgentMain.parse(new String[] {"--data-dir", dir.resolve("agent").toString(),
                "--auth-public-keys", dir.resolve("unused.jwks").toString(), "--pageserver", "127.0.0.1:1",
                "--safekeeper", "sk-1=http://127.0.0.1:1", "--port", "0"}, env);
        TokenVerifier verifier = new TokenVerifier(List.of(AuthKeys.generate().toPublicJWK()));
        NodeId id = NodeId.of("burst-main");
        ComputeAgentMain.Running running = ComputeAgentMain.start(parsed, verifier, PostgresBinaries.resolve(), env);
        try {
            assertThat(h.agent(id).state()).isEqualTo(AgentState.IDLE);
            assertThat(running.idleWatch()).isNotNull();
            assertThat(running.idleWatch().isShutdown()).isFalse();
        } finally {
            running.close();
        }
        assertThat(running.idleWatch().isShutdown()).as("close stops the periodic check").isTrue();
        assertThat(h.store.getAgent(id)).isEmpty();
    }

    /** A clock that moves only when the test says so. */
    private static final class TestClock extends Clock {
        private Instant now = Instant.parse("2025-03-01T09:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException("a test clock stays in UTC");
        }
    }

    /**
     * The test's dynalite client, failing every call while {@code down} is set (DynamoDB
     * unreachable); the calls the pool's item needs pass through otherwise.
     */
    private static final class Outage implements DynamoDbClient {
        private final DynamoDbClient real;
        volatile boolean down;

        Outage(DynamoDbClient real) {
            this.real = real;
        }

        private void fail() {
            if (down) {
                throw SdkClientException.create("injected: DynamoDB unreachable");
            }
        }

        @Override
        public GetItemResponse getItem(GetItemRequest request) {
            fail();
            return real.getItem(request);
        }

        @Override
        public PutItemResponse putItem(PutItemRequest request) {
            fail();
            return real.putItem(request);
        }

        @Override
        public DeleteItemResponse deleteItem(DeleteItemRequest request) {
            fail();
            return real.deleteItem(request);
        }

        @Override
        public String serviceName() {
            return real.serviceName();
        }

        @Override
        public void close() {
            // the shared dynalite client belongs to the test class
        }
    }
}
