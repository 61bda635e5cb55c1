package dev.strata.pageserver.redo.page;

/** Transaction id arithmetic (access/transam.h, transam.c). */
public final class Xids {

    public static final int INVALID = 0;
    public static final int BOOTSTRAP = 1;
    public static final int FROZEN = 2;
    public static final int FIRST_NORMAL = 3;

    private Xids() {
    }

    public static boolean isNormal(int xid) {
        return Integer.compareUnsigned(xid, FIRST_NORMAL) >= 0;
    }

    /**
     * {@code TransactionIdPrecedes}: a special xid compares as a plain unsigned number, two
     * normal xids modulo 2^32 (the signed difference).
     */
    public static boolean precedes(int a, int b) {
        if (!isNormal(a) || !isNormal(b)) {
            return Integer.compareUnsigned(a, b) < 0;
        }
        return a - b < 0;
    }
}
