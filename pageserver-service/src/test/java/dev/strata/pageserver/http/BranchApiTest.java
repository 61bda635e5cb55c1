package dev.strata.pageserver.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.testing.TestPageservers;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.id.TimelineId;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Branches over the real HTTP listener: {@code POST /v1/timelines} with an ancestor creates a
 * branch that names its parent and LSN in its status; {@code GET .../lsn-by-timestamp} answers
 * with an LSN and a kind; both take the scopes of timeline create and get; every bad request
 * gets a clear 4xx naming what is wrong and the server keeps serving; a timeline with branches
 * cannot be deleted.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BranchApiTest {

    @TempDir
    Path tmp;

    @Test
    void branchesOverHttpAndBadRequestsAreRefused() throws Exception {
        String token = TestPageservers.token();
        TimelineId root = TimelineId.random();
        TimelineId child = TimelineId.random();
        TimelineId unknown = TimelineId.random();
        try (PageserverServer ps = PageserverServer.start(TestPageservers.config(tmp.resolve("ps")))) {
            ManagementApiHostileInputTest.Answer created = send(ps, "POST", "/v1/timelines",
                    "{\"timelineId\":\"" + root + "\",\"initdb\":true}", token);
            assertThat(created.status()).as(created.body()).isEqualTo(201);
            // A root has no ancestor: the fields are null, left out of the JSON like every null field.
            assertThat(created.body()).doesNotContain("ancestorTimelineId").doesNotContain("ancestorLsn");
            String start = ps.node().timelines().get(root).config().startLsn().toString();

            String branch = "{\"timelineId\":\"" + child + "\",\"ancestorTimelineId\":\"" + root + "\"";
            // Scopes: as timeline create.
            assertThat(send(ps, "POST", "/v1/timelines", branch + "}", null).status()).isEqualTo(401);
            assertThat(send(ps, "POST", "/v1/timelines", branch + "}", TestPageservers.AUTH.token(Scope.ADMIN)).status())
                    .isEqualTo(403);

            // Bad input.
            assertError(send(ps, "POST", "/v1/timelines", "{\"timelineId\":\"" + child + "\",\"ancestorTimelineId\":\""
                    + unknown + "\"}", token), 404, unknown.toString());
            assertError(send(ps, "POST", "/v1/timelines", branch + ",\"ancestorLsn\":\"zz\"}", token), 400, "ancestorLsn");
            assertError(send(ps, "POST", "/v1/timelines", branch.replace(root.toString(), "nope") + "}", token), 400,
                    "ancestorTimelineId");
            assertError(send(ps, "POST", "/v1/timelines", branch + ",\"ancestorLsn\":\"0/100\"}", token), 400,
                    "below the parent's start " + start);
            assertError(send(ps, "POST", "/v1/timelines", branch + ",\"ancestorLsn\":\"1/0\"}", token), 400,
                    "no WAL source to reach further");
            assertError(send(ps, "POST", "/v1/timelines", branch + ",\"initdb\":true}", token), 400, "initdb");
            assertError(send(ps, "POST", "/v1/timelines", "{\"timelineId\":\"" + child + "\",\"ancestorLsn\":\"0/1\","
                    + "\"initdb\":true}", token), 400, "ancestorLsn needs ancestorTimelineId");
            assertError(send(ps, "POST", "/v1/timelines", "{\"timelineId\":\"" + root + "\",\"ancestorTimelineId\":\""
                    + root + "\"}", token), 400, "branch of itself");

            ManagementApiHostileInputTest.Answer branched = send(ps, "POST", "/v1/timelines", branch + "}", token);
            assertThat(branched.status()).as(branched.body()).isEqualTo(201);
            assertThat(branched.body()).contains("\"ancestorTimelineId\":\"" + root + "\"")
                    .contains("\"ancestorLsn\":\"" + start + "\"").contains("\"startLsn\":\"" + start + "\"")
                    .contains("\"state\":\"active\"").contains("\"systemId\":\"");
            assertError(send(ps, "POST", "/v1/timelines", branch + "}", token), 409, child.toString());
            assertThat(send(ps, "GET", "/v1/timelines/" + child, null, TestPageservers.AUTH.token(Scope.ADMIN)).body())
                    .contains("\"ancestorTimelineId\":\"" + root + "\"");

            // The page service's basebackup of the branch at its branch LSN (the parent's data, the branch's prev).
            try (var client = TestPageservers.client(ps)) {
                java.io.ByteArrayOutputStream tar = new java.io.ByteArrayOutputStream();
                var end = client.basebackup(child, dev.strata.pgcore.lsn.Lsn.parse(start), tar);
                assertThat(end.lsn().toString()).isEqualTo(start);
                assertThat(end.prev()).isEqualTo(ps.node().timelines().get(root).config().startPrevRecordLsn());
                assertThat(tar.size()).isGreaterThan(1 << 20);
            }

            // LSN for a timestamp: scopes as timeline get; an initdb import has no commits.
            String byTime = "/v1/timelines/" + child + "/lsn-by-timestamp?timestamp=2026-01-01T00:00:00Z";
            assertThat(send(ps, "GET", byTime, null, null).status()).isEqualTo(401);
            ManagementApiHostileInputTest.Answer found = send(ps, "GET", byTime, null,
                    TestPageservers.AUTH.token(Scope.ADMIN));
            assertThat(found.status()).as(found.body()).isEqualTo(200);
            assertThat(found.body()).isEqualTo("{\"lsn\":\"" + start + "\",\"kind\":\"nodata\"}");
            assertError(send(ps, "GET", "/v1/timelines/" + child + "/lsn-by-timestamp?timestamp=yesterday", null, token),
                    400, "ISO-8601");
            assertError(send(ps, "GET", "/v1/timelines/" + child + "/lsn-by-timestamp", null, token), 400, "timestamp");
            assertError(send(ps, "GET", "/v1/timelines/" + child + "/lsn-by-timestamp?timestamp=2026-01-01T00:00:00",
                    null, token), 400, "ISO-8601");
            assertError(send(ps, "GET", "/v1/timelines/" + unknown + "/lsn-by-timestamp?timestamp=2026-01-01T00:00:00Z",
                    null, token), 404, unknown.toString());

        }

        // Restart without the parent's directory: the branch is not loaded (logged: its ancestor is
        // missing) and the server serves; with it back, both load, ancestors first.
        Path timelines = tmp.resolve("ps").resolve("timelines");
        java.nio.file.Files.move(timelines.resolve(root.toString()), tmp.resolve("away"));
        try (PageserverServer ps = PageserverServer.start(TestPageservers.config(tmp.resolve("ps")))) {
            assertError(send(ps, "GET", "/v1/timelines/" + child, null, token), 404, child.toString());
            assertThat(send(ps, "GET", "/v1/status", null, token).body()).contains("\"timelines\":0");
        }
        java.nio.file.Files.move(tmp.resolve("away"), timelines.resolve(root.toString()));
        try (PageserverServer ps = PageserverServer.start(TestPageservers.config(tmp.resolve("ps")))) {
            assertThat(send(ps, "GET", "/v1/timelines/" + child, null, token).body())
                    .contains("\"ancestorTimelineId\":\"" + root + "\"").contains("\"state\":\"active\"");

            // A parent with branches is not deleted; its branch is, and then the parent.
            assertError(send(ps, "DELETE", "/v1/timelines/" + root, null, token), 409, child.toString());
            assertThat(send(ps, "DELETE", "/v1/timelines/" + child, null, token).status()).isEqualTo(200);
            assertThat(send(ps, "GET", "/v1/timelines/" + root, null, token).status()).isEqualTo(200);
            assertThat(send(ps, "DELETE", "/v1/timelines/" + root, null, token).status()).isEqualTo(200);
            assertThat(send(ps, "GET", "/v1/status", null, token).status()).isEqualTo(200);
        }
    }

    private static void assertError(ManagementApiHostileInputTest.Answer a, int status, String mentions) {
        ManagementApiHostileInputTest.assertError(a, status, mentions);
    }

    private static ManagementApiHostileInputTest.Answer send(PageserverServer ps, String method, String path, String body,
                                                             String token) throws Exception {
        return AttachDetachApiTest.send(ps, method, path, body, token);
    }
}
