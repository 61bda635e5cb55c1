package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import java.util.function.Supplier;

/**
 * Receives the (key, LSN) entries of a walk over a layer ({@link DeltaLayer#walkKeys},
 * {@link InMemoryLayer#walkKeys}) that reads no value unless asked: what an incremental
 * basebackup needs to learn which keys changed in an LSN range.
 */
@FunctionalInterface
public interface KeyLsnVisitor {

    /**
     * One entry, in (key, LSN) order.
     *
     * @param value reads (and for a file, verifies) this entry's value; valid only during the call
     */
    void visit(Key key, long lsn, Supplier<Value> value);
}
