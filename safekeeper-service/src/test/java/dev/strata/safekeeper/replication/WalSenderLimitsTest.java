package dev.strata.safekeeper.replication;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.testing.PgTestClient;
import dev.strata.safekeeper.http.SafekeeperServer;
import dev.strata.safekeeper.node.SafekeeperLimits;
import dev.strata.safekeeper.testing.TestSafekeepers;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The walsender's bounds (docs/safekeeper.md, "Limits"): a connection limit that refuses the
 * one too many with 53300 while the others keep working, and an idle timeout that a trickle of
 * bytes does not reset.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WalSenderLimitsTest {

    private static final String PASSWORD = "walsender-secret";
    private static final long SYSTEM_ID = 7_000_000_000_000_000_321L;
    private static final Lsn START = Lsn.parse("0/1000000");

    @TempDir
    static Path dir;
    static SafekeeperServer sk;
    static TimelineId tl;

    @BeforeAll
    static void startSafekeeper() {
        sk = SafekeeperServer.start(TestSafekeepers.config(NodeId.of("sk-1"), dir, PASSWORD),
                SafekeeperLimits.defaults().withWalsenderMaxConnections(3));
        tl = TimelineId.random();
        sk.node().createTimeline(tl, SYSTEM_ID, 16 << 20, START);
    }

    @AfterAll
    static void stopSafekeeper() {
        if (sk != null) {
            sk.close();
        }
    }

    @Test
    void oneConnectionOverTheLimitGets53300AndTheOthersKeepWorking() {
        List<PgTestClient> held = new ArrayList<>();
        try {
            held.add(loggedIn(sk.walsenderPort()));
            held.add(loggedIn(sk.walsenderPort()));
            held.add(new PgTestClient("127.0.0.1", sk.walsenderPort())); // silent: counts as well
            // connect() returns at the kernel's accept; the listener counts the connection a
            // moment later on one of its event loops. Wait for it, or the next connection can
            // overtake it and be admitted in its place.
            for (int i = 0; i < 100 && sk.node().walsenderConnections() < 3; i++) {
                sleep(50);
            }
            assertThat(sk.node().walsenderConnections()).as("connections the walsender counts").isEqualTo(3);
            try (PgTestClient over = new PgTestClient("127.0.0.1", sk.walsenderPort())) {
                BackendMessage.ErrorResponse e = over.expectError();
                assertThat(e.code()).isEqualTo("53300");
                assertThat(e.severity()).isEqualTo("FATAL");
                assertThat(e.message()).contains("too many connections").contains("walsender").contains("limit 3");
                assertThat(over.awaitClosed(10)).isTrue();
            }
            assertIdentifies(held.get(0));
            assertIdentifies(held.get(1));
        } finally {
            held.forEach(PgTestClient::close);
        }
        // Slots come back when connections close (the close is seen asynchronously: retry a while).
        PgTestClient again = null;
        for (int attempt = 0; attempt < 50 && again == null; attempt++) {
            try {
                again = loggedIn(sk.walsenderPort());
            } catch (AssertionError | RuntimeException e) {
                sleep(100);
            }
        }
        assertThat(again).as("a login after the others closed").isNotNull();
        try (PgTestClient c = again) {
            assertIdentifies(c);
        }
    }

    /**
     * Hostile input: one byte every 200 ms into a startup packet that is never completed. The
     * idle timeout used to sit before the codec, where every byte reset it, so such a client held
     * its connection forever; now only whole messages count and it is dropped after the timeout.
     */
    @Test
    void aTrickleOfBytesWithoutACompleteMessageIsDroppedAfterTheIdleTimeout() {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (WalSenderServer quick = new WalSenderServer(group, "127.0.0.1", 0,
                WalSenderConfig.defaults("strata_replicator", PASSWORD), sk.node()::timeline, Duration.ofMillis(1000));
             PgTestClient c = new PgTestClient("127.0.0.1", quick.port())) {
            c.sendRaw(ByteBuffer.allocate(8).putInt(5000).putInt(196608).array());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (c.isOpen() && System.nanoTime() < deadline) {
                c.sendRaw(new byte[] {'x'});
                sleep(200);
            }
            assertThat(c.isOpen()).as("a client trickling bytes for 10 s past a 1 s idle timeout").isFalse();
            BackendMessage.ErrorResponse e = c.expectError();
            assertThat(e.code()).isEqualTo("57014");
            assertThat(e.message()).contains("no complete message").contains("1000 ms");
            // A client that does complete its messages is served by the same listener.
            try (PgTestClient ok = loggedIn(quick.port())) {
                assertIdentifies(ok);
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted");
        }
    }

    private static PgTestClient loggedIn(int port) {
        PgTestClient c = new PgTestClient("127.0.0.1", port);
        try {
            Map<String, String> p = new LinkedHashMap<>();
            p.put("user", "strata_replicator");
            p.put("replication", "true");
            p.put("application_name", "limits-test");
            p.put("options", "-c timeline_id=" + tl);
            c.login(p, PASSWORD);
            return c;
        } catch (RuntimeException | AssertionError e) {
            c.close();
            throw e;
        }
    }

    private static void assertIdentifies(PgTestClient c) {
        List<BackendMessage> r = c.query("IDENTIFY_SYSTEM");
        assertThat(r).hasSize(4);
        BackendMessage.DataRow row = (BackendMessage.DataRow) r.get(1);
        assertThat(new String(row.values().get(0), StandardCharsets.UTF_8)).isEqualTo(Long.toUnsignedString(SYSTEM_ID));
    }
}
