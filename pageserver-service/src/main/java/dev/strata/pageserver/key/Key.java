package dev.strata.pageserver.key;

import java.nio.ByteBuffer;
import java.util.HexFormat;

/**
 * A pageserver key: names one versioned value of a timeline (a relation block, a relation
 * size, an SLRU page, a metadata file...). Ingest makes keys with the static constructors,
 * layers store them as {@value #BYTES} big-endian bytes, and the layer map orders by them.
 *
 * <p>Layout (fields compared as unsigned numbers in this order, so byte order = key order):
 * <pre>
 *   byte  0      field1 u8   namespace: 0x00 relation, 0x01 SLRU, 0x02 two-phase, 0x03 cluster
 *   bytes 1..4   field2 u32
 *   bytes 5..8   field3 u32
 *   bytes 9..12  field4 u32
 *   byte  13     field5 u8
 *   bytes 14..17 field6 u32
 *
 *   relation block     00 spcOid dbOid relNumber fork blockNo      (relNumber != 0, blockNo != FFFFFFFF)
 *   relation size      00 spcOid dbOid relNumber fork FFFFFFFF     (just after the fork's last block)
 *   relmapper file     00 spcOid dbOid 0         0    0
 *   relation directory 00 spcOid dbOid 0         0    1
 *   SLRU page          01 slruKind 0 segmentNo 0 pageInSegment
 *   SLRU segment size  01 slruKind 0 segmentNo 0 FFFFFFFF
 *   SLRU directory     01 slruKind 1 0 0 0
 *   two-phase file     02 0 0 0 0 xid
 *   two-phase dir      02 1 0 0 0 0
 *   database directory 03 0 0 0 0 0;  checkpoint 03 0 0 0 0 1;  control file 03 0 0 0 0 2
 *   tablespace dir     03 0 0 0 0 3;  transaction ends 03 0 0 0 0 4
 *   shutdown checkpoint 03 1 lsnHigh lsnLow 0 0  (the record at that LSN: the start of the one before)
 * </pre>
 * All blocks of one relation fork are therefore contiguous and sorted by block number, and
 * everything of one database (blocks, sizes, relmapper, directory) is one contiguous range.
 */
public record Key(int field1, int field2, int field3, int field4, int field5, int field6) implements Comparable<Key> {

    public static final int BYTES = 18;
    /** PostgreSQL's InvalidBlockNumber; no real block has it, so it marks "size" keys. */
    public static final int SIZE_MARKER = 0xFFFF_FFFF;

    static final int NS_RELATION = 0x00;
    static final int NS_SLRU = 0x01;
    static final int NS_TWO_PHASE = 0x02;
    static final int NS_CLUSTER = 0x03;

    /** The smallest key. */
    public static final Key MIN = new Key(0, 0, 0, 0, 0, 0);
    /** The largest key; used only as an exclusive range end, never stored. */
    public static final Key MAX = new Key(0xFF, -1, -1, -1, 0xFF, -1);

    private static final HexFormat HEX = HexFormat.of();

    public Key {
        if ((field1 & ~0xFF) != 0 || (field5 & ~0xFF) != 0) {
            throw new IllegalArgumentException("field1 and field5 are bytes, got " + field1 + " and " + field5);
        }
    }

    public static Key relationBlock(int spcOid, int dbOid, int relNumber, int fork, int blockNo) {
        requireRelation(relNumber, fork);
        if (blockNo == SIZE_MARKER) {
            throw new IllegalArgumentException("block number FFFFFFFF is InvalidBlockNumber, not a block");
        }
        return new Key(NS_RELATION, spcOid, dbOid, relNumber, fork, blockNo);
    }

    public static Key relationSize(int spcOid, int dbOid, int relNumber, int fork) {
        requireRelation(relNumber, fork);
        return new Key(NS_RELATION, spcOid, dbOid, relNumber, fork, SIZE_MARKER);
    }

    public static Key relmapperFile(int spcOid, int dbOid) {
        return new Key(NS_RELATION, spcOid, dbOid, 0, 0, 0);
    }

    public static Key relationDirectory(int spcOid, int dbOid) {
        return new Key(NS_RELATION, spcOid, dbOid, 0, 0, 1);
    }

    public static Key slruPage(SlruKind kind, int segmentNo, int pageInSegment) {
        if (pageInSegment == SIZE_MARKER) {
            throw new IllegalArgumentException("page number FFFFFFFF marks the segment size, not a page");
        }
        return new Key(NS_SLRU, kind.code(), 0, segmentNo, 0, pageInSegment);
    }

    public static Key slruSegmentSize(SlruKind kind, int segmentNo) {
        return new Key(NS_SLRU, kind.code(), 0, segmentNo, 0, SIZE_MARKER);
    }

    public static Key slruDirectory(SlruKind kind) {
        return new Key(NS_SLRU, kind.code(), 1, 0, 0, 0);
    }

    public static Key twoPhaseFile(int xid) {
        return new Key(NS_TWO_PHASE, 0, 0, 0, 0, xid);
    }

    public static Key twoPhaseDirectory() {
        return new Key(NS_TWO_PHASE, 1, 0, 0, 0, 0);
    }

    public static Key databaseDirectory() {
        return new Key(NS_CLUSTER, 0, 0, 0, 0, 0);
    }

    /** The values of the last checkpoint record (next XID, OID, multixact...) the basebackup needs. */
    public static Key checkpoint() {
        return new Key(NS_CLUSTER, 0, 0, 0, 0, 1);
    }

    /** The pg_control contents as of the last ingested change. */
    public static Key controlFile() {
        return new Key(NS_CLUSTER, 0, 0, 0, 0, 2);
    }

