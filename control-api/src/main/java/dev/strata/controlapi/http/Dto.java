package dev.strata.controlapi.http;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.strata.control.model.Branch;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.Operation;
import dev.strata.control.model.Project;
import dev.strata.control.storage.BranchTarget;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * JSON shapes of the control-plane API (docs/control-plane.md "API"). Ids are the domain ids' text,
 * states and kinds their enum names, times ISO-8601 UTC; unknown request fields are refused (400).
 * Conversion to domain types fails with {@link IllegalArgumentException} (400) naming the field.
 */
public final class Dto {

    private Dto() {
    }

    /** {@code {"name": "...", "id": "p-..."}}: the id is optional (a random one otherwise). */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record CreateProject(@Nullable String name, @Nullable String id) {
    }

    /** A point in a branch's history: {@code {"kind": "head"}}, {@code {"kind": "lsn", "value": "0/16B3748"}}, {@code {"kind": "time", "value": "2026-12-06T04:31:07Z"}}. */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record Target(String kind, @Nullable String value) {
        BranchTarget toDomain(String field) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kind", kind);
            if (value != null) {
                m.put("value", value);
            }
            try {
                return BranchTarget.fromJson(m);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(field + ": " + e.getMessage(), e);
            }
        }

        static BranchTarget orHead(@Nullable Target t, String field) {
            return t == null ? new BranchTarget.Head() : t.toDomain(field);
        }
    }

    /** A new branch from {@code parent} (name or id; default main) at {@code at} (default: head); {@code endpoint} default true. */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record CreateBranch(String name, @Nullable String parent, @Nullable Target at, @Nullable Boolean endpoint) {
    }

    /** Restore a branch to {@code from}'s (default: its own) state at {@code to} (default: head). */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record Restore(@Nullable String from, @Nullable Target to) {
    }

    /** A new endpoint (suspended) on {@code branch} (name or id). */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record CreateEndpoint(String branch, @Nullable Integer cpuMillis, @Nullable Integer memoryMib,
                                 @Nullable Long idleTimeoutSeconds) {
    }

    @Serdeable
    public record ProjectView(String id, String name, String createdAt) {
        static ProjectView of(Project p) {
            return new ProjectView(p.id().toString(), p.name(), p.createdAt().toString());
        }
    }

    @Serdeable
    public record BranchView(String id, String name, String state, String timeline, @Nullable String parent,
                             @Nullable String branchLsn) {
        static BranchView of(Branch b) {
            return new BranchView(b.id().toString(), b.name(), b.state().name(), b.timeline().toString(),
                    b.parent().map(Object::toString).orElse(null), b.branchLsn().map(Object::toString).orElse(null));
        }
    }

    @Serdeable
    public record EndpointView(String id, String project, String branch, String state, @Nullable String address,
                               @Nullable String agent, @Nullable String operation, int cpuMillis, int memoryMib,
                               long idleTimeoutSeconds) {
        static EndpointView of(Endpoint e) {
            return new EndpointView(e.id().toString(), e.project().toString(), e.branch().toString(), e.state().name(),
                    e.address().orElse(null), e.agent().map(Object::toString).orElse(null),
                    e.operation().map(Object::toString).orElse(null), e.compute().cpuMillis(), e.compute().memoryMib(),
                    e.idleTimeout().toSeconds());
        }
    }

    /** An operation: its state, kind, the workflow execution that runs it (once its first step ran) and, if it failed, why. */
    @Serdeable
    public record OperationView(String id, String project, String kind, String state, @Nullable String branch,
                                @Nullable String endpoint, @Nullable String executionArn, @Nullable String error,
                                String createdAt, String updatedAt) {
        static OperationView of(Operation o) {
            return new OperationView(o.id().toString(), o.project().toString(), o.kind().name(), o.state().name(),
                    o.branch().map(Object::toString).orElse(null), o.endpoint().map(Object::toString).orElse(null),
                    o.executionArn().orElse(null), o.error().orElse(null), o.createdAt().toString(),
                    o.updatedAt().toString());
        }
    }

    /** Every error: {@code {"error": code, "message": text}}. */
    @Serdeable
    public record Error(String error, String message) {
    }
}
