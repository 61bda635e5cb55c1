package dev.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.cli.local.ClusterClient;
import dev.strata.cli.local.ClusterControlPlane;
import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.cli.local.PrivateFiles;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.metadata.MetadataTable;
import dev.strata.control.model.Branch;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `strata branch|restore|connect` through the control-plane API that `up` runs (issue 15), on a
 * real cluster: branches made at an LSN and at a time by the create-branch workflow (CREATE_BRANCH
 * SUCCEEDED in `strata operation list`), each with its endpoint in the metadata, woken through the
 * proxy by the wake workflow on the connection string `strata connect` prints; each sees exactly
 * the rows of its point, and its writes stay on it; `branch list --json` reads the metadata; the
 * errors name what is wrong (a taken name, an unknown branch, a time before the first commit, a
 * restore of a branch with children); deletes; a restore of main to a time and its undo from the
 * backup branch, through the API. Then a clean stop leaves no endpoint RUNNING in the metadata, and
 * a restart on the same directory serves main's restored state and a branch the workflow made.
 */
@Timeout(value = 20, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BranchApiOnClusterTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAKE_DEADLINE = Duration.ofMinutes(3);
    private static final Pattern BACKUP = Pattern.compile("its previous state is branch '([^']+)'");

    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    @Test
    void branchesAndRestoresGoThroughTheControlPlaneApi() throws Exception {
        ClusterLayout layout = new ClusterLayout(tmp.resolve("cluster"));
        LocalCluster.Options options = new LocalCluster.Options(0, false, Duration.ofSeconds(600))
                .withControlPlane(true);
        String dir = layout.root().toString();
        String lsn100;
        Instant t100;
        String atTimeEndpoint;
        String lateEndpoint;
        try (LocalCluster c = LocalCluster.start(layout, options, s -> { })) {
            ready(layout, c);
            ClusterControlPlane cp = c.controlPlane().orElseThrow();
            try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE t (v int)");
                s.execute("INSERT INTO t SELECT generate_series(1, 100)");
                lsn100 = one(s, "SELECT pg_current_wal_flush_lsn()");
                Thread.sleep(50);
                t100 = Instant.parse(one(s, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                        + "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"));
                Thread.sleep(50); // the next commit's timestamp is after t100
                s.execute("INSERT INTO t SELECT generate_series(101, 150)");
            }

            // at an LSN, --json: the branch as the metadata has it; the progress on stderr
            Run atLsn = cli("branch", "create", "at-lsn", "--at", lsn100, "--json", "--data-dir", dir);
            assertThat(atLsn.code()).as(atLsn.toString()).isZero();
            assertThat(atLsn.err()).contains("CREATE_BRANCH: SCHEDULED").contains(": SUCCEEDED");
            JsonNode made = JSON.readTree(atLsn.out());
            assertThat(made.get("name").asText()).isEqualTo("at-lsn");
            assertThat(made.get("parentName").asText()).isEqualTo("main");
            assertThat(made.get("state").asText()).isEqualTo("READY");
            assertThat(made.get("endpoint").asText()).startsWith("ep-");
            Branch inMetadata = cp.store().getBranchByName(ClusterControlPlane.PROJECT, "at-lsn").orElseThrow();
            assertThat(inMetadata.id().toString()).isEqualTo(made.get("id").asText());

            // at a time, text: progress on stdout, then the connection string
            Run atTime = cli("branch", "create", "at-time", "--parent", "main", "--at", t100.toString(), "--data-dir", dir);
            assertThat(atTime.code()).as(atTime.toString()).isZero();
            assertThat(atTime.out()).contains("operation ").contains("SUCCEEDED").contains("created from 'main'")
                    .contains("options=endpoint%3Dep-");

            // connect: through the proxy, woken by the wake workflow; exactly the rows of the point
            String lsnUri = cli("connect", "at-lsn", "--data-dir", dir).out().trim();
            assertThat(lsnUri).contains("options=endpoint%3D" + made.get("endpoint").asText());
            try (Connection conn = connectWaking(lsnUri); Statement s = conn.createStatement()) {
                assertThat(count(s)).as("the branch at the LSN after 100 rows").isEqualTo(100);
                s.execute("INSERT INTO t SELECT generate_series(1, 5)");
                assertThat(count(s)).isEqualTo(105);
            }
            assertThat(countMain(c)).as("the branch's writes are not on main").isEqualTo(150);
            Run connectJson = cli("connect", "at-time", "--json", "--data-dir", dir);
            assertThat(connectJson.code()).as(connectJson.toString()).isZero();
            JsonNode timeConn = JSON.readTree(connectJson.out());
            atTimeEndpoint = timeConn.get("endpoint").asText();
            try (Connection conn = connectWaking(timeConn.get("connection").asText());
                 Statement s = conn.createStatement()) {
                assertThat(count(s)).as("the branch at the time after 100 rows").isEqualTo(100);
            }
            assertThat(cp.store().getEndpoint(dev.strata.pgcore.id.EndpointId.of(atTimeEndpoint)).orElseThrow().state())
                    .isEqualTo(EndpointState.RUNNING);

            // list --json from the metadata; the operations
            JsonNode list = JSON.readTree(cli("branch", "list", "--json", "--data-dir", dir).out());
            List<String> names = new ArrayList<>();
            list.forEach(b -> names.add(b.get("name").asText()));
            assertThat(names).containsExactly("main", "at-lsn", "at-time");
            assertThat(list.get(1).get("endpointState").asText()).isEqualTo("RUNNING");
            assertThat(list.get(1).get("branchLsn").isNull()).isFalse();
            String ops = operations(layout);
            assertThat(ops).contains("CREATE_BRANCH SUCCEEDED " + list.get(0).get("id").asText());
            assertThat(ops.lines().filter(l -> l.startsWith("CREATE_BRANCH SUCCEEDED")).count()).isEqualTo(2);
            assertThat(ops).contains("START_COMPUTE SUCCEEDED " + made.get("id").asText());
            Run text = cli("branch", "list", "--data-dir", dir);
            assertThat(text.out()).contains("NAME").contains("at-lsn").contains("ENDPOINTSTATE");

            // errors name what is wrong; exit 1
            Run taken = cli("branch", "create", "at-lsn", "--data-dir", dir);
            assertThat(taken.code()).isEqualTo(1);
            assertThat(taken.err()).contains("already has a branch named 'at-lsn'");
            Run unknown = cli("branch", "delete", "nope", "--data-dir", dir);
            assertThat(unknown.code()).isEqualTo(1);
            assertThat(unknown.err()).contains("no branch 'nope'").contains("at-lsn");
            Run early = cli("branch", "create", "early", "--at", "2000-01-01T00:00:00Z", "--data-dir", dir);
            assertThat(early.code()).as(early.toString()).isEqualTo(1);
            assertThat(early.err()).contains("failed").contains("before the first commit");
            assertThat(cp.store().getBranchByName(ClusterControlPlane.PROJECT, "early")).isEmpty();

            // a branch with children is not restored: the refusal names them
            Run refused = cli("restore", "main", "--to", t100.toString(), "--data-dir", dir);
            assertThat(refused.code()).as(refused.toString()).isEqualTo(1);
            assertThat(refused.err()).contains("cannot be restored while it has child branches").contains("'at-lsn'")
                    .doesNotContain("errorType");

            // delete (their endpoints run: the delete-branch workflow stops them)
            for (String b : List.of("at-lsn", "at-time")) {
                Run delete = cli("branch", "delete", b, "--data-dir", dir);
                assertThat(delete.code()).as(delete.toString()).isZero();
                assertThat(delete.out()).contains("branch '" + b + "' deleted");
                assertThat(cp.store().getBranchByName(ClusterControlPlane.PROJECT, b)).isEmpty();
            }
            assertThat(cp.store().listEndpoints(ClusterControlPlane.PROJECT)).extracting(e -> e.id().toString())
                    .containsExactly(ClusterControlPlane.MAIN_ENDPOINT.toString());
            assertThat(operations(layout)).contains("DELETE_BRANCH SUCCEEDED " + made.get("id").asText());

            // restore main to the time after 100 rows, then undo it from the backup
            Run restore = cli("restore", "main", "--to", t100.toString(), "--data-dir", dir);
            assertThat(restore.code()).as(restore.toString()).isZero();
            Matcher m = BACKUP.matcher(restore.out());
            assertThat(m.find()).as(restore.out()).isTrue();
            String backup = m.group(1);
            assertThat(backup).startsWith("main_old_");
            assertThat(countMain(c)).as("main as of the time after 100 rows").isEqualTo(100);
            assertThat(operations(layout)).contains("RESTORE_BRANCH SUCCEEDED");
            Run undo = cli("restore", "main", "--from", backup, "--json", "--data-dir", dir);
            assertThat(undo.code()).as(undo.toString()).isZero();
            assertThat(JSON.readTree(undo.out()).get("backup").asText()).startsWith("main_old_");
            assertThat(countMain(c)).as("main as it was before the restore").isEqualTo(150);

            // a branch of the undone main, written, kept for the restart below
            Run late = cli("branch", "create", "late", "--json", "--data-dir", dir);
            assertThat(late.code()).as(late.toString()).isZero();
            lateEndpoint = JSON.readTree(late.out()).get("endpoint").asText();
            try (Connection conn = connectWaking(cli("connect", "late", "--data-dir", dir).out().trim());
                 Statement s = conn.createStatement()) {
                assertThat(count(s)).isEqualTo(150);
                s.execute("INSERT INTO t VALUES (0)");
            }
            assertThat(operations(layout)).doesNotContain("RUNNING").doesNotContain("SCHEDULED");
            assertThat(cp.store().listEndpoints(ClusterControlPlane.PROJECT)).extracting(Endpoint::state)
                    .containsOnly(EndpointState.RUNNING); // main and late, for the stop below

            // another project: the same commands with --project, its branches apart from the cluster's
            Run shop = cli("project", "create", "shop", "--id", "p-shop", "--data-dir", dir);
            assertThat(shop.code()).as(shop.toString()).isZero();
            Run shopDev = cli("branch", "create", "dev", "--project", "p-shop", "--json", "--data-dir", dir);
            assertThat(shopDev.code()).as(shopDev.toString()).isZero();
            assertThat(JSON.readTree(shopDev.out()).get("parentName").asText()).isEqualTo("main");
            try (Connection conn = connectWaking(cli("connect", "dev", "--project", "p-shop", "--data-dir", dir)
                    .out().trim()); Statement s = conn.createStatement()) {
                assertThat(one(s, "SELECT count(*) FROM pg_class WHERE relname = 't'")).as("p-shop has no table t")
                        .isEqualTo("0");
                s.execute("CREATE TABLE shop (v int)");
            }
            assertThat(cli("branch", "list", "--project", "p-shop", "--data-dir", dir).out()).contains("dev")
                    .contains("main");
            assertThat(cli("branch", "list", "--data-dir", dir).out()).doesNotContain("dev");
            Run noProject = cli("branch", "list", "--project", "p-none", "--data-dir", dir);
            assertThat(noProject.code()).as(noProject.toString()).isEqualTo(1);
            assertThat(noProject.err()).contains("p-none");
            // one list of branches: the admin port refuses to make one beside the metadata's
            dev.strata.cli.local.BranchAdmin admin = new dev.strata.cli.local.BranchAdmin(c);
            var refusedHere = admin.handle("POST", List.of("branches"), Map.of("name", "beside"));
            assertThat(refusedHere.status()).isEqualTo(409);
            assertThat(refusedHere.body()).contains("runs the control plane");
            assertThat(admin.handle("DELETE", List.of("branches", "late"), Map.of()).status()).isEqualTo(409);
            assertThat(admin.handle("GET", List.of("branches"), Map.of()).status()).isEqualTo(200);
            Run notThere = cli("connect", "late", "--project", "p-shop", "--data-dir", dir);
            assertThat(notThere.code()).isEqualTo(1);
            assertThat(notThere.err()).contains("no branch 'late' in project p-shop (branches: ");
        }

        // a clean stop suspended every endpoint through the suspend workflow
        try (LocalDynamo dynamo = LocalDynamo.start(layout.dynamoDir())) {
            MetadataStore store = new MetadataStore(dynamo.client(), MetadataTable.DEFAULT_NAME);
            assertThat(store.listEndpoints(ClusterControlPlane.PROJECT)).isNotEmpty()
                    .allSatisfy(e -> assertThat(e.state()).as(e.id().toString()).isEqualTo(EndpointState.SUSPENDED));
        }

        // a restart: main restored through the API stays restored-and-undone (the cluster follows the
        // metadata), and the branch the workflow made is served again
        try (LocalCluster c = LocalCluster.start(layout, options, s -> { })) {
            ready(layout, c);
            ClusterControlPlane cp = c.controlPlane().orElseThrow();
            assertThat(c.timeline()).isEqualTo(cp.store().getBranch(ClusterControlPlane.PROJECT,
                    ClusterControlPlane.MAIN_BRANCH).orElseThrow().timeline());
            assertThat(countMain(c)).isEqualTo(150);
            String uri = cli("connect", "late", "--data-dir", dir).out().trim();
            assertThat(uri).contains(lateEndpoint);
            try (Connection conn = connectWaking(uri); Statement s = conn.createStatement()) {
                assertThat(count(s)).isEqualTo(151);
            }
        }
    }

    /** What `strata up` writes once ready: main's connection string (which `connect` rewrites for a branch). */
    private static void ready(ClusterLayout layout, LocalCluster c) throws Exception {
        Files.createDirectories(layout.readyFile().getParent());
        Files.deleteIfExists(layout.readyFile());
        PrivateFiles.writeSecret(layout.readyFile(), c.connectionString() + "\n");
    }

    private static Run cli(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new StrataCli(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(argv);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Each operation as "KIND STATE BRANCH ENDPOINT", one a line, from `strata operation list --json`. */
    private static String operations(ClusterLayout layout) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new ApiCommands(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                Map.of("STRATA_DATA_DIR", layout.root().toString()), Clock.systemUTC())
                .run(new String[] {"operation", "list", "--project", LocalCluster.PROJECT, "--json"});
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        StringBuilder sb = new StringBuilder();
        for (JsonNode op : JSON.readTree(out.toString(StandardCharsets.UTF_8))) {
            sb.append(op.get("kind").asText()).append(' ').append(op.get("state").asText()).append(' ')
                    .append(op.path("branch").asText("-")).append(' ').append(op.path("endpoint").asText("-"))
                    .append('\n');
        }
        return sb.toString();
    }

    /**
     * A connection through the proxy to an endpoint that may be suspended: the proxy wakes it through
     * the wake workflow and waits 30 s for it; a branch's first wake may launch a compute agent and
     * take longer on a loaded machine (the workflow goes on), so a refused wait is tried again, as a
     * client would, for up to {@link #WAKE_DEADLINE}.
     */
    private static Connection connectWaking(String uri) throws Exception {
        long deadline = System.nanoTime() + WAKE_DEADLINE.toNanos();
        while (true) {
            try {
                return ClusterClient.connect(uri);
            } catch (java.sql.SQLException e) {
                if (System.nanoTime() > deadline || e.getMessage() == null || !e.getMessage().contains("did not start")) {
                    throw e;
                }
                Thread.sleep(1000);
            }
        }
    }

    private static long countMain(LocalCluster c) throws Exception {
        try (Connection conn = connectWaking(c.connectionString()); Statement s = conn.createStatement()) {
            return count(s);
        }
    }

    private static long count(Statement s) throws Exception {
        return Long.parseLong(one(s, "SELECT count(*) FROM t"));
    }

    private static String one(Statement s, String sql) throws Exception {
        try (ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getString(1);
        }
    }
}
