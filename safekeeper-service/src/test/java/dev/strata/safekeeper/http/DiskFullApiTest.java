package dev.strata.safekeeper.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.testing.SmallFilesystem;
import dev.strata.safekeeper.testing.TestSafekeepers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A safekeeper whose data directory is on a real small tmpfs that fills up: a vote cannot be
 * made durable, so it is answered 507 {@code disk_full} (not granted, not remembered), and once
 * space is freed the same vote is granted, without a restart.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DiskFullApiTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static HttpResponse<String> send(URI uri, String method, String json) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + TestSafekeepers.dataToken());
        b = json == null ? b.GET() : b.method(method, HttpRequest.BodyPublishers.ofString(json));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aVoteOnAFullDiskIs507DiskFullAndIsGrantedOnceSpaceIsFreed(@TempDir Path tmp) throws Exception {
        try (SmallFilesystem fs = SmallFilesystem.mount(tmp, 4);
             SafekeeperServer sk = SafekeeperServer.start(TestSafekeepers.config(NodeId.of("sk-1"), fs.root().resolve("data"), "secret"))) {
            sk.node().setPeers(Map.of(NodeId.of("sk-2"), URI.create("http://127.0.0.1:9"),
                    NodeId.of("sk-3"), URI.create("http://127.0.0.1:9")));
            TimelineId tl = TimelineId.random();
            sk.node().createTimeline(tl, 42, 16 << 20, Lsn.parse("0/1000000"));
            URI vote = sk.url().resolve("/v1/timelines/" + tl + "/vote");

            fs.fill();
            HttpResponse<String> full = send(vote, "POST", "{\"term\": 1}");
            assertThat(full.statusCode()).as(full.body()).isEqualTo(507);
            assertThat(full.body()).contains("\"error\":\"disk_full\"").contains("No space left on device")
                    .contains("safekeeper.control");
            HttpResponse<String> status = send(sk.url().resolve("/v1/timelines/" + tl), "GET", null);
            assertThat(status.body()).as("the failed promise is not in memory").contains("\"promisedTerm\":0");

            fs.free();
            HttpResponse<String> granted = send(vote, "POST", "{\"term\": 1}");
            assertThat(granted.statusCode()).as(granted.body()).isEqualTo(200);
            assertThat(granted.body()).contains("\"granted\":true");
        }
    }
}
