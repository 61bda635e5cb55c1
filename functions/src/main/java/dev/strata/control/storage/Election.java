package dev.strata.control.storage;

import dev.strata.pgcore.lsn.Lsn;
import java.util.Objects;

/** The outcome of a safekeeper election: the compute's term and the LSN it starts at. */
public record Election(long term, Lsn startLsn) {

    public Election {
        if (term < 1) {
            throw new IllegalArgumentException("term must be positive, got " + term);
        }
        Objects.requireNonNull(startLsn, "startLsn is null");
        if (!startLsn.isValid()) {
            throw new IllegalArgumentException("startLsn must be valid, got " + startLsn);
        }
    }
}
