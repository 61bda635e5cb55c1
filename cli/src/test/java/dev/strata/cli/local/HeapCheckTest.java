package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.postgres.PostgresServer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The durability tests' heap check must be able to fail: on a real PostgreSQL 17 server, a
 * table whose first tuple header was damaged on disk is reported by {@link ClusterClient#heapCorruption}
 * (and an undamaged one is not).
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class HeapCheckTest {

    /** Offset of {@code t_hoff} in a heap tuple header (HeapTupleHeaderData, PG 17). */
    private static final int T_HOFF = 22;

    @Test
    void aDamagedTupleHeaderIsReportedAndACleanTableIsNot() throws Exception {
        try (PostgresServer pg = PostgresServer.builder().start()) {
            String file;
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE clean (id int PRIMARY KEY, v text)");
                s.execute("CREATE TABLE damaged (id int, v text)");
                s.execute("INSERT INTO clean SELECT g, 'row ' || g FROM generate_series(1, 100) g");
                s.execute("INSERT INTO damaged SELECT g, 'row ' || g FROM generate_series(1, 100) g");
                s.execute("CHECKPOINT");
                try (ResultSet rs = s.executeQuery("SELECT pg_relation_filepath('damaged')")) {
                    rs.next();
                    file = rs.getString(1);
                }
                assertThat(ClusterClient.heapCorruption(c, "damaged")).isEmpty();
            }
            pg.stop();
            damageFirstTuple(pg.dataDir().resolve(file));
            pg.start();
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"))) {
                assertThat(ClusterClient.heapCorruption(c, "clean")).isEmpty();
                ClusterClient.checkIndex(c, "clean_pkey");
                assertThat(ClusterClient.heapCorruption(c, "damaged"))
                        .as("verify_heapam rows for the damaged tuple").isNotEmpty()
                        .anyMatch(line -> line.startsWith("block 0 offset 1 "));
            }
        }
    }

    /** Sets the first tuple's header length to a wrong (but aligned) value. */
    private static void damageFirstTuple(Path relation) throws Exception {
        try (FileChannel ch = FileChannel.open(relation, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer page = ByteBuffer.allocate(8192).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(page, 0);
            int lineItem = page.getInt(24); // the first ItemIdData after the 24-byte page header
            int tuple = lineItem & 0x7FFF;  // lp_off
            assertThat(tuple).as("first tuple offset").isBetween(24, 8191);
            int hoff = page.get(tuple + T_HOFF) & 0xFF;
            page.put(tuple + T_HOFF, (byte) (hoff + 8));
            ch.write(ByteBuffer.wrap(page.array(), tuple + T_HOFF, 1), tuple + T_HOFF);
            ch.force(true);
        }
    }
}
