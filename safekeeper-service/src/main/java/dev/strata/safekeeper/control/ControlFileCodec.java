package dev.strata.safekeeper.control;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import dev.strata.pgcore.term.TermLsn;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The safekeeper control file format, version 1 (big-endian):
 *
 * <pre>
 *   u32 magic 'SKCF'   u32 format version
 *   16B timeline id    i64 system id    i32 WAL segment size
 *   i64 promised term
 *   i32 n, then n x (i64 term, i64 start LSN)   term history
 *   i64 timeline start LSN   i64 flush LSN   i64 commit LSN
 *   i64 offloaded LSN        i64 remote-consistent LSN
 *   u32 CRC-32C of every byte before it
 * </pre>
 *
 * A newer format gets a new version number and an upgrade path here; a file that is short,
 * long, foreign or fails its CRC is refused with {@link ControlFileException}, never guessed at.
 */
public final class ControlFileCodec {

    public static final int MAGIC = 0x534B4346; // "SKCF"
    public static final int VERSION = 1;
    /** A term history longer than this is a corrupt file, not a real history. */
    public static final int MAX_HISTORY_ENTRIES = 100_000;
    private static final int FIXED_SIZE = 4 + 4 + 16 + 8 + 4 + 8 + 4 + 5 * 8 + 4;

    private ControlFileCodec() {
    }

    public static byte[] encode(SafekeeperState s) {
        List<TermLsn> history = s.termHistory().entries();
        ByteBuffer b = ByteBuffer.allocate(FIXED_SIZE + history.size() * 16);
        b.putInt(MAGIC).putInt(VERSION);
        b.put(s.timelineId().toBytes()).putLong(s.systemId()).putInt(s.walSegmentSize());
        b.putLong(s.promisedTerm().value());
        b.putInt(history.size());
        for (TermLsn e : history) {
            b.putLong(e.term().value()).putLong(e.lsn().value());
        }
        b.putLong(s.timelineStartLsn().value()).putLong(s.flushLsn().value()).putLong(s.commitLsn().value());
        b.putLong(s.offloadedLsn().value()).putLong(s.remoteConsistentLsn().value());
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    public static SafekeeperState decode(byte[] bytes) {
        if (bytes.length < FIXED_SIZE) {
            throw new ControlFileException("control file is " + bytes.length + " bytes, shorter than the minimum " + FIXED_SIZE);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int magic = b.getInt();
        if (magic != MAGIC) {
            throw new ControlFileException(String.format("not a safekeeper control file: magic 0x%08X, expected 0x%08X", magic, MAGIC));
        }
        int version = b.getInt();
        if (version != VERSION) {
            throw new ControlFileException("control file format version " + version + " is not supported (this build reads " + VERSION + ")");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        int stored = ByteBuffer.wrap(bytes, bytes.length - 4, 4).getInt();
        if (stored != (int) crc.getValue()) {
            throw new ControlFileException(String.format("control file checksum mismatch: stored 0x%08X, computed 0x%08X",
                    stored, (int) crc.getValue()));
        }
        try {
            byte[] id = new byte[TimelineId.BYTES];
            b.get(id);
            long systemId = b.getLong();
            int segSize = b.getInt();
            Term promised = Term.of(b.getLong());
            int n = b.getInt();
            if (n < 0 || n > MAX_HISTORY_ENTRIES || (long) n * 16 != bytes.length - FIXED_SIZE) {
                throw new ControlFileException("control file term history has " + n + " entries, inconsistent with its size " + bytes.length);
            }
            List<TermLsn> entries = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                entries.add(new TermLsn(Term.of(b.getLong()), Lsn.of(b.getLong())));
            }
            return new SafekeeperState(TimelineId.of(id), systemId, segSize, promised, new TermHistory(entries),
                    Lsn.of(b.getLong()), Lsn.of(b.getLong()), Lsn.of(b.getLong()), Lsn.of(b.getLong()), Lsn.of(b.getLong()));
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new ControlFileException("control file content is invalid: " + e.getMessage());
        }
    }
}
