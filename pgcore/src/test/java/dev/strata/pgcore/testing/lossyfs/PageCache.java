package dev.strata.pgcore.testing.lossyfs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Map;
import java.util.TreeMap;

/**
 * The unforced state of one file (one inode: every channel and name of the file shares it):
 * dirty pages and the file's size as writers see it. The backing file holds only what was
 * forced. {@link #force} writes the dirty pages and the size to the backing file and forces
 * it; a power cut simply forgets this object.
 */
final class PageCache {

    static final int PAGE = 4096;

    private final TreeMap<Long, byte[]> dirty = new TreeMap<>();
    private long size;
    private boolean sizeDirty;
    /** Backing bytes at or beyond this were cut by an unforced truncate: they read as zeros. */
    private long truncatedTo = Long.MAX_VALUE;

    PageCache(long backingSize) {
        this.size = backingSize;
    }

    synchronized long size() {
        return size;
    }

    synchronized int dirtyPages() {
        return dirty.size();
    }

    synchronized boolean isClean() {
        return dirty.isEmpty() && !sizeDirty;
    }

    /** Reads from the cached pages, else from the backing file (zeros where it is shorter). */
    synchronized int read(FileChannel backing, ByteBuffer dst, long pos) throws IOException {
        if (pos >= size) {
            return -1;
        }
        int n = (int) Math.min(dst.remaining(), size - pos);
        int done = 0;
        while (done < n) {
            long at = pos + done;
            long page = at / PAGE;
            int inPage = (int) (at % PAGE);
            int len = Math.min(PAGE - inPage, n - done);
            byte[] p = dirty.get(page);
            if (p != null) {
                dst.put(p, inPage, len);
            } else {
                byte[] tmp = new byte[len];
                readBacking(backing, tmp, at, truncatedTo);
                dst.put(tmp);
            }
            done += len;
        }
        return n;
    }

    /** Writes into cached pages (copied from the backing file on first touch). */
    synchronized int write(FileChannel backing, ByteBuffer src, long pos) throws IOException {
        int n = src.remaining();
        int done = 0;
        while (done < n) {
            long at = pos + done;
            long page = at / PAGE;
            int inPage = (int) (at % PAGE);
            int len = Math.min(PAGE - inPage, n - done);
            byte[] p = dirty.get(page);
            if (p == null) {
                p = new byte[PAGE];
                if (page * PAGE < size) {
                    readBacking(backing, p, page * PAGE, Math.min(size, truncatedTo));
                }
                dirty.put(page, p);
            }
            src.get(p, inPage, len);
            done += len;
        }
        if (pos + n > size) {
            size = pos + n;
            sizeDirty = true;
        }
        return n;
    }

    synchronized void truncate(long newSize) {
        if (newSize >= size) {
            return;
        }
        size = newSize;
        sizeDirty = true;
        truncatedTo = Math.min(truncatedTo, newSize);
        dirty.tailMap((newSize + PAGE - 1) / PAGE, true).clear();
        byte[] last = dirty.get(newSize / PAGE);
        if (last != null) {
            java.util.Arrays.fill(last, (int) (newSize % PAGE), PAGE, (byte) 0);
        }
    }

    /** fsync: the dirty pages and the size reach the backing file, which is then forced. */
    synchronized void force(FileChannel backing, boolean metaData) throws IOException {
        if (truncatedTo < backing.size()) {
            backing.truncate(truncatedTo);
        }
        for (Map.Entry<Long, byte[]> e : dirty.entrySet()) {
            long start = e.getKey() * PAGE;
            int len = (int) Math.min(PAGE, size - start);
            if (len > 0) {
                ByteBuffer b = ByteBuffer.wrap(e.getValue(), 0, len);
                long at = start;
                while (b.hasRemaining()) {
                    at += backing.write(b, at);
                }
            }
        }
        if (backing.size() > size) {
            backing.truncate(size);
        }
        dirty.clear();
        sizeDirty = false;
        truncatedTo = Long.MAX_VALUE;
        backing.force(metaData);
    }

    /** Reads backing bytes below {@code limit}; the rest of {@code into} stays zeros. */
    private static void readBacking(FileChannel backing, byte[] into, long pos, long limit) throws IOException {
        if (pos >= limit) {
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(into, 0, (int) Math.min(into.length, limit - pos));
        long at = pos;
        while (b.hasRemaining()) {
            int r = backing.read(b, at);
            if (r < 0) {
                break; // beyond the backing file's end: zeros
            }
            at += r;
        }
    }
}
