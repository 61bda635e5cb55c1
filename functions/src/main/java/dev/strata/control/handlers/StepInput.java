package dev.strata.control.handlers;

import dev.strata.control.model.OperationId;
import dev.strata.control.storage.BranchTarget;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * A step's input as the Lambda runtime hands it over (the task's {@code Parameters}, JSON decoded to
 * maps, strings, numbers and booleans), read field by field into the domain types. A missing or
 * malformed field is an {@link IllegalArgumentException} naming the function and the field: a
 * permanent error, since the definition, not the moment, is wrong.
 */
public final class StepInput {

    private final String function;
    private final Map<String, Object> fields;

    public StepInput(String function, Map<String, Object> fields) {
        this.function = Objects.requireNonNull(function, "function is null");
        if (fields == null) {
            throw new IllegalArgumentException(function + ": the input is empty");
        }
        this.fields = fields;
    }

    public OperationId operationId() {
        return parsed("operationId", OperationId::of);
    }

    public ProjectId projectId() {
        return parsed("projectId", ProjectId::of);
    }

    public BranchId branchId() {
        return parsed("branchId", BranchId::of);
    }

    public EndpointId endpointId() {
        return parsed("endpointId", EndpointId::of);
    }

    public NodeId agentId() {
        return parsed("agentId", NodeId::of);
    }

    public TimelineId timelineId() {
        return parsed("timelineId", TimelineId::parse);
    }

    /** A branch id under another field name ({@code parentBranchId}, {@code sourceBranchId}). */
    public BranchId parsedBranch(String name) {
        return parsed(name, BranchId::of);
    }

    /** A timeline id under another field name ({@code parentTimelineId}). */
    public TimelineId parsedTimeline(String name) {
        return parsed(name, TimelineId::parse);
    }

    public Lsn lsn(String name) {
        return parsed(name, Lsn::parse);
    }

    public String string(String name) {
        Object v = fields.get(name);
        if (v == null) {
            throw new IllegalArgumentException(function + ": input field '" + name + "' is missing");
        }
        if (!(v instanceof String s)) {
            throw new IllegalArgumentException(function + ": input field '" + name + "' must be a string, got "
                    + v.getClass().getSimpleName());
        }
        return s;
    }

    /** A string field that may be missing or empty: empty then. */
    public Optional<String> optionalString(String name) {
        Object v = fields.get(name);
        if (v == null || "".equals(v)) {
            return Optional.empty();
        }
        return Optional.of(string(name));
    }

    public boolean bool(String name) {
        Object v = fields.get(name);
        if (v instanceof Boolean b) {
            return b;
        }
        throw new IllegalArgumentException(function + ": input field '" + name + "' must be true or false, got "
                + (v == null ? "nothing" : "'" + v + "'"));
    }

    /** A branch target object ({@link BranchTarget#fromJson}). */
    public BranchTarget target(String name) {
        try {
            return BranchTarget.fromJson(fields.get(name));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(function + ": input field '" + name + "': " + e.getMessage(), e);
        }
    }

    public long number(String name) {
        Object v = fields.get(name);
        if (v == null) {
            throw new IllegalArgumentException(function + ": input field '" + name + "' is missing");
        }
        if (v instanceof Integer || v instanceof Long || v instanceof Short) {
            return ((Number) v).longValue();
        }
        if (v instanceof String s && s.matches("-?[0-9]{1,18}")) {
            return Long.parseLong(s);
        }
        throw new IllegalArgumentException(function + ": input field '" + name + "' must be an integer, got '" + v + "'");
    }

    /** The error a Catch put in the input: {@code {"Error": ..., "Cause": ...}} as one line of text. */
    public String error(String name) {
        Object v = fields.get(name);
        if (!(v instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(function + ": input field '" + name
                    + "' must be an object with Error and Cause");
        }
        Object error = m.get("Error");
        Object cause = m.get("Cause");
        return (error == null ? "Unknown" : error.toString()) + (cause == null ? "" : ": " + cause);
    }

    private <T> T parsed(String name, Function<String, T> parser) {
        String s = string(name);
        try {
            return parser.apply(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(function + ": input field '" + name + "': " + e.getMessage(), e);
        }
    }
}
