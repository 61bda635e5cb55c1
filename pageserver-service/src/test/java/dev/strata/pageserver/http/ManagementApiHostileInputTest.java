package dev.strata.pageserver.http;

import dev.strata.pageserver.testing.TestPageservers;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.TimelineId;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed and hostile requests to the pageserver management API: each gets the documented
 * status and a JSON error {@code {"error", "message"}} naming the problem, and a valid request
 * afterwards still works.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ManagementApiHostileInputTest {

    @TempDir
    static Path dir;
    static PageserverServer ps;
    static TimelineId tl = TimelineId.random();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    record Answer(int status, String body) {
    }

    @BeforeAll
    static void start() throws Exception {
        ps = PageserverServer.start(TestPageservers.config(dir));
        Answer a = send("POST", "/v1/timelines", "{\"timelineId\":\"" + tl + "\",\"startLsn\":\"0/1000000\"}");
        assertThat(a.status()).as(a.body()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (ps != null) {
            ps.close();
        }
    }

    @AfterEach
    void validRequestStillWorks() throws Exception {
        Answer a = send("GET", "/v1/timelines/" + tl, null);
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.body()).contains("\"timelineId\":\"" + tl + "\"").contains("\"lastRecordLsn\":\"0/1000000\"");
    }

    @Test
    void malformedJsonIs400() throws Exception {
        assertError(send("POST", "/v1/timelines", "{\"timelineId\": "), 400, "");
        assertError(send("POST", "/v1/timelines", "not json"), 400, "");
        assertError(send("PUT", "/v1/timelines/" + tl + "/wal-sources", "[1,2]"), 400, "");
    }

    @Test
    void unknownFieldsAre400() throws Exception {
        assertError(send("POST", "/v1/timelines", "{\"timelineId\":\"" + TimelineId.random()
                + "\",\"startLsn\":\"0/1000000\",\"bogus\":1}"), 400, "bogus");
    }

    @Test
    void badIdsAre400AndUnknownIs404() throws Exception {
        assertError(send("GET", "/v1/timelines/not-a-timeline", null), 400, "timeline id");
        assertError(send("DELETE", "/v1/timelines/xyz", null), 400, "timeline id");
        assertError(send("POST", "/v1/timelines", "{\"timelineId\":\"zz\",\"startLsn\":\"0/1000000\"}"), 400, "timelineId");
        TimelineId other = TimelineId.random();
        assertError(send("GET", "/v1/timelines/" + other, null), 404, other.toString());
    }

    @Test
    void badCreateOptionsAre400NamingTheValue() throws Exception {
        assertError(send("POST", "/v1/timelines", "{\"timelineId\":\"" + TimelineId.random()
                + "\",\"startLsn\":\"0/1000010\"}"), 400, "0/1000010");
        assertError(send("POST", "/v1/timelines", "{\"timelineId\":\"" + TimelineId.random()
                + "\",\"startLsn\":\"nonsense\"}"), 400, "startLsn");
        assertError(send("POST", "/v1/timelines", "{\"timelineId\":\"" + TimelineId.random()
                + "\",\"startLsn\":\"0/1000000\",\"initdb\":true}"), 400, "not both");
        assertError(send("POST", "/v1/timelines", "{\"timelineId\":\"" + TimelineId.random()
                + "\",\"startLsn\":\"0/1000000\",\"walSources\":[{\"host\":\"127.0.0.1\",\"port\":70000}]}"), 400, "70000");
    }

    @Test
    void existingTimelineIs409() throws Exception {
        assertError(send("POST", "/v1/timelines", "{\"timelineId\":\"" + tl + "\",\"startLsn\":\"0/1000000\"}"), 409,
                tl.toString());
    }

    @Test
    void waitBeyondIngestTimesOutWith504AndBadTimeoutIs400() throws Exception {
        assertError(send("GET", "/v1/timelines/" + tl + "/wait?lsn=0/2000000&timeout=100", null), 504, "0/2000000");
        assertError(send("GET", "/v1/timelines/" + tl + "/wait?lsn=0/2000000&timeout=-5", null), 400, "-5");
        assertError(send("GET", "/v1/timelines/" + tl + "/wait?lsn=0/100", null), 400, "below");
        assertError(send("GET", "/v1/timelines/" + tl + "/wait", null), 400, "");
    }

    @Test
    void hugeBodyIsRefused() throws Exception {
        Answer a = send("POST", "/v1/timelines", "{\"timelineId\":\"" + "x".repeat(1 << 20) + "\"}");
        assertThat(a.status()).isEqualTo(413);
    }

    @Test
    void walSourcesCanChangeAndPasswordsAreNeverEchoed() throws Exception {
        Answer a = send("PUT", "/v1/timelines/" + tl + "/wal-sources",
                "{\"walSources\":[{\"host\":\"127.0.0.1\",\"port\":9,\"user\":\"u\",\"password\":\"hunter2\"}]}");
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(a.body()).contains("127.0.0.1").doesNotContain("hunter2");
        Answer back = send("PUT", "/v1/timelines/" + tl + "/wal-sources", "{\"walSources\":[]}");
        assertThat(back.status()).isEqualTo(200);
        assertThat(send("GET", "/v1/status", null).body()).contains("\"timelines\":");
    }

    /**
     * Issue 12: a WAL source without a password used to get the cluster's replication password,
     * so any caller could make the pageserver send it to a host of their choosing. Now such a
     * source is refused and the named host is never contacted.
     */
    @Test
    void aWalSourceWithoutPasswordIsRefusedAndTheNamedHostNeverContacted() throws Exception {
        try (java.net.ServerSocket attacker = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            String source = "{\"host\":\"127.0.0.1\",\"port\":" + attacker.getLocalPort() + ",\"user\":\"u\"}";
            assertError(send("PUT", "/v1/timelines/" + tl + "/wal-sources", "{\"walSources\":[" + source + "]}"), 400,
                    "no password given");
            TimelineId t = TimelineId.random();
            assertError(send("POST", "/v1/timelines", "{\"timelineId\":\"" + t + "\",\"startLsn\":\"0/1000000\","
                    + "\"walSources\":[" + source + "]}"), 400, "no password given");
            assertError(send("GET", "/v1/timelines/" + t, null), 404, t.toString());
            assertThat(send("GET", "/v1/timelines/" + tl, null).body()).doesNotContain(":" + attacker.getLocalPort());
            // A receiver would connect within milliseconds; two seconds without one is a clear no.
            attacker.setSoTimeout(2000);
            org.assertj.core.api.Assertions.assertThatThrownBy(attacker::accept)
                    .isInstanceOf(java.net.SocketTimeoutException.class);
        }
    }

    @Test
    void retentionAndGcRefuseBadInput() throws Exception {
        assertError(send("PUT", "/v1/timelines/" + tl + "/config", "{\"pitr\":\"seven days\"}"), 400, "ISO-8601");
        assertError(send("PUT", "/v1/timelines/" + tl + "/config", "{\"pitr\":\"-PT1H\"}"), 400, "pitr");
        assertError(send("PUT", "/v1/timelines/" + tl + "/config", "{\"pitr\":\"P99999D\"}"), 400, "pitr");
        assertError(send("PUT", "/v1/timelines/" + tl + "/config", "{\"gcHorizonBytes\":-1}"), 400, "horizon");
        assertThat(send("PUT", "/v1/timelines/" + tl + "/config", "{\"cutoff\":\"0/0\"}").status()).isEqualTo(400);
        assertError(send("PUT", "/v1/timelines/not-a-timeline/config", "{}"), 400, "not-a-timeline");
        TimelineId absent = TimelineId.random();
        assertError(send("POST", "/v1/timelines/" + absent + "/gc", null), 404, absent.toString());
        assertError(send("POST", "/v1/timelines/" + TimelineId.random() + "x/gc", null), 400, "timeline id");
        TimelineId t = TimelineId.random();
        assertError(send("POST", "/v1/timelines", "{\"timelineId\":\"" + t + "\",\"startLsn\":\"0/3000000\","
                + "\"pitr\":\"soon\"}"), 400, "ISO-8601");
        assertError(send("GET", "/v1/timelines/" + t, null), 404, t.toString());
        Answer made = send("POST", "/v1/timelines", "{\"timelineId\":\"" + t + "\",\"startLsn\":\"0/3000000\","
                + "\"pitr\":\"PT2H\",\"gcHorizonBytes\":1024}");
        assertThat(made.status()).as(made.body()).isEqualTo(201);
        assertThat(made.body()).contains("\"pitr\":\"PT2H\"").contains("\"gcHorizonBytes\":1024")
                .contains("\"layerBytes\":0");
        assertThat(dir.resolve("timelines").resolve(t.toString()).resolve("timeline.conf")).content()
                .contains("pitr=PT2H").contains("gc_horizon_bytes=1024");
        assertThat(send("DELETE", "/v1/timelines/" + t, null).status()).isEqualTo(200);
    }

    @Test
    void deleteRemovesTheTimeline() throws Exception {
        TimelineId t = TimelineId.random();
        assertThat(send("POST", "/v1/timelines", "{\"timelineId\":\"" + t + "\",\"startLsn\":\"0/3000000\"}").status())
                .isEqualTo(201);
        assertThat(send("DELETE", "/v1/timelines/" + t, null).status()).isEqualTo(200);
        assertError(send("GET", "/v1/timelines/" + t, null), 404, t.toString());
        assertThat(dir.resolve("timelines").resolve(t.toString())).doesNotExist();
    }

    static void assertError(Answer a, int status, String mentions) {
        assertThat(a.status()).as(a.body()).isEqualTo(status);
        assertThat(a.body()).as("a JSON error").matches("(?s)\\{.*\"error\":\".+\".*\\}").contains("\"message\":\"");
        assertThat(a.body()).contains(mentions);
    }

    static Answer send(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = TestPageservers.authorized(HttpRequest.newBuilder(ps.url().resolve(path))).timeout(Duration.ofSeconds(20));
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body());
    }
}
