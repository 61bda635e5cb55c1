package dev.strata.cli.bench;

import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.cli.local.LocalControlPlane;
import dev.strata.control.compute.ComputeProvisioner;
import dev.strata.control.model.Branch;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.model.Endpoint;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wake through the control plane's real path (run by bench/workflow-wake.sh): a project created by
 * the create-project workflow, loaded with {@code --size-mb} of rows, then {@code --rounds} rounds
 * of the suspend workflow followed by the wake workflow and the first row of a query, all through
 * {@link LocalControlPlane} (the local ASL engine, the real handlers on dynalite, one compute agent
 * over its HTTP API, the cluster's safekeepers and pageserver). One agent, so every wake finds the
 * directory its last suspend left (the timeline has not moved: no basebackup).
 *
 * <p>Each wake is split into the agent's StartPostgres call (take over the term, start PostgreSQL on
 * the reused directory) and the rest (the engine, the handlers' DynamoDB requests, the election,
 * the connection and the query). Baseline in the same round: a stock PostgreSQL 17 with a table of
 * the same size, stopped (fast) and started again, to the first row of the same query; it has no
 * quorum, no election and no control plane.
 * Arguments: {@code --size-mb N} (default 1024), {@code --rounds N} (10).
 */
public final class WorkflowWakeBench {

    public static void main(String[] args) throws Exception {
        long sizeMb = 1024;
        int rounds = 10;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--size-mb" -> sizeMb = Long.parseLong(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path dir = Files.createTempDirectory("strata-wake-bench-");
        try {
            run(dir, sizeMb, rounds);
        } finally {
            // the cluster's data (a gigabyte or more per run) goes with the run
            dev.strata.pgcore.fs.FileTrees.deleteRecursively(dir);
        }
    }

    private static void run(Path dir, long sizeMb, int rounds) throws Exception {
        AtomicLong lastStartNanos = new AtomicLong();
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(dir.resolve("cluster")),
                new LocalCluster.Options(0, false, Duration.ofHours(1)), s -> { });
             LocalControlPlane cp = LocalControlPlane.start(c, dir.resolve("control"), 1, p -> timed(p, lastStartNanos));
             PostgresServer stock = PostgresServer.builder().dataDir(dir.resolve("stock")).start()) {
            ProjectId project = ProjectId.of("p-bench");
            cp.createProject(project);
            Branch main = cp.store().getBranchByName(project, "main").orElseThrow();
            EndpointId ep = cp.store().listEndpoints(project).getFirst().id();
            Endpoint running = cp.wake(project, main.id(), ep);
            long t = System.nanoTime();
            try (Connection conn = cp.connect(running)) {
                load(conn, sizeMb);
            }
            try (Connection conn = DriverManager.getConnection(stock.jdbcUrl("postgres"), stock.user(), stock.password())) {
                load(conn, sizeMb);
            }
            System.out.printf("loaded %d MB into the endpoint and into the stock server in %.1f s%n", sizeMb,
                    (System.nanoTime() - t) / 1e9);
            NodeId agent = running.agent().orElseThrow();
            List<Double> wakes = new ArrayList<>();
            List<Double> starts = new ArrayList<>();
            List<Double> rests = new ArrayList<>();
            List<Double> suspends = new ArrayList<>();
            List<Double> stocks = new ArrayList<>();
            List<Double> ratios = new ArrayList<>();
            for (int r = 1; r <= rounds; r++) {
                long s0 = System.nanoTime();
                cp.suspend(project, ep, agent);
                double suspend = (System.nanoTime() - s0) / 1e6;
                long w0 = System.nanoTime();
                Endpoint woken = cp.wake(project, main.id(), ep);
                try (Connection conn = cp.connect(woken)) {
                    firstRow(conn);
                }
                double wake = (System.nanoTime() - w0) / 1e6;
                double start = lastStartNanos.get() / 1e6;
                agent = woken.agent().orElseThrow();

                stock.stop();
                long b0 = System.nanoTime();
                stock.start();
                try (Connection conn = DriverManager.getConnection(stock.jdbcUrl("postgres"), stock.user(),
                        stock.password())) {
                    firstRow(conn);
                }
                double baseline = (System.nanoTime() - b0) / 1e6;
                wakes.add(wake);
                starts.add(start);
                rests.add(wake - start);
                suspends.add(suspend);
                stocks.add(baseline);
                ratios.add(wake / baseline);
                System.out.printf("round %2d: wake %6.0f ms (agent start %5.0f, workflow+election+connect %5.0f); "
                        + "suspend %5.0f ms; stock restart %5.0f ms; ratio %.2fx%n", r, wake, start, wake - start, suspend,
                        baseline, wake / baseline);
            }
            System.out.printf("%nwake to first row through the workflow (%d MB, directory reused): p50 %.0f ms, p99 %.0f ms%n",
                    sizeMb, ComputeStartBench.pct(wakes, 50), ComputeStartBench.pct(wakes, 99));
            System.out.printf("  of which the agent's StartPostgres p50 %.0f ms; the rest (engine, handlers on dynalite, "
                    + "election, connect, query) p50 %.0f ms (%.0f%% of the median wake)%n", ComputeStartBench.pct(starts, 50),
                    ComputeStartBench.pct(rests, 50), 100 * ComputeStartBench.pct(rests, 50) / ComputeStartBench.pct(wakes, 50));
            System.out.printf("suspend workflow p50 %.0f ms, p99 %.0f ms%n", ComputeStartBench.pct(suspends, 50), ComputeStartBench.pct(suspends, 99));
            System.out.printf("stock PostgreSQL 17 restart to first row p50 %.0f ms; wake / stock restart, median of "
                    + "per-round ratios: %.2fx%n", ComputeStartBench.pct(stocks, 50), ComputeStartBench.pct(ratios, 50));
        }
    }

    /** The provisioner, timing each StartPostgres call (the agent's share of a wake). */
    private static ComputeProvisioner timed(ComputeProvisioner p, AtomicLong lastStartNanos) {
        return new ComputeProvisioner() {
            @Override
            public String launchAgent(NodeId id) {
                return p.launchAgent(id);
            }

            @Override
            public String startPostgres(ComputeAgent agent, EndpointId endpoint, TimelineId timeline, long term, Lsn startLsn) {
                long t0 = System.nanoTime();
                try {
                    return p.startPostgres(agent, endpoint, timeline, term, startLsn);
                } finally {
                    lastStartNanos.set(System.nanoTime() - t0);
                }
            }

            @Override
            public void stopPostgres(ComputeAgent agent, EndpointId endpoint) {
                p.stopPostgres(agent, endpoint);
            }

            @Override
            public int sessions(ComputeAgent agent, EndpointId endpoint) {
                return p.sessions(agent, endpoint);
            }

            @Override
            public void retireAgent(ComputeAgent agent) {
                p.retireAgent(agent);
            }
        };
    }

    private static void load(Connection conn, long sizeMb) throws Exception {
        try (Statement s = conn.createStatement()) {
            s.execute("CREATE TABLE bench (id bigint PRIMARY KEY, pad text)");
            ComputeStartBench.copyRows(conn, sizeMb, false);
        }
    }

    private static void firstRow(Connection conn) throws SQLException {
        try (Statement s = conn.createStatement(); ResultSet r = s.executeQuery("SELECT id FROM bench WHERE id = 42")) {
            if (!r.next()) {
                throw new IllegalStateException("row 42 is missing");
            }
        }
    }
}
