package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.net.LoopbackPorts;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.node.SafekeeperConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local cluster's safekeeper as a child process, wired as `strata up` wires it: the
 * cluster's public keys and its own token reach it as paths of 600 files (nothing secret on
 * its command line); the cli manages it with its safekeeperdata token; a caller without a
 * token, or a compute of the timeline trying to delete it, is refused and the timeline stays.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LocalSafekeeperAuthTest {

    @TempDir
    Path root;

    @Test
    void aChildSafekeeperServesTheClusterTokensAndNobodyElse() throws Exception {
        ClusterAuth auth = ClusterAuth.loadOrCreate(root.resolve("auth"));
        String cliToken = auth.token(Scope.SAFEKEEPER_DATA, "cli");
        Path dataDir = root.resolve("sk-1");
        Path tokenFile = auth.tokenFile(Scope.SAFEKEEPER_DATA, "sk-1");
        String nodeToken = Files.readString(tokenFile).strip();
        SafekeeperConfig config = new SafekeeperConfig(NodeId.of("sk-1"), dataDir, "127.0.0.1",
                LoopbackPorts.pickTcpAndUdp(), LoopbackPorts.pickTcpAndUdp(), Map.of(), "strata_replicator",
                "local-safekeeper-auth-pw", Duration.ofMillis(100), auth.verifier(), nodeToken);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tokenFile))).isEqualTo("rw-------");
        try (LocalSafekeeper sk = LocalSafekeepers.child(config, root.resolve("sk-1.log"), auth.publicKeysFile(),
                tokenFile, cliToken)) {
            String commandLine = ProcessHandle.current().children().map(LocalSafekeeperAuthTest::commandLine)
                    .filter(c -> c.contains(dataDir.toString())).findFirst().orElseThrow();
            assertThat(commandLine).contains("--auth-public-keys " + auth.publicKeysFile())
                    .contains("--token-file " + tokenFile)
                    .doesNotContain(cliToken).doesNotContain(nodeToken).doesNotContain("eyJ")
                    .doesNotContain("local-safekeeper-auth-pw");

            TimelineId tl = TimelineId.random();
            sk.createTimeline(tl, 42, 16 << 20, Lsn.parse("0/1000000"));
            assertThat(sk.status(tl)).startsWith("term 0 flush 0/1000000");

            HttpClient client = HttpClient.newHttpClient();
            URI url = sk.url().resolve("/v1/timelines/" + tl);
            assertThat(client.send(HttpRequest.newBuilder(url).DELETE().build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(401);
            HttpResponse<String> compute = client.send(HttpRequest.newBuilder(url).DELETE().header(BearerToken.HEADER,
                    BearerToken.headerValue(auth.computeToken(tl, "compute-main"))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(compute.statusCode()).isEqualTo(403);
            assertThat(compute.body()).contains("\"error\":\"forbidden\"");
            // the compute token of this timeline reads its status; another cluster's token nothing
            assertThat(new SafekeeperClient(sk.url(), auth.computeToken(tl, "compute-main")).status(tl).flushLsn())
                    .isEqualTo("0/1000000");
            ClusterAuth stranger = ClusterAuth.loadOrCreate(root.resolve("other-auth"));
            assertThatThrownBy(() -> new SafekeeperClient(sk.url(), stranger.token(Scope.SAFEKEEPER_DATA, "cli"))
                    .status(tl)).hasMessageContaining("answered 401");
            assertThat(sk.status(tl)).startsWith("term 0 flush 0/1000000");
        }
    }

    /** What {@code ps} shows of a process: its arguments, NUL-separated in /proc. */
    private static String commandLine(ProcessHandle p) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline")),
                    java.nio.charset.StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (java.io.IOException e) {
            return ""; // it exited
        }
    }
}
