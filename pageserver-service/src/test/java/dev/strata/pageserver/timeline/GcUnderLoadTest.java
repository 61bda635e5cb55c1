package dev.strata.pageserver.timeline;

import static dev.strata.pageserver.timeline.PrimaryFixtures.awaitDiskConsistent;
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
import dev.strata.remote.Generation;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * GC under a pgbench-like load with branches taken during it (issue 16): three writers transfer
 * amounts between accounts and append each transfer to a history table, on a stock PostgreSQL 17
 * primary with the compute's WAL settings (records replayed by the pageserver, no page images
 * beyond full-page writes), while GC passes with no retention run on the root over and over and the
 * store flushes a layer every megabyte. Three times the load pauses for a moment: a branch is made at
 * the primary's insert position and what it must hold there is recorded (history rows, and a digest
 * of every account's balance). Afterwards each branch, started as a stock primary from its own
 * basebackup, holds exactly its point's data; the root holds every acknowledged transfer; GC removed
 * layers but its cutoff never passed the oldest branch point, and a branch below the cutoff is
 * refused naming it. Complements {@link GcTest}, which checks every key byte for byte around
 * deterministic passes.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GcUnderLoadTest {

    private static final String PASSWORD = "gc-load-test-pw";
    private static final int ACCOUNTS = 500;
    private static final int WRITERS = 3;
    private static final int BRANCHES = 3;
    private static final Duration LOAD_BETWEEN_BRANCHES = Duration.ofMillis(1500);
    private static final String BALANCES = "SELECT count(*) || ' accounts, sum ' || sum(balance) || ', md5 '"
            + " || md5(string_agg(id || ':' || balance, ',' ORDER BY id)) FROM accounts";

    @TempDir
    Path tmp;

    /** A branch point and what a primary started there must find. */
    private record Point(Timeline branch, Lsn lsn, long history, String balances) {
    }

    @Test
    void everyBranchTakenUnderLoadReadsItsPointWhileGcRuns() throws Exception {
        StorageConfig config = StorageConfig.DEFAULTS.withCheckpointDistanceBytes(1L << 20);
        Timeline.Options options = new Timeline.Options(Duration.ofSeconds(1), 4, Duration.ofSeconds(5), "pageserver");
        try (S3TimelineFixture s3 = S3TimelineFixture.start(tmp.resolve("s3"));
             TimelineManager ps = new TimelineManager(tmp.resolve("ps"), config, options, s3.group(),
                     new RemoteTimeline(s3.storage(), Generation.of(1)))) {
            TimelineId root = TimelineId.random();
            Timeline rootTl = ps.create(new TimelineManager.CreateRequest(root, null, true, false, List.of(), PASSWORD));
            List<Point> points = new ArrayList<>();
            List<TimelineManager.GcResult> passes = java.util.Collections.synchronizedList(new ArrayList<>());
            long acknowledged;
            Lsn end;
            try (PostgresServer primary = computeAt(rootTl, rootTl.lastRecordLsn(), tmp.resolve("primary"), PASSWORD)) {
                rootTl.setWalSources(List.of(source(primary)));
                execute(primary, "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)");
                execute(primary, "CREATE TABLE history (id bigserial PRIMARY KEY, src int, dst int, amount int, "
                        + "at timestamptz DEFAULT now())");
                execute(primary, "INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, " + ACCOUNTS + ") g");
                rootTl.setRetention(new Retention(Duration.ZERO, 0));

                ReentrantReadWriteLock pause = new ReentrantReadWriteLock();
                AtomicBoolean stop = new AtomicBoolean();
                AtomicLong commits = new AtomicLong();
                ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
                ExecutorService pool = Executors.newFixedThreadPool(WRITERS + 1);
                try {
                    List<Future<?>> running = new ArrayList<>();
                    for (int w = 0; w < WRITERS; w++) {
                        long seed = w;
                        running.add(pool.submit(() -> transfers(primary, seed, pause, stop, commits, failures)));
                    }
                    running.add(pool.submit(() -> {
                        while (!stop.get()) {
                            try {
                                passes.add(ps.gc(root, Instant.now()));
                                Thread.sleep(200);
                            } catch (InterruptedException e) {
                                return;
                            } catch (RuntimeException e) {
                                failures.add(e);
                                return;
                            }
                        }
                    }));
                    for (int b = 0; b < BRANCHES; b++) {
                        Thread.sleep(LOAD_BETWEEN_BRANCHES.toMillis());
                        pause.writeLock().lock(); // every writer between transactions
                        try {
                            Lsn at = insertLsn(primary);
                            long history = Long.parseLong(query(primary, "SELECT count(*) FROM history"));
                            String balances = query(primary, BALANCES);
                            Timeline child = ps.branch(TimelineId.random(), root, at, List.of());
                            points.add(new Point(child, child.config().startLsn(), history, balances));
                        } finally {
                            pause.writeLock().unlock();
                        }
                    }
                    Thread.sleep(LOAD_BETWEEN_BRANCHES.toMillis());
                    stop.set(true);
                    for (Future<?> f : running) {
                        f.get(60, TimeUnit.SECONDS);
                    }
                } finally {
                    stop.set(true);
                    pool.shutdownNow();
                    assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
                }
                assertThat(failures).as("writers and GC passes").isEmpty();
                acknowledged = commits.get();
                end = insertLsn(primary);
                rootTl.awaitLsn(end, Duration.ofSeconds(60));
                rootTl.setWalSources(List.of()); // before the primary stops: its walsender waits for us
            }
            assertThat(acknowledged).as("transfers acknowledged").isGreaterThan(100);
            assertThat(passes).as("GC passes during the load").hasSizeGreaterThan(3);

            // One more pass with everything on disk: the cutoff stops at the oldest branch point.
            Lsn oldest = points.get(0).lsn();
            awaitDiskConsistent(rootTl, end, null, Duration.ofSeconds(60));
            passes.add(ps.gc(root, Instant.now()));
            TimelineManager.GcResult last = passes.get(passes.size() - 1);
            assertThat(last.cutoff()).isEqualTo(oldest);
            assertThat(last.retained()).containsExactlyElementsOf(points.stream().map(Point::lsn).toList());
            assertThat(passes).as("no pass moved the cutoff past the oldest branch point")
                    .allSatisfy(p -> assertThat(p.cutoff()).isLessThanOrEqualTo(oldest));
            assertThat(passes.stream().mapToInt(p -> p.removed().size()).sum()).as("layers GC removed").isPositive();
            assertThatThrownBy(() -> ps.branch(TimelineId.random(), root, Lsn.of(oldest.value() - 8), List.of()))
                    .isInstanceOf(TimelineException.class).hasMessageContaining("GC cutoff " + oldest);

            // Every branch reads its point; the root every acknowledged transfer.
            for (int i = 0; i < points.size(); i++) {
                Point p = points.get(i);
                try (PostgresServer pg = computeAt(p.branch(), p.lsn(), tmp.resolve("branch-" + i), PASSWORD)) {
                    assertThat(Long.parseLong(query(pg, "SELECT count(*) FROM history"))).as("history on branch %d", i)
                            .isEqualTo(p.history());
                    assertThat(query(pg, BALANCES)).as("balances on branch %d", i).isEqualTo(p.balances());
                }
            }
            assertThat(points).extracting(Point::history).as("the load moved between branch points").doesNotHaveDuplicates();
            try (PostgresServer pg = computeAt(rootTl, end, tmp.resolve("root-end"), PASSWORD)) {
                assertThat(Long.parseLong(query(pg, "SELECT count(*) FROM history"))).isEqualTo(acknowledged);
                assertThat(query(pg, "SELECT sum(balance) FROM accounts")).isEqualTo(Long.toString(1000L * ACCOUNTS));
            }
        }
    }

    /** One writer: transfers until stopped, each a transaction; counts the acknowledged ones. */
    private static void transfers(PostgresServer primary, long seed, ReentrantReadWriteLock pause, AtomicBoolean stop,
                                  AtomicLong commits, ConcurrentLinkedQueue<Throwable> failures) {
        Random random = new Random(seed);
        try (Connection c = DriverManager.getConnection(primary.jdbcUrl("postgres"));
             PreparedStatement move = c.prepareStatement("UPDATE accounts SET balance = balance + ? WHERE id = ?");
             PreparedStatement log = c.prepareStatement("INSERT INTO history (src, dst, amount) VALUES (?, ?, ?)")) {
            c.setAutoCommit(false);
            while (!stop.get()) {
                int a = 1 + random.nextInt(ACCOUNTS);
                int b = 1 + (a + random.nextInt(ACCOUNTS - 1)) % ACCOUNTS; // never a itself
                int amount = 1 + random.nextInt(100);
                pause.readLock().lock();
                try {
                    // The lower id first: two transfers between the same accounts never deadlock.
                    for (int id : new int[] {Math.min(a, b), Math.max(a, b)}) {
                        move.setInt(1, id == a ? -amount : amount);
                        move.setInt(2, id);
                        move.executeUpdate();
                    }
                    log.setInt(1, a);
                    log.setInt(2, b);
                    log.setInt(3, amount);
                    log.executeUpdate();
                    c.commit();
                    commits.incrementAndGet();
                } finally {
                    pause.readLock().unlock();
                }
            }
        } catch (SQLException | RuntimeException e) {
            failures.add(e);
        }
    }
}
