package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pgcore.lsn.Lsn;
import java.util.Locale;

/**
 * The file name of a layer, which says what it covers so the layer map can be rebuilt from
 * a directory listing (and, later, an S3 listing). Grammar:
 *
 * <pre>
 *   delta: KEYSTART "-" KEYEND "__" LSNSTART "-" LSNEND     key range [KEYSTART, KEYEND), LSNs [LSNSTART, LSNEND)
 *   image: KEYSTART "-" KEYEND "__" LSN                     key range [KEYSTART, KEYEND), image at LSN
 *   KEY* = 36 lowercase hex digits ({@link Key#toString()}),  LSN* = 16 uppercase hex digits
 * </pre>
 * An image layer's LSN range is [LSN, LSN+1).
 */
public record LayerName(KeyRange keyRange, LsnRange lsnRange, boolean image) implements Comparable<LayerName> {

    private static final int KEY_HEX = Key.BYTES * 2;
    private static final int LSN_HEX = 16;
    private static final int DELTA_LENGTH = KEY_HEX * 2 + 1 + 2 + LSN_HEX * 2 + 1;
    private static final int IMAGE_LENGTH = KEY_HEX * 2 + 1 + 2 + LSN_HEX;

    public LayerName {
        if (keyRange == null || lsnRange == null) {
            throw new IllegalArgumentException("layer name needs a key range and an LSN range");
        }
        if (image && lsnRange.end().value() - lsnRange.start().value() != 1) {
            throw new IllegalArgumentException("an image layer covers one LSN, got " + lsnRange);
        }
    }

    public static LayerName delta(KeyRange keys, LsnRange lsns) {
        return new LayerName(keys, lsns, false);
    }

    public static LayerName image(KeyRange keys, Lsn lsn) {
        return new LayerName(keys, LsnRange.single(lsn), true);
    }

    /** Parses a file name; throws {@link IllegalArgumentException} naming the text if it is not a layer name. */
    public static LayerName parse(String fileName) {
        LayerName n = tryParse(fileName);
        if (n == null) {
            throw new IllegalArgumentException("not a layer file name: '" + fileName + "'");
        }
        return n;
    }

    /** Parses a file name, or returns null if it does not follow the grammar. */
    public static LayerName tryParse(String s) {
        if (s == null || (s.length() != DELTA_LENGTH && s.length() != IMAGE_LENGTH)) {
            return null;
        }
        int p = KEY_HEX;
        if (s.charAt(p) != '-' || s.charAt(p + 1 + KEY_HEX) != '_' || s.charAt(p + 2 + KEY_HEX) != '_') {
            return null;
        }
        try {
            Key start = Key.parse(lowerHexOnly(s.substring(0, KEY_HEX)));
            Key end = Key.parse(lowerHexOnly(s.substring(KEY_HEX + 1, 2 * KEY_HEX + 1)));
            int lsnAt = 2 * KEY_HEX + 3;
            Lsn lsn1 = parseLsn(s.substring(lsnAt, lsnAt + LSN_HEX));
            KeyRange keys = new KeyRange(start, end);
            if (s.length() == IMAGE_LENGTH) {
                return image(keys, lsn1);
            }
            if (s.charAt(lsnAt + LSN_HEX) != '-') {
                return null;
            }
            Lsn lsn2 = parseLsn(s.substring(lsnAt + LSN_HEX + 1));
            return delta(keys, new LsnRange(lsn1, lsn2));
        } catch (IllegalArgumentException | ArithmeticException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        String keys = keyRange.start() + "-" + keyRange.end() + "__";
        return image ? keys + lsnHex(lsnRange.start())
                : keys + lsnHex(lsnRange.start()) + "-" + lsnHex(lsnRange.end());
    }

    /** Orders by key range start, then LSN range start, then image after delta: a stable listing order. */
    @Override
    public int compareTo(LayerName o) {
        int c = keyRange.start().compareTo(o.keyRange.start());
        if (c == 0) {
            c = lsnRange.start().compareTo(o.lsnRange.start());
        }
        if (c == 0) {
            c = Boolean.compare(image, o.image);
        }
        if (c == 0) {
            c = keyRange.end().compareTo(o.keyRange.end());
        }
        return c == 0 ? lsnRange.end().compareTo(o.lsnRange.end()) : c;
    }

    private static String lsnHex(Lsn lsn) {
        return String.format(Locale.ROOT, "%016X", lsn.value());
    }

    private static Lsn parseLsn(String hex) {
        for (int i = 0; i < hex.length(); i++) {
            char c = hex.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
                throw new IllegalArgumentException("not an upper-case hex LSN: " + hex);
            }
        }
        return new Lsn(Long.parseUnsignedLong(hex, 16));
    }

    private static String lowerHexOnly(String hex) {
        for (int i = 0; i < hex.length(); i++) {
            char c = hex.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                throw new IllegalArgumentException("not a lower-case hex key: " + hex);
            }
        }
        return hex;
    }
}
