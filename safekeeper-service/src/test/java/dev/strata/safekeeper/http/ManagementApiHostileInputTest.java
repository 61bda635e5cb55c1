package dev.strata.safekeeper.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.testing.TestSafekeepers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed and hostile requests to the safekeeper management API (docs/safekeeper.md, architecture
 * §8): each gets the documented status and a JSON error {@code {"error", "message"}} naming the
 * problem, and a valid request afterwards still works.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ManagementApiHostileInputTest {

    private static final Lsn START = Lsn.parse("0/1000000");

    @TempDir
    static Path dir;
    static SafekeeperServer sk;
    static TimelineId tl;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    record Answer(int status, String body) {
    }

    @BeforeAll
    static void start() {
        sk = SafekeeperServer.start(TestSafekeepers.config(NodeId.of("sk-1"), dir, "secret"));
        // peers that are never reached: positions pushed to them fail quietly
        sk.node().setPeers(Map.of(NodeId.of("sk-2"), URI.create("http://127.0.0.1:9"),
                NodeId.of("sk-3"), URI.create("http://127.0.0.1:9")));
        tl = TimelineId.random();
        sk.node().createTimeline(tl, 42, 16 << 20, START);
    }

    @AfterAll
    static void stop() {
        if (sk != null) {
            sk.close();
        }
    }

    @AfterEach
    void validRequestStillWorks() throws Exception {
        Answer a = get("/v1/timelines/" + tl);
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.body()).contains("\"timelineId\":\"" + tl + "\"");
    }

    @Test
    void malformedJsonIs400() throws Exception {
        assertError(post("/v1/timelines", "{\"timelineId\": "), 400, "");
        assertError(post("/v1/timelines/" + tl + "/vote", "not json at all"), 400, "");
    }

    @Test
    void wrongTypesAre400() throws Exception {
        assertError(post("/v1/timelines/" + tl + "/vote", "{\"term\": \"abc\"}"), 400, "");
        assertError(post("/v1/timelines", "{\"timelineId\": 12, \"walSegmentSize\": \"big\", \"startLsn\": \"0/1000000\"}"), 400, "");
        assertError(post("/v1/timelines/" + tl + "/vote", "[1, 2]"), 400, "");
    }

    @Test
    void missingFieldsAre400NamingTheField() throws Exception {
        assertError(post("/v1/timelines", "{\"timelineId\": \"" + TimelineId.random() + "\", \"walSegmentSize\": 16777216}"),
                400, "startLsn");
        assertError(post("/v1/timelines", "{\"walSegmentSize\": 16777216, \"startLsn\": \"0/1000000\"}"), 400, "timeline id");
        assertError(post("/v1/timelines/" + tl + "/elected", "{\"term\": 0}"), 400, "");
        assertError(post("/v1/timelines/" + tl + "/compute", "{\"term\": 0, \"port\": 5432}"), 400, "");
    }

    @Test
    void badLsnIs400NamingTheField() throws Exception {
        assertError(post("/v1/timelines", "{\"timelineId\": \"" + TimelineId.random()
                + "\", \"walSegmentSize\": 16777216, \"startLsn\": \"zz/1\"}"), 400, "startLsn");
        assertError(get("/v1/timelines/" + tl + "/wal?from=nonsense&to=0/1000000"), 400, "from");
    }

    @Test
    void startLsnThatIsNoRecordBoundaryIs400() throws Exception {
        assertError(post("/v1/timelines", "{\"timelineId\": \"" + TimelineId.random()
                + "\", \"walSegmentSize\": 16777216, \"startLsn\": \"0/1000013\"}"), 400, "8-byte aligned");
    }

    @Test
    void badTimelineIdInPathIs400AndUnknownIs404() throws Exception {
        assertError(get("/v1/timelines/not-a-timeline"), 400, "timeline id");
        assertError(post("/v1/timelines/xyz/vote", "{\"term\": 5}"), 400, "timeline id");
        TimelineId other = TimelineId.random();
        assertError(get("/v1/timelines/" + other), 404, other.toString());
    }

    @Test
    void hugeBodyIsRefused() throws Exception {
        String huge = "{\"term\": 1, \"pad\": \"" + "x".repeat(2 << 20) + "\"}";
        Answer a = post("/v1/timelines/" + tl + "/vote", huge);
        assertThat(a.status()).isEqualTo(413);
        assertThat(get("/v1/timelines/" + tl).body()).contains("\"promisedTerm\":0");
    }

    @Test
    void negativeTermIs400AndOldTermIsRefusedWithThePromise() throws Exception {
        TimelineId t = fresh();
        assertError(post("/v1/timelines/" + t + "/vote", "{\"term\": -1}"), 400, "non-negative");
        Answer granted = post("/v1/timelines/" + t + "/vote", "{\"term\": 3}");
        assertThat(granted.status()).isEqualTo(200);
        assertThat(granted.body()).contains("\"granted\":true").contains("\"promisedTerm\":3");
        for (int old : new int[] {3, 2, 0}) {
            Answer refused = post("/v1/timelines/" + t + "/vote", "{\"term\": " + old + "}");
            assertThat(refused.status()).isEqualTo(200);
            assertThat(refused.body()).contains("\"granted\":false").contains("\"promisedTerm\":3");
        }
    }

    @Test
    void electedForATermNotPromisedIs409() throws Exception {
        TimelineId t = fresh();
        post("/v1/timelines/" + t + "/vote", "{\"term\": 2}");
        String body = "{\"term\": 5, \"termHistory\": [{\"term\": 5, \"lsn\": \"0/1000000\"}], \"epochStartLsn\": \"0/1000000\","
                + " \"donor\": \"sk-2\", \"donorUrl\": \"http://127.0.0.1:9\"}";
        assertError(post("/v1/timelines/" + t + "/elected", body), 409, "promised term is 2");
    }

    @Test
    void computeForAnOldTermIs409() throws Exception {
        TimelineId t = fresh();
        post("/v1/timelines/" + t + "/vote", "{\"term\": 2}");
        assertError(post("/v1/timelines/" + t + "/compute",
                "{\"term\": 1, \"host\": \"127.0.0.1\", \"port\": 5432, \"user\": \"u\", \"password\": \"p\"}"), 409, "term");
    }

    @Test
    void walBeyondFlushIs400() throws Exception {
        assertError(get("/v1/timelines/" + tl + "/wal?from=0/1000000&to=0/2000000"), 400, "holds WAL only up to");
        assertError(get("/v1/timelines/" + tl + "/wal?from=0/1000000"), 400, "");
    }

    @Test
    void existingTimelineIs409() throws Exception {
        assertError(post("/v1/timelines", "{\"timelineId\": \"" + tl
                + "\", \"walSegmentSize\": 16777216, \"startLsn\": \"0/1000000\"}"), 409, tl.toString());
    }


    @Test
    void errorsNameAStableKindNotAJavaClass() throws Exception {
        TimelineId t = fresh();
        assertError(post("/v1/timelines/" + t + "/vote", "{\"term\": " + Long.MAX_VALUE + "}"), 400, "\"error\":\"bad_request\"");
        assertError(get("/v1/timelines/" + TimelineId.random()), 404, "\"error\":\"not_found\"");
        assertError(post("/v1/timelines/" + t + "/vote", "not json"), 400, "\"error\":\"bad_request\"");
        post("/v1/timelines/" + t + "/vote", "{\"term\": 2}");
        assertError(post("/v1/timelines/" + t + "/elected", "{\"term\": 1, \"termHistory\": [{\"term\": 1, \"lsn\": \""
                + START + "\"}], \"epochStartLsn\": \"" + START + "\", \"donor\": \"sk-1\", \"donorUrl\": \"http://127.0.0.1:9\"}"),
                409, "\"error\":\"term_refused\"");
        assertError(post("/v1/timelines", "{\"timelineId\": \"" + t + "\", \"walSegmentSize\": 16777216, \"startLsn\": \""
                + START + "\"}"), 409, "\"error\":\"conflict\"");
    }

    static TimelineId fresh() {
        TimelineId t = TimelineId.random();
        sk.node().createTimeline(t, 42, 16 << 20, START);
        return t;
    }

    static void assertError(Answer a, int status, String mentions) {
        assertThat(a.status()).as(a.body()).isEqualTo(status);
        assertThat(a.body()).as("a JSON error").matches("(?s)\\{.*\"error\":\".+\".*\\}").contains("\"message\":\"");
        assertThat(a.body()).contains(mentions);
    }

    static Answer get(String path) throws Exception {
        return send(HttpRequest.newBuilder(sk.url().resolve(path)).GET());
    }

    @Test
    void aTermFarBeyondThePromisedOneIsRefusedAndLaterElectionsStillWork() throws Exception {
        TimelineId t = fresh();
        // Before the bound, this vote was granted and every later election overflowed in Term.next().
        assertError(post("/v1/timelines/" + t + "/vote", "{\"term\": " + Long.MAX_VALUE + "}"), 400,
                "vote for term " + Long.MAX_VALUE + " refused");
        assertError(post("/v1/timelines/" + t + "/vote", "{\"term\": " + ((1L << 32) + 1) + "}"), 400,
                "more than 4294967296 above the promised term 0");
        Answer granted = post("/v1/timelines/" + t + "/vote", "{\"term\": 1}");
        assertThat(granted.status()).as(granted.body()).isEqualTo(200);
        assertThat(granted.body()).contains("\"granted\":true");
        Answer status = get("/v1/timelines/" + t);
        assertThat(status.body()).contains("\"promisedTerm\":1");
    }

    static Answer post(String path, String json) throws Exception {
        return send(HttpRequest.newBuilder(sk.url().resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    static Answer send(HttpRequest.Builder b) throws Exception {
        HttpResponse<String> r = http.send(b.timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + TestSafekeepers.dataToken()).build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body());
    }
}
