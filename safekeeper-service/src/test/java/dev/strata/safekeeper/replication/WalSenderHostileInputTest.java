package dev.strata.safekeeper.replication;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.protocol.auth.ClientAuthentication;
import dev.strata.safekeeper.http.SafekeeperServer;
import dev.strata.pgcore.testing.PgTestClient;
import dev.strata.safekeeper.testing.TestSafekeepers;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed and hostile input on a safekeeper's walsender port (architecture §8): each gets a
 * clear ErrorResponse (checked by SQLSTATE and message) or a close, and a client that logged in
 * before it, and one that logs in after it, are still served.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WalSenderHostileInputTest {

    private static final String PASSWORD = "walsender-secret";
    private static final long SYSTEM_ID = 7_000_000_000_000_000_123L;
    private static final Lsn START = Lsn.parse("0/1000000");

    @TempDir
    static Path dir;
    static SafekeeperServer sk;
    static TimelineId tl;
    /** Logged in before each test, queried after it: the hostile client must not disturb it. */
    PgTestClient bystander;

    @BeforeAll
    static void startSafekeeper() {
        sk = SafekeeperServer.start(TestSafekeepers.config(NodeId.of("sk-1"), dir, PASSWORD));
        tl = TimelineId.random();
        sk.node().createTimeline(tl, SYSTEM_ID, 16 << 20, START);
    }

    @AfterAll
    static void stopSafekeeper() {
        if (sk != null) {
            sk.close();
        }
    }

    @BeforeEach
    void connectBystander() {
        bystander = loggedIn();
    }

    @AfterEach
    void othersAreStillServed() {
        try (PgTestClient b = bystander; PgTestClient fresh = loggedIn()) {
            assertIdentifies(b);
            assertIdentifies(fresh);
        }
    }

    @Test
    void garbageBytesGetAProtocolViolationAndAClose() {
        try (PgTestClient c = client()) {
            c.sendRaw("GET / HTTP/1.1\r\nHost: safekeeper\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            BackendMessage.ErrorResponse e = c.expectError();
            assertThat(e.code()).isEqualTo("08P01");
            assertThat(e.message()).contains("invalid startup packet length");
            assertThat(c.awaitClosed(5)).isTrue();
        }
    }

    @Test
    void oversizedStartupPacketIsRefusedNamingTheLimitAndTheLength() {
        try (PgTestClient c = client()) {
            ByteBuffer b = ByteBuffer.allocate(8).putInt(1_000_000).putInt(196608);
            c.sendRaw(b.array());
            BackendMessage.ErrorResponse e = c.expectError();
            assertThat(e.code()).isEqualTo("08P01");
            assertThat(e.message()).contains("1000000").contains("10000");
            assertThat(c.awaitClosed(5)).isTrue();
        }
    }

    @Test
    void truncatedStartupPacketThenSilenceDoesNotBlockOthers() {
        try (PgTestClient c = client()) {
            c.sendRaw(ByteBuffer.allocate(10).putInt(100).putInt(196608).put((byte) 'u').put((byte) 's').array());
            // the half-sent login holds nothing others need
            try (PgTestClient other = loggedIn()) {
                assertIdentifies(other);
            }
            assertThat(c.isOpen()).isTrue();
        }
    }

    @Test
    void truncatedPacketThenSilenceIsDroppedByTheIdleTimeout() {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (WalSenderServer quick = new WalSenderServer(group, "127.0.0.1", 0,
                WalSenderConfig.defaults("strata_replicator", PASSWORD), sk.node()::timeline, Duration.ofMillis(300));
             PgTestClient c = new PgTestClient("127.0.0.1", quick.port())) {
            c.sendRaw(ByteBuffer.allocate(10).putInt(100).putInt(196608).put((byte) 'u').put((byte) 's').array());
            long t0 = System.nanoTime();
            BackendMessage.ErrorResponse e = c.expectError();
            assertThat(e.code()).isEqualTo("57014");
            assertThat(e.message()).contains("idle").contains("300 ms");
            assertThat(c.awaitClosed(5)).as("a silent half-sent login is dropped").isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void startupWithoutReplicationIsRefused() {
        try (PgTestClient c = client()) {
            Map<String, String> p = new java.util.LinkedHashMap<>(replicationLogin("strata_replicator", tl.toString()));
            p.remove("replication");
            p.put("database", "postgres");
            c.sendUnchecked(FrontendMessage.StartupMessage.of(p));
            BackendMessage.ErrorResponse e = c.expectError();
            assertThat(e.code()).isEqualTo("08004");
            assertThat(e.message()).contains("replication=true");
            assertThat(c.awaitClosed(5)).isTrue();
        }
    }

    @Test
    void unknownTimelineIsRefused() {
        try (PgTestClient c = client()) {
            TimelineId other = TimelineId.random();
            c.sendUnchecked(FrontendMessage.StartupMessage.of(replicationLogin("strata_replicator", other.toString())));
            BackendMessage.ErrorResponse e = c.expectError();
            assertThat(e.code()).isEqualTo("3D000");
            assertThat(e.message()).contains(other.toString()).contains("does not exist");
            assertThat(c.awaitClosed(5)).isTrue();
        }
    }

    @Test
    void malformedTimelineIdIsRefused() {
        try (PgTestClient c = client()) {
            c.sendUnchecked(FrontendMessage.StartupMessage.of(replicationLogin("strata_replicator", "nothex")));
            BackendMessage.ErrorResponse e = c.expectError();
            assertThat(e.code()).isEqualTo("08004");
            assertThat(e.message()).contains("timeline_id");
        }
    }

    @Test
    void wrongPasswordFailsScram() {
        try (PgTestClient c = client()) {
            c.sendUnchecked(FrontendMessage.StartupMessage.of(replicationLogin("strata_replicator", tl.toString())));
            ClientAuthentication auth = new ClientAuthentication("strata_replicator", "not-the-password");
            BackendMessage m = c.next();
            while (m instanceof BackendMessage.Authentication request && !(m instanceof BackendMessage.AuthenticationOk)) {
                auth.reply(request).ifPresent(c::send);
                m = c.next();
            }
            assertThat(m).isInstanceOf(BackendMessage.ErrorResponse.class);
            BackendMessage.ErrorResponse e = (BackendMessage.ErrorResponse) m;
            assertThat(e.code()).isEqualTo("28P01");
            assertThat(e.message()).contains("password authentication failed");
            assertThat(c.awaitClosed(5)).isTrue();
        }
    }

    @Test
    void wrongUserIsRefused() {
        try (PgTestClient c = client()) {
            c.sendUnchecked(FrontendMessage.StartupMessage.of(replicationLogin("postgres", tl.toString())));
            BackendMessage.ErrorResponse e = c.expectError();
            assertThat(e.code()).isEqualTo("28P01");
            assertThat(c.awaitClosed(5)).isTrue();
        }
    }

    @Test
    void passwordMessageInsteadOfScramIsRefused() {
        try (PgTestClient c = client()) {
            c.sendUnchecked(FrontendMessage.StartupMessage.of(replicationLogin("strata_replicator", tl.toString())));
            c.expect(BackendMessage.AuthenticationSASL.class);
            c.sendUnchecked(new FrontendMessage.PasswordMessage(PASSWORD));
            BackendMessage.ErrorResponse e = c.expectError();
            // the decoder reads 'p' as the SASLInitialResponse it expects and finds it malformed
            assertThat(e.code()).isEqualTo("08P01");
            assertThat(e.message()).contains("SASL");
            assertThat(c.awaitClosed(5)).isTrue();
        }
    }

    /** The walsender's credential is SCRAM: a command sent instead of the SASL exchange streams nothing. */
    @Test
    void aCommandBeforeAuthenticationIsRefused() {
        for (String sql : new String[] {"IDENTIFY_SYSTEM", "START_REPLICATION PHYSICAL " + START}) {
            try (PgTestClient c = client()) {
                c.sendUnchecked(FrontendMessage.StartupMessage.of(replicationLogin("strata_replicator", tl.toString())));
                c.expect(BackendMessage.AuthenticationSASL.class);
                c.sendUnchecked(new FrontendMessage.Query(sql));
                BackendMessage.ErrorResponse e = c.expectError();
                assertThat(e.code()).as(sql).isIn("28000", "08P01");
                assertThat(c.awaitClosed(5)).as(sql).isTrue();
            }
        }
    }

    @Test
    void unsupportedCommandIsAnErrorAndTheSessionGoesOn() {
        try (PgTestClient c = loggedIn()) {
            List<BackendMessage> r = c.query("DROP TABLE pg_class");
            assertThat(r.getFirst()).isInstanceOf(BackendMessage.ErrorResponse.class);
            BackendMessage.ErrorResponse e = (BackendMessage.ErrorResponse) r.getFirst();
            assertThat(e.code()).isEqualTo("42601");
            assertThat(e.message()).contains("not supported").contains("DROP TABLE");
            assertThat(r.getLast()).isInstanceOf(BackendMessage.ReadyForQuery.class);
            List<BackendMessage> show = c.query("SHOW no_such_setting");
            assertThat(((BackendMessage.ErrorResponse) show.getFirst()).code()).isEqualTo("42704");
            assertIdentifies(c);
        }
    }

    @Test
    void startReplicationBeforeTheHeldWalIsRefused() {
        try (PgTestClient c = loggedIn()) {
            BackendMessage.ErrorResponse e = (BackendMessage.ErrorResponse) c.query("START_REPLICATION PHYSICAL 0/10").getFirst();
            assertThat(e.code()).isEqualTo("58P01");
            assertThat(e.message()).contains("0/10").contains("before").contains(START.toString());
            assertIdentifies(c);
        }
    }

    /**
     * A stock standby asks for the whole segment holding the WAL it needs; in a timeline's first
     * segment that is below the timeline's start, which is then where the stream begins (decision
     * 0032). Any other start below the timeline's start is still refused.
     */
    @Test
    void startOfTheFirstSegmentStreamsFromTheTimelinesStart() {
        TimelineId midSegment = TimelineId.random();
        Lsn start = Lsn.parse("0/14D94B8");
        sk.node().createTimeline(midSegment, SYSTEM_ID, 16 << 20, start);
        try (PgTestClient c = client()) {
            c.login(replicationLogin("strata_replicator", midSegment.toString()), PASSWORD);
            BackendMessage.ErrorResponse below = (BackendMessage.ErrorResponse) c.query(
                    "START_REPLICATION PHYSICAL 0/14D9000").getFirst();
            assertThat(below.code()).isEqualTo("58P01");
            assertThat(below.message()).contains("before the WAL held").contains(start.toString());
            c.sendUnchecked(new FrontendMessage.Query("START_REPLICATION PHYSICAL 0/1000000"));
            c.expect(BackendMessage.CopyBothResponse.class);
        }
    }

    @Test
    void startReplicationBeyondTheServableEndIsRefused() {
        try (PgTestClient c = loggedIn()) {
            BackendMessage.ErrorResponse e = (BackendMessage.ErrorResponse) c.query("START_REPLICATION PHYSICAL 5/0").getFirst();
            assertThat(e.code()).isEqualTo("58P01");
            assertThat(e.message()).contains("5/0").contains("ahead");
            BackendMessage.ErrorResponse t = (BackendMessage.ErrorResponse) c.query("START_REPLICATION PHYSICAL "
                    + START + " TIMELINE 2").getFirst();
            assertThat(t.code()).isEqualTo("58P01");
            assertThat(t.message()).contains("timeline 2");
            assertIdentifies(c);
        }
    }

    @Test
    void malformedCopyDataWhileStreamingEndsThatStreamOnly() {
        try (PgTestClient c = loggedIn()) {
            c.sendUnchecked(new FrontendMessage.Query("START_REPLICATION PHYSICAL " + START));
            c.expect(BackendMessage.CopyBothResponse.class);
            c.sendUnchecked(new FrontendMessage.CopyData(new byte[] {'z', 1, 2, 3}));
            BackendMessage m = c.next();
            while (m instanceof BackendMessage.CopyData) {
                m = c.next(); // a keepalive may come first
            }
            assertThat(m).isInstanceOf(BackendMessage.ErrorResponse.class);
            BackendMessage.ErrorResponse e = (BackendMessage.ErrorResponse) m;
            assertThat(e.code()).isEqualTo("08P01");
            assertThat(e.message()).contains("unknown replication message type 'z'");
            assertThat(c.awaitClosed(5)).isTrue();
        }
    }

    @Test
    void shortStandbyStatusUpdateWhileStreamingIsAProtocolViolation() {
        try (PgTestClient c = loggedIn()) {
            c.sendUnchecked(new FrontendMessage.Query("START_REPLICATION PHYSICAL " + START));
            c.expect(BackendMessage.CopyBothResponse.class);
            c.sendUnchecked(new FrontendMessage.CopyData(new byte[] {'r', 0, 0}));
            BackendMessage m = c.next();
            while (m instanceof BackendMessage.CopyData) {
                m = c.next();
            }
            BackendMessage.ErrorResponse e = (BackendMessage.ErrorResponse) m;
            assertThat(e.code()).isEqualTo("08P01");
            assertThat(e.message()).contains("StandbyStatusUpdate");
            assertThat(c.awaitClosed(5)).isTrue();
        }
    }

    @Test
    void oversizedQueryAfterLoginIsRefused() {
        try (PgTestClient c = loggedIn()) {
            c.sendUnchecked(new FrontendMessage.Query("IDENTIFY_SYSTEM " + "x".repeat(100_000)));
            BackendMessage.ErrorResponse e = c.expectError();
            assertThat(e.code()).isEqualTo("08P01");
            assertThat(c.awaitClosed(5)).isTrue();
        }
    }

    private static PgTestClient client() {
        return new PgTestClient("127.0.0.1", sk.walsenderPort());
    }

    private static PgTestClient loggedIn() {
        PgTestClient c = client();
        try {
            c.login(replicationLogin("strata_replicator", tl.toString()), PASSWORD);
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
        assertThat(new String(row.values().get(2), StandardCharsets.UTF_8)).isEqualTo(START.toString());
    }

    /** Startup parameters of a physical replication login to {@code timeline}. */
    private static Map<String, String> replicationLogin(String user, String timeline) {
        Map<String, String> p = new java.util.LinkedHashMap<>();
        p.put("user", user);
        p.put("replication", "true");
        p.put("application_name", "wire-client");
        p.put("options", "-c timeline_id=" + timeline);
        return p;
    }
}
