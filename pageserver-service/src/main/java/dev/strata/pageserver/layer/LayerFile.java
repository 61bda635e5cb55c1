package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.zip.CRC32C;

/**
 * Reads one layer file ({@link LayerFormat}): verifies the summary and fences at open, then
 * serves positional lookups by (key, LSN). Index blocks are read and checksummed on first use
 * and then kept; the channel stays open for the life of the object (thread-safe preads).
 *
 * <p>After verification a file up to {@link #MAX_MAPPED_BYTES} is memory-mapped read-only, and
 * index blocks and values are read from the mapping: no system call, no JDK bounce buffer,
 * one copy (into the value's array) instead of three. Layer files are immutable and never
 * truncated in place (a deleted file's mapping stays valid), so the mapping cannot fault on a
 * short file. The mapping is released by the garbage collector, not by {@link #close}
 * (Java 21 cannot unmap a {@code MappedByteBuffer}); larger files are read with preads.
 */
final class LayerFile implements AutoCloseable {

    private final Path path;
    private final FileChannel channel;
    private final LayerName name;
    private final TimelineId timelineId;
    private final long count;
    private final long indexOffset;
    private final int blocks;
    private final int entriesPerBlock;
    private final ByteBuffer fences;
    private final AtomicReferenceArray<ByteBuffer> blockCache;
    /** The whole file, mapped read-only; null if it is too large to map (then preads). */
    private final ByteBuffer mapped;

    /** Largest file mapped: one {@code MappedByteBuffer} is indexed by int. */
    static final long MAX_MAPPED_BYTES = Integer.MAX_VALUE;

    private LayerFile(Path path, FileChannel channel, LayerName name, TimelineId timelineId, long count,
                      long indexOffset, int blocks, int entriesPerBlock, ByteBuffer fences, ByteBuffer mapped) {
        this.path = path;
        this.channel = channel;
        this.name = name;
        this.timelineId = timelineId;
        this.count = count;
        this.indexOffset = indexOffset;
        this.blocks = blocks;
        this.entriesPerBlock = entriesPerBlock;
        this.fences = fences;
        this.blockCache = new AtomicReferenceArray<>(blocks);
        this.mapped = mapped;
    }

