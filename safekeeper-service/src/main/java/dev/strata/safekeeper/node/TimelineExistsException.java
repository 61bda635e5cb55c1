package dev.strata.safekeeper.node;

import dev.strata.pgcore.id.TimelineId;

/** A timeline with that id already exists on this safekeeper (HTTP 409). */
public final class TimelineExistsException extends RuntimeException {
    public TimelineExistsException(TimelineId id) {
        super("timeline " + id + " already exists on this safekeeper");
    }
}
