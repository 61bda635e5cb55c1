package dev.strata.safekeeper.testing;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Real PostgreSQL 17 WAL for tests: one 16 MiB segment written by a real server (a table of a
 * few thousand rows), cut at its last complete record, as a compute would send it.
 *
 * @param bytes      the WAL from {@code start} to the end of the last record
 * @param start      the segment start
 * @param systemId   the server's system identifier (from the long page header)
 * @param recordEnds end LSN of every record in the segment, in order
 */
public record RealWal(byte[] bytes, Lsn start, long systemId, List<Lsn> recordEnds) {

    public static final int SEGMENT_SIZE = 16 << 20;

    /** Starts a server, writes {@code rows} rows of 200 bytes, stops it and reads its WAL. */
    public static RealWal generate(int rows) throws Exception {
        try (PostgresServer pg = PostgresServer.builder().setting("wal_level", "replica").start()) {
            Lsn from;
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                ResultSet rs = s.executeQuery("SELECT pg_current_wal_insert_lsn()");
                rs.next();
                from = Lsn.parse(rs.getString(1));
                s.execute("CREATE TABLE t AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, " + rows + ") g");
            }
            pg.stop();
            Lsn start = from.segmentStart(SEGMENT_SIZE);
            byte[] seg = Files.readAllBytes(pg.walDir().resolve(start.walFileName(1, SEGMENT_SIZE)));
            List<Lsn> ends = new ArrayList<>();
            try (WalReader r = new WalReader(pg.walDir(), 1, start, null)) {
                DecodedRecord rec;
                while ((rec = r.next()) != null && rec.endLsn().segmentNumber(SEGMENT_SIZE) == start.segmentNumber(SEGMENT_SIZE)) {
                    ends.add(rec.endLsn());
                }
            }
            long systemId = ByteBuffer.wrap(seg, 24, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(); // xlp_sysid
            return new RealWal(Arrays.copyOf(seg, (int) ends.getLast().minus(start)), start, systemId, List.copyOf(ends));
        }
    }

    /** End of the last record. */
    public Lsn end() {
        return recordEnds.getLast();
    }
}
