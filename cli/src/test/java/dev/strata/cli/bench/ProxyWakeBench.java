package dev.strata.cli.bench;

import dev.strata.cli.local.ClusterClient;
import dev.strata.cli.local.ClusterControlPlane;
import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Wake through the proxy on the path `strata up` runs (decision 0029; bench/proxy-wake.sh): a local
 * cluster with its control plane, {@code --size-mb} of rows loaded through the proxy, then
 * {@code --rounds} rounds of: wait until the proxy's idle sweep has suspended the endpoint through
 * the suspend workflow (idle timeout 2 s), then connect through the proxy and read the first row
 * of a query. Each wake is split into the START_COMPUTE operation (the wake workflow on the local
 * ASL engine, from the API's scheduling to MarkRunning, the agent's start of PostgreSQL included)
 * and the rest (the proxy, the scheduling call, the polling for the operation's end, the
 * connection and the query). The rounds start once the machine is quiet after the load
 * ({@link #settle}). Two agents: a wake may land on either, so the directory is reused
 * from the second round on each.
 * Arguments: {@code --size-mb N} (default 1024), {@code --rounds N} (10).
 */
public final class ProxyWakeBench {

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
        Path dir = Files.createTempDirectory("strata-proxy-wake-bench-");
        try {
            run(dir, sizeMb, rounds);
        } finally {
            // the cluster's data (a gigabyte or more per run) goes with the run
            dev.strata.pgcore.fs.FileTrees.deleteRecursively(dir);
        }
    }

    private static void run(Path dir, long sizeMb, int rounds) throws Exception {
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(dir.resolve("cluster")),
                new LocalCluster.Options(0, false, Duration.ofSeconds(2)).withControlPlane(true), s -> { })) {
            ClusterControlPlane cp = c.controlPlane().orElseThrow();
            long t = System.nanoTime();
            try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE big (id bigint, pad text)");
                for (long mb = 0; mb < sizeMb; mb += 64) {
                    long rows = Math.min(64, sizeMb - mb) * 1024 * 1024 / 1100;
                    s.execute("INSERT INTO big SELECT g, repeat('x', 1000) FROM generate_series(1, " + rows + ") g");
                }
                s.execute("CHECKPOINT");
            }
            System.out.printf("loaded %d MB through the proxy in %.1f s%n", sizeMb, (System.nanoTime() - t) / 1e9);
            settle();
            List<Double> wakes = new ArrayList<>();
            List<Double> workflows = new ArrayList<>();
            List<Double> rests = new ArrayList<>();
            for (int r = 1; r <= rounds; r++) {
                long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
                while (state(cp) != EndpointState.SUSPENDED) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the endpoint was not suspended within 2 min");
                    }
                    Thread.sleep(50);
                }
                Thread.sleep(1500); // the proxy's own state follows the suspend's end
                long w0 = System.nanoTime();
                try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement();
                     ResultSet rs = s.executeQuery("SELECT id FROM big LIMIT 1")) {
                    rs.next();
                }
                double wake = (System.nanoTime() - w0) / 1e6;
                Operation op = cp.store().listOperations(ClusterControlPlane.PROJECT).stream()
                        .filter(o -> o.kind() == OperationKind.START_COMPUTE && o.state() == OperationState.SUCCEEDED)
                        .max(Comparator.comparing(Operation::createdAt)).orElseThrow();
                double workflow = Duration.between(op.createdAt(), op.updatedAt()).toNanos() / 1e6;
                wakes.add(wake);
                workflows.add(workflow);
                rests.add(wake - workflow);
                System.out.printf("round %2d: wake to first row through the proxy %6.0f ms (START_COMPUTE operation "
                        + "%5.0f ms, the rest %5.0f ms)%n", r, wake, workflow, wake - workflow);
            }
            System.out.printf("%nwake to first row through the proxy (%d MB): p50 %.0f ms, p99 %.0f ms%n", sizeMb,
                    ComputeStartBench.pct(wakes, 50), ComputeStartBench.pct(wakes, 99));
            System.out.printf("  the wake workflow (START_COMPUTE scheduled to SUCCEEDED) p50 %.0f ms (%.0f%% of the "
                    + "median wake); the rest p50 %.0f ms%n", ComputeStartBench.pct(workflows, 50),
                    100 * ComputeStartBench.pct(workflows, 50) / ComputeStartBench.pct(wakes, 50),
                    ComputeStartBench.pct(rests, 50));
        }
    }

    /**
     * Waits until the machine is quiet after the load: the pageserver's flushes, compactions and
     * uploads of a gigabyte (and the kernel's write-back) otherwise share the two cores and the
     * disk with the first wakes, which a deployment does not do (the pageserver has its own
     * machine there). Quiet: under 15 % of the machine's CPU for three seconds in a row; at
     * most five minutes, then the rounds run anyway and say so.
     */
    private static void settle() throws InterruptedException {
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long t = System.nanoTime();
        long deadline = t + Duration.ofMinutes(5).toNanos();
        int quiet = 0;
        while (quiet < 3 && System.nanoTime() < deadline) {
            Thread.sleep(1000);
            quiet = os.getCpuLoad() < 0.15 ? quiet + 1 : 0;
        }
        System.out.printf("%s after %.0f s%n", quiet >= 3 ? "the machine was quiet (CPU under 15 % for 3 s)"
                : "the machine was still busy (the rounds run anyway)", (System.nanoTime() - t) / 1e9);
    }

    private static EndpointState state(ClusterControlPlane cp) {
        return cp.store().getEndpoint(ClusterControlPlane.MAIN_ENDPOINT).orElseThrow().state();
    }
}
