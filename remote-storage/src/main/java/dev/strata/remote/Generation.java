package dev.strata.remote;

/**
 * An attach generation (Neon's): a number that grows each time a timeline is attached to a
 * pageserver, handed out by whoever decides placement (today the operator or {@code strata up};
 * later the control plane). Every object a pageserver writes carries its generation in the key
 * (the pageserver's {@code RemoteLayout}), so two pageservers that both believe they own a timeline never write
 * the same key; the newest generation wins when a timeline is attached. 1 .. 2^32-1.
 */
public record Generation(long value) implements Comparable<Generation> {

    public static final long MAX = 0xFFFF_FFFFL;

    public Generation {
        if (value < 1 || value > MAX) {
            throw new IllegalArgumentException("generation must be in 1.." + MAX + ", got " + value);
        }
    }

    public static Generation of(long value) {
        return new Generation(value);
    }

    /** Parses the 8 hex digits of a key suffix. */
    public static Generation parseHex(String hex) {
        if (hex.length() != 8) {
            throw new IllegalArgumentException("generation suffix must be 8 hex digits, got '" + hex + "'");
        }
        return new Generation(Long.parseLong(hex, 16));
    }

    /** 8 lowercase hex digits: the suffix of every key written in this generation (sorts by number). */
    public String hex() {
        return String.format("%08x", value);
    }

    @Override
    public int compareTo(Generation o) {
        return Long.compare(value, o.value);
    }

    @Override
    public String toString() {
        return Long.toString(value);
    }
}
