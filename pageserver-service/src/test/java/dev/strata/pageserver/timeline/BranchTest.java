package dev.strata.pageserver.timeline;

import static dev.strata.pageserver.timeline.PrimaryFixtures.computeAt;
import static dev.strata.pageserver.timeline.PrimaryFixtures.execute;
import static dev.strata.pageserver.timeline.PrimaryFixtures.insertLsn;
import static dev.strata.pageserver.timeline.PrimaryFixtures.query;
import static dev.strata.pageserver.timeline.PrimaryFixtures.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.remote.RemoteStorage;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
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
 * Branches in the style of Neon's branch tests, on stock PostgreSQL 17 and a real S3-compatible
 * server: a root timeline made by initdb is the history of a primary started from its
 * basebackup; after each of several batches of inserts the LSN, the row count and a timestamp
 * are recorded; a branch at each LSN, started as a primary from its basebackup at the branch
 * LSN, counts exactly the rows of its point; the LSN for each timestamp is that branch's LSN;
 * a write on a branch (its WAL ingested by the branch from its own primary) is seen by neither
 * the parent nor a sibling; a branch of a branch of a branch reads correctly; all of it again
 * after a restart of the pageserver and after attaching root and branch from S3 alone.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BranchTest {

    private static final String PASSWORD = "branch-test-pw";
    private static final int BATCHES = 4;

    @TempDir
    Path tmp;

    private int computes;

    @Test
    void branchesSeeExactlyTheirPointAndNothingOfEachOther() throws Exception {
        try (S3TimelineFixture s3 = S3TimelineFixture.start(tmp.resolve("s3"))) {
            RemoteStorage storage = s3.storage();
            Path dataA = tmp.resolve("ps-a");
            TimelineManager a = s3.manager(dataA, 1, StorageConfig.DEFAULTS, storage);
            TimelineId root = TimelineId.random();
            Timeline rootTl = a.create(new TimelineManager.CreateRequest(root, null, true, false, List.of(), PASSWORD));
            Lsn rootStart = rootTl.config().startLsn();

            Instant beforeEverything = Instant.now().minusSeconds(3600);
            List<Lsn> lsns = new ArrayList<>();
            List<Long> counts = new ArrayList<>();
            List<Instant> times = new ArrayList<>(); // times.get(i): after batch i's commit (0: before the first batch)
            Lsn rootEnd;
            try (PostgresServer primary = compute(rootTl, rootTl.lastRecordLsn(), "primary")) {
                rootTl.setWalSources(List.of(source(primary)));
                execute(primary, "CREATE TABLE t (id int, batch int, note text)");
                times.add(clock(primary));
                for (int i = 1; i <= BATCHES; i++) {
                    execute(primary, "INSERT INTO t SELECT g, " + i + ", 'root' FROM generate_series(1, " + (100 * i) + ") g");
                    lsns.add(insertLsn(primary));
                    counts.add(Long.parseLong(query(primary, "SELECT count(*) FROM t")));
                    times.add(clock(primary));
                }
                rootEnd = insertLsn(primary);
                rootTl.awaitLsn(rootEnd, Duration.ofSeconds(30));
                // Before the primary stops: its walsender would wait for our flush position.
                rootTl.setWalSources(List.of());
            }
            assertThat(counts).containsExactly(100L, 300L, 600L, 1000L);

            // A branch at each recorded LSN sees exactly the rows counted there.
            List<TimelineId> children = new ArrayList<>();
            for (int i = 0; i < BATCHES; i++) {
                TimelineId child = TimelineId.random();
                Timeline c = a.branch(child, root, lsns.get(i), List.of());
                children.add(child);
                assertThat(c.ancestor()).isPresent();
                assertThat(c.ancestor().get().timelineId()).isEqualTo(root);
                Lsn at = c.ancestor().get().lsn();
                // The branch point is the requested LSN, or the commit just below it (same data).
                assertThat(at).isLessThanOrEqualTo(lsns.get(i));
                assertThat(at).isGreaterThan(i == 0 ? rootStart : lsns.get(i - 1));
                assertThat(c.config().startLsn()).isEqualTo(at);
                assertThat(countAt(c, at)).as("branch %d at %s", i + 1, at).isEqualTo(counts.get(i));
            }

            // LSN for a timestamp: between batches it is the branch point of the batch before.
            assertThat(rootTl.lsnForTimestamp(beforeEverything))
                    .isEqualTo(new LsnForTimestamp(rootStart, LsnForTimestamp.Kind.PAST));
            LsnForTimestamp afterAll = rootTl.lsnForTimestamp(Instant.now().plusSeconds(3600));
            assertThat(afterAll.kind()).isEqualTo(LsnForTimestamp.Kind.FUTURE);
            assertThat(afterAll.lsn()).isEqualTo(rootTl.lastRecordLsn());
            // (The branch point is the commit's end, or a record end just above it with no commit between.)
            for (int i = 1; i <= BATCHES; i++) {
                LsnForTimestamp r = rootTl.lsnForTimestamp(times.get(i));
                assertThat(r.kind()).as("after batch %d", i).isEqualTo(i == BATCHES ? LsnForTimestamp.Kind.FUTURE
                        : LsnForTimestamp.Kind.PRESENT);
                if (i < BATCHES) {
                    assertThat(r.lsn()).as("after batch %d", i)
                            .isLessThanOrEqualTo(a.get(children.get(i - 1)).ancestor().get().lsn())
                            .isGreaterThan(i == 1 ? rootStart : a.get(children.get(i - 2)).ancestor().get().lsn());
                }
            }
            LsnForTimestamp afterTwo = rootTl.lsnForTimestamp(times.get(2));
            TimelineId atTime = TimelineId.random();
            Timeline atTimeTl = a.branch(atTime, root, afterTwo.lsn(), List.of());
            assertThat(atTimeTl.ancestor().get().lsn()).isEqualTo(afterTwo.lsn());
            assertThat(countAt(atTimeTl, afterTwo.lsn())).isEqualTo(counts.get(1));
            a.delete(atTime);
            // After CREATE TABLE, before the first batch: a branch there has the table and no rows.
            LsnForTimestamp beforeBatches = rootTl.lsnForTimestamp(times.get(0));
            assertThat(beforeBatches.kind()).isEqualTo(LsnForTimestamp.Kind.PRESENT);
            TimelineId empty = TimelineId.random();
            Timeline emptyTl = a.branch(empty, root, beforeBatches.lsn(), List.of());
            assertThat(emptyTl.ancestor().get().lsn()).isEqualTo(beforeBatches.lsn());
            assertThat(countAt(emptyTl, beforeBatches.lsn())).isEqualTo(0);

            // Write on branch 2 from its own primary; the parent and sibling 3 do not see it.
            Timeline two = a.get(children.get(1));
            Lsn twoEnd;
            try (PostgresServer writer = compute(two, two.config().startLsn(), "writer")) {
                two.setWalSources(List.of(source(writer)));
                execute(writer, "INSERT INTO t SELECT g, 99, 'child' FROM generate_series(1, 50) g");
                twoEnd = insertLsn(writer);
                two.awaitLsn(twoEnd, Duration.ofSeconds(30));
                two.setWalSources(List.of());
            }
            assertThat(countAt(two, two.lastRecordLsn())).isEqualTo(counts.get(1) + 50);
            assertThat(countAt(rootTl, rootTl.lastRecordLsn())).isEqualTo(counts.get(BATCHES - 1));
            Timeline three = a.get(children.get(2));
            assertThat(countAt(three, three.lastRecordLsn())).isEqualTo(counts.get(2));

            // A branch of the branch (depth 2) after its write, and one of that (depth 3) at its start.
            TimelineId grand = TimelineId.random();
            Timeline grandTl = a.branch(grand, two.id(), null, List.of());
            assertThat(grandTl.ancestor().get().lsn()).isEqualTo(two.lastRecordLsn());
            TimelineId great = TimelineId.random();
            Timeline greatTl = a.branch(great, grand, null, List.of());
            assertThat(countAt(greatTl, greatTl.config().startLsn())).isEqualTo(counts.get(1) + 50);

            // Refusals, each naming what is wrong; the manager keeps serving.
            assertKind(() -> a.branch(TimelineId.random(), TimelineId.random(), null, List.of()),
                    TimelineException.Kind.NOT_FOUND, "does not exist");
            assertKind(() -> a.branch(grand, root, null, List.of()), TimelineException.Kind.CONFLICT, "already exists");
            assertKind(() -> a.branch(TimelineId.random(), root, Lsn.of(rootStart.value() - 8), List.of()),
                    TimelineException.Kind.LSN_OUT_OF_RANGE, rootStart.toString());
            Lsn beyond = rootTl.lastRecordLsn().plus(1 << 20);
            assertKind(() -> a.branch(TimelineId.random(), root, beyond, List.of()),
                    TimelineException.Kind.LSN_OUT_OF_RANGE, "no WAL source to reach further");
            rootTl.setWalSources(List.of(new WalSource("127.0.0.1", 9, "postgres", "nobody-listens")));
            assertKind(() -> a.branch(TimelineId.random(), root, beyond, List.of(), Duration.ofMillis(300)),
                    TimelineException.Kind.LSN_OUT_OF_RANGE, "reached only");
            rootTl.setWalSources(List.of());
            assertKind(() -> a.delete(two.id()), TimelineException.Kind.CONFLICT, grand.toString());
            assertKind(() -> a.delete(root), TimelineException.Kind.CONFLICT, "branches");

            // Below the GC cutoff (what GC sets; GcTest runs GC itself) branches and reads are refused.
            rootTl.advanceGcCutoff(lsns.get(2));
            assertKind(() -> a.branch(TimelineId.random(), root, lsns.get(0), List.of()),
                    TimelineException.Kind.LSN_OUT_OF_RANGE, "GC cutoff " + lsns.get(2));
            assertKind(() -> rootTl.awaitLsn(lsns.get(1), Duration.ofSeconds(1)),
                    TimelineException.Kind.LSN_OUT_OF_RANGE, "GC cutoff " + lsns.get(2));

            // Deleting a branch leaves its parent alone.
            a.delete(great);
            a.delete(empty);
            assertThat(countAt(grandTl, grandTl.lastRecordLsn())).isEqualTo(counts.get(1) + 50);
            assertThat(a.childrenOf(grand)).isEmpty();

            // Restart: every timeline loads again, ancestors first, and reads the same.
            rootTl.setWalSources(List.of());
            two.setWalSources(List.of());
            Lsn twoLast = two.lastRecordLsn();
            LsnForTimestamp[] afterThree = new LsnForTimestamp[1];
            a.close();
            try (TimelineManager again = new TimelineManager(dataA, StorageConfig.DEFAULTS, Timeline.Options.DEFAULTS,
                    groupOf(s3), new RemoteTimeline(storage, dev.strata.remote.Generation.of(1)))) {
                again.loadAll();
                assertThat(again.list()).hasSize(2 + BATCHES);
                Timeline t2 = again.get(two.id());
                assertThat(t2.ancestor().get().timelineId()).isEqualTo(root);
                assertThat(t2.lastRecordLsn()).isEqualTo(twoLast);
                assertThat(countAt(t2, twoLast)).isEqualTo(counts.get(1) + 50);
                assertThat(again.get(grand).ancestor()).contains(new TimelineAncestor(two.id(), grandTl.config().startLsn()));
                // The GC cutoff survives the restart (timeline.conf): history below it is not searched.
                assertThat(again.get(root).gcCutoffLsn()).isEqualTo(lsns.get(2));
                assertThat(again.get(root).lsnForTimestamp(times.get(2)))
                        .isEqualTo(new LsnForTimestamp(lsns.get(2), LsnForTimestamp.Kind.PAST));
                afterThree[0] = again.get(root).lsnForTimestamp(times.get(3));
                assertThat(afterThree[0].lsn()).isGreaterThanOrEqualTo(lsns.get(2));
                for (TimelineId id : List.of(root, two.id())) {
                    Timeline t = again.get(id);
                    assertThat(t.awaitRemoteConsistent(t.lastRecordLsn(), Duration.ofSeconds(30)))
                            .as("%s in S3: %s", id, t.remoteStatus()).isTrue();
                }
            }

            // Attach from S3 alone on an empty pageserver: the branch needs its parent first.
            try (TimelineManager b = new TimelineManager(tmp.resolve("ps-b"), StorageConfig.DEFAULTS,
                    Timeline.Options.DEFAULTS, groupOf(s3), new RemoteTimeline(storage, dev.strata.remote.Generation.of(2)))) {
                assertKind(() -> b.attach(two.id(), List.of()), TimelineException.Kind.NOT_FOUND, "attach the ancestor first");
                Timeline r = b.attach(root, List.of());
                Timeline t2 = b.attach(two.id(), List.of());
                assertThat(t2.ancestor()).contains(new TimelineAncestor(root, two.config().startLsn()));
                assertThat(countAt(t2, t2.lastRecordLsn())).isEqualTo(counts.get(1) + 50);
                assertThat(r.ancestor()).isEmpty();
                // ... and the attach (the index's gc_cutoff_lsn).
                assertThat(r.gcCutoffLsn()).isEqualTo(lsns.get(2));
                assertThat(r.lsnForTimestamp(times.get(3))).isEqualTo(afterThree[0]);
            }
        }
    }

    private static io.netty.channel.EventLoopGroup groupOf(S3TimelineFixture s3) {
        return s3.group();
    }

    private static void assertKind(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, TimelineException.Kind kind,
                                   String mentions) {
        assertThatThrownBy(call).isInstanceOf(TimelineException.class).hasMessageContaining(mentions)
                .satisfies(e -> assertThat(((TimelineException) e).kind()).isEqualTo(kind));
    }

    /** Rows of t in a stock PG17 primary started from the timeline's basebackup at {@code lsn}. */
    private long countAt(Timeline t, Lsn lsn) throws Exception {
        try (PostgresServer pg = compute(t, lsn, "check")) {
            return Long.parseLong(query(pg, "SELECT count(*) FROM t"));
        }
    }

    /** A stock PG17 primary on the timeline's basebackup at {@code lsn} (a record end whose start is known). */
    private PostgresServer compute(Timeline t, Lsn lsn, String name) throws Exception {
        return computeAt(t, lsn, tmp.resolve("compute-" + name + "-" + (computes++)), PASSWORD, "all");
    }

    private static Instant clock(PostgresServer pg) throws SQLException {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT clock_timestamp()")) {
            r.next();
            return r.getObject(1, java.time.OffsetDateTime.class).toInstant();
        }
    }
}
