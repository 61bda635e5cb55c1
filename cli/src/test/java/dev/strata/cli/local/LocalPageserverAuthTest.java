package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pageserver.timeline.TimelineException;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.net.LoopbackPorts;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local cluster's pageserver as a child process, wired to the cluster's key as `strata up`
 * wires it: it trusts the public key file named on its command line (and no token or key is on
 * that command line); the cli manages it with its pageserverapi token; a compute's token reads
 * its own timeline's basebackup and nothing of another timeline; callers without a token are
 * refused by both listeners.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LocalPageserverAuthTest {

    @TempDir
    Path root;

    @Test
    void aChildPageserverServesTheClusterTokensAndNobodyElse() throws Exception {
        ClusterAuth auth = ClusterAuth.loadOrCreate(root.resolve("auth"));
        String cliToken = auth.token(Scope.PAGESERVER_API, "cli");
        int http = LoopbackPorts.pickTcpAndUdp();
        int pageService = LoopbackPorts.pickTcpAndUdp();
        Path dataDir = root.resolve("pageserver");
        try (LocalPageserver ps = LocalPageservers.child(dataDir, http, pageService, root.resolve("pageserver.log"),
                auth.publicKeysFile(), cliToken)) {
            String commandLine = ProcessHandle.current().children().map(LocalPageserverAuthTest::commandLine)
                    .filter(c -> c.contains(dataDir.toString())).findFirst().orElseThrow();
            assertThat(commandLine).contains("--auth-public-keys " + auth.publicKeysFile())
                    .doesNotContain(cliToken).doesNotContain("eyJ");

            TimelineId tl = TimelineId.random();
            LocalPageserver.CreatedTimeline created = ps.createTimeline(tl, "postgres", "local-pageserver-auth-pw");
            assertThat(ps.hasTimeline(tl)).isTrue();

            // management API: no token 401, a compute's token 403, and the timeline is still there
            HttpClient client = HttpClient.newHttpClient();
            URI url = URI.create("http://127.0.0.1:" + http + "/v1/timelines/" + tl);
            assertThat(client.send(HttpRequest.newBuilder(url).DELETE().build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(401);
            assertThat(client.send(HttpRequest.newBuilder(url).DELETE().header(BearerToken.HEADER,
                    BearerToken.headerValue(auth.computeToken(tl, "compute-main"))).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(403);
            assertThat(ps.hasTimeline(tl)).isTrue();
            // a cli holding the wrong token cannot manage it either
            try (LocalPageserver wrong = LocalPageservers.child(root.resolve("unused"), 0, 0,
                    root.resolve("unused.log"), auth.publicKeysFile(), auth.token(Scope.ADMIN, "admin"))) {
                assertThatThrownBy(() -> wrong.createTimeline(TimelineId.random(), "postgres", "pw"))
                        .hasMessageContaining("HTTP 403");
            }

            // page service: the compute's token reads its own timeline
            ps.access(auth.computeToken(tl, "compute-main")).awaitLsn(tl, created.startLsn(), Duration.ofSeconds(30));
            long tarBytes;
            try (InputStream tar = ps.access(auth.computeToken(tl, "compute-main")).basebackup(tl,
                    dev.strata.pgcore.lsn.Lsn.INVALID)) {
                tarBytes = tar.transferTo(OutputStream.nullOutputStream());
            }
            assertThat(tarBytes).isGreaterThan(1 << 20);
            // ... and a compute of another timeline reads nothing of it
            TimelineId other = TimelineId.random();
            assertThatThrownBy(() -> {
                try (InputStream tar = ps.access(auth.computeToken(other, "compute-other")).basebackup(tl,
                        dev.strata.pgcore.lsn.Lsn.INVALID)) {
                    tar.transferTo(OutputStream.nullOutputStream());
                }
            }).hasMessageContaining("this token is for timeline " + other);
            // a token signed by another cluster's key does not open a connection
            ClusterAuth stranger = ClusterAuth.loadOrCreate(root.resolve("other-auth"));
            assertThatThrownBy(() -> new PageserverClient("127.0.0.1", pageService,
                    stranger.token(Scope.PAGESERVER_API, "cli")).close())
                    .isInstanceOfSatisfying(TimelineException.class,
                            e -> assertThat(e.kind()).isEqualTo(TimelineException.Kind.UNAUTHENTICATED));
            assertThat(List.of(ps.status(tl).get(0))).allMatch(l -> l.startsWith("active"));
        }
    }

    /** What {@code ps} shows of a process: its arguments, NUL-separated in /proc. */
    private static String commandLine(ProcessHandle p) {
        try {
            return new String(java.nio.file.Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline")),
                    java.nio.charset.StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (java.io.IOException e) {
            return ""; // it exited
        }
    }
}
