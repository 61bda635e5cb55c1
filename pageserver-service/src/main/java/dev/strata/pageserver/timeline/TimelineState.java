package dev.strata.pageserver.timeline;

/**
 * Lifecycle of a timeline on this pageserver.
 *
 * <pre>
 *   CREATING --> ACTIVE --> STOPPED
 *       |          |
 *       +--------> BROKEN --> STOPPED
 * </pre>
 * CREATING: its directory is being prepared (initdb import); nothing is served. ACTIVE: WAL is
 * ingested (when it has sources) and reads are served. BROKEN: ingest or a flush failed for good
 * (the reason says which record or file); reads at LSNs already ingested are still served, waits
 * beyond it fail at once. STOPPED: closed (shutdown or delete); nothing is served.
 */
public enum TimelineState {
    CREATING(true),
    ACTIVE(true),
    BROKEN(true),
    STOPPED(false);

    private final boolean servesReads;

    TimelineState(boolean servesReads) {
        this.servesReads = servesReads;
    }

    /** Whether reads at ingested LSNs are answered (CREATING answers "unavailable" itself). */
    public boolean servesReads() {
        return servesReads && this != CREATING;
    }

    /**
     * The lowercase name the management API, the cli and messages use ("active", "broken", ...);
     * locale-independent.
     */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public boolean canMoveTo(TimelineState next) {
        return switch (this) {
            case CREATING -> next == ACTIVE || next == BROKEN || next == STOPPED;
            case ACTIVE -> next == BROKEN || next == STOPPED;
            case BROKEN -> next == STOPPED;
            case STOPPED -> false;
        };
    }
}
