package dev.strata.pageserver.datadir;

import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.Comparator;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * The databases of a timeline at an LSN: (tablespace OID, database OID) pairs. Value of
 * {@code Key.databaseDirectory()}. Immutable; {@link #with}/{@link #without} return copies.
 *
 * <p>Encoding: {@code u8 version (1), u32 count, count × (u32 spcOid, u32 dbOid)},
 * big-endian, sorted unsigned.
 */
public final class DbDirectory {

    /** One database: its tablespace (1663 pg_default, 1664 pg_global for shared catalogs) and OID. */
    public record Db(int spcOid, int dbOid) {
        static final Comparator<Db> ORDER = Comparator.<Db>comparingLong(d -> Integer.toUnsignedLong(d.spcOid))
                .thenComparingLong(d -> Integer.toUnsignedLong(d.dbOid));
    }

    public static final DbDirectory EMPTY = new DbDirectory(new TreeSet<>(Db.ORDER));
    private static final int VERSION = 1;

    private final NavigableSet<Db> entries;

    private DbDirectory(NavigableSet<Db> entries) {
        this.entries = Collections.unmodifiableNavigableSet(entries);
    }

    public NavigableSet<Db> entries() {
        return entries;
    }

    public boolean contains(int spcOid, int dbOid) {
        return entries.contains(new Db(spcOid, dbOid));
    }

    public DbDirectory with(int spcOid, int dbOid) {
        TreeSet<Db> copy = new TreeSet<>(entries);
        copy.add(new Db(spcOid, dbOid));
        return new DbDirectory(copy);
    }

    public DbDirectory without(int spcOid, int dbOid) {
        TreeSet<Db> copy = new TreeSet<>(entries);
        copy.remove(new Db(spcOid, dbOid));
        return new DbDirectory(copy);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(5 + 8 * entries.size());
        b.put((byte) VERSION).putInt(entries.size());
        for (Db d : entries) {
            b.putInt(d.spcOid).putInt(d.dbOid);
        }
        return b.array();
    }

    /** Decodes a value; null (no value at that LSN) is the empty directory. */
    public static DbDirectory decode(byte[] value) {
        if (value == null) {
            return EMPTY;
        }
        ByteBuffer b = DirectoryFormat.open("database directory", value, VERSION, 8);
        TreeSet<Db> set = new TreeSet<>(Db.ORDER);
        while (b.hasRemaining()) {
            set.add(new Db(b.getInt(), b.getInt()));
        }
        return new DbDirectory(set);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DbDirectory other && entries.equals(other.entries);
    }

    @Override
    public int hashCode() {
        return entries.hashCode();
    }

    @Override
    public String toString() {
        return "DbDirectory" + entries;
    }
}
