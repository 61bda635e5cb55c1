package dev.strata.cli.local;

import static dev.strata.cli.local.ClusterClient.connect;
import static dev.strata.cli.local.ClusterClient.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.compute.node.ComputeState;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's "done when", the S3 outage: a 60 s outage of the object store under a writing
 * load, through the whole local cluster (compute, proxy, three safekeepers, the pageserver as a
 * child process, S3Proxy). During it commits keep being acknowledged (neither ingest nor the
 * commit path waits for S3), the pageserver's remote-consistent LSN and the safekeepers'
 * offloaded LSN stand still, and no safekeeper removes WAL above either; after it both catch up
 * to the flush LSN of the outage's end and every acknowledged row is there. Then the proof that
 * what S3 holds is whole: the pageserver is killed with kill -9, its directory deleted, and the
 * timeline attached from S3 under a new generation; no acknowledged commit is lost, amcheck
 * clean.
 *
 * <p>The outage is a FAULT INJECTED on real sockets, which a real S3 cannot produce on demand:
 * S3Proxy is stopped (its open connections cut mid-request), and while it is down its port is
 * held by a listener that accepts and at once closes every connection (so no other process can
 * take the port meanwhile, and a client sees a reset, as an unreachable S3 endpoint behind a
 * load balancer); after 60 s S3Proxy starts again on the same port and directory.
 */
@Timeout(value = 9, unit = TimeUnit.MINUTES)
class S3OutageTest {

    private static final Pattern REMOTE = Pattern.compile("S3: remote-consistent ([0-9A-F]+/[0-9A-F]+) \\(generation (\\d+)\\)");
    private static final Pattern SK = Pattern.compile(
            "flush ([0-9A-F]+/[0-9A-F]+) commit ([0-9A-F]+/[0-9A-F]+)(?: offloaded ([0-9A-F]+/[0-9A-F]+) \\(backlog \\d+ MiB\\))? "
                    + "WAL from ([0-9A-F]+/[0-9A-F]+)");
    private static final long SEGMENT = 16L << 20;
    private static final Duration OUTAGE = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    /** One safekeeper's positions from its status line. */
    private record SkPos(String id, Lsn flush, Lsn offloaded, Lsn walFrom) {
    }

