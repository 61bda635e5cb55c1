package dev.strata.pageserver.datadir;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A sorted set of unsigned 32-bit numbers: the SLRU segments of one SLRU kind
 * ({@code Key.slruDirectory}) or the xids with a two-phase state file
 * ({@code Key.twoPhaseDirectory}). Immutable.
 *
 * <p>Encoding: {@code u8 version (1), u32 count, count × u32}, big-endian, ascending unsigned.
 */
public final class NumberSet {

    public static final NumberSet EMPTY = new NumberSet(new int[0]);
    private static final int VERSION = 1;

    private final int[] sorted;

    private NumberSet(int[] sorted) {
        this.sorted = sorted;
    }

    public static NumberSet of(int... numbers) {
        NumberSet s = EMPTY;
        for (int n : numbers) {
            s = s.with(n);
        }
        return s;
    }

    public int size() {
        return sorted.length;
    }

    /** The numbers, ascending unsigned (a copy). */
    public int[] toArray() {
        return sorted.clone();
    }

    public boolean contains(int n) {
        return indexOf(n) >= 0;
    }

    public NumberSet with(int n) {
        int at = indexOf(n);
        if (at >= 0) {
            return this;
        }
        int insert = -at - 1;
        int[] next = new int[sorted.length + 1];
        System.arraycopy(sorted, 0, next, 0, insert);
        next[insert] = n;
        System.arraycopy(sorted, insert, next, insert + 1, sorted.length - insert);
        return new NumberSet(next);
    }

    public NumberSet without(int n) {
        int at = indexOf(n);
        if (at < 0) {
            return this;
        }
        int[] next = new int[sorted.length - 1];
        System.arraycopy(sorted, 0, next, 0, at);
        System.arraycopy(sorted, at + 1, next, at, sorted.length - at - 1);
        return new NumberSet(next);
    }

    private int indexOf(int n) {
        int lo = 0;
        int hi = sorted.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Integer.compareUnsigned(sorted[mid], n);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -(lo + 1);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(5 + 4 * sorted.length);
        b.put((byte) VERSION).putInt(sorted.length);
        for (int n : sorted) {
            b.putInt(n);
        }
        return b.array();
    }

    /** Decodes a value; null (no value at that LSN) is the empty set. */
    public static NumberSet decode(byte[] value) {
        if (value == null) {
            return EMPTY;
        }
        ByteBuffer b = DirectoryFormat.open("number set", value, VERSION, 4);
        int[] numbers = new int[b.remaining() / 4];
        for (int i = 0; i < numbers.length; i++) {
            numbers[i] = b.getInt();
            if (i > 0 && Integer.compareUnsigned(numbers[i - 1], numbers[i]) >= 0) {
                throw new IllegalArgumentException("number set: entries not strictly ascending at index " + i);
            }
        }
        return new NumberSet(numbers);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NumberSet other && Arrays.equals(sorted, other.sorted);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(sorted);
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("{");
        for (int i = 0; i < sorted.length; i++) {
            s.append(i == 0 ? "" : ", ").append(Integer.toUnsignedString(sorted[i]));
        }
        return s.append('}').toString();
    }
}
