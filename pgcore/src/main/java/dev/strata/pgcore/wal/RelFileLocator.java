package dev.strata.pgcore.wal;

/**
 * Identifies a relation's storage: tablespace OID, database OID (0 for shared relations)
 * and relfilenumber, as {@code RelFileLocator} in PG17. OIDs are unsigned 32-bit values
 * held in a long so they print and compare as PostgreSQL does.
 */
public record RelFileLocator(long spcOid, long dbOid, long relNumber) {

    public RelFileLocator {
        requireOid(spcOid, "spcOid");
        requireOid(dbOid, "dbOid");
        requireOid(relNumber, "relNumber");
    }

    private static void requireOid(long value, String name) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(name + " is not a 32-bit OID: " + value);
        }
    }

    @Override
    public String toString() {
        return spcOid + "/" + dbOid + "/" + relNumber;
    }
}
