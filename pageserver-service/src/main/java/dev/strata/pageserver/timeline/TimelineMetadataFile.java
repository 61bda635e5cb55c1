package dev.strata.pageserver.timeline;

import dev.strata.pageserver.layer.LayerName;
import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.fs.Fsync;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Reads and atomically replaces a timeline's {@code metadata} file, format version 2 (big-endian):
 *
 * <pre>
 *   u32 magic 'STTM'   u16 format version   u16 0
 *   16B timeline id    u64 disk-consistent LSN   u64 prev record LSN (0 = unknown)
 *   u32 n, then n x (u16 length, ASCII layer file name)
 *   u32 CRC-32C of every byte before it
 * </pre>
 * Version 1 (written before the prev record LSN was kept) lacks the prev record LSN field and is
 * still read, with the prev record LSN unknown; the next write upgrades it to version 2.
 * A short, long, foreign, unknown-version or checksum-failing file is refused, never guessed at.
 */
public final class TimelineMetadataFile {

    public static final String FILE_NAME = "metadata";
    static final int MAGIC = 0x5354544D; // "STTM"
    static final int VERSION = 2;
    /** The first format: no prev record LSN. Read, never written. */
    static final int VERSION_1 = 1;
    private static final int MAX_LAYERS = 1_000_000;

    private TimelineMetadataFile() {
    }

    public static void write(Path dir, TimelineMetadata m) {
        write(Fsync.SYSTEM, dir, m);
    }

    /** As {@link #write(Path, TimelineMetadata)}, forcing through {@code fsync}. */
    public static void write(Fsync fsync, Path dir, TimelineMetadata m) {
        try {
            CrashSafe.writeAtomically(fsync, dir.resolve(FILE_NAME), encode(m));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(FILE_NAME), e);
        }
    }

    /** Reads the metadata of the timeline in {@code dir}. */
    public static TimelineMetadata read(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new StorageException(StorageException.Category.MISSING, file + " does not exist: not a timeline directory");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return decode(file, bytes);
    }

    static byte[] encode(TimelineMetadata m) {
        List<byte[]> names = new ArrayList<>();
        int size = 4 + 2 + 2 + 16 + 8 + 8 + 4 + 4;
        for (LayerName n : m.layers()) {
            byte[] b = n.toString().getBytes(StandardCharsets.US_ASCII);
            names.add(b);
            size += 2 + b.length;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(MAGIC).putShort((short) VERSION).putShort((short) 0);
        b.put(m.timelineId().toBytes()).putLong(m.diskConsistentLsn().value());
        b.putLong(m.prevRecordLsn().value());
        b.putInt(names.size());
        for (byte[] n : names) {
            b.putShort((short) n.length).put(n);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    static TimelineMetadata decode(Path file, byte[] bytes) {
        if (bytes.length < 4 + 2 + 2 + 16 + 8 + 4 + 4) {
            throw corrupt(file, "file of " + bytes.length + " bytes is too short (truncated)");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (b.getInt() != MAGIC) {
            throw corrupt(file, String.format("magic %08X is not a Strata timeline metadata file", bytes.length >= 4
                    ? ByteBuffer.wrap(bytes).getInt() : 0));
        }
        int version = b.getShort() & 0xFFFF;
        if (version != VERSION && version != VERSION_1) {
            throw corrupt(file, "format version " + version + " is not supported (this build reads "
                    + VERSION_1 + " and " + VERSION + ")");
        }
        if (version == VERSION && bytes.length < 4 + 2 + 2 + 16 + 8 + 8 + 4 + 4) {
            throw corrupt(file, "file of " + bytes.length + " bytes is too short for version " + VERSION + " (truncated)");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        if ((int) crc.getValue() != ByteBuffer.wrap(bytes, bytes.length - 4, 4).getInt()) {
            throw corrupt(file, "checksum mismatch");
        }
        try {
            b.getShort();
            byte[] tl = new byte[16];
            b.get(tl);
            Lsn dcl = new Lsn(b.getLong());
            Lsn prev = version == VERSION_1 ? Lsn.INVALID : new Lsn(b.getLong());
            if (prev.isValid() && !prev.isBefore(dcl)) {
                throw corrupt(file, "prev record LSN " + prev + " is not below the disk-consistent LSN " + dcl);
            }
            int n = b.getInt();
            if (n < 0 || n > MAX_LAYERS) {
                throw corrupt(file, "layer count " + n + " is out of range");
            }
            List<LayerName> layers = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                byte[] name = new byte[b.getShort() & 0xFFFF];
                b.get(name);
                LayerName parsed = LayerName.tryParse(new String(name, StandardCharsets.US_ASCII));
                if (parsed == null) {
                    throw corrupt(file, "entry " + i + " is not a layer file name");
                }
                layers.add(parsed);
            }
            if (b.remaining() != 4) {
                throw corrupt(file, (b.remaining() - 4) + " unexpected bytes after the layer list");
            }
            return new TimelineMetadata(TimelineId.of(tl), dcl, prev, layers);
        } catch (BufferUnderflowException e) {
            throw corrupt(file, "ends inside the layer list (truncated)");
        }
    }

    private static StorageException corrupt(Path file, String problem) {
        return new StorageException(StorageException.Category.CORRUPT, "timeline metadata " + file + ": " + problem);
    }
}
