package dev.strata.pageserver.datadir;

import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.Comparator;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * The relation forks of one database at an LSN: (relfilenumber, fork) pairs. Value of
 * {@code Key.relationDirectory(spcOid, dbOid)}. A fork is listed from its creation (smgr
 * create, or the first block written) until it is dropped; its size is the relation-size key.
 *
 * <p>Encoding: {@code u8 version (1), u32 count, count × (u32 relNumber, u8 fork)}, big-endian,
 * sorted unsigned by relNumber then fork. Forks: 0 main, 1 FSM, 2 VM, 3 init.
 */
public final class RelDirectory {

    public record RelFork(int relNumber, int fork) {
        public RelFork {
            if (fork < 0 || fork > 3) {
                throw new IllegalArgumentException("fork must be 0..3, got " + fork);
            }
        }

        static final Comparator<RelFork> ORDER = Comparator
                .<RelFork>comparingLong(r -> Integer.toUnsignedLong(r.relNumber)).thenComparingInt(RelFork::fork);
    }

    public static final RelDirectory EMPTY = new RelDirectory(new TreeSet<>(RelFork.ORDER));
    private static final int VERSION = 1;

    private final NavigableSet<RelFork> entries;

    private RelDirectory(NavigableSet<RelFork> entries) {
        this.entries = Collections.unmodifiableNavigableSet(entries);
    }

    public NavigableSet<RelFork> entries() {
        return entries;
    }

    public boolean contains(int relNumber, int fork) {
        return entries.contains(new RelFork(relNumber, fork));
    }

    /** Whether any fork of the relation is listed. */
    public boolean containsRelation(int relNumber) {
        RelFork first = entries.ceiling(new RelFork(relNumber, 0));
        return first != null && first.relNumber() == relNumber;
    }

    public RelDirectory with(int relNumber, int fork) {
        TreeSet<RelFork> copy = new TreeSet<>(entries);
        copy.add(new RelFork(relNumber, fork));
        return new RelDirectory(copy);
    }

    public RelDirectory without(int relNumber, int fork) {
        TreeSet<RelFork> copy = new TreeSet<>(entries);
        copy.remove(new RelFork(relNumber, fork));
        return new RelDirectory(copy);
    }

    /** Without every fork of the relation. */
    public RelDirectory withoutRelation(int relNumber) {
        TreeSet<RelFork> copy = new TreeSet<>(entries);
        copy.removeIf(r -> r.relNumber() == relNumber);
        return new RelDirectory(copy);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(5 + 5 * entries.size());
        b.put((byte) VERSION).putInt(entries.size());
        for (RelFork r : entries) {
            b.putInt(r.relNumber).put((byte) r.fork);
        }
        return b.array();
    }

    /** Decodes a value; null (no value at that LSN) is the empty directory. */
    public static RelDirectory decode(byte[] value) {
        if (value == null) {
            return EMPTY;
        }
        ByteBuffer b = DirectoryFormat.open("relation directory", value, VERSION, 5);
        TreeSet<RelFork> set = new TreeSet<>(RelFork.ORDER);
        while (b.hasRemaining()) {
            set.add(new RelFork(b.getInt(), b.get()));
        }
        return new RelDirectory(set);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RelDirectory other && entries.equals(other.entries);
    }

    @Override
    public int hashCode() {
        return entries.hashCode();
    }

    @Override
    public String toString() {
        return "RelDirectory" + entries;
    }
}
