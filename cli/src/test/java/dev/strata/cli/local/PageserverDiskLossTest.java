package dev.strata.cli.local;

import static dev.strata.cli.local.ClusterClient.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.cli.verify.StandbyOracle;
import dev.strata.compute.node.ComputeState;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's "done when", for the pageserver: under a write load the pageserver is killed with
 * kill -9 and its whole directory deleted; a new one (a new generation) attaches the timeline
 * from the object store by itself, as {@code strata up} does, and catches up from the
 * safekeepers. A fresh compute then reads everything through the attached pageserver: every
 * commit acknowledged to a client is there and amcheck is clean. And the stock-standby oracle
 * ({@link StandbyOracle}: a PG17 hot standby from a base backup of the compute taken before the
 * disk loss, streaming from the safekeepers) finds every block of every user relation, read
 * from the attached pageserver at the standby's paused replay LSN, equal to the standby's.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class PageserverDiskLossTest {

    private static final Pattern S3 = Pattern.compile("S3: remote-consistent ([0-9A-F]+/[0-9A-F]+) \\(generation (\\d+)\\)");

    @TempDir
    Path tmp;

    @Test
    void aPageserverThatLostItsDiskAttachesFromS3AndNoAcknowledgedCommitIsLost() throws Exception {
        LocalCluster.Options options = new LocalCluster.Options(0, true, Duration.ofSeconds(300)).withSafekeepersInProcess();
        ClusterLayout layout = new ClusterLayout(tmp.resolve("cluster"));
        try (LocalCluster c = LocalCluster.start(layout, options, s -> { })) {
            ClusterClient.Writers writers = new ClusterClient.Writers(c, 2);
            createIndexedTable(c);
            writers.progress(30, Duration.ofSeconds(60), "before the disk loss");
            try (StandbyOracle oracle = StandbyOracle.start(c.verifyTarget(LocalCluster.BRANCH), tmp)) {
                checkAfterTheDiskLoss(c, layout, writers, oracle);
            }
        }
    }

    private static void checkAfterTheDiskLoss(LocalCluster c, ClusterLayout layout, ClusterClient.Writers writers,
                                              StandbyOracle oracle) throws Exception {
        // The timeline's first index is in S3 (everything after it is WAL the safekeepers keep).
        waitFor(() -> remote(c) != null && !remote(c).group(1).equals("0/0"), Duration.ofSeconds(30),
                "a remote-consistent LSN");
        long generation = Long.parseLong(remote(c).group(2));

        c.pageserver().kill();
        FileTrees.deleteRecursively(layout.pageserverDir());
        assertThat(Files.exists(layout.pageserverDir())).isFalse();
        int acknowledgedWhileDown = writers.size();

        c.restartPageserver();
        Matcher after = remote(c);
        assertThat(after).as("status after the attach: %s", c.pageserver().status(c.timeline())).isNotNull();
        assertThat(Long.parseLong(after.group(2))).as("a new generation").isEqualTo(generation + 1);
        assertThat(c.pageserver().status(c.timeline()).getFirst()).startsWith("active");

        // A fresh compute: its basebackup and every page it reads come from the attached pageserver.
        c.stopCompute();
        c.startCompute();
        waitFor(() -> c.compute().state() == ComputeState.RUNNING, Duration.ofSeconds(60), "the new compute");
        writers.progress(20, Duration.ofSeconds(60), "after the attach");
        Lsn changed = changeIndexedTable(c);

        // The oracle at an LSN after the attach, with the writers still going.
        StandbyOracle.Result r = oracle.compare(changed, Set.of(), Duration.ofSeconds(120), StandbyOracle.Progress.NONE);
        assertThat(r.mismatches()).as("blocks of the attached timeline that differ from the stock standby's: %s", r)
                .isEmpty();
        assertThat(r.databases()).contains("postgres");
        assertThat(r.blocksByKind()).as("%s", r).containsKeys("HEAP", "VISIBILITY_MAP", "BTREE", "GIN", "GIST",
                "SPGIST", "HASH", "BRIN");
        assertThat(r.blocks()).as("%s", r).isGreaterThan(50);

        assertThat(writers.stopAndFindLost(c)).as("acknowledged commits lost with the pageserver's disk").isEmpty();
        assertThat(acknowledgedWhileDown).isGreaterThanOrEqualTo(30);
        assertThat(c.statusReport()).contains("generation " + (generation + 1));
    }

    /** A table with an index of every kind the compute logs (GIN, GiST, SP-GiST, hash, BRIN) and TOAST. */
    private static void createIndexedTable(LocalCluster c) throws Exception {
        try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
            s.execute("CREATE TABLE docs (id serial PRIMARY KEY, tags text[], body text, pos point, rng int4range, n int)");
            s.execute("INSERT INTO docs (tags, body, pos, rng, n) SELECT ARRAY['t' || g % 10, 'u' || g % 7], "
                    + "repeat(md5(g::text), CASE WHEN g % 50 = 0 THEN 400 ELSE 2 END), point(g % 100, g / 100), "
                    + "int4range(g, g + 10), g FROM generate_series(1, 3000) g");
            s.execute("CREATE INDEX docs_tags_gin ON docs USING gin (tags)");
            s.execute("CREATE INDEX docs_pos_gist ON docs USING gist (pos)");
            s.execute("CREATE INDEX docs_pos_spgist ON docs USING spgist (pos)");
            s.execute("CREATE INDEX docs_n_brin ON docs USING brin (n) WITH (pages_per_range = 4)");
            s.execute("CREATE INDEX docs_n_hash ON docs USING hash (n)");
            s.execute("VACUUM docs");
        }
    }

    /** Updates, deletes and vacuums after the attach; returns the compute's insert LSN after them. */
    private static Lsn changeIndexedTable(LocalCluster c) throws Exception {
        try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
            s.execute("UPDATE docs SET tags = tags || ARRAY['v'], pos = point(n % 50, n % 30), n = n + 5000 "
                    + "WHERE id % 3 = 0");
            s.execute("DELETE FROM docs WHERE id % 7 = 0");
            s.execute("INSERT INTO docs (tags, body, pos, rng, n) SELECT ARRAY['w' || g % 5], repeat('x', 3000), "
                    + "point(g, g), int4range(g, g + 2), g FROM generate_series(1, 500) g");
            s.execute("VACUUM docs");
            s.execute("VACUUM acked");
            try (ResultSet rs = s.executeQuery("SELECT pg_current_wal_insert_lsn()")) {
                rs.next();
                return Lsn.parse(rs.getString(1));
            }
        }
    }

    /** The pageserver's S3 status line, parsed; null while it has none. */
    private static Matcher remote(LocalCluster c) {
        List<String> lines = c.pageserver().status(c.timeline());
        for (String line : lines) {
            Matcher m = S3.matcher(line);
            if (m.find()) {
                return m;
            }
        }
        return null;
    }
}
