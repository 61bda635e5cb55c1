package dev.strata.safekeeper.node;

import dev.strata.pgcore.id.TimelineId;

/** The timeline named in a request does not exist on this safekeeper (HTTP 404). */
public final class TimelineNotFoundException extends RuntimeException {
    public TimelineNotFoundException(TimelineId id) {
        super("timeline " + id + " does not exist on this safekeeper");
    }
}
