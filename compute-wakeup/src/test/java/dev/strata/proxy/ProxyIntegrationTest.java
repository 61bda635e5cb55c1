package dev.strata.proxy;

import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.testing.TestAuth;
import dev.strata.proxy.http.StatusHttpServer;
import dev.strata.proxy.testing.FaultyWakes;
import dev.strata.proxy.testing.LoopbackSocketFactory;
import dev.strata.proxy.testing.PostgresComputeControl;
import dev.strata.proxy.testing.Psql;
import dev.strata.proxy.wake.EndpointState;
import dev.strata.proxy.wake.EndpointStatus;
import dev.strata.proxy.wake.WakePolicy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The proxy end to end: real psql and pgjdbc clients, real PostgreSQL 17 computes started and
 * stopped through {@link PostgresComputeControl}. Endpoint {@code main} has the default idle
 * timeout (it stays up); {@code sleepy} is suspended after 1 s without connections.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyIntegrationTest {

    @TempDir
    static Path tls;

    static PostgresComputeControl control;
    static FaultyWakes faulty;
    static ProxyServer proxy;

    @BeforeAll
    static void start() {
        control = new PostgresComputeControl();
        control.add("main", null);
        control.add("sleepy", Duration.ofSeconds(1));
        faulty = new FaultyWakes(control);
        proxy = ProxyServer.start(ProxyConfig.defaults().withPort(0).withTlsDirectory(tls)
                .withIdleSweepInterval(Duration.ofMillis(200))
                .withWake(WakePolicy.DEFAULT.withTimeout(Duration.ofSeconds(30))), faulty);
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (control != null) {
            control.close();
        }
    }

    private static String password(String endpoint) {
        return control.compute(endpoint).server.password();
    }

    private static String plainConninfo(String options) {
        return "host=127.0.0.1 port=" + proxy.port() + " user=postgres dbname=postgres sslmode=disable"
                + (options == null ? "" : " options='" + options + "'");
    }

    private static String tlsConninfo(String endpoint) {
        return "host=" + endpoint + ".localhost hostaddr=127.0.0.1 port=" + proxy.port()
                + " user=postgres dbname=postgres sslmode=verify-full sslrootcert=" + proxy.certificates().caCertificate();
    }

    static String jdbcUrl(String endpoint) {
        return "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/postgres?options=endpoint%3D" + endpoint
                + "&user=postgres&password=" + URLEncoder.encode(password(endpoint), StandardCharsets.UTF_8)
                + "&connectTimeout=30";
    }

    static String jdbcTlsUrl(String endpoint) {
        return "jdbc:postgresql://" + endpoint + ".localhost:" + proxy.port() + "/postgres?sslmode=verify-full"
                + "&sslrootcert=" + URLEncoder.encode(proxy.certificates().caCertificate().toString(), StandardCharsets.UTF_8)
                + "&socketFactory=" + LoopbackSocketFactory.class.getName()
                + "&user=postgres&password=" + URLEncoder.encode(password(endpoint), StandardCharsets.UTF_8)
                + "&connectTimeout=30";
    }

    private static EndpointStatus status(String endpoint) {
        return proxy.status().stream().filter(s -> s.endpoint().value().equals(endpoint)).findFirst().orElse(null);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 20 s: " + what + "; status " + proxy.status());
            }
            Thread.sleep(50);
        }
    }

    /** Makes sure {@code sleepy} is suspended (by the proxy, after its idle timeout) before a test wakes it. */
    private static void awaitSleepySuspended() throws InterruptedException {
        await("sleepy suspended", () -> {
            EndpointStatus s = status("sleepy");
            return !control.compute("sleepy").server.isRunning() && (s == null || s.state() == EndpointState.SUSPENDED);
        });
    }

    @Test
    void psqlConnectsWithTheEndpointInOptionsAndOtherOptionsReachTheCompute() throws Exception {
        Psql.Result r = Psql.run(plainConninfo("endpoint=main -c work_mem=77kB"), password("main"),
                "select current_setting('work_mem') || ' ' || current_setting('port')");
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("77kB " + control.compute("main").server.port());
    }

    @Test
    void psqlVerifiesTheProxyCertificateAndIsRoutedBySni() throws Exception {
        Psql.Result r = Psql.run(tlsConninfo("main"), password("main"), "select 40 + 2");
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("42");
    }

    @Test
    void pgjdbcConnectsPlainAndWithVerifyFullTls() throws Exception {
        for (String url : List.of(jdbcUrl("main"), jdbcTlsUrl("main"))) {
            try (Connection c = DriverManager.getConnection(url);
                 ResultSet rs = c.createStatement().executeQuery("select current_setting('port')::int")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(control.compute("main").server.port());
            }
        }
    }

    @Test
    void largeValuesCrossTheRelayIntactBothWays() throws Exception {
        String big = "0123456789abcdef".repeat(400_000); // 6.4 MB each way
        try (Connection c = DriverManager.getConnection(jdbcTlsUrl("main"));
             var ps = c.prepareStatement("select md5(?::text), length(?::text), repeat(?::text, 3)")) {
            ps.setString(1, big);
            ps.setString(2, big);
            ps.setString(3, big);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo(md5(big));
                assertThat(rs.getInt(2)).isEqualTo(big.length());
                assertThat(rs.getString(3)).hasSize(3 * big.length()).startsWith(big).endsWith(big);
            }
        }
    }

    private static String md5(String s) throws Exception {
        byte[] d = java.security.MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8));
        return java.util.HexFormat.of().formatHex(d);
    }

    @Test
    void wrongPasswordIsRefusedByTheComputeNotTheProxy() {
        String url = jdbcUrl("main").replace("&password=", "&password=wrong");
        assertThatThrownBy(() -> DriverManager.getConnection(url).close())
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("password authentication failed")
                .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("28P01");
    }

    @Test
    void connectionWakesASuspendedEndpointThenRunsATransaction() throws Exception {
        awaitSleepySuspended();
        int starts = control.compute("sleepy").starts.get();
        try (Connection c = DriverManager.getConnection(jdbcUrl("sleepy"))) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("create table if not exists t (id int)");
                s.execute("insert into t values (1), (2)");
                c.commit();
                ResultSet rs = s.executeQuery("select count(*) from t");
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isGreaterThanOrEqualTo(2);
            }
            c.commit();
            EndpointStatus st = status("sleepy");
            assertThat(st.state()).isEqualTo(EndpointState.RUNNING);
            assertThat(st.openConnections()).isEqualTo(1);
        }
        assertThat(control.compute("sleepy").starts.get()).isEqualTo(starts + 1);
    }

    @Test
    void concurrentConnectsToASleepingEndpointCauseExactlyOneWake() throws Exception {
        awaitSleepySuspended();
        int calls = control.compute("sleepy").wakeCalls.get();
        int starts = control.compute("sleepy").starts.get();
        int clients = 8;
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                results.add(pool.submit(() -> {
                    go.await();
                    try (Connection c = DriverManager.getConnection(jdbcUrl("sleepy"));
                         ResultSet rs = c.createStatement().executeQuery("select 1")) {
                        rs.next();
                        return rs.getInt(1);
                    }
                }));
            }
            go.countDown();
            for (Future<Integer> f : results) {
                assertThat(f.get(60, TimeUnit.SECONDS)).isEqualTo(1);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(control.compute("sleepy").wakeCalls.get() - calls).isEqualTo(1);
        assertThat(control.compute("sleepy").starts.get() - starts).isEqualTo(1);
    }

    @Test
    void wakeIsRetriedWithBackoffUntilTheComputeStarts() throws Exception {
        awaitSleepySuspended();
        int failedBefore = faulty.failedWakes.get();
        faulty.failNextWakes("sleepy", 2);
        try (Connection c = DriverManager.getConnection(jdbcUrl("sleepy"));
             ResultSet rs = c.createStatement().executeQuery("select 7")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt(1)).isEqualTo(7);
        }
        assertThat(faulty.failedWakes.get() - failedBefore).isEqualTo(2);
    }

    @Test
    void idleEndpointIsSuspendedAfterItsTimeoutAndTheNextConnectionWakesIt() throws Exception {
        try (Connection c = DriverManager.getConnection(jdbcUrl("sleepy"))) {
            c.createStatement().execute("select 1");
            Thread.sleep(1500); // longer than the idle timeout: an open connection keeps it up
            assertThat(status("sleepy").state()).isEqualTo(EndpointState.RUNNING);
        }
        int suspends = control.compute("sleepy").suspends.get();
        await("sleepy suspended after 1 s idle", () -> status("sleepy").state() == EndpointState.SUSPENDED
                && control.compute("sleepy").suspends.get() > suspends);
        assertThat(control.compute("sleepy").server.isRunning()).isFalse();
        assertThat(status("sleepy").openConnections()).isZero();

        int starts = control.compute("sleepy").starts.get();
        Psql.Result r = Psql.run(plainConninfo("endpoint=sleepy"), password("sleepy"), "select 'awake'");
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("awake");
        assertThat(control.compute("sleepy").starts.get()).isEqualTo(starts + 1);
    }

    @Test
    void aConnectionArrivingWhileTheEndpointSuspendsWaitsThenWakesIt() throws Exception {
        awaitSleepySuspended();
        PostgresComputeControl.Compute sleepy = control.compute("sleepy");
        try (Connection c = DriverManager.getConnection(jdbcUrl("sleepy"))) {
            assertThat(c.isValid(5)).isTrue();
        }
        int suspends = sleepy.suspends.get();
        int starts = sleepy.starts.get();
        faulty.delaySuspends(Duration.ofSeconds(1));
        try {
            await("sleepy suspending", () -> status("sleepy").state() == EndpointState.SUSPENDING);
            try (Connection c = DriverManager.getConnection(jdbcUrl("sleepy"));
                 ResultSet rs = c.createStatement().executeQuery("select 5")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(5);
            }
        } finally {
            faulty.delaySuspends(Duration.ZERO);
        }
        assertThat(sleepy.suspends.get()).isEqualTo(suspends + 1);
        assertThat(sleepy.starts.get()).isEqualTo(starts + 1);
    }

    @Test
    void cancelOfALongQueryReachesTheComputeThroughTheProxyPlainAndTls() throws Exception {
        for (String url : List.of(jdbcUrl("main"), jdbcTlsUrl("main"))) {
            try (Connection c = DriverManager.getConnection(url);
                 Statement s = c.createStatement()) {
                ExecutorService canceller = Executors.newSingleThreadExecutor();
                try {
                    long t0 = System.nanoTime();
                    canceller.submit(() -> {
                        Thread.sleep(500);
                        s.cancel();
                        return null;
                    });
                    assertThatThrownBy(() -> s.execute("select pg_sleep(30)"))
                            .isInstanceOf(SQLException.class)
                            .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("57014");
                    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
                } finally {
                    canceller.shutdownNow();
                }
                try (ResultSet rs = s.executeQuery("select 1")) {
                    assertThat(rs.next()).isTrue();
                }
            }
        }
    }

    @Test
    void statusIsServedAsJsonOverHttpToOperatorsOnly() throws Exception {
        TestAuth auth = new TestAuth();
        String admin = BearerToken.headerValue(auth.token(Scope.ADMIN));
        try (Connection c = DriverManager.getConnection(jdbcUrl("main"));
             StatusHttpServer http = StatusHttpServer.start(proxy, "127.0.0.1", 0, auth.verifier())) {
            assertThat(c.isValid(5)).isTrue();
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            URI status = URI.create("http://127.0.0.1:" + http.port() + "/status");
            HttpResponse<String> anonymous = client.send(HttpRequest.newBuilder(status).timeout(Duration.ofSeconds(10))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(anonymous.statusCode()).isEqualTo(401);
            assertThat(anonymous.body()).contains("authentication required").doesNotContain("main");
            HttpResponse<String> forged = client.send(HttpRequest.newBuilder(status).timeout(Duration.ofSeconds(10))
                    .header("Authorization", BearerToken.headerValue(auth.stranger().token(Scope.ADMIN)))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(forged.statusCode()).isEqualTo(401);
            HttpResponse<String> wrongScope = client.send(HttpRequest.newBuilder(status).timeout(Duration.ofSeconds(10))
                    .header("Authorization", BearerToken.headerValue(auth.token(Scope.PAGESERVER_API)))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(wrongScope.statusCode()).isEqualTo(403);
            assertThat(wrongScope.body()).doesNotContain("RUNNING");

            HttpResponse<String> r = client.send(HttpRequest.newBuilder(status).header("Authorization", admin)
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).startsWith("{\"endpoints\":[")
                    .contains("{\"endpoint\":\"main\",\"state\":\"RUNNING\",\"openConnections\":1,")
                    .contains("\"address\":\"127.0.0.1:" + control.compute("main").server.port() + "\"");
            HttpResponse<String> missing = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + "/x"))
                    .header("Authorization", admin).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(missing.statusCode()).isEqualTo(404);
        }
    }

    @Test
    void unknownMissingAndConflictingEndpointsGetClearErrors() throws Exception {
        Psql.Result unknown = Psql.run(plainConninfo("endpoint=nope"), "x", "select 1");
        assertThat(unknown.exit()).isNotZero();
        assertThat(unknown.stderr()).contains("endpoint 'nope' does not exist");

        Psql.Result missing = Psql.run(plainConninfo(null), "x", "select 1");
        assertThat(missing.exit()).isNotZero();
        assertThat(missing.stderr()).contains("no endpoint given");

        Psql.Result conflict = Psql.run(tlsConninfo("main") + " options='endpoint=sleepy'", "x", "select 1");
        assertThat(conflict.exit()).isNotZero();
        assertThat(conflict.stderr()).contains("names endpoint 'main' but options name endpoint 'sleepy'");

        assertThatThrownBy(() -> DriverManager.getConnection(jdbcUrl("main").replace("endpoint%3Dmain", "endpoint%3Dnope")))
                .isInstanceOf(SQLException.class)
                .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("3D000");
    }

    @Test
    void aComputeThatFailsToWakeGivesAClearErrorWithinTheWakeTimeout() throws Exception {
        try (ProxyServer impatient = ProxyServer.start(ProxyConfig.defaults().withPort(0)
                .withWake(WakePolicy.DEFAULT.withTimeout(Duration.ofSeconds(1))), faulty)) {
            faulty.failNextWakes("sleepy", -1);
            try {
                String url = jdbcUrl("sleepy").replace(":" + proxy.port() + "/", ":" + impatient.port() + "/");
                long t0 = System.nanoTime();
                assertThatThrownBy(() -> DriverManager.getConnection(url).close())
                        .isInstanceOf(SQLException.class)
                        .hasMessageContaining("endpoint sleepy: compute did not start within 1000 ms")
                        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("57P03");
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
                assertThat(impatient.status()).singleElement()
                        .satisfies(s -> assertThat(s.state()).isEqualTo(EndpointState.SUSPENDED));
            } finally {
                faulty.failNextWakes("sleepy", 0);
            }
            // the same proxy keeps serving other endpoints
            String mainUrl = jdbcUrl("main").replace(":" + proxy.port() + "/", ":" + impatient.port() + "/");
            try (Connection c = DriverManager.getConnection(mainUrl)) {
                assertThat(c.isValid(5)).isTrue();
            }
        }
    }

    @Test
    void aDeadCachedAddressIsForgottenAndTheEndpointWokenAgain() throws Exception {
        try (Connection c = DriverManager.getConnection(jdbcUrl("main"))) {
            assertThat(c.isValid(5)).isTrue();
        }
        assertThat(status("main").state()).isEqualTo(EndpointState.RUNNING);
        PostgresComputeControl.Compute main = control.compute("main");
        int starts = main.starts.get();
        synchronized (main) {
            main.server.stop(); // behind the proxy's back: its cached address is now dead
        }
        try (Connection c = DriverManager.getConnection(jdbcUrl("main"))) {
            assertThat(c.isValid(5)).isTrue();
        }
        assertThat(main.starts.get()).isEqualTo(starts + 1);
    }
}
