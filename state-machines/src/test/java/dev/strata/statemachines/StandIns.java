package dev.strata.statemachines;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One {@link StandInHandler} per Lambda function of the workflows, each returning what the real
 * handler's result looks like (the fields the next states read), and the {@link LambdaHandlers} that
 * route the functions to them. Fresh per test: the scripts and recorded inputs are the test's.
 */
final class StandIns {

    static final String TIMELINE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

    private static final Map<String, Map<String, Object>> DEFAULTS = Map.ofEntries(
            Map.entry("strata-claim-agent", Map.of("agentId", "agent-1")),
            Map.entry("strata-elect", Map.of("term", 7, "startLsn", "0/1A2B3C8")),
            Map.entry("strata-start-postgres", Map.of("address", "127.0.0.1:55432")),
            Map.entry("strata-mark-endpoint-running", Map.of("state", "running")),
            Map.entry("strata-release-agent", Map.of("released", true)),
            Map.entry("strata-mark-endpoint-suspended", Map.of("state", "suspended")),
            Map.entry("strata-record-operation-failure", Map.of("state", "failed")),
            Map.entry("strata-check-activity", Map.of("idle", true, "sessions", 0)),
            Map.entry("strata-complete-operation", Map.of("state", "skipped")),
            Map.entry("strata-mark-endpoint-suspending", Map.of("state", "suspending")),
            Map.entry("strata-stop-postgres", Map.of("stopped", true)),
            Map.entry("strata-mark-endpoint-failed", Map.of("state", "failed")),
            Map.entry("strata-create-project-record", Map.of("branchId", "br-main", "timelineId", TIMELINE)),
            Map.entry("strata-create-timeline", Map.of("timelineId", TIMELINE)),
            Map.entry("strata-create-endpoint", Map.of("endpointId", "ep-main")),
            Map.entry("strata-activate-project", Map.of("state", "ready")),
            Map.entry("strata-delete-timeline", Map.of("deleted", true)),
            Map.entry("strata-mark-project-failed", Map.of("state", "failed")));

    private final Map<String, StandInHandler> byFunction = new LinkedHashMap<>();
    private final LambdaHandlers handlers = new LambdaHandlers();

    StandIns() {
        DEFAULTS.forEach((fn, result) -> {
            StandInHandler h = new StandInHandler(fn, result);
            byFunction.put(fn, h);
            handlers.add(fn, Map.class, (in, ctx) -> h.handleRequest(cast(in), ctx));
        });
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Map<?, ?> in) {
        return (Map<String, Object>) in;
    }

    /** The stand-in for a function, by its name without the {@code strata-} prefix. */
    StandInHandler get(String step) {
        StandInHandler h = byFunction.get("strata-" + step);
        if (h == null) {
            throw new IllegalArgumentException("no stand-in for strata-" + step);
        }
        return h;
    }

    LambdaHandlers handlers() {
        return handlers;
    }

    /** Releases every hanging call, so no handler thread outlives its test. */
    void releaseAll() {
        byFunction.values().forEach(StandInHandler::release);
    }
}
