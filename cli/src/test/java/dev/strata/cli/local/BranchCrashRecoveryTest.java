package dev.strata.cli.local;

import dev.strata.control.storage.BranchTarget;

import static dev.strata.cli.local.ClusterClient.connect;
import static dev.strata.cli.local.ClusterClient.count;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.TimelineId;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Branch creation, deletion and restore stopped between every two of their steps, then the
 * cluster started again on its directory: each operation is either done or undone, no branch
 * names a timeline that does not exist, no timeline is left that no branch names, and every
 * committed row is on the branch that should have it. The stop is injected
 * ({@link LocalCluster#failAt}): no real part can be told to crash between two of our own steps;
 * what the restart finds is only what was written durably, as after a kill -9.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class BranchCrashRecoveryTest {

    @TempDir
    Path tmp;

    private static LocalCluster start(Path dir) {
        return LocalCluster.start(new ClusterLayout(dir), new LocalCluster.Options(0, false, Duration.ofSeconds(300)),
                s -> { });
    }

    private static long rows(LocalCluster c, String branch) throws SQLException {
        try (Connection conn = connect(c, branch)) {
            return count(conn, "SELECT count(*) FROM t");
        }
    }

    /** Every branch's timeline exists on the pageserver and the safekeepers, and no other timeline does. */
    private static void assertConsistent(LocalCluster c) {
        Set<TimelineId> named = new HashSet<>();
        for (LocalCluster.BranchInfo b : c.branches()) {
            named.add(b.branch().timeline());
        }
        assertThat(new HashSet<>(c.pageserver().timelines())).as("timelines on the pageserver").isEqualTo(named);
        for (LocalSafekeeper sk : c.safekeepers()) {
            for (TimelineId t : named) {
                assertThat(sk.positions(t).flush().isValid()).as("timeline %s on %s", t, sk.id()).isTrue();
            }
        }
    }

    /** 200 rows, the server's time, then 100 more. */
    private static Instant writeRows(LocalCluster c) throws Exception {
        try (Connection conn = connect(c); Statement s = conn.createStatement()) {
            s.execute("CREATE TABLE t (v int)");
            s.execute("INSERT INTO t SELECT g FROM generate_series(1, 200) g");
            Instant between;
            try (ResultSet r = s.executeQuery("SELECT clock_timestamp()")) {
                r.next();
                between = r.getTimestamp(1).toInstant();
            }
            Thread.sleep(20);
            s.execute("INSERT INTO t SELECT g FROM generate_series(201, 300) g");
            return between;
        }
    }

    @Test
    void aBranchCreationOrDeletionStoppedAtAnyStepIsUndoneOrFinished() throws Exception {
        Path dir = tmp.resolve("cluster");
        try (LocalCluster c = start(dir)) {
            writeRows(c);
            c.failAt("timeline on the pageserver, not on the safekeepers");
            assertThatThrownBy(() -> c.createBranch("x", "main", BranchTarget.HEAD))
                    .isInstanceOf(LocalCluster.SimulatedCrash.class);
        }
        try (LocalCluster c = start(dir)) {
            assertThat(c.branches()).extracting(b -> b.branch().name()).containsExactly("main");
            assertConsistent(c);
            c.createBranch("dev", "main", BranchTarget.HEAD);
            c.failAt("branch: timeline made, branch not recorded");
            assertThatThrownBy(() -> c.createBranch("y", "main", BranchTarget.HEAD))
                    .isInstanceOf(LocalCluster.SimulatedCrash.class);
        }
        try (LocalCluster c = start(dir)) {
            assertThat(c.branches()).extracting(b -> b.branch().name()).containsExactly("main", "dev");
            assertConsistent(c);
            assertThat(rows(c, "dev")).isEqualTo(300);
            c.failAt("delete: branch record removed, timeline not deleted");
            assertThatThrownBy(() -> c.deleteBranch("dev")).isInstanceOf(LocalCluster.SimulatedCrash.class);
        }
        try (LocalCluster c = start(dir)) {
            assertThat(c.branches()).extracting(b -> b.branch().name()).containsExactly("main");
            assertConsistent(c);
            assertThat(rows(c, "main")).isEqualTo(300);
        }
    }

    @Test
    void aRestoreStoppedAtAnyStepIsUndoneOrFinishedAndLosesNoCommit() throws Exception {
        Path dir = tmp.resolve("cluster");
        Instant between;
        try (LocalCluster c = start(dir)) {
            between = writeRows(c);
            c.failAt("restore: timeline made, branch not repointed");
            assertThatThrownBy(() -> c.restore("main", new BranchTarget.AtTime(between), null))
                    .isInstanceOf(LocalCluster.SimulatedCrash.class);
        }
        try (LocalCluster c = start(dir)) {
            // undone: main as it was, no backup, no stray timeline
            assertThat(c.branches()).extracting(b -> b.branch().name()).containsExactly("main");
            assertConsistent(c);
            assertThat(rows(c, "main")).isEqualTo(300);
            c.failAt("restore: branch repointed, compute not moved");
            assertThatThrownBy(() -> c.restore("main", new BranchTarget.AtTime(between), null))
                    .isInstanceOf(LocalCluster.SimulatedCrash.class);
        }
        try (LocalCluster c = start(dir)) {
            // finished: main restored, its old state on the backup branch
            List<String> names = c.branches().stream().map(b -> b.branch().name()).toList();
            assertThat(names).hasSize(2).contains("main");
            String backup = names.stream().filter(n -> n.startsWith("main_old_")).findFirst().orElseThrow();
            assertConsistent(c);
            assertThat(rows(c, "main")).isEqualTo(200);
            assertThat(rows(c, backup)).isEqualTo(300);
        }
    }
}
