package dev.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.control.storage.BranchTarget;
import dev.strata.cli.local.ClusterClient;
import dev.strata.cli.local.ClusterControlPlane;
import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.pgcore.lsn.Lsn;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `strata up` runs the control plane (decision 0029), on real parts: the local cluster started as
 * `up` starts it wakes the main endpoint through the wake workflow (a START_COMPUTE operation
 * SUCCEEDED in `strata operation list --json`, which talks to the API `up` started, found through
 * {@code control-api.url} and {@code auth/controlapi.token}), and so does a connection through
 * the proxy after an idle suspend;
 * idle, the endpoint is suspended by the suspend workflow; a compute killed with SIGKILL while the
 * metadata says RUNNING is replaced on the next connection; a restart on the same directory keeps
 * the metadata and the rows, and the endpoint wakes again.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UpControlPlaneTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration DEADLINE = Duration.ofMinutes(2);

    @TempDir
    Path tmp;

    @Test
    void connectionsWakeTheEndpointThroughTheWorkflowsAcrossAKilledComputeAndARestart() throws Exception {
        ClusterLayout layout = new ClusterLayout(tmp.resolve("cluster"));
        LocalCluster.Options options = new LocalCluster.Options(0, false, Duration.ofSeconds(3))
                .withControlPlane(true);
        Map<String, String> env = Map.of("STRATA_DATA_DIR", layout.root().toString());
        try (LocalCluster c = LocalCluster.start(layout, options, s -> { })) {
            ClusterControlPlane cp = c.controlPlane().orElseThrow();
            assertThat(Files.readString(c.controlApiUrlFile()).trim()).isEqualTo(cp.apiUrl().toString());
            Path token = layout.authDir().resolve("controlapi.token");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(token))).isEqualTo("rw-------");
            // up is ready once main answers: it woke it through the wake workflow
            assertThat(endpoint(cp).state()).isEqualTo(EndpointState.RUNNING);
            assertThat(operations(env)).contains("START_COMPUTE SUCCEEDED");

            try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE t (v int)");
                s.execute("INSERT INTO t SELECT generate_series(1, 100)");
            }
            assertThat(endpoint(cp).state()).isEqualTo(EndpointState.RUNNING);
            assertThat(operations(env)).contains("START_COMPUTE SUCCEEDED");
            // the agent's compute shows its commit path in the status, as a compute the cluster
            // runs itself does (backpressure, wedges, each safekeeper's position)
            assertThat(c.statusReport()).contains("compute (endpoint main): running on agent agent-1")
                    .contains("commit path: insert").contains("sk-1");

            // idle (3 s without a connection): the proxy suspends it through the suspend workflow
            await("the endpoint suspended when idle", () -> endpoint(cp).state() == EndpointState.SUSPENDED);
            await("a SUSPEND_COMPUTE operation SUCCEEDED", () -> operations(env).contains("SUSPEND_COMPUTE SUCCEEDED"));
            assertThat(count(c)).isEqualTo(100);

            // the compute dies under the metadata's RUNNING: replaced (by the supervisor or by the next
            // connection, whichever comes first), on the same agent, directory and port as before
            Endpoint running = endpoint(cp);
            assertThat(running.state()).isEqualTo(EndpointState.RUNNING);
            assertThat(running.agent().orElseThrow().toString()).isEqualTo("agent-1");
            long pid = postmasterPid(layout);
            ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
            new ProcessBuilder("kill", "-9", Long.toString(pid)).inheritIO().start().waitFor();
            postmaster.onExit().get(30, TimeUnit.SECONDS);
            assertThat(count(c)).isEqualTo(100);
            await("the endpoint RUNNING on a new compute", () -> endpoint(cp).state() == EndpointState.RUNNING
                    && cp.agent(endpoint(cp).agent().orElseThrow()) != null);
            assertThat(postmasterPid(layout)).isNotEqualTo(pid);
            assertThat(endpoint(cp).address()).isEqualTo(running.address());
            assertThat(operations(env)).contains("START_COMPUTE SUCCEEDED").doesNotContain("FAILED");

            // a restore of main (the cluster's own operation) moves the metadata's branch and the
            // compute, through the workflows, to the restored timeline
            Lsn before;
            try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
                ResultSet r = s.executeQuery("SELECT pg_current_wal_flush_lsn()");
                r.next();
                before = Lsn.parse(r.getString(1));
                s.execute("INSERT INTO t SELECT generate_series(1, 50)");
            }
            assertThat(count(c)).isEqualTo(150);
            LocalCluster.Restored restored = c.restore(LocalCluster.BRANCH, new BranchTarget.AtLsn(before), null);
            assertThat(cp.store().getBranch(ClusterControlPlane.PROJECT, ClusterControlPlane.MAIN_BRANCH).orElseThrow()
                    .timeline()).isEqualTo(restored.branch().timeline());
            assertThat(endpoint(cp).state()).isEqualTo(EndpointState.RUNNING);
            assertThat(count(c)).isEqualTo(100);
        }

        // a restart on the same directory: the metadata and its operations are kept, the endpoint
        // suspended by the clean stop (the suspend workflow) is woken by the next connection
        List<String> before;
        try (LocalCluster c = LocalCluster.start(layout, options, s -> { })) {
            ClusterControlPlane cp = c.controlPlane().orElseThrow();
            before = operationIds(env);
            assertThat(before).isNotEmpty();
            assertThat(count(c)).isEqualTo(100);
            assertThat(endpoint(cp).state()).isEqualTo(EndpointState.RUNNING);
            List<String> after = operationIds(env);
            assertThat(after).containsAll(before);
            assertThat(operations(env)).doesNotContain("RUNNING").doesNotContain("SCHEDULED");
        }
    }

    private static Endpoint endpoint(ClusterControlPlane cp) {
        return cp.store().getEndpoint(ClusterControlPlane.MAIN_ENDPOINT).orElseThrow();
    }

    private static long count(LocalCluster c) throws Exception {
        try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement();
             ResultSet r = s.executeQuery("SELECT count(*) FROM t")) {
            r.next();
            return r.getLong(1);
        }
    }

    /** The main endpoint's compute is where it always was: agent-1 runs it in computes/main/pgdata. */
    private static long postmasterPid(ClusterLayout layout) throws Exception {
        Path pidFile = layout.computeDataDir(LocalCluster.ENDPOINT).resolve("postmaster.pid");
        return Long.parseLong(Files.readAllLines(pidFile).getFirst().trim());
    }

    /** Each operation of the cluster's project as "KIND STATE", one a line, from `strata operation list --json`. */
    private static String operations(Map<String, String> env) {
        StringBuilder out = new StringBuilder();
        for (JsonNode op : list(env)) {
            out.append(op.get("kind").asText()).append(' ').append(op.get("state").asText()).append('\n');
        }
        return out.toString();
    }

    private static List<String> operationIds(Map<String, String> env) {
        List<String> ids = new ArrayList<>();
        list(env).forEach(op -> ids.add(op.get("id").asText()));
        return ids;
    }

    private static JsonNode list(Map<String, String> env) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new ApiCommands(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), env, Clock.systemUTC())
                .run(new String[] {"operation", "list", "--project", LocalCluster.PROJECT, "--json"});
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        try {
            return JSON.readTree(out.toString(StandardCharsets.UTF_8));
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + out, e);
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + DEADLINE + ": " + what);
            }
            Thread.sleep(100);
        }
    }
}
