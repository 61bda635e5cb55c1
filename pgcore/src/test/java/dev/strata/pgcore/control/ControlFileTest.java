package dev.strata.pgcore.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.testing.PostgresExtension;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The codec against a real PostgreSQL 17 cluster's pg_control, checked field by field with pg_control_*(). */
class ControlFileTest {

    @RegisterExtension
    static final PostgresExtension pg = PostgresExtension.with(b -> b.initdbOption("--data-checksums"));

    private byte[] stoppedControlFile() throws Exception {
        // Read it while the server is stopped so that it cannot change under the SQL comparison.
        pg.server().stop();
        byte[] file = Files.readAllBytes(pg.server().dataDir().resolve("global/pg_control"));
        pg.server().start();
        return file;
    }

    @Test
    void decodeThenEncodeIsByteIdenticalAndFieldsMatchTheServer() throws Exception {
        byte[] file = stoppedControlFile();
        ControlFile cf = ControlFile.decode(file);
        assertThat(cf.encode()).isEqualTo(file);
        assertThat(cf.state()).isEqualTo(ControlFile.DB_SHUTDOWNED);
        try (Connection c = DriverManager.getConnection(pg.server().jdbcUrl("postgres"));
             Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("SELECT pg_control_version, catalog_version_no, system_identifier"
                    + " FROM pg_control_system()")) {
                r.next();
                assertThat(cf.pgControlVersion()).isEqualTo(r.getInt(1));
                assertThat(cf.catalogVersionNo()).isEqualTo(r.getInt(2));
                assertThat(Long.toUnsignedString(cf.systemIdentifier())).isEqualTo(r.getString(3));
            }
            try (ResultSet r = s.executeQuery("SELECT max_data_alignment, database_block_size, blocks_per_segment,"
                    + " wal_block_size, bytes_per_wal_segment, max_identifier_length, max_index_columns,"
                    + " max_toast_chunk_size, large_object_chunk_size, float8_pass_by_value,"
                    + " data_page_checksum_version FROM pg_control_init()")) {
                r.next();
                assertThat(cf.maxAlign()).isEqualTo(r.getInt(1));
                assertThat(cf.blockSize()).isEqualTo(r.getInt(2));
                assertThat(cf.relSegSize()).isEqualTo(r.getInt(3));
                assertThat(cf.walBlockSize()).isEqualTo(r.getInt(4));
                assertThat(cf.walSegmentSize()).isEqualTo(r.getInt(5));
                assertThat(cf.nameDataLen()).isEqualTo(r.getInt(6));
                assertThat(cf.indexMaxKeys()).isEqualTo(r.getInt(7));
                assertThat(cf.toastMaxChunkSize()).isEqualTo(r.getInt(8));
                assertThat(cf.largeObjectBlockSize()).isEqualTo(r.getInt(9));
                assertThat(cf.float8ByVal()).isEqualTo(r.getBoolean(10));
                assertThat(cf.dataChecksumVersion()).isEqualTo(r.getInt(11)).isEqualTo(1);
            }
            // The checkpoint the server read at start is the one in the file we read while it was stopped.
            try (ResultSet r = s.executeQuery("SELECT checkpoint_lsn, redo_lsn, timeline_id, next_xid, next_oid,"
                    + " next_multixact_id, next_multi_offset, oldest_xid, oldest_xid_dbid, oldest_multi_xid,"
                    + " full_page_writes FROM pg_control_checkpoint()")) {
                r.next();
                CheckPoint cp = cf.checkPointCopy();
                assertThat(cf.checkPoint()).isEqualTo(Lsn.parse(r.getString(1)));
                assertThat(cp.redo()).isEqualTo(Lsn.parse(r.getString(2)));
                assertThat(cp.thisTimeLineId()).isEqualTo(r.getInt(3));
                assertThat(cp.nextXidEpoch() + ":" + Integer.toUnsignedString(cp.nextXid())).isEqualTo(r.getString(4));
                assertThat(Integer.toUnsignedLong(cp.nextOid())).isEqualTo(r.getLong(5));
                assertThat(Integer.toUnsignedLong(cp.nextMulti())).isEqualTo(r.getLong(6));
                assertThat(Integer.toUnsignedLong(cp.nextMultiOffset())).isEqualTo(r.getLong(7));
                assertThat(Integer.toUnsignedLong(cp.oldestXid())).isEqualTo(r.getLong(8));
                assertThat(cp.oldestXidDb()).isEqualTo(r.getInt(9));
                assertThat(Integer.toUnsignedLong(cp.oldestMulti())).isEqualTo(r.getLong(10));
                assertThat(cp.fullPageWrites()).isEqualTo(r.getBoolean(11));
            }
        }
    }

    @Test
    void shutDownAtRewritesCheckpointAndClearsRecoveryFields() throws Exception {
        ControlFile cf = ControlFile.decode(stoppedControlFile());
        Lsn e = Lsn.parse("0/3000028");
        CheckPoint cp = cf.checkPointCopy().withNextOid(99_999).withRedo(Lsn.parse("0/1"));
        ControlFile moved = cf.shutDownAt(e, cp, 1_800_000_000L);
        byte[] bytes = moved.encode();
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getInt(16)).isEqualTo(ControlFile.DB_SHUTDOWNED);
        assertThat(b.getLong(24)).isEqualTo(1_800_000_000L);
        assertThat(b.getLong(32)).isEqualTo(e.value());
        assertThat(b.getLong(40)).as("redo = checkpoint location").isEqualTo(e.value());
        assertThat(b.getInt(40 + 32)).isEqualTo(99_999);
        assertThat(b.getLong(40 + 64)).isEqualTo(1_800_000_000L);
        assertThat(b.getLong(136)).isZero();
        assertThat(b.getLong(152)).isZero();
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, 288);
        assertThat(b.getInt(288)).isEqualTo((int) crc.getValue());
        ControlFile back = ControlFile.decode(bytes);
        assertThat(back.systemIdentifier()).isEqualTo(cf.systemIdentifier());
        assertThat(back.mockAuthenticationNonce()).isEqualTo(cf.mockAuthenticationNonce());
        assertThat(back.dataChecksumVersion()).isEqualTo(1);
    }

    @Test
    void refusesDamagedFiles() throws Exception {
        byte[] file = stoppedControlFile();
        assertThatThrownBy(() -> ControlFile.decode(new byte[100])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("8192").hasMessageContaining("100");
        byte[] flipped = file.clone();
        flipped[50] ^= 1;
        assertThatThrownBy(() -> ControlFile.decode(flipped)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("CRC mismatch");
        byte[] otherVersion = file.clone();
        otherVersion[8] = (byte) 0x1C; // 0x061C = 1564, not 1700 (0x06A4)
        assertThatThrownBy(() -> ControlFile.decode(otherVersion)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1564");
    }
}