    /** The tablespaces that exist besides pg_default and pg_global (a set of OIDs: CREATE/DROP TABLESPACE). */
    public static Key tablespaceDirectory() {
        return new Key(NS_CLUSTER, 0, 0, 0, 0, 3);
    }

    /**
     * The transaction ends so far (newest commit/abort/prepare record, commit timestamps): what
     * branches and "LSN for a timestamp" read ({@code datadir.XactEnds}).
     */
    public static Key xactEnds() {
        return new Key(NS_CLUSTER, 0, 0, 0, 0, 4);
    }

    /**
     * A shutdown checkpoint record starts at {@code start} (every compute's first record is one,
     * and a clean shutdown's last): its value is the start of the record before it
     * ({@code xl_prev}), so that a basebackup at {@code start} can be made later, when the
     * timeline has moved on (strata verify's standbys begin there, decision 0032).
     */
    public static Key shutdownCheckpoint(dev.strata.pgcore.lsn.Lsn start) {
        return new Key(NS_CLUSTER, 1, (int) (start.value() >>> 32), (int) start.value(), 0, 0);
    }

    public boolean isRelationBlock() {
        return field1 == NS_RELATION && field4 != 0 && field6 != SIZE_MARKER;
    }

    /** A relation fork's size key ({@link #relationSize}): field2..field5 name the fork. */
    public boolean isRelationSize() {
        return field1 == NS_RELATION && field4 != 0 && field6 == SIZE_MARKER;
    }

    /** The key right after this one (this key + 1 as a 144-bit number). */
    public Key next() {
        int f6 = field6 + 1;
        int f5 = field5;
        int f4 = field4;
        int f3 = field3;
        int f2 = field2;
        int f1 = field1;
        if (f6 == 0) {
            f5 = (f5 + 1) & 0xFF;
            if (f5 == 0) {
                f4++;
                if (f4 == 0) {
                    f3++;
                    if (f3 == 0) {
                        f2++;
                        if (f2 == 0) {
                            f1++;
                            if (f1 > 0xFF) {
                                throw new ArithmeticException("no key after " + this);
                            }
                        }
                    }
                }
            }
        }
        return new Key(f1, f2, f3, f4, f5, f6);
    }

    public void writeTo(ByteBuffer out) {
        out.put((byte) field1).putInt(field2).putInt(field3).putInt(field4).put((byte) field5).putInt(field6);
    }

    /** Reads a key at the buffer's position, advancing it. */
    public static Key readFrom(ByteBuffer in) {
        return new Key(in.get() & 0xFF, in.getInt(), in.getInt(), in.getInt(), in.get() & 0xFF, in.getInt());
    }

    /** Reads a key at an absolute offset without moving the buffer. */
    public static Key readAt(ByteBuffer in, int offset) {
        return new Key(in.get(offset) & 0xFF, in.getInt(offset + 1), in.getInt(offset + 5), in.getInt(offset + 9),
                in.get(offset + 13) & 0xFF, in.getInt(offset + 14));
    }

    /** Compares this key with the encoded key at {@code offset} in {@code buf}, without allocating. */
    public int compareToEncoded(ByteBuffer buf, int offset) {
        int c = Integer.compare(field1, buf.get(offset) & 0xFF);
        if (c != 0) {
            return c;
        }
        c = Integer.compareUnsigned(field2, buf.getInt(offset + 1));
        if (c != 0) {
            return c;
        }
        c = Integer.compareUnsigned(field3, buf.getInt(offset + 5));
        if (c != 0) {
            return c;
        }
        c = Integer.compareUnsigned(field4, buf.getInt(offset + 9));
        if (c != 0) {
            return c;
        }
        c = Integer.compare(field5, buf.get(offset + 13) & 0xFF);
        if (c != 0) {
            return c;
        }
        return Integer.compareUnsigned(field6, buf.getInt(offset + 14));
    }

    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(BYTES);
        writeTo(b);
        return b.array();
    }

    /** Parses the {@value #BYTES}-byte hex form printed by {@link #toString()}. */
    public static Key parse(String hex) {
        if (hex == null || hex.length() != BYTES * 2) {
            throw new IllegalArgumentException("a key is " + (BYTES * 2) + " hex digits, got '" + hex + "'");
        }
        try {
            return readFrom(ByteBuffer.wrap(HEX.parseHex(hex)));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("a key is " + (BYTES * 2) + " hex digits, got '" + hex + "'", e);
        }
    }

    @Override
    public int compareTo(Key o) {
        int c = Integer.compare(field1, o.field1);
        if (c != 0) {
            return c;
        }
        c = Integer.compareUnsigned(field2, o.field2);
        if (c != 0) {
            return c;
        }
        c = Integer.compareUnsigned(field3, o.field3);
        if (c != 0) {
            return c;
        }
        c = Integer.compareUnsigned(field4, o.field4);
        if (c != 0) {
            return c;
        }
        c = Integer.compare(field5, o.field5);
        if (c != 0) {
            return c;
        }
        return Integer.compareUnsigned(field6, o.field6);
    }

    /** 36 lowercase hex digits, the form used in layer file names; {@link #parse} reads it back. */
    @Override
    public String toString() {
        return HEX.formatHex(toBytes());
    }

    /** A readable form for logs and errors, e.g. {@code rel 1663/5/16384.0 blk 7}. */
    public String describe() {
        return KeyDescriber.describe(this);
    }

    private static void requireRelation(int relNumber, int fork) {
        if (relNumber == 0) {
            throw new IllegalArgumentException("relNumber 0 is InvalidRelFileNumber");
        }
        if (fork < 0 || fork > 0xFF) {
            throw new IllegalArgumentException("fork number out of range: " + fork);
        }
    }
}
