package dev.strata.pageserver.testing;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.replication.ReplicationClient;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;

/**
 * What the oracle tests share about their real PostgreSQL 17 primary: a primary that writes a
 * consistency image for every page change, a timeline start on a fresh WAL segment, the LSN
 * ingest reaches at the end of a workload, and raw pages to compare with.
 */
public final class WalOracle {

    public static final int SEGMENT = 16 << 20;
    private static final int WAL_PAGE = 8192;

    private WalOracle() {
    }

    /**
     * A primary with {@code wal_consistency_checking=all} (every page change carries the page
     * after it), full-page writes, no autovacuum (relations change only by the workload), and
     * WAL kept for receivers that start late: checkpoints only when a test asks.
     */
    public static PostgresServer.Builder consistencyCheckingPrimary() {
        return PostgresServer.builder()
                .setting("wal_level", "replica")
                .setting("wal_consistency_checking", "all")
                .setting("full_page_writes", "on")
                .setting("autovacuum", "off")
                .setting("wal_keep_size", "2GB")
                .setting("checkpoint_timeout", "1h")
                .setting("max_wal_size", "4GB");
    }

    /**
     * Switches WAL and returns the start of the next segment: a timeline starting there has
     * nothing of what the test creates afterwards.
     */
    public static Lsn freshSegment(Statement s) throws Exception {
        Lsn switched = Lsn.parse(scalar(s, "SELECT pg_switch_wal()"));
        return Lsn.ofSegment(Lsn.of(switched.value() - 1).segmentNumber(SEGMENT) + 1, SEGMENT);
    }

    public static Lsn insertLsn(Statement s) throws Exception {
        return Lsn.parse(scalar(s, "SELECT pg_current_wal_insert_lsn()"));
    }

    /** The insert LSN as a record end ingest reaches: see {@link #recordBoundary}. */
    public static Lsn endOfWork(Statement s) throws Exception {
        return recordBoundary(insertLsn(s));
    }

    /**
     * The insert LSN just after a page header is where a record ending at the page boundary
     * ends for ingest (EndRecPtr is the boundary itself), so wait for the boundary.
     */
    public static Lsn recordBoundary(Lsn insert) {
        int inPage = insert.pageOffset(WAL_PAGE);
        if (inPage == 24 || (inPage == 40 && insert.segmentOffset(SEGMENT) == 40)) {
            return insert.pageStart(WAL_PAGE);
        }
        return insert;
    }

    public static ReplicationClient.Options replication(PostgresServer pg, String name) {
        return new ReplicationClient.Options(pg.host(), pg.port(), pg.user(), pg.password(), name, Duration.ofSeconds(5));
    }

    public static String scalar(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** {@code get_raw_page(rel, fork, blk)} (pageinspect). */
    public static byte[] rawPage(Connection c, String rel, String fork, long blk) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("SELECT get_raw_page(?, ?, ?)")) {
            ps.setString(1, rel);
            ps.setString(2, fork);
            ps.setLong(3, blk);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBytes(1);
            }
        }
    }
}
