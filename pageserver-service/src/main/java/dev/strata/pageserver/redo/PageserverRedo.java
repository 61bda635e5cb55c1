package dev.strata.pageserver.redo;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Redo;
import dev.strata.pageserver.layer.Value;
import java.util.List;

/**
 * The pageserver's redo: applies the records that ingest stores as {@code Value.WalRecord}
 * on top of a key's older value.
 *
 * <p>Placeholder: ingest stores only images today, so any record reaching here is a bug.
 */
public final class PageserverRedo implements Redo {

    @Override
    public byte[] apply(Key key, byte[] base, List<Value.Record> records) {
        throw new IllegalStateException("no redo implemented for " + records.size() + " record(s) on " + key.describe());
    }
}
