package dev.strata.cli.local;

import static dev.strata.cli.local.ClusterClient.waitFor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.compute.node.ComputeState;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.http.Dto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's "done when", for a safekeeper: under a write load one safekeeper (a child process)
 * is killed with kill -9 and its whole directory deleted; it starts again empty, its timeline is
 * created again (empty: it must not vote as if it had WAL) and the compute brings it into the
 * term, where it recovers the WAL it lost from a peer and the object store (docs/safekeeper.md,
 * "WAL offload"). Then another safekeeper is killed, so that no commit can be acknowledged
 * without the recovered one: commits go on, and every commit acknowledged to a client, before,
 * during and after, is there with amcheck clean.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class SafekeeperDiskLossTest {

    @TempDir
    Path tmp;

    @Test
    void aSafekeeperThatLostItsDiskRecoversAndCarriesTheQuorum() throws Exception {
        LocalCluster.Options options = new LocalCluster.Options(0, true, Duration.ofSeconds(300));
        ClusterLayout layout = new ClusterLayout(tmp.resolve("cluster"));
        try (LocalCluster c = LocalCluster.start(layout, options, s -> { })) {
            TimelineId tl = c.timeline();
            LocalSafekeeper lost = c.safekeepers().get(2);
            LocalSafekeeper other = c.safekeepers().get(0);
            assertThat(lost.id().toString()).isEqualTo("sk-3");
            SafekeeperClient api = new SafekeeperClient(other.url(), c.auth().token(Scope.SAFEKEEPER_DATA, "cli"));
            Lsn timelineStart = Lsn.parse(api.status(tl).timelineStartLsn());
            long systemId;
            int segmentSize;
            try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement();
                 ResultSet rs = s.executeQuery("SELECT (SELECT system_identifier FROM pg_control_system()), "
                         + "(SELECT setting::int FROM pg_settings WHERE name = 'wal_segment_size')")) {
                rs.next();
                systemId = rs.getLong(1);
                segmentSize = rs.getInt(2);
            }

            ClusterClient.Writers writers = new ClusterClient.Writers(c, 2);
            // A few segments of WAL, so that some of what sk-3 loses is offloaded to S3 and
            // recovery reads it there (the rest comes from the donor).
            try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE bulk AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 100000) g");
            }
            writers.progress(200, Duration.ofSeconds(90), "before the disk loss");
            waitFor(() -> api.status(tl).offloaded().segmentNumber(segmentSize) >= 2, Duration.ofSeconds(120),
                    "two segments offloaded (" + other.status(tl) + ")");
            Lsn offloaded = api.status(tl).offloaded();

            lost.kill();
            FileTrees.deleteRecursively(layout.safekeeperDir(lost.id().toString()));
            assertThat(Files.exists(layout.safekeeperDir(lost.id().toString()))).isFalse();
            writers.progress(100, Duration.ofSeconds(90), "with sk-3 down (2 of 3)");
            // The compute keeps WAL only from where the old sk-3 stood (its slot): what sk-3 held
            // before must come back from a peer and S3, not from the compute.
            try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
                for (int i = 0; i < 2; i++) {
                    s.execute("SELECT pg_switch_wal()");
                    s.execute("CHECKPOINT");
                }
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_ls_waldir() WHERE name = pg_walfile_name('"
                        + timelineStart + "')")) {
                    rs.next();
                    assertThat(rs.getInt(1)).as("the compute removed the timeline's first segment").isZero();
                }
            }

            // An empty directory: a new identity, and the timeline made again with nothing in it.
            lost.restart();
            lost.createTimeline(tl, systemId, segmentSize, timelineStart);
            Lsn committed = other.positions(tl).commit();
            waitFor(() -> flush(lost, tl).compareTo(committed) >= 0, Duration.ofSeconds(120),
                    "sk-3 recovering the WAL it lost up to " + committed + " (now " + lost.status(tl) + ")");
            int acknowledgedBeforeSecondKill = writers.size();
            Path log = layout.root().resolve("safekeepers").resolve("sk-3.log");
            waitFor(() -> recoveredFromS3(log) >= 0, Duration.ofSeconds(30), "sk-3's log saying what it recovered");
            // How much came from S3 depends on whether sk-3 heard its peers' offloaded LSN before the
            // compute's announcement reached it (both about once a second): logged, not asserted.
            org.slf4j.LoggerFactory.getLogger(SafekeeperDiskLossTest.class).info(
                    "sk-3 recovered {} bytes from object storage (offloaded up to {}), the rest from a peer",
                    recoveredFromS3(log), offloaded);

            // Now sk-1 goes: every further commit needs sk-3's vote and flush.
            other.kill();
            Lsn atKill = flush(lost, tl);
            writers.progress(100, Duration.ofSeconds(120), "with sk-1 down, sk-3 required for the quorum");
            assertThat(flush(lost, tl)).as("sk-3 receives new WAL").isGreaterThan(atKill);
            assertThat(c.safekeepers().get(1).positions(tl).commit()).as("commits go on").isGreaterThan(atKill);
            Dto.Status recovered = new SafekeeperClient(lost.url(), c.auth().token(Scope.SAFEKEEPER_DATA, "cli"))
                    .status(tl);
            assertThat(Lsn.parse(recovered.timelineStartLsn())).isEqualTo(timelineStart);

            // sk-3 and sk-2 hold the same WAL, the part sk-3 lost with its disk included.
            writers.close();
            LocalSafekeeper sk2 = c.safekeepers().get(1);
            Lsn end = sk2.positions(tl).commit();
            waitFor(() -> flush(lost, tl).compareTo(end) >= 0, Duration.ofSeconds(60), "sk-3 flushing " + end);
            byte[] theirs = readWal(c, sk2, tl, timelineStart, end);
            byte[] mine = readWal(c, lost, tl, timelineStart, end);
            assertThat(mine.length).isEqualTo((int) end.minus(timelineStart));
            assertThat(java.util.Arrays.mismatch(mine, theirs)).as("first byte where sk-3's WAL differs from sk-2's")
                    .isEqualTo(-1);

            // A new compute elected by sk-2 and sk-3 alone, started from the pageserver, which
            // read its WAL from them: every acknowledged commit is there.
            c.stopCompute();
            c.startCompute();
            waitFor(() -> c.compute().state() == ComputeState.RUNNING, Duration.ofSeconds(120),
                    "a compute elected by sk-2 and sk-3");
            assertThat(writers.stopAndFindLost(c)).as("acknowledged commits lost with sk-3's disk").isEmpty();
            assertThat(acknowledgedBeforeSecondKill).isGreaterThanOrEqualTo(300);
        }
    }

    /**
     * A safekeeper's disk lost while the whole cluster was down: {@code strata up} finds the
     * timeline missing there, makes it again empty before the compute starts, and the safekeeper
     * recovers the WAL from its peers. Then it must carry the quorum with one peer killed, and
     * every commit acknowledged before the stop is there.
     */
    @Test
    void aSafekeeperDiskLostWhileTheClusterWasDownIsMadeAgainAtStart() throws Exception {
        LocalCluster.Options options = new LocalCluster.Options(0, true, Duration.ofSeconds(300));
        ClusterLayout layout = new ClusterLayout(tmp.resolve("cluster"));
        TimelineId tl;
        Lsn committed;
        ClusterClient.Writers writers;
        try (LocalCluster c = LocalCluster.start(layout, options, s -> { })) {
            tl = c.timeline();
            writers = new ClusterClient.Writers(c, 2);
            writers.progress(200, Duration.ofSeconds(90), "before the stop");
            writers.close();
            committed = c.safekeepers().get(0).positions(tl).commit();
        }
        FileTrees.deleteRecursively(layout.safekeeperDir("sk-3"));

        List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (LocalCluster c = LocalCluster.start(layout, options, said::add)) {
            LocalSafekeeper lost = c.safekeepers().get(2);
            assertThat(lost.id().toString()).isEqualTo("sk-3");
            assertThat(lost.hasTimeline(tl)).as("sk-3's timeline made again at start").isTrue();
            assertThat(said).anyMatch(line -> line.startsWith("safekeeper sk-3 has no timeline " + tl));
            waitFor(() -> flush(lost, tl).compareTo(committed) >= 0, Duration.ofSeconds(120),
                    "sk-3 recovering the WAL it lost up to " + committed + " (now " + lost.status(tl) + ")");

            c.safekeepers().get(0).kill();
            Lsn atKill = flush(lost, tl);
            try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE after_loss (i int)");
                for (int i = 0; i < 20; i++) {
                    s.execute("INSERT INTO after_loss VALUES (" + i + ")");
                }
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM after_loss")) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(20);
                }
            }
            assertThat(flush(lost, tl)).as("sk-3 takes new WAL, needed for the quorum").isGreaterThan(atKill);
            assertThat(writers.stopAndFindLost(c)).as("acknowledged commits lost with sk-3's disk").isEmpty();
            assertThat(writers.size()).isGreaterThanOrEqualTo(200);
        }
    }

    /** Two of three safekeepers without the timeline: the start stops with a message saying why. */
    @Test
    void aQuorumOfLostSafekeeperTimelinesStopsTheStart() throws Exception {
        LocalCluster.Options options = new LocalCluster.Options(0, true, Duration.ofSeconds(300));
        ClusterLayout layout = new ClusterLayout(tmp.resolve("cluster"));
        try (LocalCluster c = LocalCluster.start(layout, options, s -> { })) {
            try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE t AS SELECT 1 AS i");
            }
        }
        FileTrees.deleteRecursively(layout.safekeeperDir("sk-2"));
        FileTrees.deleteRecursively(layout.safekeeperDir("sk-3"));
        assertThatThrownBy(() -> LocalCluster.start(layout, options, s -> { }).close())
                .hasMessageContaining("fewer than a quorum (2 of 3) still hold its WAL")
                .hasMessageContaining("sk-2").hasMessageContaining("sk-3");
    }

    /** WAL [from, to) as a peer reads it (GET /wal answers a bounded range per request: asked until the end). */
    private static byte[] readWal(LocalCluster c, LocalSafekeeper sk, TimelineId tl, Lsn from, Lsn to)
            throws java.io.IOException {
        SafekeeperClient client = new SafekeeperClient(sk.url(), c.auth().token(Scope.SAFEKEEPER_DATA, "cli"));
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        Lsn pos = from;
        while (pos.isBefore(to)) {
            byte[] chunk;
            try (java.io.InputStream in = client.readWal(tl, pos, to)) {
                chunk = in.readAllBytes();
            }
            if (chunk.length == 0) {
                throw new AssertionError(sk.id() + " returned no WAL at " + pos);
            }
            out.writeBytes(chunk);
            pos = pos.plus(chunk.length);
        }
        return out.toByteArray();
    }

    private static final java.util.regex.Pattern RECOVERED =
            java.util.regex.Pattern.compile("recovered up to \\S+ \\((\\d+) bytes from object storage\\)");

    /** The largest "bytes from object storage" a recovery logged in {@code log}; -1 if none yet. */
    private static long recoveredFromS3(Path log) {
        try {
            long max = -1;
            for (String line : Files.readAllLines(log)) {
                java.util.regex.Matcher m = RECOVERED.matcher(line);
                if (m.find()) {
                    max = Math.max(max, Long.parseLong(m.group(1)));
                }
            }
            return max;
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    /** The safekeeper's flush LSN, or 0/0 while it cannot answer (restarting, no timeline yet). */
    private static Lsn flush(LocalSafekeeper sk, TimelineId tl) {
        try {
            return sk.positions(tl).flush();
        } catch (RuntimeException e) {
            return Lsn.INVALID;
        }
    }
}
