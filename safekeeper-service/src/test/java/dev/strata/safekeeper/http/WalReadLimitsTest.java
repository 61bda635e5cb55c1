package dev.strata.safekeeper.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.node.SafekeeperLimits;
import dev.strata.safekeeper.testing.TestSafekeepers;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /wal} is bounded in concurrency (docs/safekeeper.md, "Limits"): it used to build a
 * 16 MiB answer (32 MiB with its copy) on Micronaut's unbounded blocking executor for every
 * request, so a burst of requests could take the JVM's heap. The limit's permits are taken here
 * by the test itself to stand for answers in flight (the real reads finish too fast to overlap
 * on purpose).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WalReadLimitsTest {

    private static final Lsn START = Lsn.parse("0/1000000");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path dir;

    @Test
    void aWalReadOverTheConcurrencyLimitIs503BusyAndServedOnceASlotIsFree() throws Exception {
        try (SafekeeperServer sk = SafekeeperServer.start(TestSafekeepers.config(NodeId.of("sk-1"), dir, "secret"),
                SafekeeperLimits.defaults().withWalReadConcurrency(2))) {
            TimelineId tl = TimelineId.random();
            sk.node().createTimeline(tl, 42, 16 << 20, START);
            String path = "/v1/timelines/" + tl + "/wal?from=" + START + "&to=" + START;
            assertThat(get(sk, path).statusCode()).isEqualTo(200);

            assertThat(sk.node().walReads().tryAcquire(2)).isTrue(); // two answers "in flight"
            try {
                HttpResponse<String> busy = get(sk, path);
                assertThat(busy.statusCode()).isEqualTo(503);
                assertThat(busy.body()).contains("\"error\":\"busy\"").contains("2 WAL reads").contains("retry");
            } finally {
                sk.node().walReads().release(2);
            }
            HttpResponse<String> ok = get(sk, path);
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.body()).isEmpty();
            assertThat(sk.node().walReads().availablePermits()).as("every answer gives its permit back").isEqualTo(2);
        }
    }

    private static HttpResponse<String> get(SafekeeperServer sk, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(sk.url().resolve(path)).timeout(Duration.ofSeconds(20))
                        .header("Authorization", "Bearer " + TestSafekeepers.dataToken()).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
