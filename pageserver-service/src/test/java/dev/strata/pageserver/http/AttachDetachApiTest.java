package dev.strata.pageserver.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.testing.TestPageservers;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.remote.EmbeddedS3;
import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorageConfig;
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
 * {@code POST /v1/timelines/{id}/detach} and {@code .../attach} over the real HTTP listener,
 * against a real S3-compatible server: a timeline detached from one pageserver is attached by
 * another (a later generation) from S3; the endpoints take the management scope only, and
 * bad input gets a clear 4xx.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AttachDetachApiTest {

    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path tmp;

    @Test
    void aDetachedTimelineIsAttachedByAnotherPageserverAndBadRequestsAreRefused() throws Exception {
        try (EmbeddedS3 s3 = EmbeddedS3.start(tmp.resolve("s3"))) {
            TimelineId tl = TimelineId.random();
            try (PageserverServer a = PageserverServer.start(TestPageservers.config(tmp.resolve("a")),
                    new RemoteStorageConfig(s3.config(), Generation.of(1), null))) {
                ManagementApiHostileInputTest.Answer created = send(a, "POST", "/v1/timelines", "{\"timelineId\":\"" + tl + "\",\"startLsn\":\"0/1000000\"}",
                        TestPageservers.token());
                assertThat(created.status()).as(created.body()).isEqualTo(201);

                // Only the management scope may detach; an admin (status reader) may not.
                assertThat(send(a, "POST", "/v1/timelines/" + tl + "/detach", null, null).status()).isEqualTo(401);
                assertThat(send(a, "POST", "/v1/timelines/" + tl + "/detach", null,
                        TestPageservers.AUTH.token(Scope.ADMIN)).status()).isEqualTo(403);
                assertError(send(a, "POST", "/v1/timelines/nope/detach", null,
                        TestPageservers.token()), 400, "timeline id");
                TimelineId unknown = TimelineId.random();
                assertError(send(a, "POST", "/v1/timelines/" + unknown + "/detach", null,
                        TestPageservers.token()), 404, unknown.toString());

                ManagementApiHostileInputTest.Answer detached = send(a, "POST", "/v1/timelines/" + tl + "/detach", null, TestPageservers.token());
                assertThat(detached.status()).as(detached.body()).isEqualTo(200);
                assertThat(detached.body()).contains("\"remoteConsistentLsn\":\"0/1000000\"");
                assertThat(send(a, "GET", "/v1/timelines/" + tl, null, TestPageservers.token()).status()).isEqualTo(404);
                assertThat(tmp.resolve("a").resolve("timelines").resolve(tl.toString())).doesNotExist();
            }

            try (PageserverServer b = PageserverServer.start(TestPageservers.config(tmp.resolve("b")),
                    new RemoteStorageConfig(s3.config(), Generation.of(2), null))) {
                String path = "/v1/timelines/" + tl + "/attach";
                assertThat(send(b, "POST", path, "{}", null).status()).isEqualTo(401);
                assertThat(send(b, "POST", path, "{}", TestPageservers.AUTH.token(Scope.ADMIN)).status()).isEqualTo(403);
                assertError(send(b, "POST", path, "{\"bogus\":1}", TestPageservers.token()),
                        400, "bogus");
                assertError(send(b, "POST", "/v1/timelines/zz/attach", "{}",
                        TestPageservers.token()), 400, "timeline id");
                assertError(send(b, "POST", path,
                        "{\"walSources\":[{\"host\":\"127.0.0.1\",\"port\":9}]}", TestPageservers.token()), 400,
                        "no password given");
                TimelineId unknown = TimelineId.random();
                assertError(send(b, "POST", "/v1/timelines/" + unknown + "/attach", "{}",
                        TestPageservers.token()), 404, unknown.toString());

                ManagementApiHostileInputTest.Answer attached = send(b, "POST", path, "{}", TestPageservers.token());
                assertThat(attached.status()).as(attached.body()).isEqualTo(201);
                assertThat(attached.body()).contains("\"state\":\"active\"").contains("\"diskConsistentLsn\":\"0/1000000\"")
                        .contains("\"generation\":2");
                assertError(send(b, "POST", path, "{}", TestPageservers.token()), 409,
                        tl.toString());
                assertThat(send(b, "GET", "/v1/status", null, TestPageservers.token()).body())
                        .contains("\"layerCache\":{\"budgetBytes\":");
            }

            // Without remote storage there is nothing to attach from, and a detach would lose history.
            try (PageserverServer c = PageserverServer.start(TestPageservers.config(tmp.resolve("c")))) {
                assertError(send(c, "POST", "/v1/timelines/" + tl + "/attach", "{}",
                        TestPageservers.token()), 501, "no remote storage");
                assertThat(send(c, "POST", "/v1/timelines", "{\"timelineId\":\"" + tl + "\",\"startLsn\":\"0/1000000\"}",
                        TestPageservers.token()).status()).isEqualTo(201);
                assertError(send(c, "POST", "/v1/timelines/" + tl + "/detach", null,
                        TestPageservers.token()), 501, "no remote storage");
                assertThat(send(c, "GET", "/v1/timelines/" + tl, null, TestPageservers.token()).status()).isEqualTo(200);
            }
        }
    }

    private static void assertError(ManagementApiHostileInputTest.Answer a, int status, String mentions) {
        ManagementApiHostileInputTest.assertError(a, status, mentions);
    }

    static ManagementApiHostileInputTest.Answer send(PageserverServer ps, String method, String path, String body, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(ps.url().resolve(path)).timeout(Duration.ofSeconds(30));
        if (token != null) {
            b.header(BearerToken.HEADER, BearerToken.headerValue(token));
        }
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new ManagementApiHostileInputTest.Answer(r.statusCode(), r.body());
    }
}
