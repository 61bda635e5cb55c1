package dev.strata.pageserver.redo;

import dev.strata.pageserver.layer.Value;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The small operations ingest stores as {@link Value.WalRecord} instead of rewriting an 8 KiB
 * image (Neon's choice too: a commit touches one CLOG page with a few bits). Applied by
 * {@link PageserverRedo} on top of the page's older value.
 *
 * <p>Payload, big-endian, version 1:
 * <pre>
 *   u8 version (1)   u8 op   op body
 *   op 1 CLOG_SET_STATUS      u8 status (1 committed, 2 aborted), u32 n, n × u32 xid   (xids on this CLOG page)
 *   op 2 MULTIXACT_OFFSET     u32 multi, u32 offset                                  (an offsets-SLRU page)
 *   op 3 MULTIXACT_MEMBERS    u32 first member offset, u32 n, n × (u32 xid, u8 status) (a members-SLRU page;
 *                             only the members whose offset falls on the page)
 * </pre>
 * Every record here modifies an existing page ({@code willInit} false); a page's creation
 * (CLOG or multixact ZEROPAGE) is an image of zeros.
 */
public sealed interface StrataRecord {

    int VERSION = 1;
    int OP_CLOG_SET_STATUS = 1;
    int OP_MULTIXACT_OFFSET = 2;
    int OP_MULTIXACT_MEMBERS = 3;

    int PAGE_SIZE = 8192;
    /** CLOG: 2 status bits per xid, 4 xids per byte. */
    int CLOG_XACTS_PER_PAGE = PAGE_SIZE * 4;
    int CLOG_STATUS_COMMITTED = 1;
    int CLOG_STATUS_ABORTED = 2;
    /** SLRU_PAGES_PER_SEGMENT. */
    int SLRU_PAGES_PER_SEGMENT = 32;
    /** Multixact offsets: one u32 per multi. */
    int MULTIXACT_OFFSETS_PER_PAGE = PAGE_SIZE / 4;
    /** Multixact members: groups of 4 flag bytes and 4 xids (20 bytes), 409 groups per page. */
    int MEMBER_GROUP_SIZE = 20;
    int MEMBER_GROUPS_PER_PAGE = PAGE_SIZE / MEMBER_GROUP_SIZE;
    int MEMBERS_PER_PAGE = MEMBER_GROUPS_PER_PAGE * 4;

    /** Applies the operation to {@code page} in place. */
    void applyTo(byte[] page);

    byte[] encode();

    /** Sets the 2-bit status of each xid, all on one CLOG page. */
    record ClogSetStatus(int status, int[] xids) implements StrataRecord {
        public ClogSetStatus {
            if (status != CLOG_STATUS_COMMITTED && status != CLOG_STATUS_ABORTED) {
                throw new IllegalArgumentException("CLOG status " + status + " (1 committed, 2 aborted)");
            }
            if (xids.length == 0) {
                throw new IllegalArgumentException("no xids");
            }
            long page = clogPage(xids[0]);
            for (int x : xids) {
                if (clogPage(x) != page) {
                    throw new IllegalArgumentException("xids " + Integer.toUnsignedString(xids[0]) + " and "
                            + Integer.toUnsignedString(x) + " are on different CLOG pages");
                }
            }
        }

        @Override
        public void applyTo(byte[] page) {
            for (int xid : xids) {
                int inPage = (int) (Integer.toUnsignedLong(xid) % CLOG_XACTS_PER_PAGE);
                int byteNo = inPage / 4;
                int shift = (inPage % 4) * 2;
                page[byteNo] = (byte) ((page[byteNo] & ~(3 << shift)) | (status << shift));
            }
        }

        @Override
        public byte[] encode() {
            ByteBuffer b = ByteBuffer.allocate(7 + 4 * xids.length);
            b.put((byte) VERSION).put((byte) OP_CLOG_SET_STATUS).put((byte) status).putInt(xids.length);
            for (int x : xids) {
                b.putInt(x);
            }
            return b.array();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ClogSetStatus c && c.status == status && Arrays.equals(c.xids, xids);
        }

        @Override
        public int hashCode() {
            return 31 * status + Arrays.hashCode(xids);
        }
    }

    /** Writes a multixact's starting member offset into its offsets page. */
    record MultiXactOffset(int multi, int offset) implements StrataRecord {
        @Override
        public void applyTo(byte[] page) {
            int at = (int) (Integer.toUnsignedLong(multi) % MULTIXACT_OFFSETS_PER_PAGE) * 4;
            ByteBuffer.wrap(page).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(at, offset);
        }

        @Override
        public byte[] encode() {
            return ByteBuffer.allocate(10).put((byte) VERSION).put((byte) OP_MULTIXACT_OFFSET).putInt(multi)
                    .putInt(offset).array();
        }
    }

    /** Writes members (xid and status byte) at consecutive member offsets, all on one members page. */
    record MultiXactMembers(int firstOffset, int[] xids, byte[] statuses) implements StrataRecord {
        public MultiXactMembers {
            if (xids.length != statuses.length || xids.length == 0) {
                throw new IllegalArgumentException(xids.length + " xids and " + statuses.length + " statuses");
            }
            long first = Integer.toUnsignedLong(firstOffset) / MEMBERS_PER_PAGE;
            long last = (Integer.toUnsignedLong(firstOffset) + xids.length - 1) / MEMBERS_PER_PAGE;
            if (first != last) {
                throw new IllegalArgumentException("members at offsets " + Integer.toUnsignedString(firstOffset)
                        + ".." + (Integer.toUnsignedLong(firstOffset) + xids.length - 1) + " span two pages");
            }
        }

        @Override
        public void applyTo(byte[] page) {
            ByteBuffer b = ByteBuffer.wrap(page).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < xids.length; i++) {
                long offset = Integer.toUnsignedLong(firstOffset) + i;
                int group = (int) ((offset / 4) % MEMBER_GROUPS_PER_PAGE);
                int inGroup = (int) (offset % 4);
                int flagsAt = group * MEMBER_GROUP_SIZE;
                b.putInt(flagsAt + 4 + inGroup * 4, xids[i]);
                page[flagsAt + inGroup] = statuses[i]; // one flag byte per member, little-endian u32 of flags
            }
        }

        @Override
        public byte[] encode() {
            ByteBuffer b = ByteBuffer.allocate(10 + 5 * xids.length);
            b.put((byte) VERSION).put((byte) OP_MULTIXACT_MEMBERS).putInt(firstOffset).putInt(xids.length);
            for (int i = 0; i < xids.length; i++) {
                b.putInt(xids[i]).put(statuses[i]);
            }
            return b.array();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof MultiXactMembers m && m.firstOffset == firstOffset && Arrays.equals(m.xids, xids)
                    && Arrays.equals(m.statuses, statuses);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * firstOffset + Arrays.hashCode(xids)) + Arrays.hashCode(statuses);
        }
    }

    /** The CLOG page number (pageno) of an xid. */
    static long clogPage(int xid) {
        return Integer.toUnsignedLong(xid) / CLOG_XACTS_PER_PAGE;
    }

    /** Wraps an operation as the value ingest puts. */
    static Value.WalRecord toValue(StrataRecord r) {
        return new Value.WalRecord(r.encode(), false);
    }

    /** Decodes a payload; a wrong version, unknown op or bad length throws {@link IllegalArgumentException} naming it. */
    static StrataRecord decode(byte[] payload) {
        if (payload.length < 2) {
            throw new IllegalArgumentException("Strata record of " + payload.length + " bytes has no header");
        }
        ByteBuffer b = ByteBuffer.wrap(payload);
        int version = b.get() & 0xFF;
        if (version != VERSION) {
            throw new IllegalArgumentException("Strata record format version " + version + ", expected " + VERSION);
        }
        int op = b.get() & 0xFF;
        try {
            StrataRecord r = switch (op) {
                case OP_CLOG_SET_STATUS -> {
                    int status = b.get() & 0xFF;
                    int[] xids = new int[count(b, 4)];
                    for (int i = 0; i < xids.length; i++) {
                        xids[i] = b.getInt();
                    }
                    yield new ClogSetStatus(status, xids);
                }
                case OP_MULTIXACT_OFFSET -> new MultiXactOffset(b.getInt(), b.getInt());
                case OP_MULTIXACT_MEMBERS -> {
                    int first = b.getInt();
                    int n = count(b, 5);
                    int[] xids = new int[n];
                    byte[] statuses = new byte[n];
                    for (int i = 0; i < n; i++) {
                        xids[i] = b.getInt();
                        statuses[i] = b.get();
                    }
                    yield new MultiXactMembers(first, xids, statuses);
                }
                default -> throw new IllegalArgumentException("unknown Strata record op " + op);
            };
            if (b.hasRemaining()) {
                throw new IllegalArgumentException(b.remaining() + " trailing bytes");
            }
            return r;
        } catch (java.nio.BufferUnderflowException e) {
            throw new IllegalArgumentException("Strata record op " + op + " truncated at " + payload.length + " bytes");
        }
    }

    private static int count(ByteBuffer b, int entryBytes) {
        long n = Integer.toUnsignedLong(b.getInt());
        if (n * entryBytes != b.remaining()) {
            throw new IllegalArgumentException("count " + n + " needs " + n * entryBytes + " bytes, have " + b.remaining());
        }
        return (int) n;
    }
}