    @Test
    void aSixtySecondS3OutageLosesNothingAndUploadsCatchUp() throws Exception {
        LocalCluster.Options options = new LocalCluster.Options(0, true, Duration.ofSeconds(600)).withSafekeepersInProcess();
        ClusterLayout layout = new ClusterLayout(tmp.resolve("cluster"));
        try (LocalCluster c = LocalCluster.start(layout, options, s -> { })) {
            ClusterClient.Writers writers = new ClusterClient.Writers(c, 2);
            writers.progress(30, Duration.ofSeconds(90), "before the outage");
            // A segment or more of WAL so that offload has begun, and S3 holds an index.
            writeBallast(c, SEGMENT + (1L << 20));
            waitFor(() -> remote(c).isValid() && offloadedMin(c).isValid(), Duration.ofSeconds(120),
                    "a remote-consistent and an offloaded LSN before the outage; status:\n" + c.statusReport());
            long generation = generation(c);

            // ---- the outage
            int port = c.stopObjectStore();
            long outageStart = System.nanoTime();
            Lsn remoteAtStart;
            Lsn offloadedAtStart;
            int ackedAtStart;
            try (ServerSocket refuser = refuse(port)) {
                assertThat(refuser.getLocalPort()).isEqualTo(port);
                // Whatever request was in flight when S3Proxy stopped has failed or finished by now.
                Thread.sleep(3000);
                remoteAtStart = remote(c);
                offloadedAtStart = offloadedMax(c);
                ackedAtStart = writers.size();
                // Three segments and more of WAL while S3 is down: without the retention rule the
                // safekeepers would remove segments the pageserver has flushed to its own disk.
                Lsn before = maxFlush(c);
                writeBallast(c, 3 * SEGMENT + (1L << 20));
                assertThat(maxFlush(c).minus(before)).as("WAL written and committed during the outage")
                        .isGreaterThan(3 * SEGMENT);
                int samples = 0;
                do {
                    checkStalledAndRetained(c, remoteAtStart, offloadedAtStart);
                    samples++;
                    Thread.sleep(1000);
                } while (System.nanoTime() - outageStart < OUTAGE.toNanos());
                checkStalledAndRetained(c, remoteAtStart, offloadedAtStart);
                assertThat(samples).isPositive();
                assertThat(writers.size() - ackedAtStart).as("commits acknowledged during the outage")
                        .isGreaterThanOrEqualTo(50);
                assertThat(c.pageserver().status(c.timeline()).getFirst()).startsWith("active");
            }
            Lsn flushAtEnd = maxFlush(c);
            assertThat(flushAtEnd.minus(offloadedAtStart)).as("offload backlog at the outage's end")
                    .isGreaterThanOrEqualTo(3 * SEGMENT);
            assertThat(flushAtEnd.minus(remoteAtStart)).as("WAL not in S3's layers at the outage's end")
                    .isGreaterThanOrEqualTo(3 * SEGMENT);
            int ackedAtEnd = writers.size();
            c.startObjectStore(port);
            long outageEnd = System.nanoTime();

            // ---- after it: uploads and offload catch up, to the flush LSN of the outage's end
            // (offload to the last complete segment below it), while the writers go on.
            Lsn offloadTarget = Lsn.of(flushAtEnd.value() / SEGMENT * SEGMENT);
            waitFor(() -> remote(c).compareTo(flushAtEnd) >= 0 && offloadedMin(c).compareTo(offloadTarget) >= 0,
                    Duration.ofSeconds(240), "remote-consistent >= " + flushAtEnd + " and offloaded >= " + offloadTarget
                            + " after the outage; status:\n" + c.statusReport());
            assertThat(generation(c)).isEqualTo(generation);
            System.out.printf("S3OutageTest: %d commits acknowledged during the outage, %.1f MB of WAL not offloaded and "
                            + "%.1f MB not in S3's layers at its end, caught up %.1f s after it%n",
                    ackedAtEnd - ackedAtStart, flushAtEnd.minus(offloadedAtStart) / 1e6,
                    flushAtEnd.minus(remoteAtStart) / 1e6, (System.nanoTime() - outageEnd) / 1e9);
            assertThat(missing(c, Set.copyOf(writers.acknowledged))).as("acknowledged rows missing after the outage")
                    .isEmpty();

            // ---- the proof: what S3 holds is the whole history up to there
            c.pageserver().kill();
            FileTrees.deleteRecursively(layout.pageserverDir());
            c.restartPageserver();
            assertThat(generation(c)).as("attached under a new generation").isEqualTo(generation + 1);
            assertThat(c.pageserver().status(c.timeline()).getFirst()).startsWith("active");
            c.stopCompute();
            c.startCompute();
            waitFor(() -> c.compute().state() == ComputeState.RUNNING, Duration.ofSeconds(90), "the new compute");
            writers.progress(20, Duration.ofSeconds(90), "after the attach");
            assertThat(writers.stopAndFindLost(c)).as("acknowledged commits lost").isEmpty();
        }
    }

    /**
     * Holds {@code port} while S3 is down: accepts every connection and closes it at once.
     * Retried briefly, since S3Proxy's listener may take a moment to let go of the port.
     */
    private static ServerSocket refuse(int port) throws Exception {
        ServerSocket s = null;
        for (int i = 0; s == null; i++) {
            try {
                ServerSocket candidate = new ServerSocket();
                candidate.setReuseAddress(true);
                try {
                    candidate.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
                } catch (IOException e) {
                    candidate.close();
                    throw e;
                }
                s = candidate;
            } catch (IOException e) {
                if (i >= 100) {
                    throw new AssertionError("cannot hold the object store's port " + port + " during the outage", e);
                }
                Thread.sleep(100);
            }
        }
        ServerSocket held = s;
        Thread.ofPlatform().daemon().name("s3-outage").start(() -> {
            while (!held.isClosed()) {
                try (Socket client = held.accept()) {
                    client.setSoLinger(true, 0); // a reset, not an orderly close
                } catch (IOException e) {
                    // closed: the outage is over
                }
            }
        });
        return held;
    }

