package dev.strata.pageserver.redo;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Redo;
import dev.strata.pageserver.layer.Value;
import java.util.List;

/**
 * The pageserver's redo: applies the records that ingest stores as {@code Value.WalRecord}
 * ({@link StrataRecord}: CLOG status bits, multixact offsets and members) on top of a key's
 * older 8 KiB page, oldest first. Relation pages are stored as images, so no PostgreSQL WAL
 * record reaches here; a payload that is not a {@link StrataRecord}, or a record without a
 * base page, is an error naming the key.
 */
public final class PageserverRedo implements Redo {

    @Override
    public byte[] apply(Key key, byte[] base, List<Value.Record> records) {
        if (base == null) {
            throw new IllegalStateException("no base page for " + records.size() + " record(s) on " + key.describe()
                    + ": the page was never created (ZEROPAGE) at or below the first record");
        }
        if (base.length != StrataRecord.PAGE_SIZE) {
            throw new IllegalStateException("base of " + key.describe() + " is " + base.length + " bytes, not a page");
        }
        byte[] page = base.clone();
        for (Value.Record r : records) {
            if (!(r instanceof Value.WalRecord w)) {
                throw new IllegalStateException("unknown record kind " + r + " on " + key.describe());
            }
            StrataRecord op;
            try {
                op = StrataRecord.decode(w.payload());
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("bad record on " + key.describe() + ": " + e.getMessage(), e);
            }
            op.applyTo(page);
        }
        return page;
    }
}
