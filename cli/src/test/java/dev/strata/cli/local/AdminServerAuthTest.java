package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.testing.TestAuth;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The admin port stops the whole cluster: only the operator's token may, and nothing else happens. */
class AdminServerAuthTest {

    private final TestAuth auth = new TestAuth();
    private final AtomicInteger downs = new AtomicInteger();
    private final AtomicInteger statusReads = new AtomicInteger();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private AdminServer server;

    @BeforeEach
    void start() throws Exception {
        server = new AdminServer(auth.verifier(), () -> {
            statusReads.incrementAndGet();
            return "all well\n";
        }, downs::incrementAndGet);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void theOperatorTokenReadsStatusAndStops() throws Exception {
        HttpResponse<String> status = send("GET", "/status", BearerToken.headerValue(auth.token(Scope.ADMIN)));
        assertThat(status.statusCode()).isEqualTo(200);
        assertThat(status.body()).isEqualTo("all well\n");
        HttpResponse<String> down = send("POST", "/down", BearerToken.headerValue(auth.token(Scope.ADMIN)));
        assertThat(down.statusCode()).isEqualTo(202);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (downs.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(downs.get()).isEqualTo(1);
    }

    @Test
    void withoutATokenNothingHappens() throws Exception {
        HttpResponse<String> r = send("POST", "/down", null);
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).contains("Bearer");
        assertThat(r.body()).contains("authentication required");
        assertThat(send("GET", "/status", null).statusCode()).isEqualTo(401);
        assertNothingHappened();
    }

    @Test
    void forgedMalformedAndWronglyScopedTokensAreRefused() throws Exception {
        assertThat(send("POST", "/down", BearerToken.headerValue(auth.stranger().token(Scope.ADMIN))).statusCode())
                .isEqualTo(401);
        assertThat(send("POST", "/down", "Bearer not.a.token").statusCode()).isEqualTo(401);
        assertThat(send("POST", "/down", "Basic YWRtaW46YWRtaW4=").statusCode()).isEqualTo(401);
        assertThat(send("POST", "/down", "Bearer " + "A".repeat(100_000)).statusCode()).isIn(401, 413, 431);
        HttpResponse<String> wrongScope = send("POST", "/down",
                BearerToken.headerValue(auth.token(Scope.SAFEKEEPER_DATA)));
        assertThat(wrongScope.statusCode()).isEqualTo(403);
        assertThat(wrongScope.body()).contains("safekeeperdata").contains("admin");
        assertNothingHappened();
        // and it still serves the operator afterwards
        assertThat(send("GET", "/status", BearerToken.headerValue(auth.token(Scope.ADMIN))).statusCode()).isEqualTo(200);
    }

    private void assertNothingHappened() throws InterruptedException {
        Thread.sleep(200);
        assertThat(downs.get()).isZero();
        assertThat(statusReads.get()).isZero();
    }

    private HttpResponse<String> send(String method, String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (authorization != null) {
            b.header(BearerToken.HEADER, authorization);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