    /** Remote-consistent and offloaded LSNs as at the outage's start; no WAL removed above either. */
    private static void checkStalledAndRetained(LocalCluster c, Lsn remoteAtStart, Lsn offloadedAtStart) {
        assertThat(remote(c)).as("the remote-consistent LSN during the outage").isEqualTo(remoteAtStart);
        for (SkPos p : safekeepers(c)) {
            // A member may still learn the uploader's offloaded LSN from gossip, never more.
            assertThat(p.offloaded()).as("%s's offloaded LSN during the outage", p.id())
                    .isLessThanOrEqualTo(offloadedAtStart);
            assertThat(p.walFrom()).as("%s's WAL on disk during the outage begins at or below min(remote-consistent "
                    + "%s, its offloaded %s)", p.id(), remoteAtStart, p.offloaded())
                    .isLessThanOrEqualTo(Lsn.min(remoteAtStart, p.offloaded()));
        }
    }

    /** Bulk inserts into {@code ballast} until at least {@code bytes} of WAL were written. */
    private static void writeBallast(LocalCluster c, long bytes) throws Exception {
        try (Connection conn = connect(c); Statement s = conn.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS ballast (id int, v text)");
            Lsn start = insertLsn(s);
            while (insertLsn(s).minus(start) < bytes) {
                s.execute("INSERT INTO ballast SELECT g, repeat('y', 200) FROM generate_series(1, 20000) g");
            }
        }
    }

    private static Lsn insertLsn(Statement s) throws Exception {
        try (ResultSet rs = s.executeQuery("SELECT pg_current_wal_insert_lsn()")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    /** Which of {@code acked} are not in table {@code acked}. */
    private static Set<Long> missing(LocalCluster c, Set<Long> acked) throws Exception {
        Set<Long> present = new HashSet<>();
        try (Connection conn = connect(c); Statement s = conn.createStatement();
             ResultSet rs = s.executeQuery("SELECT id FROM acked")) {
            while (rs.next()) {
                present.add(rs.getLong(1));
            }
        }
        Set<Long> out = new HashSet<>(acked);
        out.removeAll(present);
        return out;
    }

    private static Matcher remoteLine(LocalCluster c) {
        for (String line : c.pageserver().status(c.timeline())) {
            Matcher m = REMOTE.matcher(line);
            if (m.find()) {
                return m;
            }
        }
        throw new AssertionError("no S3 line in the pageserver's status: " + c.pageserver().status(c.timeline()));
    }

    private static Lsn remote(LocalCluster c) {
        return Lsn.parse(remoteLine(c).group(1));
    }

    private static long generation(LocalCluster c) {
        return Long.parseLong(remoteLine(c).group(2));
    }

    private static List<SkPos> safekeepers(LocalCluster c) {
        return c.safekeepers().stream().map(sk -> {
            String status = sk.status(c.timeline());
            Matcher m = SK.matcher(status);
            if (!m.find()) {
                throw new AssertionError("cannot read the status of " + sk.id() + ": " + status);
            }
            return new SkPos(sk.id().toString(), Lsn.parse(m.group(1)),
                    m.group(3) == null ? Lsn.INVALID : Lsn.parse(m.group(3)), Lsn.parse(m.group(4)));
        }).toList();
    }

    private static Lsn maxFlush(LocalCluster c) {
        return safekeepers(c).stream().map(SkPos::flush).max(Lsn::compareTo).orElseThrow();
    }

    private static Lsn offloadedMin(LocalCluster c) {
        return safekeepers(c).stream().map(SkPos::offloaded).min(Lsn::compareTo).orElseThrow();
    }

    private static Lsn offloadedMax(LocalCluster c) {
        return safekeepers(c).stream().map(SkPos::offloaded).max(Lsn::compareTo).orElseThrow();
    }
}
