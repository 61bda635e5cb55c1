package dev.strata.control.model;

import dev.strata.pgcore.id.ProjectId;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/** A project: owns branches and endpoints. */
public record Project(ProjectId id, String name, Instant createdAt, long version) implements Versioned {

    public Project {
        Objects.requireNonNull(id, "id is null");
        Names.check("project name", name, Names.MAX_NAME_LENGTH);
        // stored as epoch milliseconds: keep only what survives the round trip
        createdAt = Objects.requireNonNull(createdAt, "createdAt is null").truncatedTo(ChronoUnit.MILLIS);
        Names.checkVersion(version);
    }

    /** A project to create (version 0). */
    public static Project create(ProjectId id, String name, Instant createdAt) {
        return new Project(id, name, createdAt, 0);
    }

    public Project withName(String newName) {
        return new Project(id, newName, createdAt, version);
    }

    public Project withVersion(long v) {
        return new Project(id, name, createdAt, v);
    }
}
