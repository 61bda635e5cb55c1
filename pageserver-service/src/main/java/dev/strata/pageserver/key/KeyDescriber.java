package dev.strata.pageserver.key;

import java.util.Locale;

/** Turns a {@link Key} into the readable text of {@link Key#describe()}; the inverse of its constructors. */
final class KeyDescriber {

    private KeyDescriber() {
    }

    static String describe(Key k) {
        String text = switch (k.field1()) {
            case Key.NS_RELATION -> relation(k);
            case Key.NS_SLRU -> slru(k);
            case Key.NS_TWO_PHASE -> twoPhase(k);
            case Key.NS_CLUSTER -> cluster(k);
            default -> null;
        };
        return text != null ? text : "raw " + k;
    }

    private static String relation(Key k) {
        String db = u(k.field2()) + "/" + u(k.field3());
        if (k.field4() == 0) {
            if (k.field5() == 0 && k.field6() == 0) {
                return "relmap " + db;
            }
            if (k.field5() == 0 && k.field6() == 1) {
                return "reldir " + db;
            }
            return null;
        }
        String rel = "rel " + db + "/" + u(k.field4()) + "." + k.field5();
        return k.field6() == Key.SIZE_MARKER ? rel + " size" : rel + " blk " + u(k.field6());
    }

    private static String slru(Key k) {
        SlruKind kind = SlruKind.ofCode(k.field2());
        if (kind == null || k.field5() != 0) {
            return null;
        }
        String name = "slru " + kind.name().toLowerCase(Locale.ROOT);
        if (k.field3() == 1 && k.field4() == 0 && k.field6() == 0) {
            return name + " dir";
        }
        if (k.field3() != 0) {
            return null;
        }
        String seg = name + " seg " + u(k.field4());
        return k.field6() == Key.SIZE_MARKER ? seg + " size" : seg + " page " + u(k.field6());
    }

    private static String twoPhase(Key k) {
        if (k.field3() != 0 || k.field4() != 0 || k.field5() != 0) {
            return null;
        }
        if (k.field2() == 0) {
            return "twophase xid " + u(k.field6());
        }
        return k.field2() == 1 && k.field6() == 0 ? "twophase dir" : null;
    }

    private static String cluster(Key k) {
        if (k.field2() == 1 && k.field5() == 0 && k.field6() == 0) {
            return "shutdown checkpoint at " + new dev.strata.pgcore.lsn.Lsn(
                    (Integer.toUnsignedLong(k.field3()) << 32) | Integer.toUnsignedLong(k.field4()));
        }
        if (k.field2() != 0 || k.field3() != 0 || k.field4() != 0 || k.field5() != 0) {
            return null;
        }
        return switch (k.field6()) {
            case 0 -> "dbdir";
            case 1 -> "checkpoint";
            case 2 -> "control";
            case 3 -> "tblspcdir";
            case 4 -> "xact ends";
            default -> null;
        };
    }

    private static String u(int v) {
        return Integer.toUnsignedString(v);
    }
}
