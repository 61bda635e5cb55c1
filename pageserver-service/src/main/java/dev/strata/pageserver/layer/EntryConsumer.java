package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import dev.strata.pgcore.lsn.Lsn;

/** Receives the (key, LSN, value) entries of a layer in (key, LSN) order. */
@FunctionalInterface
public interface EntryConsumer {

    void accept(Key key, Lsn lsn, Value value);
}
