package dev.strata.cli.verify;

import dev.strata.cli.local.LocalPageserver.WalSource;
import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pageserver.redo.page.PageMask;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stock-standby oracle: a stock PostgreSQL 17 hot standby, started from an online base
 * backup of a branch's compute and streaming the branch's timeline from the safekeepers (any of
 * them, libpq's host list), is paused at an LSN L ({@code pg_wal_replay_pause},
 * {@code pg_last_wal_replay_lsn}); then every block of every user relation (tables, their TOAST
 * tables, indexes, sequences, materialized views: OIDs from 16384, permanent) in every
 * database, read from the pageserver at L over the page service with a compute token
 * (GetPage@L, the compute's own path), must equal the standby's block ({@code get_raw_page})
 * after PostgreSQL's masking ({@link PageMask}); so must every relation's size in blocks, main
 * fork and visibility map. The free space map is not WAL-logged page for page and is left out.
 *
 * <p>The standby's base backup is a file copy of the compute's data directory between
 * {@code pg_backup_start} and {@code pg_backup_stop}, its WAL is what the safekeepers committed;
 * it reads nothing from the pageserver. The compute's files, though, began as the pageserver's
 * basebackup when the compute started: a page the compute has not changed since is compared
 * with the pageserver's own earlier answer (as of that start); a page changed since (its first
 * change after the backup's checkpoint carries a full-page image) is checked independently. So
 * the standby can only pause at or after the end of that backup ({@link #consistentLsn}): the
 * oracle checks the pageserver at "now", not in the past.
 * The standby needs pageinspect, which a read-only standby cannot install: {@link #start}
 * creates it on the compute in every database that allows connections (template0 aside).
 */
public final class StandbyOracle implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(StandbyOracle.class);
    private static final int PAGE = 8192;
    private static final int FIRST_NORMAL_OID = 16384;
    private static final int BATCH = 256;
    private static final int SPGIST_METAPAGE = 0;
    /** Settings a hot standby must have at least as high as its primary's. */
    private static final List<String> AT_LEAST_PRIMARY = List.of("max_connections", "max_worker_processes",
            "max_wal_senders", "max_prepared_transactions", "max_locks_per_transaction");
    private static final Set<String> SKIP = Set.of("postmaster.pid", "postmaster.opts", "strata.conf",
            "backup_label", "tablespace_map", "standby.signal", "recovery.signal");

    /** One block (or one relation's size) where the pageserver and the standby disagree. */
    public record Mismatch(String database, String relation, long oid, String fork, long block, int offset,
                           String detail) {
        @Override
        public String toString() {
            return database + "." + relation + " (oid " + oid + ") " + fork
                    + (block >= 0 ? " blk " + block : "") + ": " + detail;
        }
    }

    /** One comparison: where, how much, and every difference found (empty when the pageserver agrees). */
    public record Result(Lsn lsn, Lsn pageserverLsn, List<String> databases, int relations, long blocks,
                         Map<String, Long> blocksByKind, List<Mismatch> mismatches) {
        @Override
        public String toString() {
            return String.format("at %s in %s: %d relations, %d blocks %s, %d mismatches%s", lsn, databases, relations,
                    blocks, blocksByKind, mismatches.size(),
                    mismatches.isEmpty() ? "" : ": " + mismatches.subList(0, Math.min(20, mismatches.size())));
        }
    }

    /** Told how far a comparison is: blocks compared of the total. */
    @FunctionalInterface
    public interface Progress {
        void blocks(long done, long total);

        Progress NONE = (done, total) -> { };
    }

    /** Thrown where a long step notices that it was cancelled (Ctrl-C). */
    public static final class CancelledException extends RuntimeException {
        CancelledException() {
            super("cancelled");
        }
    }

    private final VerifyTarget target;
    private final PostgresServer standby;
    private final Lsn consistentLsn;
    private final BooleanSupplier cancelled;
    /** {@link #fromHistory}'s recovery target, null for a standby copied from the compute. */
    private final Lsn stopAt;
    /** {@link #fromHistory}'s stopAt is the end of the WAL: no recovery target is set. */
    private final boolean toEnd;

    private StandbyOracle(VerifyTarget target, PostgresServer standby, Lsn consistentLsn, BooleanSupplier cancelled) {
        this(target, standby, consistentLsn, cancelled, null, false);
    }

    private StandbyOracle(VerifyTarget target, PostgresServer standby, Lsn consistentLsn, BooleanSupplier cancelled,
                          Lsn stopAt, boolean toEnd) {
        this.toEnd = toEnd;
        this.target = target;
        this.standby = standby;
        this.consistentLsn = consistentLsn;
        this.cancelled = cancelled;
        this.stopAt = stopAt;
    }

    private static void check(BooleanSupplier cancelled) {
        if (cancelled.getAsBoolean()) {
            throw new CancelledException();
        }
    }

    /**
     * Installs pageinspect on the compute (every database that allows connections, template1
     * too, so databases made later have it), takes an online base backup of the compute's data
     * directory into {@code dir}/standby and starts the hot standby on it, streaming from the
     * safekeepers. If the standby does not start, what was copied stays in {@code dir} for the
     * caller to remove.
     */
    public static StandbyOracle start(VerifyTarget t, Path dir) throws SQLException, IOException {
        return start(t, dir, () -> false);
    }

    /**
     * As {@link #start(VerifyTarget, Path)}; {@code cancelled} is asked between files of the
     * copy and between batches of a comparison, which then throw {@link CancelledException}.
     */
    public static StandbyOracle start(VerifyTarget t, Path dir, BooleanSupplier cancelled)
            throws SQLException, IOException {
        Path data = dir.resolve("standby");
        Map<String, String> settings = new HashMap<>();
        List<String> databases = new ArrayList<>();
        try (Connection conn = connect(t.computeUri("postgres"), t.user(), t.password());
             Statement s = conn.createStatement();
             ResultSet rs = s.executeQuery("SELECT datname FROM pg_database WHERE datallowconn ORDER BY oid")) {
            while (rs.next()) {
                databases.add(rs.getString(1));
            }
        }
        for (String db : databases) {
            try (Connection conn = connect(t.computeUri(db), t.user(), t.password());
                 Statement s = conn.createStatement()) {
                s.execute("CREATE EXTENSION IF NOT EXISTS pageinspect");
            }
        }
        Lsn stop;
        try (Connection conn = connect(t.computeUri("postgres"), t.user(), t.password());
             Statement s = conn.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT name, setting FROM pg_settings WHERE name IN ("
                    + AT_LEAST_PRIMARY.stream().map(n -> "'" + n + "'").collect(Collectors.joining(",")) + ")")) {
                while (rs.next()) {
                    settings.put(rs.getString(1), rs.getString(2));
                }
            }
            Lsn start = Lsn.parse(scalar(s, "SELECT pg_backup_start('strata-verify', true)"));
            try {
                copyDataDirectory(t.computeDataDir(), data, cancelled);
            } catch (CancelledException e) {
                s.execute("SELECT pg_backup_stop(false)");
                throw e;
            }
            try (ResultSet rs = s.executeQuery("SELECT lsn, labelfile FROM pg_backup_stop(false)")) {
                rs.next();
                stop = Lsn.parse(rs.getString(1));
                Files.writeString(data.resolve("backup_label"), rs.getString(2));
            }
            log.info("standby oracle: base backup of the compute of branch '{}' from {} to {} in {}", t.branch(),
                    start, stop, data);
        }
        Files.writeString(data.resolve("standby.signal"), "");
        settings.putAll(streamingStandby(t));
        PostgresServer sb = PostgresServer.builder().dataDir(data).user(t.user()).password(t.password())
                .settings(settings).startTimeout(Duration.ofSeconds(120)).start();
        return new StandbyOracle(t, sb, stop, cancelled);
    }

    /**
     * Hot standby settings that must be at least the primary's (PostgreSQL pauses recovery if
     * they are not): the cluster's computes run with PostgreSQL's defaults except
     * max_prepared_transactions 10 and max_wal_senders 10 (compute-node ComputeSettings); these
     * leave room for operator settings up to them without a large lock table.
     */
    private static final Map<String, String> HISTORY_STANDBY = Map.of("max_connections", "300",
            "max_worker_processes", "64", "max_wal_senders", "64", "max_prepared_transactions", "100",
            "max_locks_per_transaction", "128");
    /** Largest basebackup accepted from the pageserver (as the compute agent's bound). */
    private static final long MAX_BASEBACKUP_BYTES = 1L << 40;

    /**
     * A standby that re-derives the timeline from {@code base} to {@code stopAt} with PostgreSQL's
     * own redo: the pageserver's basebackup at {@code base}, which must be an LSN where a compute
     * of the timeline started (a term start: the safekeepers' WAL holds the shutdown checkpoint
     * record that basebackup carries), then the timeline's WAL streamed from the safekeepers
     * (object storage behind them) up to the last record that starts before {@code stopAt}, where
     * recovery ends and the standby is promoted, a private copy that never streams anywhere (so
     * pageinspect can be installed in it). It reads nothing from the compute. Pages the WAL
     * between the two LSNs does not touch are compared with the pageserver's own basebackup at
     * {@code base}; the further back {@code base}, the more of the history is checked
     * independently. Wait for it with {@link #compareRecovered}.
     *
     * @param toEnd {@code stopAt} is the end of the WAL there is (the committed head), where no
     *              record starts that a recovery target could stop before, so none is set: the
     *              standby replays what it receives and is promoted once it has replayed
     *              {@code stopAt} (a little more if more WAL came meanwhile; what it replayed is what
     *              is compared)
     */
    public static StandbyOracle fromHistory(VerifyTarget t, Lsn base, Lsn stopAt, boolean toEnd, Path dir,
                                            BooleanSupplier cancelled) throws IOException {
        if (stopAt.isBefore(base)) {
            throw new IllegalArgumentException("the standby cannot stop at " + stopAt + ", before its base " + base);
        }
        Path data = dir.resolve("standby");
        // Streamed straight into the data directory (read on a virtual thread through a pipe, as
        // the compute agent does): the tar never lands on disk whole.
        var pageserver = new dev.strata.compute.pageserver.PageServiceAccess(t.pageserverHost(), t.pageServicePort(),
                t.pageserverToken());
        pageserver.awaitLsn(t.timeline(), base, Duration.ofMinutes(2)); // base is a compute start: an epoch start
        try (java.io.InputStream in = pageserver.basebackup(t.timeline(), base)) {
            new dev.strata.compute.basebackup.TarUnpacker(MAX_BASEBACKUP_BYTES).unpack(in, data, (f, b) -> check(cancelled));
        }
        Files.writeString(data.resolve("postgresql.conf"), "# strata verify's standby\ninclude_if_exists = 'strata.conf'\n");
        Files.writeString(data.resolve("pg_hba.conf"), "host all all 127.0.0.1/32 scram-sha-256\n");
        for (String d : List.of("pg_wal/archive_status", "pg_wal/summaries", "pg_replslot")) {
            Files.createDirectories(data.resolve(d));
        }
        Files.writeString(data.resolve("standby.signal"), "");
        Map<String, String> settings = new HashMap<>(HISTORY_STANDBY);
        settings.putAll(streamingStandby(t));
        settings.put("autovacuum", "off"); // once promoted, nothing may change a page before the comparison
        if (!toEnd) {
            // Paused before the first record at or after stopAt; resuming then ends recovery there
            // (promoting with a target not reached would be FATAL).
            settings.put("recovery_target_lsn", stopAt.toString());
            settings.put("recovery_target_inclusive", "off");
            settings.put("recovery_target_action", "pause");
        }
        log.info("standby oracle: basebackup of timeline {} at {} from the pageserver in {}; replaying to {}",
                t.timeline(), base, data, stopAt);
        PostgresServer sb = PostgresServer.builder().dataDir(data).user(t.user()).password(t.password())
                .settings(settings).startTimeout(Duration.ofSeconds(120)).start();
        return new StandbyOracle(t, sb, base, cancelled, stopAt, toEnd);
    }

    /**
     * What both kinds of standby run with: hot, never cancelling a comparison's queries for
     * replay, streaming the branch's timeline from any of its safekeepers (libpq's host list).
     */
    private static Map<String, String> streamingStandby(VerifyTarget t) {
        return Map.of("hot_standby", "on", "max_standby_streaming_delay", "-1", "wal_receiver_timeout", "10s",
                "wal_retrieve_retry_interval", "1s", "primary_conninfo", primaryConninfo(t));
    }

    private static String primaryConninfo(VerifyTarget t) {
        StringBuilder hosts = new StringBuilder();
        StringBuilder ports = new StringBuilder();
        for (WalSource w : t.walSources()) {
            hosts.append(hosts.isEmpty() ? "" : ",").append(w.host());
            ports.append(ports.isEmpty() ? "" : ",").append(w.port());
        }
        WalSource any = t.walSources().getFirst();
        return "host=" + hosts + " port=" + ports + " user=" + any.user() + " password=" + any.password()
                + " options='-c timeline_id=" + t.timeline() + "' application_name=strata_verify sslmode=disable";
    }

    /** Told how far a standby's replay is, while {@link #compareRecovered} waits for it. */
    @FunctionalInterface
    public interface Replay {
        void replayed(Lsn lsn);
    }

    /**
     * For a standby from {@link #fromHistory}: waits until recovery reached its stop LSN and the
     * standby was promoted (telling {@code replay} where it is every couple of seconds), installs
     * pageinspect in every database of the copy, and compares every block of {@code relations}
     * (empty: all) with the pageserver at the LSN the standby replayed to.
     */
    public Result compareRecovered(Set<Long> relations, Duration timeout, Replay replay, Progress progress,
                                   UnaryOperator<Lsn> pageserverLsn) throws Exception {
        try {
            return recoverAndCompare(relations, timeout, replay, progress, pageserverLsn);
        } catch (SQLException e) {
            throw new SQLException(e.getMessage() + "; the standby's log:\n" + standby.logTail(30), e.getSQLState(), e);
        }
    }

    private Result recoverAndCompare(Set<Long> relations, Duration timeout, Replay replay, Progress progress,
                                     UnaryOperator<Lsn> pageserverLsn) throws Exception {
        if (stopAt == null) {
            throw new IllegalStateException("not a standby from the pageserver's history");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        long nextReport = 0;
        boolean promoted = false;
        Lsn at;
        try (Connection sc = connect("postgres"); Statement s = sc.createStatement()) {
            long stuckSince = 0;
            while ("t".equals(scalar(s, "SELECT pg_is_in_recovery()"))) {
                check(cancelled);
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the standby did not finish replaying within " + timeout.toSeconds()
                            + " s (at " + scalar(s, "SELECT pg_last_wal_replay_lsn()") + "); its log:\n"
                            + standby.logTail(30));
                }
                String replayedText = scalar(s, "SELECT pg_last_wal_replay_lsn()");
                Lsn replayed = replayedText == null ? Lsn.INVALID : Lsn.parse(replayedText);
                if (System.nanoTime() > nextReport) {
                    if (replayed.isValid()) {
                        replay.replayed(replayed);
                    }
                    nextReport = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                }
                if (!promoted && toEnd && !replayed.isBefore(stopAt)) {
                    s.execute("SELECT pg_promote(false)");
                    promoted = true;
                } else if (!promoted && !toEnd) {
                    if ("paused".equals(scalar(s, "SELECT pg_get_wal_replay_pause_state()"))) {
                        s.execute("SELECT pg_wal_replay_resume()"); // at the target: recovery ends here
                        promoted = true;
                    } else if (!replayed.isBefore(stopAt)) {
                        // Everything below the target replayed, and no record at or after it yet:
                        // the target lies inside the last record or at the end of the WAL.
                        if (stuckSince == 0) {
                            stuckSince = System.nanoTime();
                        } else if (System.nanoTime() - stuckSince > TimeUnit.SECONDS.toNanos(30)) {
                            throw new IllegalArgumentException("no WAL record starts at or after " + stopAt
                                    + " yet (the standby replayed to " + replayed + "): use --at now, or an LSN "
                                    + "below the last record");
                        }
                    }
                }
                Thread.sleep(100);
            }
            // After recovery ends this stays the end of the last record replayed (recovery_target_lsn).
            at = lsn(s, "SELECT pg_last_wal_replay_lsn()");
        }
        List<String> databases = new ArrayList<>();
        try (Connection sc = connect("postgres"); Statement s = sc.createStatement();
             ResultSet rs = s.executeQuery("SELECT datname FROM pg_database WHERE datallowconn ORDER BY oid")) {
            while (rs.next()) {
                databases.add(rs.getString(1));
            }
        }
        for (String db : databases) {
            try (Connection c = connect(db); Statement s = c.createStatement()) {
                s.execute("CREATE EXTENSION IF NOT EXISTS pageinspect"); // catalogs only: OIDs below the compared ones
            }
        }
        return compareAt(at, pageserverLsn.apply(at), relations,
                Duration.ofNanos(Math.max(deadline - System.nanoTime(), Duration.ofSeconds(30).toNanos())), progress);
    }

    /** The earliest LSN the standby can pause at: the end of its base backup. */
    public Lsn consistentLsn() {
        return consistentLsn;
    }

    /**
     * Waits until the standby has replayed {@code atLeast}, pauses its replay there (at the
     * first record boundary it reached, L), waits for the pageserver to have ingested L and
     * compares every block of {@code relations} (empty: all); resumes replay after.
     *
     * @throws IllegalArgumentException if a relation OID names no relation in any database
     */
    public Result compare(Lsn atLeast, Set<Long> relations, Duration timeout, Progress progress) throws Exception {
        return compare(atLeast, relations, timeout, progress, UnaryOperator.identity());
    }

    /**
     * As {@link #compare(Lsn, Set, Duration, Progress)}, reading the pageserver at
     * {@code pageserverLsn.apply(L)} instead of L: for tests only, the fault a test injects to
     * see that a difference is reported (a standby at another LSN than the pages compared).
     */
    Result compare(Lsn atLeast, Set<Long> relations, Duration timeout, Progress progress,
                   UnaryOperator<Lsn> pageserverLsn) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Connection sc = connect("postgres"); Statement s = sc.createStatement()) {
            while (lsn(s, "SELECT pg_last_wal_replay_lsn()").isBefore(atLeast)) {
                check(cancelled);
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the standby did not replay up to " + atLeast + " within "
                            + timeout.toSeconds() + " s (at " + lsn(s, "SELECT pg_last_wal_replay_lsn()")
                            + "); its log:\n" + standby.logTail(30));
                }
                Thread.sleep(100);
            }
            s.execute("SELECT pg_wal_replay_pause()");
            try {
                while (!"paused".equals(scalar(s, "SELECT pg_get_wal_replay_pause_state()"))) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the standby's replay did not pause within "
                                + timeout.toSeconds() + " s");
                    }
                    Thread.sleep(20);
                }
                Lsn at = lsn(s, "SELECT pg_last_wal_replay_lsn()");
                return compareAt(at, pageserverLsn.apply(at), relations,
                        Duration.ofNanos(Math.max(deadline - System.nanoTime(), Duration.ofSeconds(30).toNanos())),
                        progress);
            } finally {
                s.execute("SELECT pg_wal_replay_resume()");
            }
        }
    }

    /** A relation of the standby to compare. */
    private record Rel(String database, String regclass, long oid, String relkind, String am, int spc, int db,
                       int relNumber, long mainBlocks, long vmBlocks) {
    }

    private Result compareAt(Lsn at, Lsn psAt, Set<Long> only, Duration wait, Progress progress) throws Exception {
        TimelineId tl = target.timeline();
        List<Mismatch> mismatches = new ArrayList<>();
        List<String> databases = new ArrayList<>();
        Map<String, Long> byKind = new TreeMap<>();
        List<Rel> rels = new ArrayList<>();
        Set<Long> found = new HashSet<>();
        long total = 0;
        List<Object[]> dbs = new ArrayList<>();
        try (Connection sc = connect("postgres"); Statement s = sc.createStatement();
             ResultSet rs = s.executeQuery("SELECT oid, datname, dattablespace FROM pg_database WHERE datallowconn "
                     + "ORDER BY oid")) {
            while (rs.next()) {
                dbs.add(new Object[] {rs.getLong(1), rs.getString(2), rs.getLong(3)});
            }
        }
        for (Object[] db : dbs) {
            String name = (String) db[1];
            try (Connection c = connect(name); Statement s = c.createStatement()) {
                if (scalar(s, "SELECT 1 FROM pg_extension WHERE extname = 'pageinspect'") == null) {
                    continue; // made after the standby's base backup: no get_raw_page here
                }
                databases.add(name);
                try (ResultSet rs = s.executeQuery("SELECT c.oid::regclass::text, c.oid, c.relkind::text, "
                        + "coalesce(am.amname, ''), pg_relation_filenode(c.oid), c.reltablespace, "
                        + "pg_relation_size(c.oid, 'main') / " + PAGE + ", pg_relation_size(c.oid, 'vm') / " + PAGE
                        + " FROM pg_class c LEFT JOIN pg_am am ON am.oid = c.relam WHERE c.oid >= "
                        + FIRST_NORMAL_OID + " AND c.relkind IN ('r', 'i', 't', 'm', 'S') "
                        + "AND c.relpersistence = 'p' AND pg_relation_filenode(c.oid) IS NOT NULL ORDER BY c.oid")) {
                    while (rs.next()) {
                        long oid = rs.getLong(2);
                        if (!only.isEmpty() && !only.contains(oid)) {
                            continue;
                        }
                        found.add(oid);
                        long spc = rs.getLong(6) == 0 ? (Long) db[2] : rs.getLong(6);
                        Rel r = new Rel(name, rs.getString(1), oid, rs.getString(3), rs.getString(4), (int) spc,
                                (int) (long) (Long) db[0], (int) rs.getLong(5), rs.getLong(7), rs.getLong(8));
                        rels.add(r);
                        total += r.mainBlocks() + (r.relkind().equals("i") || r.relkind().equals("S") ? 0
                                : r.vmBlocks());
                    }
                }
            }
        }
        if (!only.isEmpty() && !found.containsAll(only)) {
            Set<Long> missing = new java.util.TreeSet<>(only);
            missing.removeAll(found);
            throw new IllegalArgumentException("no relation with OID " + missing + " in databases " + databases
                    + " (user relations have OIDs from " + FIRST_NORMAL_OID + ")");
        }
        long[] done = {0};
        progress.blocks(0, total);
        try (PageserverClient ps = new PageserverClient(target.pageserverHost(), target.pageServicePort(),
                target.pageserverToken()).withWait(wait)) {
            ps.waitForLsn(tl, psAt, wait);
            String current = null;
            Connection c = null;
            try {
                for (Rel rel : rels) {
                    if (!rel.database().equals(current)) {
                        if (c != null) {
                            c.close();
                        }
                        c = connect(rel.database());
                        current = rel.database();
                    }
                    PageMask.Kind kind;
                    try {
                        kind = PageMask.Kind.of(rel.relkind(), rel.am());
                    } catch (IllegalArgumentException e) {
                        mismatches.add(new Mismatch(rel.database(), rel.regclass(), rel.oid(), "main", -1, -1,
                                "not compared: " + e.getMessage()));
                        continue;
                    }
                    long n = compareFork(c, ps, tl, psAt, rel, 0, rel.mainBlocks(), kind, mismatches, done, total,
                            progress, cancelled);
                    byKind.merge(kind.name(), n, Long::sum);
                    if (kind == PageMask.Kind.HEAP) {
                        long vm = compareFork(c, ps, tl, psAt, rel, 2, rel.vmBlocks(), PageMask.Kind.VISIBILITY_MAP,
                                mismatches, done, total, progress, cancelled);
                        byKind.merge(PageMask.Kind.VISIBILITY_MAP.name(), vm, Long::sum);
                    }
                }
            } finally {
                if (c != null) {
                    c.close();
                }
            }
        }
        progress.blocks(done[0], total);
        Result result = new Result(at, psAt, databases, rels.size(), done[0], byKind, mismatches);
        log.info("standby oracle: {}", result);
        return result;
    }

    /** Compares one fork; returns the blocks compared. */
    private static long compareFork(Connection c, PageserverClient ps, TimelineId tl, Lsn at, Rel rel, int fork,
                                    long theirs, PageMask.Kind kind, List<Mismatch> mismatches, long[] done,
                                    long total, Progress progress, BooleanSupplier cancelled) throws SQLException {
        String forkName = fork == 0 ? "main" : "vm";
        long ours;
        try {
            ours = ps.relationSize(tl, at, rel.spc(), rel.db(), rel.relNumber(), fork);
        } catch (RuntimeException e) {
            // A fork the pageserver does not know: the standby must have none either.
            if (theirs != 0) {
                mismatches.add(new Mismatch(rel.database(), rel.regclass(), rel.oid(), forkName, -1, -1,
                        "the pageserver has no such fork (" + e.getMessage() + "), the standby " + theirs
                                + " blocks"));
            }
            return 0;
        }
        if (ours == -1 && theirs == 0) {
            return 0; // no such fork on either side (a TOAST table's visibility map before its first VACUUM)
        }
        if (ours != theirs) {
            mismatches.add(new Mismatch(rel.database(), rel.regclass(), rel.oid(), forkName, -1, -1,
                    "size " + ours + " blocks at the pageserver, " + theirs + " at the standby"));
            return 0;
        }
        long compared = 0;
        for (long from = 0; from < theirs; from += BATCH) {
            check(cancelled);
            int n = (int) Math.min(BATCH, theirs - from);
            int[] blocks = new int[n];
            for (int i = 0; i < n; i++) {
                blocks[i] = (int) (from + i);
            }
            CompletableFuture<byte[]>[] mine = ps.getPagesAsync(tl, at, rel.spc(), rel.db(), rel.relNumber(), fork,
                    blocks);
            try (PreparedStatement st = c.prepareStatement(
                    "SELECT b, get_raw_page(?, ?, b::int) FROM generate_series(?::bigint, ?::bigint) b ORDER BY b")) {
                st.setString(1, rel.regclass());
                st.setString(2, forkName);
                st.setLong(3, from);
                st.setLong(4, from + n - 1);
                try (ResultSet rs = st.executeQuery()) {
                    int i = 0;
                    while (rs.next()) {
                        long blk = rs.getLong(1);
                        byte[] standbyPage = rs.getBytes(2);
                        byte[] page = mine[i++].join();
                        if (kind == PageMask.Kind.SPGIST && blk == SPGIST_METAPAGE) {
                            standbyPage = maskSpgistPageCache(standbyPage);
                            page = maskSpgistPageCache(page);
                        } else if (kind == PageMask.Kind.SEQUENCE) {
                            standbyPage = maskSequenceValues(standbyPage);
                            page = maskSequenceValues(page);
                        }
                        byte[] theirsMasked = PageMask.mask(standbyPage, kind);
                        byte[] oursMasked = PageMask.mask(page, kind);
                        int diff = PageMask.firstDifference(theirsMasked, oursMasked);
                        if (diff >= 0) {
                            mismatches.add(new Mismatch(rel.database(), rel.regclass(), rel.oid(), forkName, blk, diff,
                                    "differs at byte " + diff + " (" + kind + " mask): standby " + hex(theirsMasked, diff)
                                            + ", pageserver " + hex(oursMasked, diff)));
                        } else if (kind != PageMask.Kind.VISIBILITY_MAP) {
                            int blind = PageMask.blindSpot(standbyPage, page, kind);
                            if (blind >= 0) {
                                mismatches.add(new Mismatch(rel.database(), rel.regclass(), rel.oid(), forkName, blk,
                                        blind, "the " + kind + " mask hides a flipped byte at " + blind));
                            }
                        }
                        compared++;
                        done[0]++;
                    }
                }
            }
            progress.blocks(done[0], total);
        }
        return compared;
    }

    /**
     * SP-GiST's metapage keeps a cache of the last used pages (SpGistMetaPageData.lastUsedPages,
     * 8 x {blkno, freeSpace} after the magic number) that the primary updates without WAL
     * (SpGistUpdateMetaPage: "just a hint"). PostgreSQL's spg_mask leaves it alone because its
     * consistency check compares a page with a full-page image of the same moment; here the
     * standby's copy of the metapage came from a file copy of the running compute, so its cache
     * is whatever the compute had written back, and ours is the last image in WAL.
     */
    private static byte[] maskSpgistPageCache(byte[] page) {
        byte[] p = page.clone();
        Arrays.fill(p, 28, 28 + 8 * 8, (byte) 0);
        return p;
    }

    /**
     * A sequence's page as the primary keeps it is not the page WAL describes: nextval() logs
     * the tuple with values fetched ahead (SEQ_LOG_VALS) and then counts down in the buffer
     * without WAL; a checkpoint writes that buffer out. The standby's copy of the compute holds
     * such a page until the next sequence record after its start; the pageserver holds the
     * last record's. PostgreSQL's seq_mask does not mask the values because its check compares
     * a page with an image of the same moment. Here the tuple's data (last_value, log_cnt,
     * is_called: 17 bytes after the tuple header of item 1) are masked; the header, the line
     * pointer and the special space (SEQ_MAGIC) still count.
     */
    static byte[] maskSequenceValues(byte[] page) {
        int lower = (page[12] & 0xFF) | (page[13] & 0xFF) << 8;
        if (lower < 28) {
            return page; // no item: an all-zero page, compared as is
        }
        int lp = (page[24] & 0xFF) | (page[25] & 0xFF) << 8 | (page[26] & 0xFF) << 16 | (page[27] & 0xFF) << 24;
        int off = lp & 0x7FFF;
        if (off < 28 || off + 23 >= PAGE) {
            return page; // not a sequence tuple: left for the comparison to show
        }
        int data = off + (page[off + 22] & 0xFF);
        if (data + 17 > PAGE) {
            return page;
        }
        byte[] p = page.clone();
        Arrays.fill(p, data, data + 17, (byte) 0);
        return p;
    }

    /** Up to 8 bytes from {@code off}, in hex. */
    private static String hex(byte[] p, int off) {
        StringBuilder b = new StringBuilder();
        for (int i = off; i < Math.min(p.length, off + 8); i++) {
            b.append(String.format("%02x", p[i] & 0xFF));
        }
        return b.toString();
    }

    /** The standby's replay LSN now. */
    public Lsn replayLsn() throws SQLException {
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            return lsn(s, "SELECT pg_last_wal_replay_lsn()");
        }
    }

    private Connection connect(String database) throws SQLException {
        return connect("postgresql://127.0.0.1:" + standby.port() + "/" + database, target.user(), target.password());
    }

    private static Connection connect(String uri, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "60");
        p.setProperty("socketTimeout", "300");
        p.setProperty("ApplicationName", "strata-verify");
        return DriverManager.getConnection("jdbc:" + uri, p);
    }

    /** A file copy of a running data directory, as between pg_backup_start and pg_backup_stop. */
    private static void copyDataDirectory(Path src, Path target, BooleanSupplier cancelled) throws IOException {
        List<Path> all;
        try (Stream<Path> files = Files.walk(src)) {
            all = files.sorted(Comparator.naturalOrder()).toList();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        for (Path p : all) {
            check(cancelled);
            Path rel = src.relativize(p);
            if (SKIP.contains(rel.toString()) || rel.toString().endsWith(".log")
                    || (rel.getNameCount() > 1 && (rel.startsWith("pg_wal") || rel.startsWith("pg_replslot")))) {
                continue; // WAL comes from the safekeepers; the compute's slots are its own
            }
            Path dest = target.resolve(rel.toString());
            try {
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest);
                }
            } catch (NoSuchFileException e) {
                // dropped while copying (a temporary file, a relation dropped meanwhile): WAL replay has it
            }
        }
        Files.createDirectories(target.resolve("pg_wal").resolve("archive_status"));
        Files.createDirectories(target.resolve("pg_wal").resolve("summaries"));
        Files.createDirectories(target.resolve("pg_replslot"));
    }

    private static Lsn lsn(Statement s, String sql) throws SQLException {
        return Lsn.parse(scalar(s, sql));
    }

    private static String scalar(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** Stops the standby (fast shutdown); its directory is the caller's to remove. */
    @Override
    public void close() {
        standby.close();
    }
}
