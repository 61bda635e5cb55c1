package dev.strata.pageserver.basebackup;

import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * The test side of {@link IncrementalFormat}: applies an incremental archive over a base
 * directory exactly as the format's javadoc says, with commons-compress as an independent tar
 * reader, and compares data directories file by file. Not the compute's applier (compute-node),
 * on purpose: the format is checked against its description, not against one reading of it.
 */
final class IncrementalArchives {

    private IncrementalArchives() {
    }

    /** What an archive held: its base (null: a full basebackup), reuse entries, pages they carried. */
    record Applied(BasebackupBase base, int reuseEntries, long pages, long wholeFileBlocks, List<String> names) {
    }

    /**
     * Builds {@code target} (new) from the archive: plain entries as in a full basebackup; a reuse
     * entry copies the base's file (at least {@code baseBlocks} long), sets its length and writes
     * its pages. Base files the archive does not mention are not in the result.
     */
    static Applied apply(Path tar, Path baseDir, Path target) throws IOException {
        Files.createDirectories(target);
        BasebackupBase base = null;
        int reuse = 0;
        long pages = 0;
        long wholeBlocks = 0;
        List<String> names = new ArrayList<>();
        byte[] page = new byte[IncrementalFormat.BLOCK_SIZE];
        try (InputStream in = Files.newInputStream(tar); TarArchiveInputStream t = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = t.getNextEntry()) != null) {
                String name = e.getName();
                names.add(name);
                if (names.size() == 1 && name.equals(IncrementalFormat.MARKER)) {
                    base = BasebackupBase.decodeMarker(t.readAllBytes());
                    continue;
                }
                if (e.isDirectory()) {
                    Files.createDirectories(target.resolve(name));
                    continue;
                }
                if (!name.startsWith(IncrementalFormat.REUSE_PREFIX)) {
                    Path dest = target.resolve(name);
                    Files.createDirectories(dest.getParent());
                    Files.copy(t, dest);
                    if (isRelationFile(name)) {
                        wholeBlocks += e.getSize() / IncrementalFormat.BLOCK_SIZE;
                    }
                    continue;
                }
                if (base == null) {
                    throw new IOException(name + " in an archive without the marker entry first");
                }
                String path = name.substring(IncrementalFormat.REUSE_PREFIX.length());
                IncrementalFormat.SegmentPatch p = IncrementalFormat.readHeader(t, e.getSize(), name);
                Path dest = target.resolve(path);
                Files.createDirectories(dest.getParent());
                if (p.baseBlocks() > 0) {
                    Path source = baseDir.resolve(path);
                    long have = Files.size(source);
                    if (have < p.baseBlocks() * IncrementalFormat.BLOCK_SIZE) {
                        throw new IOException(name + " expects " + p.baseBlocks() + " blocks in the base, it has " + have
                                + " bytes");
                    }
                    Files.copy(source, dest);
                } else {
                    Files.createFile(dest);
                }
                try (RandomAccessFile f = new RandomAccessFile(dest.toFile(), "rw")) {
                    f.setLength(p.blocks() * IncrementalFormat.BLOCK_SIZE); // extends with zeros
                    int last = -1;
                    for (long i = 0; i < p.pages(); i++) {
                        int block = IncrementalFormat.readPage(t, p, page, name);
                        if (block <= last) {
                            throw new IOException(name + ": pages not ascending (" + block + " after " + last + ")");
                        }
                        last = block;
                        f.seek((long) block * IncrementalFormat.BLOCK_SIZE);
                        f.write(page);
                    }
                }
                reuse++;
                pages += p.pages();
            }
        }
        return new Applied(base, reuse, pages, wholeBlocks, names);
    }

    private static boolean isRelationFile(String name) {
        return name.startsWith("base/") || name.startsWith("global/") && !name.equals("global/pg_control")
                && !name.equals("global/pg_filenode.map") || name.startsWith("pg_tblspc/");
    }

    /** The archive's entry names, in order. */
    static List<String> names(Path tar) throws IOException {
        List<String> names = new ArrayList<>();
        try (InputStream in = Files.newInputStream(tar); TarArchiveInputStream t = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = t.getNextEntry()) != null) {
                names.add(e.getName());
            }
        }
        return names;
    }

    /**
     * Every regular file under {@code dir} (relative path to content) except what differs between
     * two basebackups of the same point by construction: pg_control and the WAL segment hold the
     * time the archive was made.
     */
    static Map<String, byte[]> files(Path dir) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                String rel = dir.relativize(p).toString();
                if (Files.isRegularFile(p) && !rel.equals("global/pg_control") && !rel.startsWith("pg_wal/")) {
                    out.put(rel, Files.readAllBytes(p));
                }
            }
        }
        return out;
    }

    /**
     * The files that differ between two data directories ({@link #files}): missing on one side
     * or with other bytes (then the first differing 8 KiB block is named). Empty: the same.
     */
    static List<String> differences(Path expected, Path actual) throws IOException {
        Map<String, byte[]> a = files(expected);
        Map<String, byte[]> b = files(actual);
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : a.entrySet()) {
            byte[] other = b.get(e.getKey());
            if (other == null) {
                out.add(e.getKey() + " missing");
            } else if (!java.util.Arrays.equals(e.getValue(), other)) {
                int at = java.util.Arrays.mismatch(e.getValue(), other);
                out.add(e.getKey() + " differs (" + e.getValue().length + " vs " + other.length + " bytes, first in block "
                        + at / IncrementalFormat.BLOCK_SIZE + ")");
            }
        }
        for (String k : b.keySet()) {
            if (!a.containsKey(k)) {
                out.add(k + " not expected");
            }
        }
        return out;
    }
}
