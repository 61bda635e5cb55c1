package dev.strata.safekeeper.receive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalDecodeException;
import dev.strata.pgcore.wal.WalReader;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** ValidatedWal over real PG17 WAL (including a segment switch), fed in random chunks. */
class ValidatedWalTest {

    private static final int SEG = 16 << 20;
    private static byte[] wal;
    private static Lsn start;
    private static List<Lsn> recordEnds;

    @BeforeAll
    static void realWal() throws Exception {
        try (PostgresServer pg = PostgresServer.builder().setting("wal_level", "replica").setting("wal_keep_size", "1GB").start()) {
            Lsn from;
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                from = lsn(s, "SELECT pg_current_wal_insert_lsn()");
                s.execute("CREATE TABLE t AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 3000) g");
                s.execute("SELECT pg_switch_wal()");
                s.execute("INSERT INTO t SELECT g, 'y' FROM generate_series(1, 500) g");
            }
            pg.stop();
            start = from.segmentStart(SEG);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (long seg = start.segmentNumber(SEG); seg < start.segmentNumber(SEG) + 2; seg++) {
                out.writeBytes(Files.readAllBytes(pg.walDir().resolve(Lsn.ofSegment(seg, SEG).walFileName(1, SEG))));
            }
            wal = out.toByteArray();
            recordEnds = new ArrayList<>();
            try (WalReader r = new WalReader(pg.walDir(), 1, start, null)) {
                DecodedRecord rec;
                while ((rec = r.next()) != null) {
                    recordEnds.add(rec.endLsn());
                }
            }
            // A compute sends WAL only up to its flush position: never the zeros after the last record.
            wal = Arrays.copyOf(wal, (int) recordEnds.getLast().minus(start));
        }
    }

    @Test
    void releasesExactlyTheStreamUpToRecordBoundariesWhateverTheChunking() {
        Random random = new Random(11);
        for (int round = 0; round < 5; round++) {
            ValidatedWal v = new ValidatedWal(start, 8192, SEG, 0);
            ByteArrayOutputStream released = new ByteArrayOutputStream();
            int off = 0;
            while (off < wal.length) {
                int n = Math.min(wal.length - off, 1 + random.nextInt(200_000));
                ValidatedWal.Released r = v.accept(start.plus(off), Arrays.copyOfRange(wal, off, off + n));
                if (r != null) {
                    assertThat(r.start()).isEqualTo(start.plus(released.size()));
                    released.writeBytes(r.bytes());
                    Lsn end = r.start().plus(r.bytes().length);
                    assertThat(recordEnds.contains(end) || end.segmentOffset(SEG) == 0 || end.equals(start.plus(off + n)))
                            .as("released up to %s", end).isTrue();
                }
                off += n;
            }
            byte[] got = released.toByteArray();
            assertThat(got.length).isGreaterThan(SEG); // past the switch into the next segment
            assertThat(Arrays.equals(got, 0, got.length, wal, 0, got.length)).isTrue();
            assertThat(v.releasedEnd()).isEqualTo(recordEnds.get(recordEnds.size() - 1));
        }
    }

    @Test
    void aFlippedByteStopsReleaseBeforeTheBadRecord() {
        // Corrupt a byte in the middle of the record that ends 100th; nothing of it may be released.
        Lsn badEnd = recordEnds.get(100);
        Lsn before = recordEnds.get(99);
        byte[] bad = wal.clone();
        int at = (int) before.minus(start) + (int) (badEnd.minus(before) / 2);
        bad[at] ^= 0x5A;
        ValidatedWal v = new ValidatedWal(start, 8192, SEG, 0);
        assertThatThrownBy(() -> {
            for (int off = 0; off < bad.length; off += 4096) {
                v.accept(start.plus(off), Arrays.copyOfRange(bad, off, Math.min(bad.length, off + 4096)));
            }
        }).isInstanceOf(WalDecodeException.class);
        assertThat(v.releasedEnd()).isLessThanOrEqualTo(before);
    }

    @Test
    void aForeignSystemIsRefused() {
        ValidatedWal v = new ValidatedWal(start, 8192, SEG, 42);
        assertThatThrownBy(() -> v.accept(start, Arrays.copyOf(wal, 65536)))
                .isInstanceOf(WalDecodeException.class).hasMessageContaining("system");
    }

    @Test
    void aGapIsRefused() {
        ValidatedWal v = new ValidatedWal(start, 8192, SEG, 0);
        v.accept(start, Arrays.copyOf(wal, 8192));
        assertThatThrownBy(() -> v.accept(start.plus(16384), new byte[10])).isInstanceOf(WalDecodeException.class)
                .hasMessageContaining("gap");
    }

    private static Lsn lsn(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }
}
