package dev.strata.pageserver.datadir;

import java.nio.ByteBuffer;

/** The header shared by the directory encodings: version byte and entry count, checked against the length. */
final class DirectoryFormat {

    private DirectoryFormat() {
    }

    /** Checks the header and returns a buffer positioned at the first entry, limited to the entries. */
    static ByteBuffer open(String what, byte[] value, int version, int entryBytes) {
        if (value.length < 5) {
            throw new IllegalArgumentException(what + ": value of " + value.length + " bytes is shorter than its 5-byte header");
        }
        ByteBuffer b = ByteBuffer.wrap(value);
        int v = b.get() & 0xFF;
        if (v != version) {
            throw new IllegalArgumentException(what + ": format version " + v + ", expected " + version);
        }
        long count = Integer.toUnsignedLong(b.getInt());
        long expected = 5 + count * entryBytes;
        if (expected != value.length) {
            throw new IllegalArgumentException(what + ": " + count + " entries need " + expected
                    + " bytes, value has " + value.length);
        }
        return b;
    }
}