    /** Opens and verifies {@code path}; refuses foreign, truncated, wrong-version or wrong-timeline files. */
    static LayerFile open(Path path, TimelineId expectedTimeline) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open layer file " + path, e);
        }
        try {
            LayerFile f = verify(path, ch, expectedTimeline);
            return f;
        } catch (RuntimeException e) {
            closeQuietly(ch, e);
            throw e;
        }
    }

    private static LayerFile verify(Path path, FileChannel ch, TimelineId expectedTimeline) {
        long size = size(path, ch);
        if (size < LayerFormat.SUMMARY_SIZE) {
            throw new CorruptLayerException(path, size, "file of " + size + " bytes is shorter than the "
                    + LayerFormat.SUMMARY_SIZE + "-byte summary (truncated)");
        }
        ByteBuffer s = read(path, ch, 0, LayerFormat.SUMMARY_SIZE);
        if (s.getInt(0) != LayerFormat.MAGIC) {
            throw new CorruptLayerException(path, 0, String.format("magic %08X is not a Strata layer file (%08X)",
                    s.getInt(0), LayerFormat.MAGIC));
        }
        int version = s.getShort(4) & 0xFFFF;
        if (version != LayerFormat.VERSION && version != LayerFormat.VERSION_WITHOUT_ZERO_RUNS) {
            throw new CorruptLayerException(path, 4, "format version " + version + " is not supported (this build reads "
                    + LayerFormat.VERSION_WITHOUT_ZERO_RUNS + " and " + LayerFormat.VERSION + ")");
        }
        CRC32C crc = new CRC32C();
        crc.update(s.array(), 0, LayerFormat.SUMMARY_CRC_OFFSET);
        if ((int) crc.getValue() != s.getInt(LayerFormat.SUMMARY_CRC_OFFSET)) {
            throw new CorruptLayerException(path, LayerFormat.SUMMARY_CRC_OFFSET, "summary checksum mismatch");
        }
        int kind = s.get(6);
        byte[] tl = new byte[16];
        s.get(8, tl);
        TimelineId timelineId = TimelineId.of(tl);
        if (expectedTimeline != null && !expectedTimeline.equals(timelineId)) {
            throw new CorruptLayerException(path, 8, "belongs to timeline " + timelineId + ", not " + expectedTimeline);
        }
        LayerName name;
        try {
            KeyRange keys = new KeyRange(Key.readAt(s, 24), Key.readAt(s, 42));
            LsnRange lsns = new LsnRange(new Lsn(s.getLong(60)), new Lsn(s.getLong(68)));
            name = new LayerName(keys, lsns, kind == LayerFormat.KIND_IMAGE);
        } catch (IllegalArgumentException e) {
            throw new CorruptLayerException(path, 24, "invalid ranges in summary: " + e.getMessage());
        }
        if (kind != LayerFormat.KIND_DELTA && kind != LayerFormat.KIND_IMAGE) {
            throw new CorruptLayerException(path, 6, "unknown layer kind " + kind);
        }
        if (!path.getFileName().toString().equals(name.toString())) {
            throw new CorruptLayerException(path, 24, "summary describes layer " + name + ", not the file's name");
        }
        long count = s.getLong(76);
        long indexOffset = s.getLong(84);
        int blocks = s.getInt(92);
        int epb = s.getInt(96);
        long fenceOffset = s.getLong(100);
        int fenceCrc = s.getInt(108);
        if (count < 0 || epb <= 0 || epb > 1 << 16 || blocks != (count + epb - 1) / epb
                || indexOffset < LayerFormat.SUMMARY_SIZE
                || fenceOffset != indexOffset + (long) blocks * LayerFormat.blockBytes(epb)
                || size != fenceOffset + (long) blocks * LayerFormat.FENCE_SIZE) {
            throw new CorruptLayerException(path, 76, "index geometry (" + count + " entries, " + blocks
                    + " blocks, file " + size + " bytes) is inconsistent: truncated or damaged");
        }
        ByteBuffer fences = read(path, ch, fenceOffset, blocks * LayerFormat.FENCE_SIZE);
        crc.reset();
        crc.update(fences.array());
        if ((int) crc.getValue() != fenceCrc) {
            throw new CorruptLayerException(path, fenceOffset, "index fence checksum mismatch");
        }
        ByteBuffer mapped = null;
        if (size <= MAX_MAPPED_BYTES) {
            try {
                mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot map layer file " + path, e);
            }
        }
        return new LayerFile(path, ch, name, timelineId, count, indexOffset, blocks, epb, fences, mapped);
    }

    Path path() {
        return path;
    }

    LayerName name() {
        return name;
    }

    TimelineId timelineId() {
        return timelineId;
    }

    long entryCount() {
        return count;
    }

    /**
     * The index of the last entry whose (key, LSN) is below (key, lsnExclusive), or -1 if none.
     * Callers then check that entry's key.
     */
    long lastBefore(Key key, long lsnExclusive) {
        // Binary search over fences for the last block whose first entry is < (key, lsnExclusive).
        int lo = 0;
        int hi = blocks - 1;
        int block = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (compare(key, lsnExclusive, fences, mid * LayerFormat.FENCE_SIZE) > 0) {
                block = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (block < 0) {
            return -1;
        }
        ByteBuffer b = block(block);
        int n = entriesIn(block);
        int l = 0;
        int h = n - 1;
        int found = -1;
        while (l <= h) {
            int mid = (l + h) >>> 1;
            if (compare(key, lsnExclusive, b, mid * LayerFormat.ENTRY_SIZE) > 0) {
                found = mid;
                l = mid + 1;
            } else {
                h = mid - 1;
            }
        }
        return (long) block * entriesPerBlock + found;
    }

    /** True if entry {@code i} has key {@code key}. */
    boolean keyEquals(long i, Key key) {
        return key.compareToEncoded(blockOf(i), offsetOf(i)) == 0;
    }

    /** True if entry {@code i}'s key is below {@code key} (no key is decoded). */
    boolean keyBelow(long i, Key key) {
        return key.compareToEncoded(blockOf(i), offsetOf(i)) > 0;
    }

    Key key(long i) {
        return Key.readAt(blockOf(i), offsetOf(i));
    }

    long lsn(long i) {
        return blockOf(i).getLong(offsetOf(i) + LayerFormat.ENTRY_LSN);
    }

    boolean willInit(long i) {
        return (blockOf(i).get(offsetOf(i) + LayerFormat.ENTRY_FLAGS) & LayerFormat.FLAG_WILL_INIT) != 0;
    }

    /** Reads and verifies the value of entry {@code i}. */
    Value value(long i) {
        ByteBuffer b = blockOf(i);
        int at = offsetOf(i);
        long offset = b.getLong(at + LayerFormat.ENTRY_OFFSET);
        int length = b.getInt(at + LayerFormat.ENTRY_LENGTH);
        if (length < LayerFormat.VALUE_OVERHEAD || length > LayerFormat.MAX_VALUE_SIZE + LayerFormat.VALUE_OVERHEAD
                || offset < LayerFormat.SUMMARY_SIZE || offset + length > indexOffset) {
            throw new CorruptLayerException(path, offset, "index entry " + i + " points outside the value area");
        }
        ByteBuffer v = bytes(offset, length);
        int payloadLength = v.getInt(0);
        if (payloadLength != length - LayerFormat.VALUE_OVERHEAD) {
            throw new CorruptLayerException(path, offset, "value length " + payloadLength + " disagrees with the index ("
                    + (length - LayerFormat.VALUE_OVERHEAD) + ")");
        }
        CRC32C crc = new CRC32C();
        crc.update(v.slice(0, length - 4));
        if ((int) crc.getValue() != v.getInt(length - 4)) {
            throw new CorruptLayerException(path, offset, "value checksum mismatch for key " + key(i).describe()
                    + " at " + new Lsn(lsn(i)));
        }
        Value value = ValueCodec.decode(v.get(4), v, LayerFormat.VALUE_HEADER, payloadLength);
        if (value == null) {
            throw new CorruptLayerException(path, offset + 4, "unknown value tag " + v.get(4)
                    + " or a payload of " + payloadLength + " bytes that does not fit it");
        }
        return value;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close layer file " + path, e);
        }
    }

    private ByteBuffer blockOf(long i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("entry " + i + " of " + count + " in " + path);
        }
        return block((int) (i / entriesPerBlock));
    }

    private int offsetOf(long i) {
        return (int) (i % entriesPerBlock) * LayerFormat.ENTRY_SIZE;
    }

    private int entriesIn(int block) {
        return (int) Math.min(entriesPerBlock, count - (long) block * entriesPerBlock);
    }

    private ByteBuffer block(int block) {
        ByteBuffer b = blockCache.get(block);
        if (b != null) {
            return b;
        }
        long offset = indexOffset + (long) block * LayerFormat.blockBytes(entriesPerBlock);
        // A heap copy: binary searches read it many times, and heap buffers read faster than the
        // mapping's scoped accesses (the profile showed them); it is kept for the file's life anyway.
        ByteBuffer raw = ByteBuffer.allocate(LayerFormat.blockBytes(entriesPerBlock))
                .put(bytes(offset, LayerFormat.blockBytes(entriesPerBlock))).flip();
        int used = entriesIn(block) * LayerFormat.ENTRY_SIZE;
        CRC32C crc = new CRC32C();
        crc.update(raw.slice(0, used));
        if ((int) crc.getValue() != raw.getInt(raw.capacity() - 4)) {
            throw new CorruptLayerException(path, offset, "index block " + block + " checksum mismatch");
        }
        if (compare(Key.readAt(raw, 0), raw.getLong(LayerFormat.ENTRY_LSN), fences,
                block * LayerFormat.FENCE_SIZE) != 0) {
            throw new CorruptLayerException(path, offset, "index block " + block + " does not start at its fence");
        }
        blockCache.compareAndSet(block, null, raw);
        return raw;
    }

    /** Compares (key, lsn) with the encoded (key, u64 lsn) at {@code off}. */
    private static int compare(Key key, long lsn, ByteBuffer buf, int off) {
        int c = key.compareToEncoded(buf, off);
        return c != 0 ? c : Long.compareUnsigned(lsn, buf.getLong(off + 18));
    }

    /** {@code length} bytes at {@code offset}: a view of the mapping, or a pread copy; position 0. */
    private ByteBuffer bytes(long offset, int length) {
        if (mapped != null) {
            return mapped.slice((int) offset, length);
        }
        return read(path, channel, offset, length);
    }

    private static ByteBuffer read(Path path, FileChannel ch, long offset, int length) {
        ByteBuffer b = ByteBuffer.allocate(length);
        try {
            while (b.hasRemaining()) {
                int n = ch.read(b, offset + b.position());
                if (n < 0) {
                    throw new CorruptLayerException(path, offset + b.position(), "unexpected end of file reading "
                            + length + " bytes at " + offset);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read layer file " + path + " at offset " + offset, e);
        }
        return b.flip();
    }

    private static long size(Path path, FileChannel ch) {
        try {
            return ch.size();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stat layer file " + path, e);
        }
    }

    private static void closeQuietly(FileChannel ch, RuntimeException cause) {
        try {
            ch.close();
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }
}
