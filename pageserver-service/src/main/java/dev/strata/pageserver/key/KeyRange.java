package dev.strata.pageserver.key;

/**
 * A half-open key interval [start, end): what a layer covers. Used by the layer map to find
 * layers for a key, and by compaction to partition the key space for image layers.
 */
public record KeyRange(Key start, Key end) {

    /** Every key. */
    public static final KeyRange ALL = new KeyRange(Key.MIN, Key.MAX);

    /** Every key of the relation namespace: blocks, sizes, relmapper files and relation directories. */
    public static final KeyRange RELATIONS = new KeyRange(Key.MIN, new Key(Key.NS_SLRU, 0, 0, 0, 0, 0));

    public KeyRange {
        if (start == null || end == null) {
            throw new IllegalArgumentException("key range bounds must not be null");
        }
        if (start.compareTo(end) >= 0) {
            throw new IllegalArgumentException("empty key range [" + start + ", " + end + ")");
        }
    }

    /** The range holding exactly {@code key}. */
    public static KeyRange singleton(Key key) {
        return new KeyRange(key, key.next());
    }

    /** All blocks of one relation fork, in block order (the size key is just past the end). */
    public static KeyRange relationBlocks(int spcOid, int dbOid, int relNumber, int fork) {
        return new KeyRange(Key.relationBlock(spcOid, dbOid, relNumber, fork, 0),
                Key.relationSize(spcOid, dbOid, relNumber, fork));
    }

    /** Everything stored for one database: relmapper, relation directory, all blocks and sizes. */
    public static KeyRange database(int spcOid, int dbOid) {
        Key first = Key.relmapperFile(spcOid, dbOid);
        Key last = new Key(Key.NS_RELATION, spcOid, dbOid, -1, 0xFF, -1);
        return new KeyRange(first, last.next());
    }

    public boolean contains(Key key) {
        return start.compareTo(key) <= 0 && key.compareTo(end) < 0;
    }

    public boolean overlaps(KeyRange other) {
        return start.compareTo(other.end) < 0 && other.start.compareTo(end) < 0;
    }

    /** True if {@code other} lies completely inside this range. */
    public boolean covers(KeyRange other) {
        return start.compareTo(other.start) <= 0 && other.end.compareTo(end) <= 0;
    }

    @Override
    public String toString() {
        return "[" + start + ", " + end + ")";
    }
}
