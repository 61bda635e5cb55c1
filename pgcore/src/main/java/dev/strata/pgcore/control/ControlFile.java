package dev.strata.pgcore.control;

import dev.strata.pgcore.lsn.Lsn;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * PostgreSQL 17's {@code global/pg_control} ({@code ControlFileData}, {@code catalog/pg_control.h}):
 * an 8192-byte file whose first 296 bytes are the struct, little-endian x86-64 layout with
 * the C padding, CRC-32C over bytes [0, 288) stored at 288, the rest zero.
 *
 * <pre>
 *   0 u64 system_identifier    8 u32 pg_control_version   12 u32 catalog_version_no
 *  16 i32 state               20 pad(4)                   24 i64 time
 *  32 u64 checkPoint          40 CheckPoint (88 bytes)   128 u64 unloggedLSN
 * 136 u64 minRecoveryPoint   144 u32 minRecoveryPointTLI 148 pad(4)
 * 152 u64 backupStartPoint   160 u64 backupEndPoint      168 u8 backupEndRequired 169 pad(3)
 * 172 i32 wal_level          176 u8 wal_log_hints        177 pad(3)
 * 180 i32 MaxConnections     184 i32 max_worker_processes 188 i32 max_wal_senders
 * 192 i32 max_prepared_xacts 196 i32 max_locks_per_xact  200 u8 track_commit_timestamp 201 pad(3)
 * 204 u32 maxAlign           208 f64 floatFormat (1234567.0)
 * 216 u32 blcksz             220 u32 relseg_size         224 u32 xlog_blcksz   228 u32 xlog_seg_size
 * 232 u32 nameDataLen        236 u32 indexMaxKeys        240 u32 toast_max_chunk_size
 * 244 u32 loblksize          248 u8 float8ByVal          249 pad(3)   252 u32 data_checksum_version
 * 256 32B mock_authentication_nonce                      288 u32 crc  292 pad(4)
 * </pre>
 *
 * Decoding checks the length, the CRC and {@code pg_control_version}; {@link #encode()} writes
 * every field back, so decode → encode is byte-identical for a file PostgreSQL wrote (its
 * padding and tail are zeros). {@link #shutDownAt} is what a basebackup at an LSN writes.
 */
public record ControlFile(
        long systemIdentifier,
        int pgControlVersion,
        int catalogVersionNo,
        int state,
        long time,
        Lsn checkPoint,
        CheckPoint checkPointCopy,
        Lsn unloggedLsn,
        Lsn minRecoveryPoint,
        int minRecoveryPointTli,
        Lsn backupStartPoint,
        Lsn backupEndPoint,
        boolean backupEndRequired,
        int walLevel,
        boolean walLogHints,
        int maxConnections,
        int maxWorkerProcesses,
        int maxWalSenders,
        int maxPreparedXacts,
        int maxLocksPerXact,
        boolean trackCommitTimestamp,
        int maxAlign,
        double floatFormat,
        int blockSize,
        int relSegSize,
        int walBlockSize,
        int walSegmentSize,
        int nameDataLen,
        int indexMaxKeys,
        int toastMaxChunkSize,
        int largeObjectBlockSize,
        boolean float8ByVal,
        int dataChecksumVersion,
        byte[] mockAuthenticationNonce) {

    /** {@code PG_CONTROL_FILE_SIZE}. */
    public static final int FILE_SIZE = 8192;
    /** {@code offsetof(ControlFileData, crc)}: the CRC covers the bytes before it. */
    public static final int CRC_OFFSET = 288;
    /** {@code PG_CONTROL_VERSION} of PostgreSQL 17. */
    public static final int PG17_CONTROL_VERSION = 1700;
    public static final int MOCK_AUTH_NONCE_LEN = 32;

    /** {@code DBState} values. */
    public static final int DB_STARTUP = 0;
    public static final int DB_SHUTDOWNED = 1;
    public static final int DB_SHUTDOWNED_IN_RECOVERY = 2;
    public static final int DB_SHUTDOWNING = 3;
    public static final int DB_IN_CRASH_RECOVERY = 4;
    public static final int DB_IN_ARCHIVE_RECOVERY = 5;
    public static final int DB_IN_PRODUCTION = 6;

    public ControlFile {
        if (checkPoint == null || checkPointCopy == null || unloggedLsn == null || minRecoveryPoint == null
                || backupStartPoint == null || backupEndPoint == null) {
            throw new IllegalArgumentException("control file LSN fields must not be null");
        }
        if (mockAuthenticationNonce == null || mockAuthenticationNonce.length != MOCK_AUTH_NONCE_LEN) {
            throw new IllegalArgumentException("mock authentication nonce must be " + MOCK_AUTH_NONCE_LEN + " bytes");
        }
        mockAuthenticationNonce = mockAuthenticationNonce.clone();
    }

    @Override
    public byte[] mockAuthenticationNonce() {
        return mockAuthenticationNonce.clone();
    }

    /** Decodes an 8192-byte {@code pg_control}; wrong length, CRC or version is an {@link IllegalArgumentException}. */
    public static ControlFile decode(byte[] file) {
        if (file.length != FILE_SIZE) {
            throw new IllegalArgumentException("pg_control must be " + FILE_SIZE + " bytes, got " + file.length);
        }
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int version = b.getInt(8);
        if (version != PG17_CONTROL_VERSION) {
            throw new IllegalArgumentException("pg_control version " + version + " is not PostgreSQL 17's "
                    + PG17_CONTROL_VERSION);
        }
        int stored = b.getInt(CRC_OFFSET);
        int computed = crc(file);
        if (stored != computed) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "pg_control CRC mismatch: stored %08X, computed %08X", stored, computed));
        }
        byte[] nonce = Arrays.copyOfRange(file, 256, 256 + MOCK_AUTH_NONCE_LEN);
        return new ControlFile(
                b.getLong(0), version, b.getInt(12), b.getInt(16), b.getLong(24), Lsn.of(b.getLong(32)),
                CheckPoint.decode(b.slice(40, CheckPoint.SIZE)), Lsn.of(b.getLong(128)), Lsn.of(b.getLong(136)),
                b.getInt(144), Lsn.of(b.getLong(152)), Lsn.of(b.getLong(160)), b.get(168) != 0,
                b.getInt(172), b.get(176) != 0, b.getInt(180), b.getInt(184), b.getInt(188), b.getInt(192),
                b.getInt(196), b.get(200) != 0, b.getInt(204), b.getDouble(208), b.getInt(216), b.getInt(220),
                b.getInt(224), b.getInt(228), b.getInt(232), b.getInt(236), b.getInt(240), b.getInt(244),
                b.get(248) != 0, b.getInt(252), nonce);
    }

    /** The 8192-byte file with a fresh CRC. */
    public byte[] encode() {
        byte[] file = new byte[FILE_SIZE];
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, systemIdentifier).putInt(8, pgControlVersion).putInt(12, catalogVersionNo)
                .putInt(16, state).putLong(24, time).putLong(32, checkPoint.value());
        checkPointCopy.encodeTo(b.slice(40, CheckPoint.SIZE));
        b.putLong(128, unloggedLsn.value()).putLong(136, minRecoveryPoint.value()).putInt(144, minRecoveryPointTli)
                .putLong(152, backupStartPoint.value()).putLong(160, backupEndPoint.value())
                .put(168, bool(backupEndRequired)).putInt(172, walLevel).put(176, bool(walLogHints))
                .putInt(180, maxConnections).putInt(184, maxWorkerProcesses).putInt(188, maxWalSenders)
                .putInt(192, maxPreparedXacts).putInt(196, maxLocksPerXact).put(200, bool(trackCommitTimestamp))
                .putInt(204, maxAlign).putDouble(208, floatFormat).putInt(216, blockSize).putInt(220, relSegSize)
                .putInt(224, walBlockSize).putInt(228, walSegmentSize).putInt(232, nameDataLen)
                .putInt(236, indexMaxKeys).putInt(240, toastMaxChunkSize).putInt(244, largeObjectBlockSize)
                .put(248, bool(float8ByVal)).putInt(252, dataChecksumVersion);
        System.arraycopy(mockAuthenticationNonce, 0, file, 256, MOCK_AUTH_NONCE_LEN);
        b.putInt(CRC_OFFSET, crc(file));
        return file;
    }

    /**
     * This control file as a cleanly shut-down cluster whose last checkpoint is the shutdown
     * checkpoint record at {@code checkpointLsn}: state {@link #DB_SHUTDOWNED}, {@code checkPoint}
     * = that location, {@code checkPointCopy} = {@code checkpoint} with {@code redo} = that
     * location too (the server skips recovery only when a shutdown checkpoint's redo is its own
     * location), {@code time} = {@code unixSeconds} in both places, minimum recovery point and
     * backup fields cleared. Constant fields (system id, sizes, checksums, nonce) are kept.
     */
    public ControlFile shutDownAt(Lsn checkpointLsn, CheckPoint checkpoint, long unixSeconds) {
        CheckPoint copy = checkpoint.withRedo(checkpointLsn).withTime(unixSeconds);
        return new ControlFile(systemIdentifier, pgControlVersion, catalogVersionNo, DB_SHUTDOWNED, unixSeconds,
                checkpointLsn, copy, unloggedLsn, Lsn.INVALID, 0, Lsn.INVALID, Lsn.INVALID, false,
                walLevel, walLogHints, maxConnections, maxWorkerProcesses, maxWalSenders, maxPreparedXacts,
                maxLocksPerXact, trackCommitTimestamp, maxAlign, floatFormat, blockSize, relSegSize, walBlockSize,
                walSegmentSize, nameDataLen, indexMaxKeys, toastMaxChunkSize, largeObjectBlockSize, float8ByVal,
                dataChecksumVersion, mockAuthenticationNonce);
    }

    public boolean dataChecksums() {
        return dataChecksumVersion != 0;
    }

    private static int crc(byte[] file) {
        CRC32C crc = new CRC32C();
        crc.update(file, 0, CRC_OFFSET);
        return (int) crc.getValue();
    }

    private static byte bool(boolean v) {
        return (byte) (v ? 1 : 0);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ControlFile c && Arrays.equals(encode(), c.encode());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encode());
    }

    @Override
    public String toString() {
        return "ControlFile[systemId=" + Long.toUnsignedString(systemIdentifier) + ", state=" + state
                + ", checkPoint=" + checkPoint + ", redo=" + checkPointCopy.redo() + ", walSegmentSize="
                + walSegmentSize + ", dataChecksumVersion=" + dataChecksumVersion + "]";
    }
}
