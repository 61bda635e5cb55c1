package dev.strata.proxy;

import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.testing.PgTestClient;
import dev.strata.proxy.testing.LoopbackSocketFactory;
import dev.strata.proxy.testing.PostgresComputeControl;
import dev.strata.proxy.testing.Psql;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;

import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The client sees the compute's real backend pid (issue 12 item 4: PostgreSQL's isolation
 * tester and applications matching {@code pg_stat_activity} need {@code PQbackendPID() ==
 * pg_backend_pid()}), cancels are routed by (pid, proxy secret), and a cancel that knows the
 * pid but not the proxy secret cancels nothing. Real PostgreSQL 17, real pgjdbc and raw sockets.
 * Also the proxy's {@code requireTls} setting.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BackendPidAndCancelTest {

    @TempDir
    static Path tls;

    static PostgresComputeControl control;
    static ProxyServer proxy;
    static ProxyServer strict;
    /** Without certificates, for the raw test client that speaks only cleartext. */
    static ProxyServer plain;

    @BeforeAll
    static void start() {
        control = new PostgresComputeControl();
        control.add("main", null);
        proxy = ProxyServer.start(ProxyConfig.defaults().withPort(0).withTlsDirectory(tls), control);
        plain = ProxyServer.start(ProxyConfig.defaults().withPort(0), control);
        strict = ProxyServer.start(ProxyConfig.defaults().withPort(0).withTlsDirectory(tls).withRequireTls(true), control);
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[]{proxy, strict, plain, control}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // best effort; the next one must still close
            }
        }
    }

    private static String password() {
        return control.compute("main").server.password();
    }

    private static String plainUrl(ProxyServer p) {
        return "jdbc:postgresql://127.0.0.1:" + p.port() + "/postgres?options=endpoint%3Dmain&sslmode=disable"
                + "&user=postgres&password=" + URLEncoder.encode(password(), StandardCharsets.UTF_8) + "&connectTimeout=30";
    }

    private static String tlsUrl(ProxyServer p) {
        return "jdbc:postgresql://main.localhost:" + p.port() + "/postgres?sslmode=verify-full"
                + "&sslrootcert=" + URLEncoder.encode(p.certificates().caCertificate().toString(), StandardCharsets.UTF_8)
                + "&socketFactory=" + LoopbackSocketFactory.class.getName()
                + "&user=postgres&password=" + URLEncoder.encode(password(), StandardCharsets.UTF_8) + "&connectTimeout=30";
    }

    private static Map<String, String> params() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("user", "postgres");
        p.put("database", "postgres");
        p.put("options", "endpoint=main");
        return p;
    }

    private static int backendPid(Connection c) throws SQLException {
        try (ResultSet rs = c.createStatement().executeQuery("select pg_backend_pid()")) {
            assertThat(rs.next()).isTrue();
            return rs.getInt(1);
        }
    }

    @Test
    void pgjdbcSeesTheComputesBackendPidPlainAndTls() throws Exception {
        for (String url : List.of(plainUrl(proxy), plainUrl(plain), tlsUrl(proxy), tlsUrl(strict))) {
            try (Connection c = DriverManager.getConnection(url)) {
                int pid = c.unwrap(PGConnection.class).getBackendPID();
                assertThat(pid).as(url).isEqualTo(backendPid(c)).isPositive();
            }
        }
    }

    /** A CancelRequest as bytes, with a chosen length field and body (so it can lie). */
    private static byte[] cancelPacket(int length, int... body) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * body.length);
        b.putInt(length);
        for (int v : body) {
            b.putInt(v);
        }
        return b.array();
    }

    private static void sendCancelBytes(byte[] bytes) {
        try (PgTestClient c = new PgTestClient("127.0.0.1", plain.port())) {
            c.sendRaw(bytes);
            assertThat(c.awaitClosed()).as("the proxy closes a cancel connection").isTrue();
        }
    }

    private static String state(Connection observer, int pid) throws SQLException {
        try (PreparedStatement ps = observer.prepareStatement("select state from pg_stat_activity where pid = ?")) {
            ps.setInt(1, pid);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    @Test
    void cancelNeedsTheProxySecretAndHostileCancelPacketsCancelNothing() throws Exception {
        try (PgTestClient victim = new PgTestClient("127.0.0.1", plain.port());
             Connection observer = DriverManager.getConnection(plainUrl(plain))) {
            PgTestClient.Session session = victim.login(params(), password());
            int pid = session.key().processId();
            int secret = session.key().secretKey();
            assertThat(victim.query("select pg_backend_pid()"))
                    .anySatisfy(m -> assertThat(m).isInstanceOfSatisfying(BackendMessage.DataRow.class,
                            row -> assertThat(new String(row.values().get(0), StandardCharsets.US_ASCII))
                                    .isEqualTo(Integer.toString(pid))));

            victim.send(new FrontendMessage.Query("select pg_sleep(60)"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!"active".equals(state(observer, pid))) {
                assertThat(System.nanoTime()).as("victim's pg_sleep active within 20 s").isLessThan(deadline);
                Thread.sleep(20);
            }

            SecureRandom random = new SecureRandom();
            for (int i = 0; i < 50; i++) {
                int guess = random.nextInt();
                if (guess != secret) {
                    sendCancelBytes(cancelPacket(16, FrontendMessage.CANCEL_REQUEST_CODE, pid, guess));
                }
            }
            for (int[] key : new int[][]{{pid, 0}, {pid, -1}, {pid, secret ^ 1}, {0, 0}, {-1, -1}, {pid + 1, secret}}) {
                sendCancelBytes(cancelPacket(16, FrontendMessage.CANCEL_REQUEST_CODE, key[0], key[1]));
            }
            // malformed: no secret, extra bytes in the packet, data after the packet, bad length
            sendCancelBytes(cancelPacket(12, FrontendMessage.CANCEL_REQUEST_CODE, pid));
            sendCancelBytes(cancelPacket(20, FrontendMessage.CANCEL_REQUEST_CODE, pid, secret, 0));
            // (the right pair followed by garbage does cancel, as in PostgreSQL, which reads the
            // packet's length and no further; so the garbage here follows a wrong secret)
            byte[] trailing = cancelPacket(16, FrontendMessage.CANCEL_REQUEST_CODE, pid, secret ^ 2);
            sendCancelBytes(java.util.Arrays.copyOf(trailing, trailing.length + 3));
            sendCancelBytes(cancelPacket(7, FrontendMessage.CANCEL_REQUEST_CODE, pid, secret));

            // A forwarded cancel reaches PostgreSQL within milliseconds; give a wrongly
            // forwarded one ample time to show before checking that the query still runs.
            Thread.sleep(1000);
            assertThat(state(observer, pid)).as("the victim's query after hostile cancels").isEqualTo("active");
            assertThat(victim.isOpen()).isTrue();

            // the right pair cancels it
            sendCancelBytes(cancelPacket(16, FrontendMessage.CANCEL_REQUEST_CODE, pid, secret));
            victim.expect(BackendMessage.RowDescription.class); // sent before pg_sleep starts
            BackendMessage.ErrorResponse e = victim.expectError();
            assertThat(e.fields().get('C')).isEqualTo("57014");
            victim.expect(BackendMessage.ReadyForQuery.class);
            assertThat(victim.query("select 1")).anySatisfy(m -> assertThat(m).isInstanceOf(BackendMessage.DataRow.class));
        }
    }

    @Test
    void pgjdbcCancelWorksThroughTheTlsOnlyProxy() throws Exception {
        try (Connection c = DriverManager.getConnection(tlsUrl(strict)); Statement s = c.createStatement()) {
            ExecutorService canceller = Executors.newSingleThreadExecutor();
            try {
                long t0 = System.nanoTime();
                canceller.submit(() -> {
                    Thread.sleep(500);
                    s.cancel();
                    return null;
                });
                assertThatThrownBy(() -> s.execute("select pg_sleep(30)")).isInstanceOf(SQLException.class)
                        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("57014");
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
            } finally {
                canceller.shutdownNow();
            }
        }
    }

    @Test
    void theTlsOnlyProxyRefusesAPlainClientWithAClearError() throws Exception {
        assertThatThrownBy(() -> DriverManager.getConnection(plainUrl(strict)).close())
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("28000");
                    assertThat(e.getMessage()).contains("accepts only TLS");
                });
        Psql.Result r = Psql.run("host=127.0.0.1 port=" + strict.port()
                + " user=postgres dbname=postgres sslmode=disable options='endpoint=main'", password(), "select 1");
        assertThat(r.exit()).isNotZero();
        assertThat(r.stderr()).contains("accepts only TLS");
        // a raw client that skips SSLRequest: FATAL 28000, then the proxy closes
        try (PgTestClient c = new PgTestClient("127.0.0.1", strict.port())) {
            c.send(FrontendMessage.StartupMessage.of(params()));
            BackendMessage.ErrorResponse e = c.expectError();
            assertThat(e.fields().get('S')).isEqualTo("FATAL");
            assertThat(e.fields().get('C')).isEqualTo("28000");
            assertThat(c.awaitClosed()).isTrue();
        }
        // sslmode=require (no verification) gets a session
        Psql.Result ok = Psql.run("host=127.0.0.1 port=" + strict.port()
                + " user=postgres dbname=postgres sslmode=require options='endpoint=main'", password(), "select 7");
        assertThat(ok.exit()).as(ok.stderr()).isZero();
        assertThat(ok.stdout()).isEqualTo("7");
    }
}
