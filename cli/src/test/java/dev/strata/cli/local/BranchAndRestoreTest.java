package dev.strata.cli.local;

import dev.strata.control.storage.BranchTarget;

import static dev.strata.cli.local.ClusterClient.connect;
import static dev.strata.cli.local.ClusterClient.count;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.proxy.wake.EndpointStatus;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Branches and restore in the local cluster, end to end through the proxy (issue 16): a branch
 * at an LSN or a time sees exactly the rows committed by then; writes on a branch stay on it; a
 * branch of a branch; restore to a time keeps the old state as a backup branch, and restoring
 * from the backup undoes it; all of it again after the pageserver's disk is lost and its
 * history comes back from the object store alone.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class BranchAndRestoreTest {

    @TempDir
    Path tmp;

    private static LocalCluster start(Path dir) {
        return LocalCluster.start(new ClusterLayout(dir), new LocalCluster.Options(0, false, Duration.ofSeconds(300)),
                s -> { });
    }

    /** One committed batch: the LSN after its commit, the server's clock after it, the rows by then. */
    private record Batch(Lsn lsn, Instant after, long rows) {
    }

    /** Commits {@code batches} batches of 100 rows on {@code branch}; each one's point in history. */
    private static List<Batch> writeBatches(LocalCluster c, String branch, int batches) throws Exception {
        List<Batch> out = new ArrayList<>();
        try (Connection conn = connect(c, branch); Statement s = conn.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS t (batch int, v int)");
            long rows = count(conn, "SELECT count(*) FROM t");
            for (int i = 1; i <= batches; i++) {
                s.execute("INSERT INTO t SELECT " + i + ", g FROM generate_series(1, 100) g");
                rows += 100;
                try (ResultSet r = s.executeQuery("SELECT pg_current_wal_flush_lsn(), clock_timestamp()")) {
                    r.next();
                    out.add(new Batch(Lsn.parse(r.getString(1)), r.getTimestamp(2).toInstant(), rows));
                }
                Thread.sleep(20); // the next commit's timestamp is strictly after `after`
            }
        }
        return out;
    }

    private static long rows(LocalCluster c, String branch) throws SQLException {
        try (Connection conn = connect(c, branch)) {
            return count(conn, "SELECT count(*) FROM t");
        }
    }

    @Test
    void everyBranchSeesExactlyItsPointAndWritesStayOnTheirBranch() throws Exception {
        try (LocalCluster c = start(tmp.resolve("cluster"))) {
            List<Batch> batches = writeBatches(c, "main", 4);
            for (int i = 0; i < 3; i++) {
                c.createBranch("at-lsn-" + i, "main", new BranchTarget.AtLsn(batches.get(i).lsn()));
            }
            c.createBranch("at-time", "main", new BranchTarget.AtTime(batches.get(1).after()));
            for (int i = 0; i < 3; i++) {
                assertThat(rows(c, "at-lsn-" + i)).as("branch at the LSN after batch %d", i + 1)
                        .isEqualTo(batches.get(i).rows());
            }
            assertThat(rows(c, "at-time")).as("branch at the time after batch 2").isEqualTo(batches.get(1).rows());
            // Sizes for `strata branch list`: a branch reads its parent's relations (logical size),
            // and holds no layer of its own yet.
            for (LocalCluster.BranchInfo b : c.branches()) {
                assertThat(b.logicalSize()).as("logical size of %s", b.branch().name()).isPositive();
                assertThat(b.layerBytes()).as("own layer bytes of %s", b.branch().name()).isNotNegative();
            }

            // Writes on a branch stay there: not on its parent, not on a sibling.
            try (Connection conn = connect(c, "at-lsn-0"); Statement s = conn.createStatement()) {
                s.execute("INSERT INTO t SELECT 99, g FROM generate_series(1, 7) g");
            }
            assertThat(rows(c, "at-lsn-0")).isEqualTo(107);
            assertThat(rows(c, "main")).isEqualTo(400);
            assertThat(rows(c, "at-lsn-1")).isEqualTo(200);

            // A branch of a branch, at its head, and one more level.
            c.createBranch("grandchild", "at-lsn-0", BranchTarget.HEAD);
            assertThat(rows(c, "grandchild")).isEqualTo(107);
            try (Connection conn = connect(c, "grandchild"); Statement s = conn.createStatement()) {
                s.execute("DELETE FROM t WHERE batch = 1");
            }
            c.createBranch("great-grandchild", "grandchild", BranchTarget.HEAD);
            assertThat(rows(c, "great-grandchild")).isEqualTo(7);
            assertThat(rows(c, "at-lsn-0")).isEqualTo(107);

            // Refusals say why.
            assertThatThrownBy(() -> c.createBranch("at-lsn-0", "main", BranchTarget.HEAD))
                    .hasMessageContaining("exists already");
            assertThatThrownBy(() -> c.createBranch("x", "nope", BranchTarget.HEAD))
                    .hasMessageContaining("no branch 'nope'");
            assertThatThrownBy(() -> c.createBranch("x", "main",
                    new BranchTarget.AtTime(Instant.parse("2000-01-01T00:00:00Z"))))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> c.deleteBranch("at-lsn-0")).hasMessageContaining("grandchild")
                    .hasMessageContaining("delete them first");
            assertThatThrownBy(() -> c.deleteBranch("main")).hasMessageContaining("main branch");
            // The proxy knew the deleted branches' endpoints (clients connected through it above).
            List<EndpointId> deleted = c.branches().stream()
                    .filter(b -> List.of("great-grandchild", "grandchild", "at-lsn-0").contains(b.branch().name()))
                    .map(b -> b.branch().endpoint()).toList();
            assertThat(deleted).hasSize(3);
            assertThat(c.proxy().status()).extracting(EndpointStatus::endpoint).containsAll(deleted);
            c.deleteBranch("great-grandchild");
            c.deleteBranch("grandchild");
            c.deleteBranch("at-lsn-0");
            assertThat(c.branches()).extracting(b -> b.branch().name())
                    .containsExactly("main", "at-lsn-1", "at-lsn-2", "at-time");
            assertThat(c.proxy().status()).as("the proxy forgets deleted endpoints")
                    .extracting(EndpointStatus::endpoint).doesNotContainAnyElementsOf(deleted);
            assertThat(rows(c, "at-lsn-1")).isEqualTo(200);
        }

        // After a restart, and after the pageserver's disk is lost: every branch from S3 alone.
        Path dir = tmp.resolve("cluster");
        try (LocalCluster c = start(dir)) {
            assertThat(rows(c, "at-lsn-2")).isEqualTo(300);
        }
        FileTrees.deleteRecursively(new ClusterLayout(dir).pageserverDir());
        try (LocalCluster c = start(dir)) {
            assertThat(rows(c, "main")).isEqualTo(400);
            assertThat(rows(c, "at-lsn-1")).isEqualTo(200);
            assertThat(rows(c, "at-time")).isEqualTo(200);
        }
    }

    @Test
    void restoreToATimeKeepsTheOldStateAsABackupAndUndoBringsItBack() throws Exception {
        try (LocalCluster c = start(tmp.resolve("cluster"))) {
            List<Batch> batches = writeBatches(c, "main", 4);
            c.createBranch("dev", "main", new BranchTarget.AtLsn(batches.get(2).lsn()));

            LocalCluster.Restored r = c.restore("main", new BranchTarget.AtTime(batches.get(1).after()), null);
            assertThat(r.backup().name()).startsWith("main_old_");
            assertThat(rows(c, "main")).as("main after the restore").isEqualTo(200);
            assertThat(rows(c, r.backup().name())).as("the backup keeps every commit").isEqualTo(400);
            // A branch made from the old timeline stays as it was, now under the backup.
            assertThat(c.branch("dev").parent()).contains(r.backup().name());
            assertThat(rows(c, "dev")).isEqualTo(300);

            // The restored branch takes writes; undo (restore from the backup) brings back its state.
            try (Connection conn = connect(c, "main"); Statement s = conn.createStatement()) {
                s.execute("INSERT INTO t SELECT 5, g FROM generate_series(1, 5) g");
            }
            assertThat(rows(c, "main")).isEqualTo(205);
            LocalCluster.Restored undo = c.restore("main", BranchTarget.HEAD, r.backup().name());
            assertThat(rows(c, "main")).as("main after the undo").isEqualTo(400);
            assertThat(rows(c, undo.backup().name())).as("the undone restore's writes are kept").isEqualTo(205);

            assertThatThrownBy(() -> c.restore("main", BranchTarget.HEAD, null)).hasMessageContaining("changes nothing");
            assertThatThrownBy(() -> c.deleteBranch(r.backup().name())).hasMessageContaining("delete them first");
        }
    }
}
