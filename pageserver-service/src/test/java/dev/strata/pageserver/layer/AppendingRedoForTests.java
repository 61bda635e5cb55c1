package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import java.io.ByteArrayOutputStream;
import java.util.List;

/**
 * TEST FAKE, not WAL redo: "applies" records by appending their payloads to the base (or to
 * nothing when the first record will init). Enough to check that the right records arrive
 * in the right order; the real redo engine comes with WAL ingest.
 */
public final class AppendingRedoForTests implements Redo {

    public static final AppendingRedoForTests INSTANCE = new AppendingRedoForTests();

    @Override
    public byte[] apply(Key key, byte[] base, List<Value.Record> records) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (base != null) {
            out.writeBytes(base);
        }
        for (Value.Record r : records) {
            out.writeBytes(((Value.WalRecord) r).payload());
        }
        return out.toByteArray();
    }
}
