package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.fs.Fsync;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Streams (key, LSN, value) entries in order into a new layer file ({@link LayerFormat}) and
 * makes it appear atomically: it writes {@code <name>.strata-tmp}, forces it, renames it to
 * {@code <name>} and fsyncs the directory, as {@link CrashSafe} does for small files. Until
 * {@link #finish()} returns nothing under the final name exists; {@link #close()} without
 * finish removes the temp file (and the renamed file, if only the directory fsync failed), so a
 * write that fails — the disk is full, a force failed — leaves nothing behind and its space free.
 * Forces go through the {@link Fsync} given; a failed one is an
 * {@link dev.strata.pgcore.fs.FsyncFailedException} cause of the {@link UncheckedIOException}.
 */
final class LayerFileWriter implements AutoCloseable {

    private static final int BUFFER = 256 * 1024;

    private final Path dir;
    /** The name it gets; a delta's key range may still be narrowed before {@link #finish()} ({@link #narrowKeyRange}). */
    private LayerName name;
    private Key firstKey;
    private final TimelineId timelineId;
    private final Path temp;
    private final Fsync fsync;
    private final FileChannel channel;
    private final ByteBuffer buf = ByteBuffer.allocate(BUFFER);
    private final CRC32C crc = new CRC32C();
    private ByteBuffer index = ByteBuffer.allocate(64 * LayerFormat.ENTRY_SIZE);
    private long position = LayerFormat.SUMMARY_SIZE;
    private long count;
    private Key lastKey;
    private long lastLsn;
    private boolean finished;
    private Path renamed;

    LayerFileWriter(Path dir, LayerName name, TimelineId timelineId, Fsync fsync) {
        this.fsync = fsync;
        this.dir = dir;
        this.name = name;
        this.timelineId = timelineId;
        this.temp = dir.resolve(name + LayerFormat.TEMP_SUFFIX);
        try {
            this.channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
            channel.position(LayerFormat.SUMMARY_SIZE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create layer file " + temp, e);
        }
    }

    /** Appends one entry; entries must come in strictly increasing (key, LSN) order inside the layer's ranges. */
    void add(Key key, Lsn lsn, Value value) {
        if (!name.keyRange().contains(key) || !name.lsnRange().contains(lsn)) {
            throw new IllegalArgumentException("layer " + name + ": key " + key.describe() + " at " + lsn
                    + " is outside the layer's ranges");
        }
        if (name.image() && !(value instanceof Value.Image)) {
            throw new IllegalArgumentException("layer " + name + ": an image layer holds images only, got "
                    + value + " for key " + key.describe());
        }
        if (lastKey != null) {
            int c = key.compareTo(lastKey);
            if (c < 0 || (c == 0 && Long.compareUnsigned(lsn.value(), lastLsn) <= 0)) {
                throw new IllegalArgumentException("layer " + name + ": entries out of order: " + key.describe()
                        + " at " + lsn + " after " + lastKey.describe() + " at " + new Lsn(lastLsn));
            }
        }
        ValueCodec.Encoded encoded = ValueCodec.encode(value);
        byte[] payload = encoded.payload();
        byte tag = encoded.tag();
        int blockLength = payload.length + LayerFormat.VALUE_OVERHEAD;
        if (payload.length > LayerFormat.MAX_VALUE_SIZE) {
            throw new IllegalArgumentException("value of " + payload.length + " bytes for key " + key.describe()
                    + " exceeds the limit of " + LayerFormat.MAX_VALUE_SIZE);
        }
        long valueOffset = position;
        crc.reset();
        ByteBuffer head = ByteBuffer.allocate(LayerFormat.VALUE_HEADER).putInt(payload.length).put(tag);
        crc.update(head.array());
        crc.update(payload);
        try {
            write(head.array());
            write(payload);
            write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write layer file " + temp, e);
        }

        if (index.remaining() < LayerFormat.ENTRY_SIZE) {
            ByteBuffer bigger = ByteBuffer.allocate(index.capacity() * 2);
            index.flip();
            bigger.put(index);
            index = bigger;
        }
        key.writeTo(index);
        index.putLong(lsn.value()).putLong(valueOffset).putInt(blockLength)
                .put((byte) (value.willInit() ? LayerFormat.FLAG_WILL_INIT : 0));
        if (firstKey == null) {
            firstKey = key;
        }
        lastKey = key;
        lastLsn = lsn.value();
        count++;
    }

    long entryCount() {
        return count;
    }

    /** Bytes written so far (values; the index and fences come at {@link #finish()}). */
    long bytesWritten() {
        return position;
    }

    /**
     * Gives the file a narrower key range than it was opened with, before {@link #finish()}
     * (compaction knows where an L1 layer ends only when the next one starts): it must lie inside
     * the first one and hold every key written. The summary and the final name use it.
     */
    void narrowKeyRange(dev.strata.pageserver.key.KeyRange keys) {
        if (finished || name.image() || !name.keyRange().covers(keys)) {
            throw new IllegalArgumentException("layer " + name + ": cannot narrow its key range to " + keys);
        }
        if (firstKey != null && (!keys.contains(firstKey) || !keys.contains(lastKey))) {
            throw new IllegalArgumentException("layer " + name + ": key range " + keys + " does not hold the keys written, "
                    + firstKey.describe() + " to " + lastKey.describe());
        }
        name = LayerName.delta(keys, name.lsnRange());
    }

    /** Writes index, fences and summary, forces the file, renames it into place; returns its final path. */
    Path finish() {
        try {
            flushBuffer();
            long indexOffset = position;
            int epb = LayerFormat.ENTRIES_PER_BLOCK;
            int blocks = (int) ((count + epb - 1) / epb);
            ByteBuffer fences = ByteBuffer.allocate(blocks * LayerFormat.FENCE_SIZE);
            byte[] all = index.array();
            for (int b = 0; b < blocks; b++) {
                int first = b * epb;
                int n = (int) Math.min(epb, count - first);
                int from = first * LayerFormat.ENTRY_SIZE;
                int len = n * LayerFormat.ENTRY_SIZE;
                fences.put(all, from, LayerFormat.FENCE_SIZE);
                crc.reset();
                crc.update(all, from, len);
                // Every block gets the full block size so block b is at a computable offset.
                ByteBuffer block = ByteBuffer.allocate(LayerFormat.blockBytes(epb));
                block.put(all, from, len);
                block.position(LayerFormat.blockBytes(epb) - 4);
                block.putInt((int) crc.getValue());
                write(block.array());
            }
            long fenceOffset = position;
            write(fences.array());
            flushBuffer();
            crc.reset();
            crc.update(fences.array());
            int fenceCrc = (int) crc.getValue();

            ByteBuffer s = ByteBuffer.allocate(LayerFormat.SUMMARY_SIZE);
            s.putInt(LayerFormat.MAGIC).putShort((short) LayerFormat.VERSION)
                    .put((byte) (name.image() ? LayerFormat.KIND_IMAGE : LayerFormat.KIND_DELTA)).put((byte) 0);
            s.put(timelineId.toBytes());
            name.keyRange().start().writeTo(s);
            name.keyRange().end().writeTo(s);
            s.putLong(name.lsnRange().start().value()).putLong(name.lsnRange().end().value());
            s.putLong(count).putLong(indexOffset).putInt(blocks).putInt(epb).putLong(fenceOffset).putInt(fenceCrc);
            crc.reset();
            crc.update(s.array(), 0, LayerFormat.SUMMARY_CRC_OFFSET);
            s.putInt(LayerFormat.SUMMARY_CRC_OFFSET, (int) crc.getValue());
            s.position(0).limit(LayerFormat.SUMMARY_SIZE);
            long at = 0;
            while (s.hasRemaining()) {
                at += channel.write(s, at);
            }
            // The one force of a layer file: data, index and summary reach the disk before the rename.
            fsync.force(channel, temp, true);
            channel.close();
            Path target = dir.resolve(name.toString());
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("the file system of " + dir + " cannot rename atomically", e);
            }
            renamed = target;
            CrashSafe.fsyncDirectory(fsync, dir);
            finished = true;
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write layer file " + temp, e);
        }
    }

    @Override
    public void close() {
        if (finished) {
            return;
        }
        try {
            channel.close();
            Files.deleteIfExists(temp);
            if (renamed != null) {
                Files.deleteIfExists(renamed); // its rename may not be durable: never list it
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove unfinished layer file " + temp, e);
        }
    }

    private void write(byte[] bytes) throws IOException {
        if (bytes.length > buf.remaining()) {
            flushBuffer();
        }
        if (bytes.length > buf.capacity()) {
            ByteBuffer direct = ByteBuffer.wrap(bytes);
            while (direct.hasRemaining()) {
                channel.write(direct);
            }
        } else {
            buf.put(bytes);
        }
        position += bytes.length;
    }

    private void flushBuffer() throws IOException {
        buf.flip();
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
        buf.clear();
    }
}
