package dev.strata.cli.local;

import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pageserver.ingest.PageMask;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stock-standby oracle at the level of a whole local cluster: a stock PostgreSQL 17 hot
 * standby, started from an online base backup of the cluster's compute and streaming the
 * timeline from the safekeepers (any of the three, libpq's host list), is paused at an LSN L
 * ({@code pg_wal_replay_pause}, {@code pg_last_wal_replay_lsn}); then every block of every
 * user relation (tables, their TOAST tables, indexes, sequences, materialized views: OIDs from
 * 16384, permanent) in every database where pageinspect is installed, read from the pageserver
 * at L over the page service with a compute token (GetPage@L, the compute's own path), must
 * equal the standby's block ({@code get_raw_page}) after PostgreSQL's masking
 * ({@link PageMask}, from pageserver-service's tests); so must every relation's size in blocks,
 * main fork and visibility map. The free space map is not WAL-logged page for page and is left
 * out, as in pageserver-service's {@code StandbyOracleTest}.
 *
 * <p>Nothing of the pageserver goes into the standby: its base backup is a file copy of the
 * compute's data directory between {@code pg_backup_start} and {@code pg_backup_stop}, its WAL is
 * what the safekeepers committed. So it can check a pageserver that attached from S3, and
 * later back {@code strata verify}.
 */
final class StandbyOracle implements AutoCloseable {

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

    /** One comparison: where, how much, and every difference found (empty when the pageserver agrees). */
    record Result(Lsn lsn, List<String> databases, int relations, long blocks, Map<String, Long> blocksByKind,
                  List<String> mismatches) {
        @Override
        public String toString() {
            return String.format("at %s in %s: %d relations, %d blocks %s, %d mismatches%s", lsn, databases, relations,
                    blocks, blocksByKind, mismatches.size(),
                    mismatches.isEmpty() ? "" : ": " + mismatches.subList(0, Math.min(20, mismatches.size())));
        }
    }

    private final LocalCluster cluster;
    private final PostgresServer standby;

    private StandbyOracle(LocalCluster cluster, PostgresServer standby) {
        this.cluster = cluster;
        this.standby = standby;
    }

    /**
     * Installs pageinspect on the compute (template1 and postgres, so databases made later have
     * it), takes an online base backup of the compute's data directory into {@code dir} and starts
     * the hot standby on it, streaming from the safekeepers.
     */
    static StandbyOracle start(LocalCluster c, Path dir) throws Exception {
        Path data = dir.resolve("standby");
        Map<String, String> settings = new HashMap<>();
        String user = c.compute().spec().user();
        String password = c.compute().spec().password();
        try (Connection conn = ClusterClient.connect(c.compute().connectionUri("template1"));
             Statement s = conn.createStatement()) {
            s.execute("CREATE EXTENSION IF NOT EXISTS pageinspect");
        }
        try (Connection conn = ClusterClient.connect(c.compute().connectionUri("postgres"));
             Statement s = conn.createStatement()) {
            s.execute("CREATE EXTENSION IF NOT EXISTS pageinspect");
            try (ResultSet rs = s.executeQuery("SELECT name, setting FROM pg_settings WHERE name IN ("
                    + AT_LEAST_PRIMARY.stream().map(n -> "'" + n + "'").collect(Collectors.joining(",")) + ")")) {
                while (rs.next()) {
                    settings.put(rs.getString(1), rs.getString(2));
                }
            }
            Lsn start;
            try (ResultSet rs = s.executeQuery("SELECT pg_backup_start('strata-standby-oracle', true)")) {
                rs.next();
                start = Lsn.parse(rs.getString(1));
            }
            copyDataDirectory(c.compute().spec().dataDir(), data);
            try (ResultSet rs = s.executeQuery("SELECT labelfile FROM pg_backup_stop(false)")) {
                rs.next();
                Files.writeString(data.resolve("backup_label"), rs.getString(1));
            }
            log.info("standby oracle: base backup of the compute from {} in {}", start, data);
        }
        Files.writeString(data.resolve("standby.signal"), "");
        StringBuilder hosts = new StringBuilder();
        StringBuilder ports = new StringBuilder();
        LocalPageserver.WalSource any = null;
        for (LocalPageserver.WalSource w : c.walSources()) {
            hosts.append(hosts.isEmpty() ? "" : ",").append(w.host());
            ports.append(ports.isEmpty() ? "" : ",").append(w.port());
            any = w;
        }
        if (any == null) {
            throw new IllegalStateException("the cluster has no safekeeper to stream from");
        }
        settings.put("hot_standby", "on");
        settings.put("max_standby_streaming_delay", "-1");
        settings.put("wal_receiver_timeout", "10s");
        settings.put("wal_retrieve_retry_interval", "1s");
        settings.put("primary_conninfo", "host=" + hosts + " port=" + ports + " user=" + any.user() + " password="
                + any.password() + " options='-c timeline_id=" + c.timeline() + "' application_name=standby_oracle "
                + "sslmode=disable");
        PostgresServer sb = PostgresServer.builder().dataDir(data).user(user).password(password).settings(settings)
                .startTimeout(Duration.ofSeconds(120)).start();
        return new StandbyOracle(c, sb);
    }

    /**
     * Waits until the standby has replayed {@code atLeast}, pauses its replay at L, waits for the
     * pageserver to have ingested L and compares every block; resumes replay after.
     */
    Result compare(Lsn atLeast, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        TimelineId tl = cluster.timeline();
        try (Connection sc = connect("postgres"); Statement s = sc.createStatement()) {
            while (lsn(s, "SELECT pg_last_wal_replay_lsn()").isBefore(atLeast)) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the standby did not replay up to " + atLeast + " within " + timeout
                            + " (at " + lsn(s, "SELECT pg_last_wal_replay_lsn()") + "); its log:\n"
                            + standby.logTail(30));
                }
                Thread.sleep(100);
            }
            s.execute("SELECT pg_wal_replay_pause()");
            try {
                while (!"paused".equals(scalar(s, "SELECT pg_get_wal_replay_pause_state()"))) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("the standby's replay did not pause within " + timeout);
                    }
                    Thread.sleep(20);
                }
                Lsn at = lsn(s, "SELECT pg_last_wal_replay_lsn()");
                cluster.pageserver().awaitIngest(tl, at, Duration.ofNanos(Math.max(deadline - System.nanoTime(),
                        TimeUnit.SECONDS.toNanos(30))));
                return compareAt(at, tl);
            } finally {
                s.execute("SELECT pg_wal_replay_resume()");
            }
        }
    }

    private Result compareAt(Lsn at, TimelineId tl) throws Exception {
        List<String> mismatches = new ArrayList<>();
        List<String> databases = new ArrayList<>();
        Map<String, Long> byKind = new java.util.TreeMap<>();
        int relations = 0;
        long blocks = 0;
        List<Object[]> dbs = new ArrayList<>();
        try (Connection sc = connect("postgres"); Statement s = sc.createStatement();
             ResultSet rs = s.executeQuery("SELECT oid, datname, dattablespace FROM pg_database WHERE datallowconn "
                     + "ORDER BY oid")) {
            while (rs.next()) {
                dbs.add(new Object[] {rs.getLong(1), rs.getString(2), rs.getLong(3)});
            }
        }
        try (PageserverClient ps = new PageserverClient("127.0.0.1", cluster.pageserver().pageServicePort(),
                cluster.auth().computeToken(tl, "standby-oracle")).withWait(Duration.ofSeconds(120))) {
            for (Object[] db : dbs) {
                long dbOid = (Long) db[0];
                String name = (String) db[1];
                try (Connection c = connect(name); Statement s = c.createStatement()) {
                    if (scalar(s, "SELECT 1 FROM pg_extension WHERE extname = 'pageinspect'") == null) {
                        continue; // no get_raw_page here
                    }
                    databases.add(name);
                    List<Object[]> rels = new ArrayList<>();
                    try (ResultSet rs = s.executeQuery("SELECT c.oid::regclass::text, c.relkind::text, "
                            + "coalesce(am.amname, ''), pg_relation_filenode(c.oid), c.reltablespace "
                            + "FROM pg_class c LEFT JOIN pg_am am ON am.oid = c.relam WHERE c.oid >= "
                            + FIRST_NORMAL_OID + " AND c.relkind IN ('r', 'i', 't', 'm', 'S') "
                            + "AND c.relpersistence = 'p' AND pg_relation_filenode(c.oid) IS NOT NULL ORDER BY c.oid")) {
                        while (rs.next()) {
                            long spc = rs.getLong(5) == 0 ? (Long) db[2] : rs.getLong(5);
                            rels.add(new Object[] {rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4), spc});
                        }
                    }
                    for (Object[] r : rels) {
                        PageMask.Kind kind = PageMask.Kind.of((String) r[1], (String) r[2]);
                        Rel rel = new Rel(name + "." + r[0], (String) r[0], (int) (long) (Long) r[4], (int) dbOid,
                                (int) (long) (Long) r[3]);
                        long n = compareFork(c, ps, tl, at, rel, 0, kind, mismatches);
                        byKind.merge(kind.name(), n, Long::sum);
                        blocks += n;
                        if (kind == PageMask.Kind.HEAP) {
                            long vm = compareFork(c, ps, tl, at, rel, 2, PageMask.Kind.VISIBILITY_MAP, mismatches);
                            byKind.merge(PageMask.Kind.VISIBILITY_MAP.name(), vm, Long::sum);
                            blocks += vm;
                        }
                        relations++;
                    }
                }
            }
        }
        Result result = new Result(at, databases, relations, blocks, byKind, mismatches);
        log.info("standby oracle: {}", result);
        return result;
    }

    private record Rel(String label, String regclass, int spc, int db, int relNumber) {
    }

    /** Compares one fork; returns the blocks compared. */
    private static long compareFork(Connection c, PageserverClient ps, TimelineId tl, Lsn at, Rel rel, int fork,
                                    PageMask.Kind kind, List<String> mismatches) throws SQLException {
        String forkName = fork == 0 ? "main" : "vm";
        String what = rel.label() + " (" + rel.relNumber() + ") " + forkName;
        long theirs;
        try (PreparedStatement st = c.prepareStatement("SELECT pg_relation_size(?::regclass, ?) / " + PAGE)) {
            st.setString(1, rel.regclass());
            st.setString(2, forkName);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                theirs = rs.getLong(1);
            }
        }
        long ours;
        try {
            ours = ps.relationSize(tl, at, rel.spc(), rel.db(), rel.relNumber(), fork);
        } catch (RuntimeException e) {
            // A fork the pageserver does not know: the standby must have none either.
            if (theirs != 0) {
                mismatches.add(what + ": the pageserver has no such fork (" + e.getMessage() + "), standby "
                        + theirs + " blocks");
            }
            return 0;
        }
        if (ours == -1 && theirs == 0) {
            return 0; // no such fork on either side (a TOAST table's visibility map before its first VACUUM)
        }
        if (ours != theirs) {
            mismatches.add(what + ": size " + ours + " blocks, standby " + theirs);
            return 0;
        }
        long compared = 0;
        for (long from = 0; from < theirs; from += BATCH) {
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
                        }
                        int diff = PageMask.firstDifference(PageMask.mask(standbyPage, kind), PageMask.mask(page, kind));
                        if (diff >= 0) {
                            mismatches.add(what + " blk " + blk + " (" + kind + "): differs at byte " + diff);
                        } else if (kind != PageMask.Kind.VISIBILITY_MAP) {
                            checkMaskNotBlind(standbyPage, page, kind, what + " blk " + blk, mismatches);
                        }
                        compared++;
                    }
                }
            }
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
        java.util.Arrays.fill(p, 28, 28 + 8 * 8, (byte) 0);
        return p;
    }

    /** The first byte of the lowest item must still count after masking (unless the page has no items). */
    private static void checkMaskNotBlind(byte[] theirs, byte[] mine, PageMask.Kind kind, String what,
                                          List<String> mismatches) {
        int lower = (theirs[12] & 0xFF) | (theirs[13] & 0xFF) << 8;
        int upper = (theirs[14] & 0xFF) | (theirs[15] & 0xFF) << 8;
        int special = (theirs[16] & 0xFF) | (theirs[17] & 0xFF) << 8;
        if (upper >= special || lower <= 24 || upper == 0) {
            return;
        }
        byte[] flipped = mine.clone();
        flipped[upper] ^= 0x5A;
        try {
            if (PageMask.firstDifference(PageMask.mask(theirs, kind), PageMask.mask(flipped, kind)) != upper) {
                mismatches.add(what + ": the mask hides a flipped byte at " + upper);
            }
        } catch (IllegalStateException e) {
            // a masked-out page (a deleted GIN page, an unused hash page): nothing to see
        }
    }

    /** The standby's replay LSN now. */
    Lsn replayLsn() throws SQLException {
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            return lsn(s, "SELECT pg_last_wal_replay_lsn()");
        }
    }

    private Connection connect(String database) throws SQLException {
        return ClusterClient.connect(standby.connectionUri(database));
    }

    /** A file copy of a running data directory, as between pg_backup_start and pg_backup_stop. */
    private static void copyDataDirectory(Path src, Path target) throws IOException {
        List<Path> all;
        try (Stream<Path> files = Files.walk(src)) {
            all = files.sorted(Comparator.naturalOrder()).toList();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        for (Path p : all) {
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

    @Override
    public void close() {
        standby.close();
    }
}
